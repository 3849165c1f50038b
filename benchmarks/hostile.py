"""Hostile mail: does parsing time grow linearly, and stay bounded, for every kind?

    python benchmarks/hostile.py [--kinds K ...] [--scale F] [--limit S] [--source DIR]
                                 [--markdown]

Each kind in ``tests/hostile.py`` is generated at the size the issue measured it at (times
``--scale``) and at a quarter of that. Each message is parsed by ``parse_message`` in a
fresh interpreter (this script re-invoked with ``--child``) under a wall-clock limit, which
reports the parse's seconds and its peak RSS. The script exits 1 when any kind takes longer
than ``--limit`` seconds (default 10), needs more than ``--memory`` MiB (default 1024), or
grows worse than linearly: more than 8 times slower at 4 times the size (linear is 4,
quadratic 16), once the larger parse takes long enough (0.2 s) to be measured reliably.
``--source DIR`` parses with the ``tracker_mail_plugin`` found in DIR (an older checkout
exported with ``git archive``), for before/after figures. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hostile import ISSUE_SIZES, KINDS  # noqa: E402 - after the path is set

GROWTH_LIMIT = 8.0
MEASURABLE = 0.2  # seconds: below this, timer noise makes a ratio meaningless


def child(kind: str, size: int, source: str) -> dict[str, float]:
    """Generate one message, parse it, and report the parse's time and the peak RSS."""
    if source:
        sys.path.insert(0, source)  # ahead of this checkout, which ROOT put first
    import tracker_mail_plugin
    from tracker_mail_plugin.mail import parse_message

    if source and not tracker_mail_plugin.__file__.startswith(source):
        sys.exit(f"--source {source}: imported {tracker_mail_plugin.__file__} instead")

    raw = KINDS[kind](size)
    parse_message(b"From: a@b.c\r\nSubject: warm up\r\n\r\nOn Mon wrote:\r\n> x\r\n")
    start = time.perf_counter()
    message = parse_message(raw)
    seconds = time.perf_counter() - start
    return {
        "bytes": len(raw),
        "seconds": seconds,
        "rss_mib": _peak_rss_mib(),
        "defects": len(message.defects),
    }


def _peak_rss_mib() -> float:
    status = Path("/proc/self/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def run(kind: str, size: int, limit: float, source: str | None) -> dict[str, float] | None:
    """One measurement in a fresh interpreter; ``None`` when it ran past ``limit``."""
    command = [sys.executable, os.path.abspath(__file__), "--child", kind, str(size)]
    command += [os.path.abspath(source)] if source else [""]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=limit + 30)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode:
        sys.exit(f"child {kind} {size} failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--kinds", nargs="*", default=list(KINDS), choices=list(KINDS))
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every size")
    parser.add_argument("--limit", type=float, default=10.0, help="seconds per message")
    parser.add_argument("--memory", type=float, default=1024.0, help="MiB peak per process")
    parser.add_argument("--source", help="parse with the tracker_mail_plugin in this folder")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    if args.child:
        kind, size, source = args.child
        print(json.dumps(child(kind, int(size), source)))
        return 0
    failures: list[str] = []
    rows: list[tuple[str, ...]] = []
    for kind in args.kinds:
        large = int(ISSUE_SIZES[kind] * args.scale)
        times: list[float | None] = []
        for size in (large // 4, large):
            result = run(kind, size, args.limit, args.source)
            times.append(None if result is None else result["seconds"])
            if result is None:
                failures.append(f"{kind} at {size:,} bytes: killed after {args.limit + 30:.0f} s")
                rows.append((kind, f"{size:,}", f"> {args.limit + 30:.0f}", "-", "-"))
                break
            if result["seconds"] > args.limit:
                failures.append(f"{kind} at {size:,} bytes: {result['seconds']:.2f} s")
            if result["rss_mib"] > args.memory:
                failures.append(f"{kind} at {size:,} bytes: {result['rss_mib']:.0f} MiB")
            rows.append(
                (
                    kind,
                    f"{result['bytes']:,}",
                    f"{result['seconds']:.3f}",
                    f"{result['rss_mib']:.0f}",
                    f"{result['defects']:.0f}",
                )
            )
        small, big = [*times, None, None][:2]
        if small is not None and big is not None and big >= MEASURABLE:
            growth = big / max(small, 1e-6)
            if growth > GROWTH_LIMIT:
                failures.append(f"{kind}: {growth:.1f}x slower at 4x the size")
    _print(rows, args.markdown)
    for failure in failures:
        print(f"FAIL {failure}")
    print("checks: " + ("all within bounds" if not failures else f"{len(failures)} failed"))
    return 1 if failures else 0


def _print(rows: list[tuple[str, ...]], markdown: bool) -> None:
    head = ("kind", "bytes", "seconds", "peak RSS MiB", "defects")
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for row in rows:
            print("| " + " | ".join(row) + " |")
        return
    widths = [max(len(str(cell)) for cell in column) for column in zip(head, *rows, strict=True)]
    for row in (head, *rows):
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    sys.exit(main())
