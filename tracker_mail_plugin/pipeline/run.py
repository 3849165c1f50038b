"""One mailbox's run: fetch -> journal -> facts -> decide -> act -> dispose, for each message.

The order is what makes it safe. A message is journalled before any tracker call; each
write is journalled before it is tried and confirmed after (:mod:`.act`); the mailbox is
changed only after the tracker confirmed, and the journal records the disposal only after
the source committed it (:mod:`.disposal`). Whatever is interrupted is resumed by the next
run from what the journal says, never redone blindly.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Sequence
from datetime import datetime

from tracker_mail_plugin.config.model import DispositionPolicy
from tracker_mail_plugin.errors import (
    ConfigurationError,
    NotPermitted,
    PermanentError,
    RetryLater,
    TrackerMailError,
    UnknownOutcome,
    Unreachable,
)
from tracker_mail_plugin.journal.rows import MessageRow, MessageState
from tracker_mail_plugin.mail import Message, parse_message, unparsed_message
from tracker_mail_plugin.pipeline.act import Actor, Delivered, Delivery
from tracker_mail_plugin.pipeline.budget import OverBudget, time_budget
from tracker_mail_plugin.pipeline.checkpoints import Checkpoint
from tracker_mail_plugin.pipeline.disposal import Disposer
from tracker_mail_plugin.pipeline.facts import Lookup, authentication_for, facts_for, look_up
from tracker_mail_plugin.pipeline.observer import observed
from tracker_mail_plugin.pipeline.ordering import Ordering
from tracker_mail_plugin.pipeline.outcomes import (
    issue_fields,
    outcome_for,
    report,
)
from tracker_mail_plugin.pipeline.parts import NEW_JOURNAL_HOURS, MailboxParts
from tracker_mail_plugin.pipeline.preview import Preview
from tracker_mail_plugin.pipeline.scheduling import InParallel, OneByOne
from tracker_mail_plugin.pipeline.states import StateKeeper
from tracker_mail_plugin.pipeline.summary import Planned, Progress, Summary
from tracker_mail_plugin.registry import untranslated
from tracker_mail_plugin.rules.decide import Decision, decide
from tracker_mail_plugin.sources.base import Envelope, Fetched
from tracker_mail_plugin.trust.verdict import Verdict

logger = logging.getLogger("tracker_mail")

_FINISHED = (MessageState.DISPOSED, MessageState.UNPROCESSED, MessageState.QUARANTINED)
# The outcome a message finished before is logged with when it comes again.
_AGAIN = {MessageState.UNPROCESSED: "unprocessed", MessageState.QUARANTINED: "quarantined"}


class MailboxRun:
    """Processes the pending messages of one mailbox; see the module docstring."""

    def __init__(self, parts: MailboxParts, summary: Summary):
        self.parts = parts
        self.summary = summary
        if parts.observer is not None:
            summary.observer = parts.observer
        self.adapter = observed(parts.adapter, parts.observer)
        self.tracker = parts.loaded.config.mailboxes[parts.name].tracker
        self.states = StateKeeper(parts.journal)
        self.disposer = Disposer(
            parts.name, parts.source, self.states, parts.policies, parts.forward, parts.checkpoint
        )
        look_up_first = parts.look_up_first or self._may_hold_handled_mail()
        self.actor = Actor(
            self.adapter, parts.journal, self.tracker, parts.policies, parts.forward,
            parts.checkpoint, look_up_first,
        )  # fmt: skip
        self.preview = Preview(parts.adapter, self.tracker)
        self.identity = ""
        # A rate limit: the time (``time.time()``) until which the tracker asked us to wait.
        self.paused_until: float | None = None

    def _may_hold_handled_mail(self) -> bool:
        """A new journal over a mailbox that keeps processed mail (leave, flag_seen).

        Mail moved or deleted once processed is no longer there to import twice; mail left
        in place is, if the journal that knew it was lost.
        """
        keeps = self.parts.policies.on_success in ("leave", "flag_seen")
        return keeps and self.parts.journal.is_new(NEW_JOURNAL_HOURS)

    def run(self, limit: int | None) -> None:
        """Fetch what is pending, process it, dispose, commit, then journal the disposals.

        The journal's commits are grouped: fsynced where the exactly-once argument needs it
        (see :mod:`tracker_mail_plugin.journal.store`), not at every step.
        """
        parts = self.parts
        if parts.dry_run:
            self._run(limit)
            return
        with parts.journal.grouped():
            if parts.journal.begin_run(parts.name):
                logger.warning(
                    "%s: an earlier run was cut short by the machine going down; "
                    "every issue and comment is looked up in the tracker before it is written",
                    parts.name,
                )
                self.actor.look_up_first = True
            self._run(limit)
            # Left in place after an error: a leftover of this boot is harmless (see runs.py).
            whole = limit is None and self.paused_until is None and not parts.stop()
            parts.journal.end_run(parts.name, whole=whole)

    def _run(self, limit: int | None) -> None:
        parts = self.parts
        if parts.dry_run:
            self.preview.reachable()  # before any mail: a preview must not say "fine" then
        self.identity = parts.source.identity()
        pending = parts.source.pending(
            lambda id: parts.journal.is_done(parts.name, self.identity, id), limit
        )
        if limit is None and not parts.dry_run:
            self.disposer.settle_vanished(self.identity, {e.id for e in pending})
        for envelope in [e for e in pending if e.oversize]:
            self._oversize(envelope)
        wanted = [e for e in pending if not e.oversize]
        if parts.stop():  # asked to stop while listing: no message is in hand yet
            wanted = []
        progress = Progress(parts.name, len(wanted))
        try:
            self._scheduler().run(wanted, progress)
        except TrackerMailError:
            if not parts.dry_run:  # what was finished leaves the mailbox all the same
                self.disposer.commit(parts.checkpoint, quietly=True)
            raise
        progress.done()
        if not parts.dry_run:
            self.disposer.commit(parts.checkpoint)
            if self.disposer.left:  # in the tracker, not yet out of the mailbox: retried
                self.summary.add("failed", self.disposer.left)

    def _scheduler(self) -> OneByOne | InParallel:
        workers = 1 if self.parts.dry_run else self.parts.policies.workers
        if workers == 1:
            return OneByOne(self.parts.source, self, self.summary, self.disposer)
        by_sender = self.parts.policies.unknown_user == "create_user"
        ordering = Ordering(by_sender, self._threaded)
        return InParallel(self.parts.source, self, self.summary, self.disposer, workers, ordering)

    def _threaded(self, message_ids: Sequence[str]) -> bool:
        return self.parts.journal.find_thread(message_ids, tracker=self.tracker) is not None

    def paused(self) -> bool:
        """True once the tracker asked to wait, or a stop was asked; the rest is left."""
        if self.parts.stop():
            return True
        if self.paused_until is None:
            return False
        self.summary.waiting = max(0.0, self.paused_until - time.time())
        logger.warning(
            "%s: the tracker asks to wait %.0fs; the rest waits for the next run",
            self.parts.name,
            self.summary.waiting,
        )
        return True

    def read(self, fetched: Fetched) -> Message | None:
        """Journal the arrival, then parse within the time budget.

        Journalled first, so that a parse that hangs or kills the process counts as an
        attempt; after ``max_attempts`` of them the raw message is quarantined unread.
        None: the message could not be read, and that is already counted and handled.
        A dry run does the same in its copy of the journal, so it skips (and shows) what the
        real run would quarantine unread, rather than being stopped by it again.
        """
        policies = self.parts.policies
        sha256 = hashlib.sha256(fetched.raw).hexdigest()
        attempts = self.parts.journal.arrive(
            self.parts.name, self.identity, fetched.id, sha256, len(fetched.raw)
        )
        if attempts > policies.max_attempts:
            self._unreadable(
                fetched, f"reading it did not finish {attempts - 1} times", attempts - 1
            )
            return None
        message = self._parse(fetched, sha256)
        if message is not None:
            return message
        why = f"reading it took more than {policies.max_processing_seconds:g}s"
        if attempts >= policies.max_attempts:
            self._unreadable(fetched, f"{why}, {attempts} times", attempts)
        elif self.parts.dry_run:
            peeked = unparsed_message(fetched.raw, why, sha256)
            self.preview.unread(peeked, False, f"{why} (attempt {attempts})", self.summary)
        else:
            self.summary.add("failed")
            logger.warning("failed (attempt %d): %s: %s", attempts, fetched.id, why)
        return None

    def _parse(self, fetched: Fetched, sha256: str | None = None) -> Message | None:
        what = f"reading message {fetched.id} of mailbox {self.parts.name}"
        seconds = self.parts.policies.max_processing_seconds
        try:
            # hard: its arrival is journalled (in a dry run, in its copy), so ending the
            # process over a message stuck in C code loses nothing and counts the attempt.
            with time_budget(seconds, what, hard=True):
                return parse_message(fetched.raw, sha256)  # the digest journalled: not hashed twice
        except OverBudget:
            return None

    def _unreadable(self, fetched: Fetched, why: str, attempts: int) -> None:
        """Quarantine a message the parser cannot finish: its raw text, with the reason.

        ``attempts``: how many times reading it failed, as status shows them.
        """
        message = unparsed_message(fetched.raw, why)
        if self.parts.dry_run:
            self.preview.unread(message, True, why, self.summary)
            return
        row = self.states.fetched(
            self.parts.name, self.identity, fetched.id, message, len(fetched.raw)
        )
        if row.state in _FINISHED:
            self.disposer.dispose_again(row)
            return
        self.states.failed(row, why, attempts=attempts)
        self._quarantine(row, message, fetched.raw, why, f"unread: {why}")

    def handle(self, fetched: Fetched, message: Message) -> None:
        """One message, start to finish; its failure never stops the ones behind it."""
        raw = fetched.raw
        if self.parts.dry_run:
            self._plan_only(message, raw)
            return
        row = self.states.fetched(self.parts.name, self.identity, fetched.id, message, len(raw))
        self.parts.checkpoint(Checkpoint.AFTER_FETCH)
        if row.state in _FINISHED or row.state == MessageState.ACTED:
            self.disposer.dispose_again(row)
            self._again(row, message)
            return
        try:
            self._handle(row, message, raw, fetched.arrived)
        except (Unreachable, ConfigurationError) as exc:
            # The whole mailbox stops: nothing else can succeed either. The message says why
            # in `status`, and is tried again next run without an attempt counted.
            with contextlib.suppress(TrackerMailError):  # the journal itself may be what failed
                self.states.stopped(row, exc)
            raise
        except OverBudget as exc:
            self._failed(row, message, raw, exc, counts_toward_quarantine=True)
        except (RetryLater, UnknownOutcome) as exc:
            if isinstance(exc, RetryLater) and exc.retry_after:
                self.paused_until = time.time() + exc.retry_after
            quarantine = isinstance(exc, UnknownOutcome)
            self._failed(row, message, raw, exc, counts_toward_quarantine=quarantine)
        except NotPermitted as exc:  # the tracker refused the sender: not a failure to retry
            self._unprocessed(row, message, raw, str(exc))
        except PermanentError as exc:
            self._failed(row, message, raw, exc, counts_toward_quarantine=True)
        except Exception as exc:
            # Whose bug it is, when it came out of the adapter untranslated: its authors'.
            blame = untranslated(exc, self.parts.adapter)
            logger.exception(
                "unexpected error on %s%s", message.message_id, f": {blame}" if blame else ""
            )
            self._failed(row, message, raw, exc, counts_toward_quarantine=True)

    def _handle(
        self, row: MessageRow, message: Message, raw: bytes, arrived: datetime | None
    ) -> None:
        lookup = self._look_up(message)
        # The trust gate may ask DNS (trust: verify): outside the time budget, like lookups.
        verdict = authentication_for(message, raw, self.parts.loaded, self.parts.name)
        with time_budget(self.parts.policies.max_processing_seconds, "deciding on the message"):
            decision = self._decide(message, lookup, verdict)
        self.states.decided(row, decision)
        policies = self.parts.policies
        if decision.outcome == "drop":
            self.summary.add("dropped")
            self._report(row, message, "dropped", reason=decision.skipped_reason)
            self.disposer.dispose(row, policies.on_success)
            return
        if decision.outcome == "unprocessed":
            self._unprocessed(row, message, raw, decision.skipped_reason or "not processed")
            return
        delivery = Delivery(
            message, raw, row, decision, lookup.sender, lookup.reply_to, lookup.reopen
        )
        delivered = self.actor.deliver(delivery)
        if delivered.denied:
            self._unprocessed(row, message, raw, delivered.denied)
            return
        self._count(delivered)
        found: dict[str, str | None] = issue_fields(delivered.results)
        if not _wrote(delivered):
            # Nothing new: another copy of mail already handled (the same Message-ID), or a
            # run that stopped after the writes. The line names what the earlier one made.
            found = self._written_before(row) | {"reason": _NOTHING_NEW}
        self._report(row, message, _done_words(delivered), logging.INFO, **found)
        if self.parts.observer is not None:
            self.parts.observer.confirmed(self.parts.name, arrived)
        self.parts.checkpoint(Checkpoint.AFTER_RECORD)
        # "acted" is journalled with the disposal batch: one write for the batch, not one each.
        self.disposer.dispose(row, policies.on_success, acted=True)

    def _look_up(self, message: Message) -> Lookup:
        parts = self.parts
        return look_up(message, self.adapter, parts.journal, parts.loaded, parts.name)

    def _decide(self, message: Message, lookup: Lookup, verdict: Verdict | None) -> Decision:
        parts = self.parts
        known = lookup.sender is not None
        facts = facts_for(
            parts.loaded,
            parts.name,
            known,
            lookup.reply_to,
            in_conversation=lookup.in_conversation,
            authentication=verdict,
        )
        rules = parts.loaded.config.rules_for(parts.name)
        return decide(message, rules, parts.policies, facts)

    # -- outcomes --------------------------------------------------------------------------

    def _unprocessed(self, row: MessageRow, message: Message, raw: bytes, reason: str) -> None:
        policy = self.parts.policies.on_unprocessed
        if not self._forwarded(row, message, raw, policy, reason):
            return
        self.summary.add("unprocessed")
        self.states.unprocessed(row, reason)
        self._report(row, message, "unprocessed", reason=reason)
        self.disposer.dispose(row, policy)

    def _failed(
        self,
        row: MessageRow,
        message: Message,
        raw: bytes,
        error: BaseException,
        counts_toward_quarantine: bool,
    ) -> None:
        max_attempts = self.parts.policies.max_attempts
        if not counts_toward_quarantine:
            self.states.stopped(row, error)
            self.summary.add("failed")
            why = f"not counted toward max_attempts, tried again next run: {error}"
            self._report(row, message, "failed", logging.WARNING, reason=why)
            return
        attempts = self.states.failed(row, error)
        if attempts < max_attempts:
            self.summary.add("failed")
            why = f"attempt {attempts} of {max_attempts}, tried again next run: {error}"
            self._report(row, message, "failed", logging.WARNING, reason=why)
            return
        self._quarantine(row, message, raw, str(error), f"failed {attempts} times: {error}")

    def _quarantine(
        self, row: MessageRow, message: Message, raw: bytes, reason: str, why: str
    ) -> None:
        policy = self.parts.policies.on_failure
        if not self._forwarded(row, message, raw, policy, why, counted=True):
            return
        self.summary.add("quarantined")
        self.states.quarantined(row, reason)
        self._report(row, message, "quarantined", logging.WARNING, reason=why)
        self.disposer.dispose(row, policy)

    def _forwarded(
        self,
        row: MessageRow,
        message: Message,
        raw: bytes,
        policy: DispositionPolicy,
        why: str,
        *,
        counted: bool = False,
    ) -> bool:
        """Forward the copy ``policy`` asks for; False (a failed attempt) if that failed.

        The message then stays as it is and the next run tries again: a forward is never
        recorded as made when it was not. ``counted``: this attempt is already journalled
        as failed (on the way to quarantine).
        """
        try:
            if self.disposer.forward_copy(message, raw, policy, why):
                self.summary.add("forwarded")
        except (RetryLater, PermanentError) as exc:
            if isinstance(exc, RetryLater):  # the server is busy or out of reach: it waits
                self.states.stopped(row, f"forwarding it failed: {exc}")
            elif not counted:
                self.states.failed(row, f"forwarding it failed: {exc}")
            logger.warning("forwarding failed: %s: %s", message.message_id, exc)
            self.summary.add("failed")
            return False
        return True

    def _oversize(self, envelope: Envelope) -> None:
        """Never downloaded: only its size is known, so it can only be left or moved."""
        self.summary.add("unprocessed")
        limit = self.parts.policies.max_message_size
        why = (
            f"{envelope.id} is {envelope.size} bytes, over max_message_size {limit}: not "
            "downloaded, so not in the journal or status; raise max_message_size, or take it "
            "out of the mailbox by hand"
        )
        self._report(None, None, "unprocessed", logging.WARNING, reason=why)
        if self.parts.dry_run:
            text = f"{envelope.id}: too large ({envelope.size} bytes): unprocessed"
            self.summary.planned.append(
                Planned(text, id=envelope.id, size=envelope.size, outcome="unprocessed")
            )
            return
        self.disposer.dispose_oversize(envelope)

    def _again(self, row: MessageRow, message: Message) -> None:
        """Say that mail the journal finished before came again, and what became of it.

        Mail moved back from a quarantine folder without ``retry``, a second copy, a new
        UIDVALIDITY: it is disposed of as before, which is a surprise unless the log says so.
        """
        if not logger.isEnabledFor(logging.INFO):
            return
        outcome = _AGAIN.get(row.state, "done")
        if (row.decision or {}).get("outcome") == "drop":
            outcome = "dropped"
        found: dict[str, str | None] = {}
        if outcome == "done":
            found = self._written_before(row)
        why = "handled before (the same Message-ID): nothing written again"
        if outcome != "done":
            why += f"; `tracker-mail retry {row.id}` has the next sync process it again"
        self._report(row, message, outcome, logging.INFO, reason=why, **found)

    def _written_before(self, row: MessageRow) -> dict[str, str | None]:
        """The issue fields of what the journal says earlier runs wrote for ``row``."""
        return issue_fields(self.parts.journal.results([row.id]).get(row.id, []))

    def _report(
        self,
        row: MessageRow | None,
        message: Message | None,
        outcome: str,
        level: int = logging.INFO,
        **details: str | None,
    ) -> None:
        """The message's line for ``sync -v`` (failures are shown without ``-v`` too)."""
        if not logger.isEnabledFor(level):
            return
        row_id = row.id if row is not None else None
        report(outcome_for(self.parts.name, row_id, message, outcome, **details), level)

    def _count(self, delivered: Delivered) -> None:
        self.summary.add("created", len(delivered.created))
        self.summary.add("commented", len(delivered.commented))
        self.summary.add("attached", delivered.attached)
        self.summary.add("forwarded", delivered.forwarded)

    def _plan_only(self, message: Message, raw: bytes) -> None:
        """--dry-run: decide, ask the tracker (read-only) and say what would be done."""
        verdict = authentication_for(message, raw, self.parts.loaded, self.parts.name)
        lookup = self._look_up(message)
        decision = self._decide(message, lookup, verdict)
        self.preview.plan(message, decision, lookup, self.actor, self.summary)


_NOTHING_NEW = (
    "nothing written: the tracker already has this mail's writes (a copy with the same "
    "Message-ID, or a run that stopped after them)"
)


def _wrote(delivered: Delivered) -> bool:
    return bool(delivered.results or delivered.attached or delivered.forwarded)


def _done_words(delivered: Delivered) -> str:
    """``created``, ``created, commented``… for a message whose writes are all confirmed."""
    done = (
        ("created", delivered.created),
        ("commented", delivered.commented),
        ("attached", delivered.attached),
        ("forwarded", delivered.forwarded),
    )
    return ", ".join(word for word, count in done if count) or "done"
