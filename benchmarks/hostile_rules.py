"""Rule matching and fields_from_body on hostile input: does the time grow linearly?

    python benchmarks/hostile_rules.py [--sizes 10000,20000,...] [--limit SECONDS] [--before]

Each case (a classic ReDoS pattern against the input that makes a backtracking engine
explode, a keyword, the body delimiters, long ``Priority:`` lines) runs at growing input
sizes, each size in a fresh interpreter (this script re-invoked with ``--child``) under a
wall-clock limit. It prints seconds per size and the growth exponent between the smallest and
the largest size (1.0 is linear, 2.0 quadratic), and exits 1 when a case timed out or grew
worse than linear (exponent above ``--max-exponent``, default 1.4).

``--before`` times what the code did before: the same patterns with Python's ``re`` and
the old ``fields_from_body`` regular expression (expect timeouts and exit status 1).
"""

from __future__ import annotations

import argparse
import math
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAGS = re.IGNORECASE | re.MULTILINE
FIELD_ALIASES = {"priority": ("priority",)}

# name -> (pattern or None, input for size n)
PATTERN_CASES: dict[str, tuple[str, Callable[[int], str]]] = {
    "nested (a+)+$": (r"(a+)+$", lambda n: "a" * n + "!"),
    "words ^(\\w+\\s?)+$": (r"^(\w+\s?)+$", lambda n: "word " * (n // 5) + "!"),
    "(.*a){12}": (r"(.*a){12}", lambda n: "a" * 11 + "b" * n),
    "alternation (a|aa)+$": (r"(a|aa)+$", lambda n: "a" * n + "!"),
    "\\b(\\w+\\s*,?\\s*)+STOP\\b": (r"\b(\w+\s*,?\s*)+STOP\b", lambda n: "go, " * (n // 4)),
}
TEXT_CASES: dict[str, Callable[[int], str]] = {
    "keyword 'a b' as a word": lambda n: "a " * (n // 2),
    "body_delimiters": lambda n: (" " * 100 + "\n") * (n // 101) + "x",
    "fields_from_body: spaces in the value": lambda n: "Priority: x" + " " * n + "y\n",
    "fields_from_body: long value": lambda n: "Priority: " + "a " * (n // 2) + "\n",
    "fields_from_body: many lines": lambda n: "Priority: High\n" * (n // 15),
}


def _run_pattern(case: str, size: int, before: bool) -> None:
    pattern, make = PATTERN_CASES[case]
    text = make(size)
    if before:
        re.search(pattern, text, FLAGS)
    else:
        from tracker_mail_plugin.rules.patterns import compile_pattern

        compile_pattern(pattern).search(text)


def _take_fields_before(text: str) -> None:
    """The regular expression fields_from_body used before (quadratic on long lines)."""
    pattern = re.compile(r"^[ \t]*(?:priority)[ \t]*:[ \t]*(\S.*?)[ \t]*\n*(?:\n|\Z)", re.I | re.M)
    pattern.search(text)


def _run_text(case: str, size: int, before: bool) -> None:
    text = TEXT_CASES[case](size)
    if case.startswith("keyword"):
        if before:
            re.search(r"(?<!\w)a\s+b(?!\w)", text.casefold())
        else:
            from tracker_mail_plugin.rules.conditions import find_keyword

            find_keyword(["a b"], text, whole_words=True)
    elif case == "body_delimiters":
        if before:
            re.search(r"^[ \t>]*(?:\-\-\ )[ \t]*$", text, re.MULTILINE)
        else:
            from tracker_mail_plugin.rules.text import cut_at_delimiters

            cut_at_delimiters(text, ["-- "])
    elif before:
        _take_fields_before(text)
    else:
        from tracker_mail_plugin.rules.text import take_fields

        take_fields(text, ["priority"])


def child(case: str, size: int, before: bool) -> None:
    """Warm up (imports, character tables), then time the best of three runs."""
    run = _run_pattern if case in PATTERN_CASES else _run_text
    run(case, 10, before)
    best = math.inf
    for _ in range(3):
        started = time.perf_counter()
        run(case, size, before)
        best = min(best, time.perf_counter() - started)
    print(f"{best:.6f}")


def measure(case: str, size: int, before: bool, limit: float) -> float | None:
    """Seconds for one size in a fresh interpreter, or None past the wall-clock limit."""
    command = [sys.executable, __file__, "--child", case, str(size)]
    command += ["--before"] if before else []
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=limit, check=True, cwd=ROOT
        )
    except subprocess.TimeoutExpired:
        return None
    return float(done.stdout.strip())


def exponent(sizes: list[int], seconds: list[float]) -> float:
    """The slope of log(time) over log(size) between the first and the last size."""
    floor = 1e-5  # below this, timer noise: count as the floor
    first, last = max(seconds[0], floor), max(seconds[-1], floor)
    return math.log(last / first) / math.log(sizes[-1] / sizes[0])


def main() -> int:
    """Run every case at every size; 1 when a case timed out or grew worse than linear."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,20000,40000,80000,160000")
    parser.add_argument("--limit", type=float, default=20.0, help="seconds per size")
    parser.add_argument("--max-exponent", type=float, default=1.4)
    parser.add_argument("--before", action="store_true", help="time the code before the fix")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.before)
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print("| case | " + " | ".join(f"{s:,}" for s in sizes) + " | growth |")
    print("|---" * (len(sizes) + 2) + "|")
    failed = False
    for case in [*PATTERN_CASES, *TEXT_CASES]:
        row, seconds = [], []
        for size in sizes:
            took = measure(case, size, args.before, args.limit)
            if took is None:
                row.append(f"> {args.limit:g} s")
                break
            row.append(f"{took:.6f}")
            seconds.append(took)
        row += ["–"] * (len(sizes) - len(row))
        if len(seconds) < len(sizes):
            growth, failed = "timed out", True
        else:
            slope = exponent(sizes, seconds)
            growth = f"n^{slope:.2f}"
            failed = failed or slope > args.max_exponent
        print(f"| {case} | " + " | ".join(row) + f" | {growth} |", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
