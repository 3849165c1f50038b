"""Hostile mail after parsing: rules, explain's reasons and the adapters' text conversions.

    python benchmarks/hostile_text.py [--cases NAME ...] [--limit S] [--source DIR]

``hostile.py`` times ``parse_message``; this times what reads the parsed text afterwards,
each case at three sizes (1x, 4x, 16x) in a fresh interpreter (this script re-invoked with
``--child``), reporting CPU seconds and, in another run at 16x, the peak of Python
allocations (tracemalloc) over the input's size. ``--source DIR`` runs the
``tracker_mail_plugin`` and adapters found in DIR (``git archive main tracker_mail_plugin
adapters``) for before/after figures. Exits 1 when a case runs past ``--limit`` CPU seconds
(default 10), allocates more than 8 times its input, or is more than 8 times slower from
4x to 16x once that takes 0.2 s.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEPS = (1, 4, 16)


def _failed_rules(size: int) -> tuple[Callable[[], object], int]:
    """Five rules whose body keyword is absent from a body of short words."""
    from tracker_mail_plugin.mail import parse_message
    from tracker_mail_plugin.rules.conditions import Context, SenderFacts, evaluate
    from tracker_mail_plugin.rules.model import Conditions

    body = "ab " * (size // 3)
    raw = b"From: a@example.com\r\nSubject: s\r\n\r\n" + body.encode()
    context = Context(parse_message(raw), SenderFacts(True, None), {})
    rules = [Conditions(body_contains=[f"zz{i}"]) for i in range(5)]
    return lambda: [evaluate(rule, context) for rule in rules], len(body)


def _jira_inline_images(size: int) -> tuple[Callable[[], object], int]:
    """A text over Jira's limit, in short lines, with 2,000 inline images attached."""
    from tracker_mail_plugin_jira.longtext import fit

    from tracker_mail_plugin import Upload

    files = [
        dataclasses.replace(
            Upload.from_bytes(f"i{i}.png", b"x", "image/png"), content_id=f"i{i}@mail"
        )
        for i in range(2000)
    ]
    text = "x\n" * (size // 2)
    return lambda: fit(text, files), len(text)


def _github_sender_spaces(size: int) -> tuple[Callable[[], object], int]:
    """The core's sender line for GitHub, a name of one long run of spaces."""
    from tracker_mail_plugin_github.text import split_sender

    text = "From: a" + " " * size + "b <a@example.com>\n\nHi"
    return lambda: split_sender(text, None, True), len(text)


# Mail text whose references the GitHub adapter makes inert: runs that never finish a
# reference, references one after another (every one rewritten), and code on every line.
_REFERENCE_SHAPES = {
    "github-references-hashes": "#",
    "github-references-digits": "1",
    "github-references-owner-repo": "a/b#",
    "github-references-spaces": " ",
    "github-references-each": "a/b#1 GH-2 a5c3785 ",
    "github-references-backticks": "`a",
    "github-references-code-lines": "`#1` x\n\n",
}


def _github_references(shape: str, size: int) -> tuple[Callable[[], object], int]:
    """The GitHub adapter's reference neutraliser on ``shape`` repeated to ``size``."""
    from tracker_mail_plugin_github.autolinks import neutralise_references

    text = shape * (size // len(shape))
    return lambda: neutralise_references(text), len(text)


CASES: dict[str, tuple[Callable[[int], tuple[Callable[[], object], int]], int]] = {
    "rules-failed-checks": (_failed_rules, 1_500_000),
    "jira-inline-images": (_jira_inline_images, 400_000),
    "github-sender-spaces": (_github_sender_spaces, 4_000),
    **{
        name: (functools.partial(_github_references, shape), 250_000)
        for name, shape in _REFERENCE_SHAPES.items()
    },
}


def child(case: str, source: str) -> dict[str, object]:
    """One case at 1x, 4x and 16x: CPU seconds and peak allocation over the input size."""
    if source:
        for folder in (source, *sorted(str(p) for p in Path(source).glob("adapters/*/src"))):
            sys.path.insert(0, folder)
    make, unit = CASES[case]
    make(100)[0]()  # imports and warm-up
    seconds: list[float] = []
    for step in STEPS:
        run, _ = make(unit * step)
        start = time.process_time()
        run()
        seconds.append(time.process_time() - start)
        print(json.dumps({"partial": seconds}), flush=True)
    # Allocations are traced in a run of their own (tracing slows every allocation), at
    # the largest size, past the fixed costs.
    run, size = make(unit * STEPS[-1])
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"seconds": seconds, "memory": peak / size}


def run(case: str, limit: float, source: str | None) -> dict[str, object]:
    """One case in a fresh interpreter; what it measured before any kill past the limit."""
    command = [sys.executable, os.path.abspath(__file__), "--child", case]
    command.append(os.path.abspath(source) if source else "")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=3 * limit + 30)
        if done.returncode:
            sys.exit(f"child {case} failed:\n{done.stderr}")
        result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
        return result
    except subprocess.TimeoutExpired as expired:
        raw = expired.stdout or b""
        out = raw.decode() if isinstance(raw, bytes) else raw
        lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        return {"seconds": lines[-1]["partial"] if lines else [], "memory": 0.0, "killed": True}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--cases", nargs="*", choices=sorted(CASES), help="only these")
    parser.add_argument("--limit", type=float, default=10.0, help="CPU seconds per run")
    parser.add_argument("--source", help="run the code in this folder")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    failures: list[str] = []
    print("| case | 1x size | CPU s 1x | 4x | 16x | 16x/4x | peak alloc / input |")
    print("|---|---|---|---|---|---|---|")
    for case in args.cases or CASES:
        result = run(case, args.limit, args.source)
        seconds: list[float] = result["seconds"]  # type: ignore[assignment]
        memory = float(result["memory"])  # type: ignore[arg-type]
        times = [f"{s:.3f}" for s in seconds] + ["killed"] * (3 - len(seconds))
        growth = f"{seconds[2] / max(seconds[1], 1e-6):.1f}" if len(seconds) == 3 else "-"
        print(f"| {case} | {CASES[case][1]:,} | {' | '.join(times)} | {growth} | {memory:.1f} |")
        failures += [f"{case}: {s:.1f} s" for s in seconds if s > args.limit]
        failures += [f"{case}: killed"] if result.get("killed") else []
        failures += [f"{case}: {memory:.0f}x its input allocated"] if memory > 8 else []
        if len(seconds) == 3 and seconds[2] >= 0.2 and seconds[2] > 8 * seconds[1]:
            failures.append(f"{case}: {seconds[2] / seconds[1]:.0f}x slower from 4x to 16x")
    for failure in failures:
        print(f"FAIL {failure}")
    print("checks: " + ("all within bounds" if not failures else f"{len(failures)} failed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
