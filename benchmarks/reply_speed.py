"""CPU time of reply extraction alone, for comparing two versions of it side by side.

    python benchmarks/reply_speed.py [--corpus DIR] [--messages N] [--repeat R]
    PYTHONPATH=/tmp/before python benchmarks/reply_speed.py ...   # an older checkout

The parse benchmark's throughput swings by 2-3x from run to run on a shared machine, more
than reply extraction could change it; this isolates ``strip_quotes``. It takes the
``full_body`` of the first N messages of the parse benchmark's corpus (generate it with
``benchmarks/parse.py`` first): the text part, or the text made from the HTML part, which
this branch's and older checkouts compute alike. Then it times ``strip_quotes`` over all
of them R times in CPU seconds (``time.process_time``, which other processes' load affects
far less than wall time), and prints the best and the median run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

DEFAULT_CORPUS = Path(__file__).resolve().parent / "corpus" / "v1-seed1"


def full_bodies(corpus: Path, count: int) -> list[str]:
    """The ``full_body`` of the first ``count`` messages of the corpus."""
    from tracker_mail_plugin.mail import parse_message

    paths = sorted(corpus.glob("*.eml"))[:count]
    return [parse_message(path.read_bytes()).full_body for path in paths]


def main() -> int:
    """Time ``strip_quotes`` over the corpus's plain bodies and print the CPU seconds."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    from tracker_mail_plugin.mail.quotes import strip_quotes

    bodies = [body for body in full_bodies(args.corpus, args.messages) if body.strip()]
    if not bodies:
        print(f"no messages in {args.corpus}: run benchmarks/parse.py first", file=sys.stderr)
        return 1
    for body in bodies[:20]:  # warm up: imports, the library's compiled expressions
        strip_quotes(body)
    runs = []
    for _ in range(args.repeat):
        start = time.process_time()
        for body in bodies:
            strip_quotes(body)
        runs.append(time.process_time() - start)
    per_body = 1e6 / len(bodies)
    print(
        f"{len(bodies)} bodies, strip_quotes CPU: best {min(runs):.3f} s "
        f"({min(runs) * per_body:.0f} µs each), median {statistics.median(runs):.3f} s "
        f"({statistics.median(runs) * per_body:.0f} µs each)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
