"""One watched mailbox: when to look at it next, and the IMAP connection it idles on.

An IMAP mailbox whose server offers IDLE keeps one connection: it is processed on that
connection and then idles until the server announces mail (or until IDLE is due to be
re-issued), so new mail costs no new login. Every other mailbox is looked at every
``poll_interval`` seconds, each time through the same code as ``sync``. A mailbox whose
run fails is tried again after an exponential back-off with jitter, bounded, whatever the
reason, and its trouble is logged once when it starts and once when it ends. Messages that
failed and wait to be tried again (the tracker answered 500, say) are looked at again after
``poll_interval`` seconds, then twice that ..., not only when new mail comes.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from tracker_mail_plugin.assemble import journal_path, open_source
from tracker_mail_plugin.commands.output import summary_fields
from tracker_mail_plugin.commands.sync import SyncOptions, process_mailbox
from tracker_mail_plugin.config.loader import LoadedConfig
from tracker_mail_plugin.errors import ExitCode, TrackerMailError
from tracker_mail_plugin.pipeline.summary import Summary
from tracker_mail_plugin.sources.imap import ImapSource
from tracker_mail_plugin.watch.health import Health, Mode

if TYPE_CHECKING:
    from tracker_mail_plugin.metrics import Metrics

logger = logging.getLogger("tracker_mail")

# RFC 2177: servers may drop a client idle for 30 minutes; IDLE is re-issued before that.
IDLE_RENEW_SECONDS = 29 * 60.0
IDLE_RENEW_ENV = "TRACKER_MAIL_WATCH_IDLE_SECONDS"
# After a failed run: 1 s, 2 s, 4 s ... up to this, each with up to half of it as jitter,
# so that many watchers of one server do not all come back at the same instant.
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 300.0
# Another process (a cron sync) holds the mailbox's lock: look again this soon.
BUSY_RETRY = 5.0
# What a mailbox's trouble is remembered as during an outage, whatever its words.
_OUTAGE = "\0outage"


def idle_renew_seconds() -> float:
    """How long one IDLE lasts before it is re-issued (shortened by tests through the env)."""
    given = os.environ.get(IDLE_RENEW_ENV, "")
    try:
        return float(given) if given else IDLE_RENEW_SECONDS
    except ValueError:
        return IDLE_RENEW_SECONDS


def backoff(failures: int, rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait after ``failures`` failed runs in a row (at least one)."""
    full = min(BACKOFF_MAX, BACKOFF_FIRST * 2.0 ** min(failures - 1, 30))
    return full * (0.5 + rng() / 2)


