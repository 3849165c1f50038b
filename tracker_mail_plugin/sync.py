"""The sync run: fetch -> journal -> parse -> decide -> act -> dispose, per mailbox.

The order is what makes it safe. A message is journalled before any tracker call; each
write is journalled before it is tried and confirmed after; the mailbox is changed only
after the tracker confirmed, and the journal records the disposal only after the source
committed it (a POP3 delete is real only at QUIT). Whatever is interrupted is resumed by the
next run from what the journal says, never redone blindly.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from tracker_mail_plugin.act import Actor, Delivery, Outcome
from tracker_mail_plugin.adapter import IssueRef, TrackerAdapter, UserRef
from tracker_mail_plugin.config.loader import LoadedConfig
from tracker_mail_plugin.config.model import ForwardTo, Policies
from tracker_mail_plugin.config.model import Move as MoveTo
from tracker_mail_plugin.errors import (
    ConfigurationError,
    NotPermitted,
    PermanentError,
    RetryLater,
    TrackerMailError,
    UnknownOutcome,
    Unreachable,
)
from tracker_mail_plugin.journal import Journal
from tracker_mail_plugin.journal.rows import MessageRow, MessageState
from tracker_mail_plugin.mail import Message, parse_message
from tracker_mail_plugin.ordering import Ordering
from tracker_mail_plugin.replies import reply_target
from tracker_mail_plugin.rules.conditions import SenderFacts
from tracker_mail_plugin.rules.decide import Decision, Facts, decide
from tracker_mail_plugin.sources.base import (
    Delete,
    Disposition,
    Envelope,
    Fetched,
    FlagSeen,
    Leave,
    MailSource,
    Move,
)

logger = logging.getLogger("tracker_mail")

Checkpoint = Callable[[str], None]
Forwarder = Callable[[bytes, str, str], None]
_FINISHED = (MessageState.DISPOSED, MessageState.UNPROCESSED, MessageState.QUARANTINED)
_DISPOSING = (*_FINISHED, MessageState.ACTED)
# With workers, at most this many messages per worker are fetched ahead of the slowest one.
_AHEAD_PER_WORKER = 4


@dataclass
class Summary:
    """What one mailbox's run did; one line of it goes to cron's mail."""

    mailbox: str
    fetched: int = 0
    created: int = 0
    commented: int = 0
    attached: int = 0
    forwarded: int = 0
    unprocessed: int = 0
    dropped: int = 0
    failed: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    exit_code: int = 0
    error: str | None = None
    busy: bool = False
    planned: list[str] = field(default_factory=list)

    def line(self) -> str:
        """``support: fetched 4, created 2, … in 1.3s``, or why the run stopped."""
        if self.busy:
            return f"{self.mailbox}: another sync of this mailbox is running; nothing done"
        counts = ", ".join(
            f"{name} {getattr(self, name)}"
            for name in ("fetched", "created", "commented", "attached", "forwarded",
                         "unprocessed", "dropped", "failed", "quarantined")
        )  # fmt: skip
        tail = f"; stopped: {self.error}" if self.error else ""
        return f"{self.mailbox}: {counts} in {self.seconds:.1f}s{tail}"


@dataclass
class Context:
    """The live objects one mailbox's run works with."""

    name: str
    loaded: LoadedConfig
    policies: Policies
    source: MailSource
    adapter: TrackerAdapter
    journal: Journal
    forward: Forwarder
    checkpoint: Checkpoint
    dry_run: bool = False
    identity: str = ""


class Progress:
    """``support: 120/4000`` on a terminal, for a person working through a large backlog."""

    MINIMUM = 50

    def __init__(self, mailbox: str, total: int):
        self.mailbox, self.total, self.count = mailbox, total, 0
        self.shown = total >= self.MINIMUM and sys.stderr.isatty()

    def step(self) -> None:
        """One more message done."""
        self.count += 1
        if self.shown and (self.count % 10 == 0 or self.count == self.total):
            sys.stderr.write(f"\r{self.mailbox}: {self.count}/{self.total}")
            sys.stderr.flush()

    def done(self) -> None:
        """End the progress line."""
        if self.shown:
            sys.stderr.write("\n")


