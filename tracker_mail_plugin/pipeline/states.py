"""The only writer of message states: every change checked against the journal's table.

A message's state is what the next run trusts after a crash, so a wrong one is a lost or a
duplicated mail. Every state the pipeline writes goes through :class:`StateKeeper`, which
refuses a change :data:`~tracker_mail_plugin.journal.rows.TRANSITIONS` does not list; such
a refusal is a bug in tracker-mail, never a property of the mail, and stops the run.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from tracker_mail_plugin.journal import Journal
from tracker_mail_plugin.journal.rows import TRANSITIONS, MessageRow, MessageState
from tracker_mail_plugin.mail import Message
from tracker_mail_plugin.mail.safe_text import bounded
from tracker_mail_plugin.rules.decide import Decision

# How much of a sender and a subject the journal keeps: enough to recognise the mail.
KEPT_LENGTH = 200
# Disposing of mail in these states keeps the state: it says why the mail was moved.
_SAYS_WHY = frozenset({MessageState.UNPROCESSED, MessageState.QUARANTINED})
# What an unprocessed or quarantined message keeps of its decision: the rule that took it,
# and the issue it was found to answer.
_KEPT_WITH_REASON = ("matched_rule", "reply_to")


class IllegalTransition(RuntimeError):
    """The pipeline tried a state change the table does not allow (a bug, not bad mail)."""


class StateKeeper:
    """Journals each state change of a mailbox run's messages, checking it first.

    Rows are frozen values read once; the keeper remembers the state it last wrote for each,
    so that a message's later steps are checked against where it really is. Workers of one
    run share a keeper.

    Args:
        journal: where states are written.
    """

    def __init__(self, journal: Journal):
        self.journal = journal
        self._current: dict[int, MessageState] = {}
        # This run's decision of each message not yet finished: an unprocessed or
        # quarantined message keeps it beside its reason (which rule sent it where).
        self._decisions: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def fetched(
        self, mailbox: str, identity: str, source_id: str, message: Message, size: int
    ) -> MessageRow:
        """Journal a downloaded message (idempotent); its row says where it stands."""
        sender = message.from_.address if message.from_ is not None else ""
        row = self.journal.record_fetched(
            mailbox, identity, source_id, message.message_id, message.sha256, size,
            sender=bounded(sender, KEPT_LENGTH), subject=bounded(message.subject, KEPT_LENGTH),
        )  # fmt: skip
        with self._lock:
            self._current[row.id] = row.state
        return row

    def decided(self, row: MessageRow, decision: Decision) -> None:
        """The rules decided; the summary is kept for ``status``."""
        summary = decision_summary(decision)
        self._move(row, MessageState.DECIDED, summary)
        with self._lock:
            self._decisions[row.id] = summary

    def acted(self, row: MessageRow) -> None:
        """Every write of the decision is confirmed by the tracker."""
        self.all_acted([row])

    def all_acted(self, rows: Sequence[MessageRow]) -> None:
        """:meth:`acted` for many messages, in one journal write."""
        if not rows:
            return
        for row in rows:
            self._check(row, MessageState.ACTED)
        self.journal.mark_states(rows, MessageState.ACTED)
        for row in rows:
            self._now(row, MessageState.ACTED)
        with self._lock:
            for row in rows:
                self._decisions.pop(row.id, None)

    def unprocessed(self, row: MessageRow, reason: str) -> None:
        """Deliberately not imported, for ``reason``; the mail goes to ``on_unprocessed``."""
        self._move(row, MessageState.UNPROCESSED, self._with_reason(row, reason))

    def failed(
        self, row: MessageRow, error: BaseException | str, *, attempts: int | None = None
    ) -> int:
        """One more failed attempt (or ``attempts`` in all); returns how many there have been."""
        self._check(row, MessageState.FAILED)
        attempts = self.journal.record_failure(row, error, attempts=attempts)
        self._now(row, MessageState.FAILED)
        return attempts

    def stopped(self, row: MessageRow, error: BaseException | str) -> None:
        """Tried again next run, no attempt counted: it stopped the run, or must wait.

        Waiting is no fault of the message (the tracker or the SMTP server is busy or out
        of reach): counting it would quarantine the message at its first real failure.
        """
        self._check(row, MessageState.FAILED)
        self.journal.record_stop(row, error)
        self._now(row, MessageState.FAILED)

    def quarantined(self, row: MessageRow, reason: str) -> None:
        """Failed too often; the mail goes to ``on_failure``."""
        self._move(row, MessageState.QUARANTINED, self._with_reason(row, reason))

    def _with_reason(self, row: MessageRow, reason: str) -> dict[str, Any]:
        """The reason, and where this run's decision had sent the message (for ``status``)."""
        with self._lock:
            decided = self._decisions.pop(row.id, {})
        kept = {key: decided[key] for key in _KEPT_WITH_REASON if decided.get(key)}
        return kept | {"reason": reason}

    def disposed(self, row: MessageRow, disposition: str, *, removed: bool) -> None:
        """The source committed the disposition (see ``Journal.record_disposed``)."""
        self.all_disposed([(row, disposition, removed)])

    def all_disposed(self, disposals: Sequence[tuple[MessageRow, str, bool]]) -> None:
        """The source committed these ``(row, disposition, removed)``: one journal write."""
        if not disposals:
            return
        after = {}
        for row, _, _ in disposals:
            before = self._state(row)
            after[row.id] = before if before in _SAYS_WHY else MessageState.DISPOSED
            self._check(row, after[row.id])
        self.journal.record_disposals(disposals)
        for row, _, _ in disposals:
            self._now(row, after[row.id])
        with self._lock:
            for row, _, _ in disposals:
                self._decisions.pop(row.id, None)

    def requeue(self, row: MessageRow) -> MessageRow:
        """``tracker-mail retry``: new again, attempts reset, written actions kept."""
        self._check(row, MessageState.FETCHED)
        again = self.journal.requeue(row)
        self._now(row, MessageState.FETCHED)
        return again

    def _move(
        self, row: MessageRow, state: MessageState, decision: Mapping[str, Any] | None = None
    ) -> None:
        self._check(row, state)
        self.journal.mark_state(row, state, decision)
        self._now(row, state)

    def _state(self, row: MessageRow) -> MessageState:
        with self._lock:
            return self._current.get(row.id, row.state)

    def _check(self, row: MessageRow, state: MessageState) -> None:
        before = self._state(row)
        if state not in TRANSITIONS[before]:
            raise IllegalTransition(
                f"message #{row.id} <{row.message_id}> cannot go from {before} to {state}"
            )

    def _now(self, row: MessageRow, state: MessageState) -> None:
        with self._lock:
            self._current[row.id] = state


def decision_summary(decision: Decision) -> dict[str, Any]:
    """What ``status`` shows of a decision."""
    return {
        "outcome": decision.outcome,
        "matched_rule": decision.matched_rule,
        "reply_to": decision.reply_to,
        "actions": [p.describe() for p in decision.actions],
        "skipped_reason": decision.skipped_reason,
        "author": decision.author,
    }