class MailboxWatcher:
    """Decides when one mailbox runs; runs it; keeps its IMAP connection between runs.

    Args:
        name: the mailbox in the configuration.
        loaded: the configuration (replaced by :meth:`reconfigure` on a reload).
        health: where the mailbox's state is reported.
        metrics: counts what the runs do; None measures nothing.
    """

    def __init__(
        self, name: str, loaded: LoadedConfig, health: Health, metrics: Metrics | None = None
    ):
        self.name = name
        self.loaded = loaded
        self.health = health
        self.metrics = metrics
        self.due = 0.0  # time.monotonic() of the next run; 0: now (mail that came while down)
        self.source: ImapSource | None = None
        self.idling = False
        self.idling_announced = False
        self._failures = 0
        self._failing_runs = 0  # runs in a row that left messages to be tried again
        self._trouble: str | None = None
        self._not_before = 0.0  # time.monotonic() until which the tracker asked us to wait
        health.watch(name, self._mode(), self.poll_interval)

    @property
    def poll_interval(self) -> float:
        """The mailbox's ``poll_interval``."""
        return self.loaded.config.mailboxes[self.name].poll_interval

    def connection_settings(self) -> dict[str, object]:
        """What the connection depends on: a reload that changes it reconnects."""
        mailbox = self.loaded.config.mailboxes[self.name]
        return mailbox.model_dump(exclude={"rules", "policies", "poll_interval"})

    def reconfigure(self, loaded: LoadedConfig) -> None:
        """Use a reloaded configuration from the next run on (same connection settings)."""
        self.loaded = loaded
        self.health.watch(self.name, self._mode(), self.poll_interval)

    def carry_trouble(self, old: MailboxWatcher) -> None:
        """Take over the trouble ``old`` reported, so that its end is said here."""
        self._trouble = old._trouble

    def socket(self) -> socket.socket | None:
        """The socket to wait on while idling; None when not idling."""
        if self.idling and self.source is not None:
            return self.source.idle_socket()
        return None

    def on_readable(self) -> None:
        """The server said something while we idled: run now if it is about new mail."""
        if self.source is None:
            return
        try:
            if self.source.idle_news():
                self.due = self._not_before  # now, unless the tracker asked us to wait
        except TrackerMailError as exc:
            self._drop(str(exc))

    def work(self, stop: Callable[[], bool]) -> None:
        """Run the mailbox now, then idle again or plan the next look."""
        try:
            self._work(stop)
        except Exception as exc:  # a bug met in one mailbox must not stop the others
            trouble = f"unexpected error: {exc!r}"
            if trouble != self._trouble:
                logger.exception("%s: %s (retrying with back-off)", self.name, trouble)
                self._trouble = trouble
            self.close()
            self.health.ran(self.name, trouble, tracker_ok=None)
            self._failures += 1
            self.due = time.monotonic() + backoff(self._failures)

    def _work(self, stop: Callable[[], bool]) -> None:
        if self.loaded.config.mailboxes[self.name].protocol == "imap":
            self._work_imap(stop)
            return
        summary = process_mailbox(self.loaded, self.name, SyncOptions(), self.metrics, stop=stop)
        self._ran(summary)
        if not self._failures and not summary.busy:
            self.due = time.monotonic() + _next_look(summary, self.poll_interval)

    def close(self) -> None:
        """Leave IDLE and log out (on stopping, or when a reload changes the connection)."""
        source, self.source = self.source, None
        if source is None:
            return
        if self.idling:
            self.idling = False
            try:
                source.end_idle()
            except TrackerMailError as exc:
                logger.debug("%s: ending IDLE: %s", self.name, exc)
        source.close()
        self.health.connection(self.name, connected=False)

    # -- IMAP --------------------------------------------------------------------------------

    def _work_imap(self, stop: Callable[[], bool]) -> None:
        try:
            self._ready_connection()
        except TrackerMailError as exc:
            self._failed_to_connect(exc)
            return
        summary = process_mailbox(
            self.loaded, self.name, SyncOptions(), self.metrics, self.source, stop
        )
        self._ran(summary)
        waiting = summary.waiting
        self._not_before = 0.0 if waiting is None else time.monotonic() + waiting
        if self._failures:
            self.close()  # whatever broke, the next attempt starts from a fresh connection
            return
        if self.source is not None and self.source.can_idle() and not stop():
            self._idle(self._retry_sooner(summary, _next_look(summary, idle_renew_seconds())))
        elif not summary.busy:
            self.due = time.monotonic() + _next_look(summary, self.poll_interval)

    def _ready_connection(self) -> None:
        """Open the connection, or bring the open one out of IDLE with a fresh view."""
        if self.source is None:
            self._connect()
            return
        try:
            if self.idling:
                self.idling = False
                self.health.connection(self.name, connected=True)
                self.source.end_idle()
            self.source.refresh()
        except TrackerMailError as exc:
            # Servers close idle connections (autologout, restart): one fresh try at once.
            logger.info("%s: reconnecting: %s", self.name, exc)
            self.close()
            self._connect()

    def _connect(self) -> None:
        mailbox = self.loaded.config.mailboxes[self.name]
        policies = self.loaded.policies(self.name)
        path = journal_path(self.loaded)
        source = open_source(mailbox, policies.max_message_size, path.parent, self.name)
        if not isinstance(source, ImapSource):  # the protocol says imap: a programming error
            raise TypeError(f"{self.name}: expected an IMAP source, got {source!r}")
        source.open()
        self.source = source
        self.idling_announced = False
        self.health.watch(self.name, self._mode(), self.poll_interval)
        self.health.connection(self.name, connected=True)

    def _idle(self, wait: float) -> None:
        """Idle until the server announces mail, or for ``wait`` seconds at most."""
        if self.source is None:
            return
        try:
            if self.source.mail_announced():  # mail came during the run: another run first
                self.due = 0.0
                return
            self.source.start_idle()
        except TrackerMailError as exc:
            self._drop(str(exc))
            return
        if not self.idling_announced:  # once per connection: -v shows when watch is listening
            logger.info("%s: waiting for new mail (IDLE)", self.name)
            self.idling_announced = True
        self.idling = True
        self.health.connection(self.name, connected=True, idling=True)
        self.due = time.monotonic() + wait

    def _drop(self, why: str) -> None:
        """The idling connection broke: reconnect after the back-off."""
        self.idling = False
        self.close()
        trouble = f"connection lost: {why}"
        # Not ready until a reconnection worked: a server that is down may take minutes.
        self.health.ran(self.name, trouble, tracker_ok=None)
        self._trouble_now(trouble, outage=True)
        self._failures += 1
        self.due = time.monotonic() + backoff(self._failures)

    def _failed_to_connect(self, exc: TrackerMailError) -> None:
        self.close()
        self.health.ran(self.name, str(exc), tracker_ok=None)
        self._trouble_now(str(exc), outage=exc.exit_code == ExitCode.UNREACHABLE)
        self._failures += 1
        self.due = time.monotonic() + backoff(self._failures)

    # -- after a run -------------------------------------------------------------------------

    def _ran(self, summary: Summary) -> None:
        self.health.summary(summary)
        if summary.busy:  # a cron sync has it: not a failure, just look again soon
            self.due = time.monotonic() + BUSY_RETRY
            return
        if summary.fetched or summary.error is None:
            logger.log(
                logging.INFO if summary.fetched else logging.DEBUG,
                "%s",
                summary.line(),
                extra={"fields": summary_fields(summary)},  # the counts, for JSON logs
            )
        tracker_ok = _tracker_ok(summary)
        self.health.ran(self.name, summary.error, tracker_ok)
        if summary.error is None:
            self._failures = 0
            self._trouble_now(None)
            return
        self._trouble_now(summary.error, outage=summary.exit_code == ExitCode.UNREACHABLE)
        self._failures += 1
        wait = backoff(self._failures)
        if summary.exit_code == ExitCode.CONFIGURATION:
            wait = max(wait, self.poll_interval)
        self.due = time.monotonic() + wait

    def _retry_sooner(self, summary: Summary, wait: float) -> float:
        """``wait``, or less when the run left messages to be tried again.

        While idling, only new mail would bring them back, or the IDLE renewal half an hour
        later; they come back after ``poll_interval``, doubling while runs keep failing
        (up to 5 minutes, or ``poll_interval`` if longer), so that a tracker that failed for
        a moment is not hammered and a message is not quarantined within seconds.
        """
        if not summary.failed:
            self._failing_runs = 0
            return wait
        self._failing_runs += 1
        if summary.waiting is not None:  # the tracker said when (Retry-After): that stands
            return wait
        longest = max(BACKOFF_MAX, self.poll_interval)
        again = self.poll_interval * 2.0 ** min(self._failing_runs - 1, 30)
        return min(wait, again, longest)

    def _trouble_now(self, trouble: str | None, *, outage: bool = False) -> None:
        """Log a change of state only: a mailbox down for hours says so once.

        An outage (a server or tracker that cannot be reached) is one state whatever its
        words: a restarting server drops the connection, then refuses new ones, then times
        out; that is said once, when it starts (``/readyz`` has the latest words).
        """
        key = _OUTAGE if outage and trouble is not None else trouble
        if key == self._trouble:
            return
        if trouble is None:
            logger.warning("%s: working again", self.name)
        else:
            logger.error("%s: %s (retrying with back-off)", self.name, trouble)
        self._trouble = key

    def _mode(self) -> Mode:
        mailbox = self.loaded.config.mailboxes[self.name]
        if mailbox.protocol == "imap" and (self.source is None or self.source.can_idle()):
            return "idle"
        return "poll"


def _next_look(summary: Summary, usual: float) -> float:
    """Seconds until the next run: sooner when the lock was busy, later when rate-limited."""
    if summary.busy:
        return min(usual, BUSY_RETRY)
    if summary.waiting is not None:  # the tracker said when to come back (Retry-After)
        return max(summary.waiting, 1.0)
    return usual


def _tracker_ok(summary: Summary) -> bool | None:
    """Whether the tracker worked in this run; None when no message reached it."""
    if summary.fetched == 0:
        return None
    return summary.exit_code not in (ExitCode.UNREACHABLE, ExitCode.CONFIGURATION)
