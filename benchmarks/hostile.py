"""Hostile mail: does parsing time grow linearly, and stay bounded, for every shape?

    python benchmarks/hostile.py [--set issues|sweep|all] [--kinds K ...] [--base BYTES]
                                 [--limit S] [--memory MIB] [--source DIR] [--markdown]

Each shape is generated at three sizes, 1x, 4x and 16x, and parsed by ``parse_message`` in
a fresh interpreter (this script re-invoked with ``--child``), which reports the CPU seconds
of each parse and the peak RSS. The table gives the three times and the growth, the time
at 16x over the time at 1x: linear is about 16, quadratic 256 (below a few milliseconds at
1x the ratio is timer noise and is shown in brackets).

- ``issues``: the shapes of ``tests/hostile.py`` (the ones that once broke the parser),
  16x being the size each was found at.
- ``sweep``: the wider set of ``benchmarks/hostile_shapes.py``, 1x being ``--base`` bytes
  (default 64 KB, so 16x is 1 MB).

The script exits 1 when a parse takes longer than ``--limit`` CPU seconds (default 10),
needs more than ``--memory`` MiB (default 1024), or grows worse than linearly: more than 8
times slower from 4x to 16x (linear is 4, quadratic 16; more for a shape whose bytes grow
faster than the step, in proportion) once the 16x parse takes long enough (0.2 s) to be
measured reliably. ``--source DIR`` parses with the
``tracker_mail_plugin`` found in DIR (an older checkout exported with ``git archive``), for
before/after figures. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks"))

from hostile_shapes import SHAPES  # noqa: E402 - after the path is set

from tests.hostile import ISSUE_SIZES, KINDS  # noqa: E402

GROWTH_LIMIT = 8.0
MEASURABLE = 0.2  # seconds: below this, timer noise makes a ratio meaningless
NOISE = 0.005  # seconds at 1x below which the 16x/1x ratio is shown in brackets
STEPS = (1, 4, 16)


def shapes(which: str, base: int) -> dict[str, tuple[Callable[[int], bytes], int]]:
    """Each shape's generator and its 1x size."""
    found: dict[str, tuple[Callable[[int], bytes], int]] = {}
    if which in ("issues", "all"):
        found |= {kind: (KINDS[kind], max(1, ISSUE_SIZES[kind] // 16)) for kind in KINDS}
    if which in ("sweep", "all"):
        found |= {kind: (make, base) for kind, make in SHAPES.items() if kind not in found}
    return found


def child(kind: str, unit: int, source: str) -> dict[str, object]:
    """Parse one shape at 1x, 4x and 16x; report CPU seconds, sizes and the peak RSS."""
    if source:
        sys.path.insert(0, source)  # ahead of this checkout, which ROOT put first
    import tracker_mail_plugin
    from tracker_mail_plugin.mail import parse_message

    if source and not tracker_mail_plugin.__file__.startswith(source):
        sys.exit(f"--source {source}: imported {tracker_mail_plugin.__file__} instead")
    make = shapes("all", unit)[kind][0]
    parse_message(b"From: a@b.c\r\nSubject: warm up\r\n\r\nOn Mon wrote:\r\n> x\r\n")
    parse_message(make(max(1, unit // 16)))  # imports what this shape needs (tnefparse …)
    sizes: list[int] = []
    seconds: list[float] = []
    defects = 0
    for step in STEPS:
        raw = make(unit * step)
        start = time.process_time()
        message = parse_message(raw)
        seconds.append(time.process_time() - start)
        sizes.append(len(raw))
        defects = len(message.defects)
        print(json.dumps({"partial": [sizes, seconds]}), flush=True)
    return {"bytes": sizes, "seconds": seconds, "rss_mib": _peak_rss_mib(), "defects": defects}


def _peak_rss_mib() -> float:
    status = Path("/proc/self/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def run(kind: str, unit: int, limit: float, source: str | None) -> dict[str, object]:
    """One shape in a fresh interpreter; what it measured before any kill past the limit."""
    command = [sys.executable, os.path.abspath(__file__), "--child", kind, str(unit)]
    command += [os.path.abspath(source)] if source else [""]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=3 * limit + 30)
        out, killed = done.stdout, False
        if done.returncode:
            sys.exit(f"child {kind} failed:\n{done.stderr}")
    except subprocess.TimeoutExpired as expired:
        raw = expired.stdout or b""
        out, killed = raw.decode() if isinstance(raw, bytes) else raw, True
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    if not killed:
        result: dict[str, object] = lines[-1]
        return result
    sizes, seconds = lines[-1]["partial"] if lines else ([], [])
    return {"bytes": sizes, "seconds": seconds, "rss_mib": 0.0, "defects": -1, "killed": True}


def check(kind: str, result: dict[str, object], limit: float, memory: float) -> list[str]:
    """What is out of bounds in one shape's measurements."""
    seconds: list[float] = result["seconds"]  # type: ignore[assignment]
    sizes: list[int] = result["bytes"]  # type: ignore[assignment]
    failures = [
        f"{kind} at {size:,} bytes: {took:.2f} s"
        for size, took in zip(sizes, seconds, strict=True)
        if took > limit
    ]
    if result.get("killed"):
        failures.append(f"{kind}: killed after {3 * limit + 30:.0f} s")
    if float(result["rss_mib"]) > memory:  # type: ignore[arg-type]
        failures.append(f"{kind}: {result['rss_mib']:.0f} MiB")
    if len(seconds) == 3 and seconds[2] >= MEASURABLE:
        growth = seconds[2] / max(seconds[1], 1e-6)
        # A shape whose bytes grow faster than its size step (prefix-boundaries: n nested
        # boundaries of up to n characters) may take as much longer as it is longer.
        limit = GROWTH_LIMIT * max(1.0, sizes[2] / max(sizes[1], 1) / 4)
        if growth > limit:
            failures.append(f"{kind}: {growth:.1f}x slower from 4x to 16x the size")
    return failures


def row(kind: str, result: dict[str, object]) -> tuple[str, ...]:
    """One line of the table."""
    seconds: list[float] = result["seconds"]  # type: ignore[assignment]
    sizes: list[int] = result["bytes"]  # type: ignore[assignment]
    times = [f"{took:.3f}" for took in seconds] + ["killed"] * (3 - len(seconds))
    if len(seconds) == 3:
        ratio = seconds[2] / max(seconds[0], 1e-6)
        growth = f"{ratio:.1f}" if seconds[0] >= NOISE else f"({ratio:.1f})"
    else:
        growth = "-"
    largest = f"{sizes[-1]:,}" if sizes else "-"
    rss = f"{result['rss_mib']:.0f}" if result["rss_mib"] else "-"
    return (kind, largest, *times, growth, rss, str(result["defects"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--set", default="all", choices=("issues", "sweep", "all"))
    parser.add_argument("--kinds", nargs="*", help="only these shapes")
    parser.add_argument("--base", type=int, default=64_000, help="1x size of the sweep (bytes)")
    parser.add_argument("--limit", type=float, default=10.0, help="CPU seconds per message")
    parser.add_argument("--memory", type=float, default=1024.0, help="MiB peak per process")
    parser.add_argument("--source", help="parse with the tracker_mail_plugin in this folder")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    if args.child:
        kind, unit, source = args.child
        print(json.dumps(child(kind, int(unit), source)))
        return 0
    chosen = shapes(args.set, args.base)
    unknown = set(args.kinds or ()) - set(chosen)
    if unknown:
        parser.error(f"unknown shapes: {', '.join(sorted(unknown))}")
    failures: list[str] = []
    rows: list[tuple[str, ...]] = []
    for kind, (_, unit) in chosen.items():
        if args.kinds and kind not in args.kinds:
            continue
        result = run(kind, unit, args.limit, args.source)
        failures += check(kind, result, args.limit, args.memory)
        rows.append(row(kind, result))
        if not args.markdown:
            print("  ".join(rows[-1]), file=sys.stderr, flush=True)  # progress
    _print(rows, args.markdown)
    for failure in failures:
        print(f"FAIL {failure}")
    print("checks: " + ("all within bounds" if not failures else f"{len(failures)} failed"))
    return 1 if failures else 0


def _print(rows: list[tuple[str, ...]], markdown: bool) -> None:
    head = ("kind", "bytes at 16x", "CPU s 1x", "4x", "16x", "16x/1x", "peak RSS MiB", "defects")
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for line in rows:
            print("| " + " | ".join(line) + " |")
        return
    widths = [max(len(str(cell)) for cell in column) for column in zip(head, *rows, strict=True)]
    for line in (head, *rows):
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))


if __name__ == "__main__":
    sys.exit(main())
