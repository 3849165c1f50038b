"""How long the recording tracker takes for N messages, file-backed against in memory.

Each message costs what a sync asks of the tracker for a new issue: ``find_user``, ``can``
and ``create_issue`` (``--creates-only``: just ``create_issue``). Run from the repository
root: ``python benchmarks/recording_store.py [--messages 1000]``.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

from tracker_mail_plugin.adapter import NewIssue, Permission
from tracker_mail_plugin.testing import RecordingAdapter, RecordingConfig


def run(adapter: RecordingAdapter, messages: int, creates_only: bool) -> float:
    adapter.add_project("support")
    start = time.perf_counter()
    for n in range(messages):
        if not creates_only:
            user = adapter.find_user(f"sender-{n}@example.com")
            adapter.can(user, Permission.CREATE_ISSUE, "support")
        new = NewIssue(
            project="support",
            title=f"Printer {n} on fire",
            text="The printer on the second floor is on fire again.\n" * 5,
            idempotency_key=f"tm-bench-{n}",
        )
        adapter.create_issue(new)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--creates-only", action="store_true")
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    memory = run(RecordingAdapter(), args.messages, args.creates_only)
    with tempfile.TemporaryDirectory() as tmp:
        config = RecordingConfig(state_file=Path(tmp) / "tracker.json")
        shared = run(RecordingAdapter(config), args.messages, args.creates_only)
    print(f"{args.messages} messages: in memory {memory:.2f} s, file-backed {shared:.2f} s")


if __name__ == "__main__":
    main()
