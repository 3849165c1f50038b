"""The parse worker probe (benchmarks/parse_worker_probe.py) hands back what the parser gives.

Its numbers mean something only if the run's thread receives, for each message, the same
``Message`` that parsing in-process gives, in the fetch's order, also when the run gave up on
some messages before taking their answers.
"""

import importlib
from pathlib import Path

import pytest

from tests.mailfactory import raw_mail
from tracker_mail_plugin.mail import parse_message
from tracker_mail_plugin.sources.base import Fetched

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def test_two_workers_answer_each_message_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the spawned workers import the probe too
    probe = importlib.import_module("parse_worker_probe")
    raws = [
        raw_mail({"Subject": f"Ticket #{n}", "Message-ID": f"<m{n}@example.com>"}, f"body {n}\n")
        for n in range(5)
    ]
    fetched = [Fetched(f"uid-{n}", raw) for n, raw in enumerate(raws)]
    pool = probe.ParsePool(2, "spawn", 0, 0.005)
    pool.start()
    try:
        for item in fetched:
            pool.submit(item)
        # 1 and 2 are never taken (as when a run quarantines a message unread): their
        # answers are dropped, and 3 and 4 still get their own.
        got = [pool.result(fetched[n]) for n in (0, 3, 4)]
    finally:
        pool.stop()
    assert got == [parse_message(raws[n]) for n in (0, 3, 4)]
    assert [message.subject for message in got] == ["Ticket #0", "Ticket #3", "Ticket #4"]
    assert [stats["messages"] for stats in pool.stats] == [3, 2]  # handed out in turn
    assert all(stats["pickled_bytes"] > 0 for stats in pool.stats)
