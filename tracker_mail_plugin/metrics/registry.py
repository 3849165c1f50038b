"""The metrics tracker-mail exports, in a registry of their own, fed by the run observer.

A registry of its own (not prometheus_client's global one): a process (or a test) may hold
several, and nothing another library registers globally ends up in our output.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from tracker_mail_plugin.journal import Journal
from tracker_mail_plugin.pipeline.summary import Summary

PREFIX = "tracker_mail"

# What Summary counts; every one is a value of the ``outcome`` label.
OUTCOMES = (
    "fetched", "created", "commented", "attached", "forwarded",
    "unprocessed", "dropped", "failed", "quarantined",
)  # fmt: skip
BACKLOG_STATES = ("pending", "failed", "quarantined")
LAST_RUN = f"{PREFIX}_last_run_timestamp_seconds"
LAST_SUCCESS = f"{PREFIX}_last_success_timestamp_seconds"

# From arrival to confirmation: sub-second for watch with IDLE, minutes for sync from cron,
# hours for a mailbox that was down.
LATENCY_BUCKETS = (
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
    4 * 3600.0, 24 * 3600.0,
)  # fmt: skip
# One tracker request: tens of milliseconds on a LAN, seconds for an upload or a slow cloud.
REQUEST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """tracker-mail's metrics; pass it as the run's observer (it is a RunObserver).

    Attributes:
        registry: the registry to expose (``/metrics``) or write (``--metrics-file``).
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.messages = Counter(
            f"{PREFIX}_messages",
            "Messages by outcome (created, commented, unprocessed, dropped, failed, "
            "quarantined, ...), as the run's summary line counts them",
            ["mailbox", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            f"{PREFIX}_processing_latency_seconds",
            "From the mail's arrival in the mailbox to the tracker confirming its writes",
            ["mailbox"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.requests = Histogram(
            f"{PREFIX}_tracker_request_duration_seconds",
            "One tracker adapter operation (kind: create_issue, add_comment, find_by_key, ...)",
            ["adapter", "kind"],
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            f"{PREFIX}_tracker_errors",
            "Tracker adapter operations that raised, by kind and error class",
            ["adapter", "kind", "error"],
            registry=self.registry,
        )
        self.last_run = Gauge(
            LAST_RUN,
            "When the mailbox's last run ended (unix time), successful or not",
            ["mailbox"],
            registry=self.registry,
        )
        self.last_success = Gauge(
            LAST_SUCCESS,
            "When the mailbox's last run ended without stopping on an error (unix time)",
            ["mailbox"],
            registry=self.registry,
        )
        self.backlog = Gauge(
            f"{PREFIX}_journal_messages",
            "Unfinished messages in the journal: pending, failed (to retry), quarantined",
            ["mailbox", "state"],
            registry=self.registry,
        )

    def add_mailboxes(self, names: Iterable[str]) -> None:
        """Start every outcome of ``names`` at 0, so a rate over them exists from the start."""
        for name in names:
            for outcome in OUTCOMES:
                self.messages.labels(name, outcome)
            self.latency.labels(name)

    # -- the run observer ------------------------------------------------------------------

    def counted(self, mailbox: str, outcome: str, amount: int) -> None:
        """Count messages under ``outcome``."""
        self.messages.labels(mailbox, outcome).inc(amount)

    def confirmed(self, mailbox: str, arrived: datetime | None) -> None:
        """Observe the latency from ``arrived``; sources that cannot tell are not observed."""
        if arrived is None:
            return
        # A sender's or server's clock ahead of ours must not make a negative latency.
        seconds = max(0.0, (datetime.now(UTC) - arrived).total_seconds())
        self.latency.labels(mailbox).observe(seconds)

    def tracker_call(
        self, adapter: str, kind: str, seconds: float, error: BaseException | None
    ) -> None:
        """Time one adapter operation; count it when it raised."""
        self.requests.labels(adapter, kind).observe(seconds)
        if error is not None:
            self.errors.labels(adapter, kind, type(error).__name__).inc()

    # -- after a run -----------------------------------------------------------------------

    def run_finished(self, summary: Summary, at: float | None = None) -> None:
        """A mailbox's run ended; it succeeded unless it stopped on an error or was busy.

        Messages that failed and will be retried do not make the run a failure: they are
        counted under ``failed``; a mailbox or tracker that could not be reached does.
        """
        now = time.time() if at is None else at
        if summary.busy:
            return  # another process ran the mailbox: its metrics say how that went
        self.last_run.labels(summary.mailbox).set(now)
        if summary.error is None:
            self.last_success.labels(summary.mailbox).set(now)

    def read_backlog(self, journal: Journal, mailboxes: Iterable[str]) -> None:
        """Set the backlog gauges of ``mailboxes`` from the journal (0 where it has none)."""
        counts = journal.backlog()
        for mailbox in mailboxes:
            for state in BACKLOG_STATES:
                self.backlog.labels(mailbox, state).set(counts.get((mailbox, state), 0))

    def names(self) -> set[str]:
        """Every sample name the registry exports (``..._total``, ``..._bucket``, ...)."""
        found: set[str] = set()
        for family in self.registry.collect():
            found.update(family.name + suffix for suffix in _SUFFIXES[family.type])
        return found


_SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
}
