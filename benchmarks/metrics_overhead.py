"""What metrics cost a sync: the same run with no observer and with the Prometheus metrics.

    python benchmarks/metrics_overhead.py [--messages N] [--repeat R]

Each run syncs N small messages from a fresh directory mailbox, with a fresh journal, into
an in-memory RecordingAdapter (``tracker_mail_plugin.commands.sync.sync``, the command's
code). The two variants alternate (off, on, off, on, ...) so that the machine's noise falls
on both alike; the report is each variant's median and the ratio on/off. See
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker_mail_plugin.commands.sync import SyncOptions, sync  # noqa: E402
from tracker_mail_plugin.config.loader import load_config_text  # noqa: E402
from tracker_mail_plugin.metrics import Metrics  # noqa: E402
from tracker_mail_plugin.testing.mailfactory import raw_mail  # noqa: E402

CONFIG = """\
version: 1
journal: {tmp}/journal.sqlite3
trackers:
  rec: {{adapter: recording}}
mailboxes:
  inbox:
    protocol: directory
    path: {tmp}/mail
    tracker: rec
    unknown_user: as_rule_owner
    on_success: leave
    rules:
      - when: {{subject_contains: printer}}
        then: [{{create_issue: {{project: it}}}}]
"""


def one_run(messages: int, with_metrics: bool) -> float:
    """Seconds for one sync of ``messages`` fresh messages."""
    with tempfile.TemporaryDirectory() as tmp:
        mail = Path(tmp) / "mail"
        mail.mkdir()
        for n in range(messages):
            subject = "printer on fire" if n % 2 else "lunch?"
            raw = raw_mail({"Subject": f"{subject} {n}", "Message-ID": f"<m{n}@example.com>"})
            (mail / f"{n:06d}.eml").write_bytes(raw)
        loaded = load_config_text(CONFIG.format(tmp=tmp), f"{tmp}/rules.yaml")
        metrics = Metrics() if with_metrics else None
        start = time.perf_counter()
        (summary,), _ = sync(loaded, ["inbox"], SyncOptions(), metrics)
        seconds = time.perf_counter() - start
        assert summary.fetched == messages, summary.line()
        return seconds


def main() -> None:
    """Run both variants alternately and print the medians and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    one_run(20, True)  # warm up imports and caches outside the measurement
    times: dict[str, list[float]] = {"off": [], "on": []}
    for _ in range(args.repeat):
        times["off"].append(one_run(args.messages, False))
        times["on"].append(one_run(args.messages, True))
    off, on = statistics.median(times["off"]), statistics.median(times["on"])
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}"
    )
    print(f"{args.messages} messages, {args.repeat} runs each, alternating")
    print(f"no observer   median {off:.3f}s  ({args.messages / off:.0f} msg/s)")
    print(f"with metrics  median {on:.3f}s  ({args.messages / on:.0f} msg/s)")
    print(f"ratio on/off  {on / off:.3f}")
    print(
        f"spread off: {min(times['off']):.3f}-{max(times['off']):.3f}s, "
        f"on: {min(times['on']):.3f}-{max(times['on']):.3f}s"
    )


if __name__ == "__main__":
    main()
