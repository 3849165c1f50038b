"""CPU time of two parser versions and of the naive ``email`` reading, side by side.

    python benchmarks/parse_ab.py --before /path/to/old/checkout [--rounds 5] [--messages 1000]

``benchmarks/parse.py`` times wall-clock throughput, which a shared, loaded machine bends by
a factor of two between runs. This script measures CPU time (``time.process_time``) of each
message's parse in fresh processes, alternating the old checkout, this one and the naive
reader round by round over the same corpus (``benchmarks/parse.py``'s, generated on first
use), and reports per message shape the median over rounds of each one's CPU ms per message
and the ratios. Every process parses the corpus once untimed first, so imports and caches
are warm in all three.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from parse import corpus_paths, message_kind, naive_reader, tracker_mail_reader  # noqa: E402

SHAPES = ("plain", "html", "alt", "mixed")


def child(reader: str, folder: str, count: int) -> dict[str, list[float]]:
    """CPU seconds and messages per shape for one reader over the corpus."""
    read = naive_reader(hash_attachments=True) if reader == "naive" else tracker_mail_reader()
    raws = [(Path(folder) / f"{index:06d}.eml").read_bytes() for index in range(count)]
    for raw in raws:  # warm: imports, compiled patterns, allocator
        read(raw)
    tally: dict[str, list[float]] = {shape: [0, 0.0] for shape in SHAPES}
    for raw in raws:
        start = time.process_time()
        read(raw)
        seconds = time.process_time() - start
        tally[message_kind(raw)][0] += 1
        tally[message_kind(raw)][1] += seconds
    return tally


def run(reader: str, source: Path, folder: Path, count: int) -> dict[str, list[float]]:
    env = dict(os.environ, PYTHONPATH=str(source))
    args = [sys.executable, __file__, "--before", str(source), "--child", reader, str(folder)]
    args.append(str(count))
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    result: dict[str, list[float]] = json.loads(done.stdout)
    return result


def main() -> None:
    """Alternate the three readers for ``--rounds`` rounds and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="old checkout")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=HERE / "corpus")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        reader, folder, count = args.child
        print(json.dumps(child(reader, folder, int(count))))
        return
    folder = corpus_paths(args.out, args.seed, args.messages)[0].parent
    sources = {"before": args.before.resolve(), "after": HERE.parent, "naive": HERE.parent}
    rounds: dict[str, list[dict[str, list[float]]]] = {name: [] for name in sources}
    for number in range(args.rounds):
        for name, source in sources.items():
            reader = "naive" if name == "naive" else "tracker-mail"
            rounds[name].append(run(reader, source, folder, args.messages))
        print(f"round {number + 1} of {args.rounds} done", file=sys.stderr, flush=True)
    print(
        "shape     messages  before ms  after ms  naive ms  after/before  naive/before  naive/after"
    )
    for shape in (*SHAPES, "all"):
        ms = {}
        for name, results in rounds.items():
            per_round = []
            for result in results:
                picked = SHAPES if shape == "all" else (shape,)
                count = sum(result[s][0] for s in picked)
                per_round.append(sum(result[s][1] for s in picked) / count * 1e3)
            ms[name] = statistics.median(per_round)
        count = sum(rounds["after"][0][s][0] for s in (SHAPES if shape == "all" else (shape,)))
        print(
            f"{shape:8s} {count:9,d} {ms['before']:10.3f} {ms['after']:9.3f} {ms['naive']:9.3f}"
            f" {ms['after'] / ms['before']:13.2f} {ms['naive'] / ms['before']:12.2f}x"
            f" {ms['naive'] / ms['after']:11.2f}x"
        )


if __name__ == "__main__":
    main()
