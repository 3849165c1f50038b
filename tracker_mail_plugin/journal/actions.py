"""The journal's tracker writes and its reply-threading map.

Every tracker write is journalled before it is sent (``started``) and again when the
tracker confirms it (``done``) or may have made it (``unknown``), keyed by its idempotency
key; see :mod:`tracker_mail_plugin.journal.store` for when each of these is durable.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from tracker_mail_plugin.adapter import CommentRef, IssueRef
from tracker_mail_plugin.journal.postgres import AnyConnection
from tracker_mail_plugin.journal.rows import (
    ActionRow,
    ActionState,
    MessageRow,
    Thread,
    action_row,
    error_text,
    ref_json,
)


class JournalActions:
    """Tracker writes and threads; mixed into :class:`~tracker_mail_plugin.journal.Journal`."""

    _read: Callable[..., AbstractContextManager[AnyConnection]]
    _write: Callable[..., AbstractContextManager[AnyConnection]]

    # -- actions ---------------------------------------------------------------------------

    def begin_action(
        self, row: MessageRow, index: int, key: str, kind: str, *, durable: bool | None = None
    ) -> ActionRow:
        """Journal a tracker write about to be attempted; returns the existing one if any.

        An existing row in state ``done`` means: skip it; ``started`` or ``unknown`` means:
        ask ``find_by_key`` before writing again. ``durable=True``: fsynced before this
        returns, for a write the tracker cannot find again by its key.
        """
        with self._write(durable=durable) as db:
            db.execute(
                "INSERT INTO actions (message, idx, idempotency_key, kind, state, started_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING",
                (row.id, index, key, kind, ActionState.STARTED.value, time.time()),
            )
            return _action(db, key)

    def finish_action(
        self,
        key: str,
        ref: IssueRef | CommentRef | str,
        thread: tuple[str, str, str] | None = None,
    ) -> ActionRow:
        """Journal that the tracker confirmed the write, with what it returned.

        ``thread``: (Message-ID, tracker, issue key) to remember in the same transaction,
        as :meth:`remember_thread` would.
        """
        return self._settle(key, ActionState.DONE, ref_json(ref), None, thread)

    def forget_action(self, key: str) -> None:
        """Drop a write that was refused before it happened (a rate limit, a 422).

        Only a ``started`` row is dropped: the next run then writes directly instead of
        first asking ``find_by_key`` about a write that was never made.
        """
        with self._write() as db:
            db.execute(
                "DELETE FROM actions WHERE idempotency_key = ? AND state = ?",
                (key, ActionState.STARTED.value),
            )

    def mark_unknown(self, key: str, error: BaseException | str) -> ActionRow:
        """Journal that the write may or may not have happened (UnknownOutcome, a crash)."""
        return self._settle(key, ActionState.UNKNOWN, None, error_text(error))

    def pending_unknown(self, row: MessageRow) -> list[ActionRow]:
        """The message's writes not confirmed done (``started`` or ``unknown``), in order.

        ``started`` counts too: it is what a process killed mid-call leaves behind.
        """
        return [action for action in self.actions(row) if action.state != ActionState.DONE]

    def actions(self, row: MessageRow) -> list[ActionRow]:
        """Every write journalled for the message, in action order."""
        with self._read() as db:
            found = db.execute(
                "SELECT * FROM actions WHERE message = ? ORDER BY idx, id", (row.id,)
            ).fetchall()
        return [action_row(item) for item in found]

    # -- threads ---------------------------------------------------------------------------

    def remember_thread(self, message_id: str, tracker: str, issue_key: str) -> None:
        """Remember that mail ``message_id`` created or commented on that issue."""
        with self._write() as db:
            _remember_thread(db, (message_id, tracker, issue_key))

    def find_thread(self, message_ids: Sequence[str], tracker: str | None = None) -> Thread | None:
        """The issue of the first of ``message_ids`` (nearest first) the journal knows."""
        with self._read() as db:
            for message_id in message_ids:
                # Two statements rather than "? IS NULL": PostgreSQL cannot type that mark.
                if tracker is None:
                    found = db.execute(
                        "SELECT tracker, issue_key FROM threads WHERE message_id = ?"
                        " ORDER BY created_at DESC LIMIT 1",
                        (message_id,),
                    ).fetchone()
                else:
                    found = db.execute(
                        "SELECT tracker, issue_key FROM threads WHERE message_id = ?"
                        " AND tracker = ? ORDER BY created_at DESC LIMIT 1",
                        (message_id, tracker),
                    ).fetchone()
                if found is not None:
                    return Thread(found[0], found[1])
        return None

    def _settle(
        self,
        key: str,
        state: ActionState,
        result: str | None,
        error: str | None,
        thread: tuple[str, str, str] | None = None,
    ) -> ActionRow:
        with self._write() as db:
            db.execute(
                "UPDATE actions SET state = ?, result = COALESCE(?, result), error = ?,"
                " finished_at = ? WHERE idempotency_key = ?",
                (state.value, result, error, time.time(), key),
            )
            if thread is not None:
                _remember_thread(db, thread)
            return _action(db, key)


def _remember_thread(db: AnyConnection, thread: tuple[str, str, str]) -> None:
    """Message-ID, tracker, issue key: later replies to the message thread onto the issue."""
    db.execute(
        "INSERT INTO threads (message_id, tracker, issue_key, created_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (message_id, tracker)"
        " DO UPDATE SET issue_key = excluded.issue_key",
        (*thread, time.time()),
    )


def _action(db: AnyConnection, key: str) -> ActionRow:
    found = db.execute("SELECT * FROM actions WHERE idempotency_key = ?", (key,)).fetchone()
    if found is None:
        raise KeyError(f"no action with idempotency key {key} in the journal")
    return action_row(found)
