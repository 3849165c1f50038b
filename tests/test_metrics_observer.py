"""The run observer: every adapter operation reported, nothing wrapped when nobody listens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tracker_mail_plugin.adapter import Capability, NewComment, NewIssue
from tracker_mail_plugin.errors import RetryLater
from tracker_mail_plugin.metrics import Metrics
from tracker_mail_plugin.pipeline.observer import observed
from tracker_mail_plugin.pipeline.summary import Summary
from tracker_mail_plugin.testing import FaultKind, RecordingAdapter


class Heard:
    """A RunObserver that writes down what it is told."""

    def __init__(self) -> None:
        self.counts: list[tuple[str, str, int]] = []
        self.calls: list[tuple[str, str, str | None]] = []
        self.arrivals: list[datetime | None] = []

    def counted(self, mailbox: str, outcome: str, amount: int) -> None:
        self.counts.append((mailbox, outcome, amount))

    def confirmed(self, mailbox: str, arrived: datetime | None) -> None:
        self.arrivals.append(arrived)

    def tracker_call(
        self, adapter: str, kind: str, seconds: float, error: BaseException | None
    ) -> None:
        assert seconds >= 0
        self.calls.append((adapter, kind, type(error).__name__ if error else None))


def test_without_an_observer_the_adapter_is_not_wrapped() -> None:
    adapter = RecordingAdapter()
    assert observed(adapter, None) is adapter


def test_each_operation_is_reported_by_kind_and_errors_pass_through() -> None:
    inner = RecordingAdapter()
    heard = Heard()
    adapter = observed(inner, heard)
    assert adapter.find_user("nobody@example.com") is None
    created = adapter.create_issue(NewIssue(project="it", title="t", text="x", idempotency_key="k"))
    assert adapter.find_by_key("k") == created
    inner.fail("add_comment", FaultKind.RETRY_LATER)
    with pytest.raises(RetryLater):
        adapter.add_comment(created, NewComment("more", "k2"))
    assert heard.calls == [
        ("recording", "find_user", None),
        ("recording", "create_issue", None),
        ("recording", "find_by_key", None),
        ("recording", "add_comment", "RetryLater"),
    ]
    assert observed(adapter, heard) is adapter  # never timed twice


def test_the_wrapper_declares_what_the_adapter_declares() -> None:
    restricted = RecordingAdapter.with_capabilities(Capability.REOPEN)()
    adapter = observed(restricted, Heard())
    assert adapter.supports(Capability.REOPEN)
    assert not adapter.supports(Capability.WATCHERS)
    assert (adapter.name, adapter.thread_safe) == ("recording", True)
    assert repr(adapter) == repr(restricted)


def test_summary_counts_reach_the_observer() -> None:
    heard = Heard()
    summary = Summary("support", observer=heard)
    summary.add("created", 2)
    summary.add("attached", 0)  # nothing to tell
    assert (summary.created, heard.counts) == (2, [("support", "created", 2)])


def test_latency_from_a_clock_ahead_of_ours_is_zero_not_negative() -> None:
    metrics = Metrics()
    metrics.confirmed("support", datetime.now(UTC) + timedelta(minutes=5))
    metrics.confirmed("support", None)  # the source cannot tell: not observed
    count = metrics.registry.get_sample_value(
        "tracker_mail_processing_latency_seconds_count", {"mailbox": "support"}
    )
    low = metrics.registry.get_sample_value(
        "tracker_mail_processing_latency_seconds_bucket", {"mailbox": "support", "le": "0.1"}
    )
    assert (count, low) == (1, 1)
