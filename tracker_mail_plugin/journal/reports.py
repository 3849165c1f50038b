"""The operator's view of the journal: counts, failures, quarantine, and forgetting the old."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager

from tracker_mail_plugin.adapter import CommentRef, IssueRef
from tracker_mail_plugin.journal.postgres import AnyConnection
from tracker_mail_plugin.journal.rows import (
    ActionState,
    JournalStatus,
    MessageRow,
    MessageState,
    action_row,
    message_row,
)
from tracker_mail_plugin.journal.schema import NEWEST_LOCATION, SELECT_MESSAGE

# What each unfinished state counts as in the backlog.
_BACKLOG = {
    MessageState.FETCHED: "pending",
    MessageState.DECIDED: "pending",
    MessageState.ACTED: "pending",
    MessageState.FAILED: "failed",
    MessageState.QUARANTINED: "quarantined",
}


class JournalReports:
    """What ``status``, ``retry`` and pruning read; mixed into :class:`Journal`."""

    _read: Callable[[], AbstractContextManager[AnyConnection]]
    _write: Callable[..., AbstractContextManager[AnyConnection]]

    def status(self, limit: int = 20) -> JournalStatus:
        """Messages per state, and the ``limit`` most recently changed."""
        with self._read() as db:
            counts = {
                MessageState(state): count
                for state, count in db.execute(
                    "SELECT state, COUNT(*) FROM messages GROUP BY state"
                )
            }
            recent = _rows(
                db,
                f"{SELECT_MESSAGE} WHERE {NEWEST_LOCATION} ORDER BY m.updated_at DESC,"
                " m.id DESC LIMIT ?",
                limit,
            )
        return JournalStatus(counts, tuple(recent))

    def backlog(self) -> dict[tuple[str, str], int]:
        """Unfinished messages by (mailbox, ``pending``/``failed``/``quarantined``).

        ``pending``: journalled, not yet finished (fetched, decided, acted: a run stopped
        in between). One grouped count over the state index, cheap enough for each run.
        """
        with self._read() as db:
            found = db.execute(
                "SELECT mailbox, state, COUNT(*) FROM messages WHERE state IN (?, ?, ?, ?, ?)"
                " GROUP BY mailbox, state",
                [state.value for state in _BACKLOG],
            ).fetchall()
        counts: dict[tuple[str, str], int] = {}
        for mailbox, state, count in found:
            key = (mailbox, _BACKLOG[MessageState(state)])
            counts[key] = counts.get(key, 0) + count
        return counts

    def listing(
        self,
        states: Collection[MessageState] = (),
        mailboxes: Collection[str] = (),
        limit: int | None = None,
        search: str | None = None,
    ) -> list[MessageRow]:
        """Messages, newest change first, narrowed to ``states`` and ``mailboxes`` when given.

        ``search``: only those whose sender, subject or Message-ID contains it, ignoring
        case (SQLite folds only ASCII letters; PostgreSQL every letter).
        """
        where = [NEWEST_LOCATION]
        args: list[object] = []
        for column, wanted in (("m.state", [s.value for s in states]), ("m.mailbox", mailboxes)):
            if wanted:
                where.append(f"{column} IN ({', '.join('?' * len(wanted))})")
                args.extend(wanted)
        if search:
            # The operator's text, matched literally: % and _ are not wildcards here.
            literal = re.sub(r"([!%_])", r"!\1", search.lower())
            where.append(
                "(LOWER(m.sender) LIKE ? ESCAPE '!' OR LOWER(m.subject) LIKE ? ESCAPE '!'"
                " OR LOWER(m.message_id) LIKE ? ESCAPE '!')"
            )
            args.extend([f"%{literal}%"] * 3)
        sql = f"{SELECT_MESSAGE} WHERE {' AND '.join(where)} ORDER BY m.updated_at DESC, m.id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        with self._read() as db:
            return _rows(db, sql, *args)

    def results(self, message_ids: Collection[int]) -> dict[int, list[IssueRef | CommentRef]]:
        """The issues and comments the tracker confirmed for each of these messages."""
        found: dict[int, list[IssueRef | CommentRef]] = {}
        with self._read() as db:
            for chunk in _chunks(sorted(message_ids)):
                marks = ", ".join("?" * len(chunk))
                for item in db.execute(
                    f"SELECT * FROM actions WHERE message IN ({marks}) AND state = ?"  # noqa: S608 - only ? marks
                    " ORDER BY message, idx, id",
                    (*chunk, ActionState.DONE.value),
                ):
                    result = action_row(item).result
                    if isinstance(result, IssueRef | CommentRef):
                        found.setdefault(item["message"], []).append(result)
        return found

    def disposition(self, row: MessageRow) -> tuple[str | None, bool]:
        """What was done with the row's copy of the mail (``move to 'X'``), and if it left."""
        with self._read() as db:
            found = db.execute(
                "SELECT disposition, removed FROM locations"
                " WHERE mailbox = ? AND source_identity = ? AND source_id = ?",
                (row.mailbox, row.source_identity, row.source_id),
            ).fetchone()
        return (None, False) if found is None else (found[0], bool(found[1]))

    def failed(self) -> list[MessageRow]:
        """Messages that failed and will be tried again."""
        return self._in_state(MessageState.FAILED)

    def quarantined(self) -> list[MessageRow]:
        """Messages given up on after too many attempts."""
        return self._in_state(MessageState.QUARANTINED)

    def prune(self, older_than_days: float) -> int:
        """Forget finished messages older than that; returns how many were removed.

        Only messages whose every copy was moved or deleted: one still in its folder (left,
        flagged) must stay known, or it would be fetched and acted on again. Quarantined and
        failed messages stay until retried. Threads are kept: they are small, and replies
        to old issues keep arriving.
        """
        cutoff = time.time() - older_than_days * 86400
        with self._write() as db:
            cursor = db.execute(
                "DELETE FROM messages WHERE updated_at < ? AND state IN (?, ?) AND NOT EXISTS"
                " (SELECT 1 FROM locations WHERE message = messages.id"
                "  AND (disposed_at IS NULL OR removed = 0))",
                (cutoff, MessageState.DISPOSED.value, MessageState.UNPROCESSED.value),
            )
            return cursor.rowcount

    def _in_state(self, state: MessageState) -> list[MessageRow]:
        with self._read() as db:
            return _rows(
                db,
                f"{SELECT_MESSAGE} WHERE m.state = ? AND {NEWEST_LOCATION} ORDER BY m.id",
                state.value,
            )


def _chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    """Under SQLite's (and PostgreSQL's) limit on ``?`` marks in one statement."""
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def _rows(db: AnyConnection, sql: str, *args: object) -> list[MessageRow]:
    return [message_row(found) for found in db.execute(sql, args).fetchall()]