class MailboxRun:
    """Processes the pending messages of one mailbox; see the module docstring."""

    def __init__(self, context: Context, summary: Summary):
        self.ctx = context
        self.summary = summary
        tracker = context.loaded.config.mailboxes[context.name].tracker
        self.tracker = tracker
        self.actor = Actor(
            context.adapter,
            context.journal,
            tracker,
            context.policies,
            context.forward,
            context.checkpoint,
        )
        self._disposed: list[tuple[MessageRow, Disposition]] = []
        self.paused_until: float | None = None  # a rate limit: stop fetching until then
        self.workers = 1 if context.dry_run else context.policies.workers
        # With workers, dispositions wait here for the thread that owns the source.
        self._to_dispose: queue.SimpleQueue[tuple[MessageRow, Disposition]] | None = None
        self._tally = threading.Lock()
        self._stopping = False

    def run(self, limit: int | None) -> None:
        """Fetch what is pending, process it, dispose, commit, then journal the disposals."""
        ctx = self.ctx
        ctx.identity = ctx.source.identity()
        pending = ctx.source.pending(
            lambda id: ctx.journal.is_done(ctx.name, ctx.identity, id), limit
        )
        if limit is None and not ctx.dry_run:
            self._settle_vanished({e.id for e in pending})
        for envelope in [e for e in pending if e.oversize]:
            self._oversize(envelope)
        wanted = [e for e in pending if not e.oversize]
        progress = Progress(ctx.name, len(wanted))
        if self.workers > 1:
            self._in_parallel(wanted, progress)
        else:
            self._one_by_one(wanted, progress)
        progress.done()
        if ctx.dry_run:
            return
        ctx.checkpoint("before_commit")
        ctx.source.commit()
        for row, disposition in self._disposed:
            removed = isinstance(disposition, (Delete, Move))
            ctx.journal.record_disposed(row, _describe(disposition), removed=removed)

    def _one_by_one(self, wanted: Sequence[Envelope], progress: Progress) -> None:
        for fetched in self.ctx.source.fetch(wanted):
            self.summary.fetched += 1
            self.process(fetched.id, fetched.raw)
            progress.step()
            if self._paused():
                break

    def _paused(self) -> bool:
        if self.paused_until is None:
            return False
        logger.warning(
            "%s: the tracker asks to wait; the rest waits for the next run", self.ctx.name
        )
        return True

    def _in_parallel(self, wanted: Sequence[Envelope], progress: Progress) -> None:
        """``workers`` messages at a time, in an order that keeps conversations right.

        This thread alone talks to the mail source: it fetches, parses enough to order
        the message (see :mod:`tracker_mail_plugin.ordering`), hands it to a worker, and
        applies the dispositions workers queue. A configuration or connection error in any
        worker stops the hand-outs; messages not yet started are left untouched.
        """
        self._to_dispose = queue.SimpleQueue()
        by_sender = self.ctx.policies.unknown_user == "create_user"
        ordering = Ordering(by_sender, self._threaded)
        running: set[Future[None]] = set()
        with ThreadPoolExecutor(self.workers, thread_name_prefix="tracker-mail") as pool:
            try:
                for fetched in self.ctx.source.fetch(wanted):
                    self.summary.fetched += 1
                    message = parse_message(fetched.raw)
                    after = ordering.waits_for(message)
                    future = pool.submit(self._process_after, after, fetched, message)
                    ordering.add(message, future)
                    running.add(future)
                    running = self._settle(running, self.workers * _AHEAD_PER_WORKER, progress)
                    if self._stopping or self._paused():
                        break
                self._settle(running, 0, progress)
            except BaseException:
                self._wind_down(running, quietly=True)
                raise
            self._wind_down(running, quietly=False)

    def _wind_down(self, running: set[Future[None]], quietly: bool) -> None:
        """Start nothing new, let what runs finish, apply the dispositions still queued.

        ``quietly``: an error is already on its way up (a dropped connection, say); a
        disposition that fails now is logged rather than raised over it. The message stays
        journalled as acted on, and the next run disposes of it.
        """
        self._stopping = True  # whatever has not started yet stays in the mailbox
        wait(running)
        try:
            self._drain_dispositions()
        except TrackerMailError as exc:
            if not quietly:
                raise
            logger.warning("%s: dispositions left for the next run: %s", self.ctx.name, exc)

    def _threaded(self, message_ids: Sequence[str]) -> bool:
        return self.ctx.journal.find_thread(message_ids, tracker=self.tracker) is not None

    def _process_after(
        self, earlier: list[Future[None]], fetched: Fetched, message: Message
    ) -> None:
        wait(earlier)
        if not self._stopping:
            self.process(fetched.id, fetched.raw, message)

    def _settle(
        self, running: set[Future[None]], at_most: int, progress: Progress
    ) -> set[Future[None]]:
        """Apply queued dispositions; wait until at most ``at_most`` messages are running.

        Raises the first configuration or connection error a worker met, after telling the
        others to start nothing new.
        """
        while True:
            self._drain_dispositions()
            done = {f for f in running if f.done()}
            for future in done:
                progress.step()
                error = future.exception()
                if error is not None:
                    self._stopping = True
                    raise error
            running = running - done
            if len(running) <= at_most:
                return running
            wait(running, timeout=0.5, return_when=FIRST_COMPLETED)

    def _drain_dispositions(self) -> None:
        if self._to_dispose is None:
            return
        while True:
            try:
                row, disposition = self._to_dispose.get_nowait()
            except queue.Empty:
                return
            self.ctx.source.dispose(row.source_id, disposition)
            self._disposed.append((row, disposition))

    def _add(self, counter: str, amount: int = 1) -> None:
        """Count in the summary; workers count at the same time."""
        with self._tally:
            setattr(self.summary, counter, getattr(self.summary, counter) + amount)

    def _settle_vanished(self, present: set[str]) -> None:
        """Journal the disposals an interrupted run made but could not record.

        An IMAP MOVE takes effect at once; a run killed before it journalled the move leaves
        a message that is in ``Processed`` yet "not disposed" in the journal. It is no longer
        in the folder, so it is never fetched again: settle it here.
        """
        for row in self.ctx.journal.undisposed(self.ctx.name, self.ctx.identity):
            # Only messages whose disposal was under way; one requeued by `retry` or still
            # being worked on is not settled just because it is not in this folder now.
            if row.source_id not in present and row.state in _DISPOSING:
                self.ctx.journal.record_disposed(row, "left the folder", removed=True)

    def process(self, source_id: str, raw: bytes, message: Message | None = None) -> None:
        """One message, start to finish; its failure never stops the ones behind it."""
        if message is None:
            message = parse_message(raw)
        if self.ctx.dry_run:
            self._plan_only(message)
            return
        row = self.ctx.journal.record_fetched(
            self.ctx.name,
            self.ctx.identity,
            source_id,
            message.message_id,
            message.sha256,
            len(raw),
        )
        self.ctx.checkpoint("after_fetch")
        if row.state in _FINISHED or row.state == MessageState.ACTED:
            self._dispose_again(row, raw)
            return
        try:
            self._handle(row, message, raw)
        except (Unreachable, ConfigurationError):
            raise  # the whole mailbox stops: nothing else can succeed either
        except (RetryLater, UnknownOutcome) as exc:
            if isinstance(exc, RetryLater) and exc.retry_after:
                self.paused_until = time.time() + exc.retry_after
            self._failed(
                row, message, raw, exc, counts_toward_quarantine=isinstance(exc, UnknownOutcome)
            )
        except NotPermitted as exc:  # the tracker refused the sender: not a failure to retry
            self._unprocessed(row, raw, str(exc))
        except PermanentError as exc:
            self._failed(row, message, raw, exc, counts_toward_quarantine=True)
        except Exception as exc:
            logger.exception("unexpected error on %s", message.message_id)
            self._failed(row, message, raw, exc, counts_toward_quarantine=True)

    # -- one message -----------------------------------------------------------------------

    def _handle(self, row: MessageRow, message: Message, raw: bytes) -> None:
        delivery = self._prepare(message, raw, row)
        decision = delivery.decision
        self.ctx.journal.mark_state(row, MessageState.DECIDED, _summary_of(decision))
        if decision.outcome == "drop":
            self._add("dropped")
            self._dispose(row, raw, self.ctx.policies.on_success, decision.skipped_reason or "")
            return
        if decision.outcome == "unprocessed":
            self._unprocessed(row, raw, decision.skipped_reason or "not processed")
            return
        outcome = self.actor.deliver(delivery)
        if outcome.denied:
            self._unprocessed(row, raw, outcome.denied)
            return
        self._count(outcome)
        self.ctx.journal.mark_state(row, MessageState.ACTED)
        self.ctx.checkpoint("after_record")
        self._dispose(row, raw, self.ctx.policies.on_success, "processed")

    def _prepare(self, message: Message, raw: bytes, row: MessageRow) -> Delivery:
        """Look up the sender and the issue replied to, then decide."""
        decision, sender, reply, reopen = self._decide(message)
        return Delivery(message, raw, row, decision, sender, reply, reopen)

    def _decide(self, message: Message) -> tuple[Decision, UserRef | None, IssueRef | None, bool]:
        sender = self._sender(message)
        reply, reopen = self._reply_target(message)
        config = self.ctx.loaded.config
        facts = Facts(
            sender=SenderFacts(known=sender is not None),
            reply_to=reply.key if reply else None,
            companies=config.company_table(),
            mailbox=self.ctx.name,
        )
        decision = decide(message, config.rules_for(self.ctx.name), self.ctx.policies, facts)
        return decision, sender, reply, reopen

    def _sender(self, message: Message) -> UserRef | None:
        if message.from_ is None:
            return None
        found = self.ctx.adapter.find_user(message.from_.address)
        login = self.ctx.loaded.config.users.get(message.from_.address)
        if found is None and login:
            return UserRef(
                id=login, login=login, name=message.from_.name, email=message.from_.address
            )
        return found

    def _reply_target(self, message: Message) -> tuple[IssueRef | None, bool]:
        closed = self.ctx.policies.replies.closed_issue
        return reply_target(message, self.ctx.adapter, self.ctx.journal, self.tracker, closed)

    # -- outcomes --------------------------------------------------------------------------

    def _unprocessed(self, row: MessageRow, raw: bytes, reason: str) -> None:
        self._add("unprocessed")
        self.ctx.journal.mark_state(row, MessageState.UNPROCESSED, {"reason": reason})
        logger.info("unprocessed: %s (%s)", row.message_id, reason)
        self._dispose(row, raw, self.ctx.policies.on_unprocessed, reason)

    def _failed(
        self,
        row: MessageRow,
        message: Message,
        raw: bytes,
        error: BaseException,
        counts_toward_quarantine: bool,
    ) -> None:
        attempts = self.ctx.journal.record_failure(row, error)
        logger.warning("failed (attempt %d): %s: %s", attempts, message.message_id, error)
        if counts_toward_quarantine and attempts >= self.ctx.policies.max_attempts:
            self._add("quarantined")
            self.ctx.journal.mark_state(row, MessageState.QUARANTINED, {"reason": str(error)})
            self._dispose(
                row, raw, self.ctx.policies.on_failure, f"failed {attempts} times: {error}"
            )
        else:
            self._add("failed")

    def _oversize(self, envelope: Envelope) -> None:
        """Never downloaded: only its size is known, so it can only be left or moved."""
        self.summary.unprocessed += 1
        limit = self.ctx.policies.max_message_size
        logger.warning(
            "message %s is %d bytes, over max_message_size %d", envelope.id, envelope.size, limit
        )
        if self.ctx.dry_run:
            self.summary.planned.append(
                f"{envelope.id}: too large ({envelope.size} bytes): unprocessed"
            )
            return
        policy = self.ctx.policies.on_unprocessed
        disposition = Move(policy.move) if isinstance(policy, MoveTo) else Leave()
        if self.ctx.source.supports(disposition):
            self.ctx.source.dispose(envelope.id, disposition)

    def _dispose_again(self, row: MessageRow, raw: bytes) -> None:
        """A message already handled (a rerun after a crash, a new UIDVALIDITY): dispose only."""
        policies = self.ctx.policies
        policy = {
            MessageState.UNPROCESSED: policies.on_unprocessed,
            MessageState.QUARANTINED: policies.on_failure,
        }.get(row.state, policies.on_success)
        if isinstance(policy, ForwardTo):
            policy = "leave"  # it was forwarded the first time
        self._dispose(row, raw, policy, "already handled")

    def _dispose(self, row: MessageRow, raw: bytes, policy: Any, reason: str) -> None:
        if isinstance(policy, ForwardTo):
            self.ctx.forward(raw, policy.forward, reason)
            self._add("forwarded")
        disposition = _disposition(policy)
        if not self.ctx.source.supports(disposition):
            logger.warning(
                "%s cannot %s; the message is left in place", self.ctx.name, _describe(disposition)
            )
            disposition = Leave()
        if self._to_dispose is not None:
            self._to_dispose.put((row, disposition))  # the source is the main thread's
            return
        self.ctx.source.dispose(row.source_id, disposition)
        self._disposed.append((row, disposition))

    def _count(self, outcome: Outcome) -> None:
        self._add("created", len(outcome.created))
        self._add("commented", len(outcome.commented))
        self._add("attached", outcome.attached)
        self._add("forwarded", outcome.forwarded)

    def _plan_only(self, message: Message) -> None:
        """--dry-run: decide and say what would be done; no writes, no journal, no moves."""
        decision = self._decide(message)[0]
        what = "; ".join(p.describe() for p in decision.actions) or decision.skipped_reason or ""
        self.summary.planned.append(
            f"{message.subject!r} from {message.from_}: {decision.outcome}: {what}"
        )


def _disposition(policy: Any) -> Disposition:
    """A configured disposition (``delete``, ``{move: X}``…) as the source's value."""
    if isinstance(policy, MoveTo):
        return Move(policy.move)
    if policy == "delete":
        return Delete()
    if policy == "flag_seen":
        return FlagSeen()
    return Leave()


def _describe(disposition: Disposition) -> str:
    if isinstance(disposition, Move):
        return f"move to {disposition.folder!r}"
    return {Delete: "delete", FlagSeen: "flag seen"}.get(type(disposition), "leave")


def _summary_of(decision: Decision) -> dict[str, Any]:
    return {
        "outcome": decision.outcome,
        "matched_rule": decision.matched_rule,
        "reply_to": decision.reply_to,
        "actions": [p.describe() for p in decision.actions],
        "skipped_reason": decision.skipped_reason,
        "author": decision.author,
    }


def elapsed_since(start: float) -> float:
    """Seconds since ``start`` (a ``time.monotonic()`` reading)."""
    return time.monotonic() - start


__all__ = ["Context", "MailboxRun", "Summary", "TrackerMailError"]
