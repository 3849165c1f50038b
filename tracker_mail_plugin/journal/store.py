"""The journal: exactly-once bookkeeping and the reply-threading map.

A message is written here before any tracker call, each action before it is attempted and
again when the tracker confirms it, and each disposal after the source committed it. A run
killed at any point therefore finds, on the next start, exactly which messages and actions
are unfinished; together with idempotency keys stored in the tracker this is what makes
"no lost mail, no duplicate issue" hold.

Tables:
    messages: one row per distinct message in a mailbox (Message-ID plus sha256 of the raw
        bytes): state, decision, attempts, last error.
    locations: where a message was seen (source identity such as ``imap:user@host/INBOX;
        uidvalidity=7`` plus UID/UIDL/file key) and whether that copy was disposed of. Kept
        apart so that a UIDVALIDITY change, or the same bytes in two places, maps to the one
        message already processed instead of a new one.
    actions: every tracker write, keyed by its idempotency key: started, done or unknown.
    threads: Message-ID to issue, for replies found by In-Reply-To/References.

What is durable when. A mailbox run writes inside :meth:`Journal.grouped`: its commits
reach the operating system at once (a killed process loses none of them) and the disk at
these points only, each one fsync that also makes every commit before it durable:

1. when the run begins (:meth:`Journal.begin_run`);
2. before a tracker write that cannot be found again by its key (a forward, a file
   attached to a project): its ``started`` row is written durably;
3. before the source disposes of a batch of mail (:meth:`Journal.make_durable`), so the
   confirmations that justify the disposal are on disk before the mail leaves;
4. when the run ends (:meth:`Journal.end_run`).

Against a killed process nothing changes: every row the pipeline wrote is there on the next
run, and with it the exactly-once argument above. Against a power loss, the journal comes
back as it was at one moment after the last fsync (SQLite keeps a prefix of its log): rows
for issues and comments created since may be missing, so the tracker holds a write the
journal does not know of. The run's durable row from step 1 says so on the next start
(another boot), and that run asks the tracker with ``find_by_key`` before every issue or
comment it writes, as a new journal does; writes that cannot be looked up were made durable
in step 2. Mail is never disposed of on the strength of a confirmation that is not on disk
(step 3).

How each commit is made durable: :mod:`tracker_mail_plugin.journal.database` for SQLite;
in PostgreSQL every commit is durable (:mod:`tracker_mail_plugin.journal.postgres`), and
the fsync points above only check the mailbox's lease.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Self

from tracker_mail_plugin.journal.actions import JournalActions
from tracker_mail_plugin.journal.database import Database
from tracker_mail_plugin.journal.leases import Lease
from tracker_mail_plugin.journal.postgres import AnyConnection, PostgresDatabase
from tracker_mail_plugin.journal.reports import JournalReports
from tracker_mail_plugin.journal.rows import (
    MessageRow,
    MessageState,
    error_text,
    message_row,
    to_json,
)
from tracker_mail_plugin.journal.runs import JournalRuns
from tracker_mail_plugin.journal.schema import (
    NEWEST_LOCATION,
    SAYS_WHY_DISPOSED,
    SELECT_MESSAGE,
)


class Journal(JournalActions, JournalReports, JournalRuns):
    """The journal: one instance, one connection per process.

    In a SQLite file (one machine) or in PostgreSQL (:meth:`open_postgres`, several hosts),
    with the same SQL. Thread-safe within the process; another process opens its own
    (``open`` refuses a connection inherited through ``fork``, which neither can share).
    """

    def __init__(self, database: Database | PostgresDatabase):
        self.database = database
        self.path = database.path
        self._read = database.read
        self._write = database.write

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Journal:
        """Open (creating or upgrading) the journal at ``path``.

        Raises:
            ConfigurationError: the file cannot be opened, or a newer version wrote it.
        """
        return cls(Database.open(path))

    @classmethod
    def open_postgres(
        cls, url: str, password: str | None = None, *, scratch: bool = False
    ) -> Journal:
        """Connect to the journal in the PostgreSQL database at ``url`` (creating its tables).

        ``scratch``: every change is rolled back at :meth:`close` (``sync --dry-run``).

        Raises:
            Unreachable: the server cannot be reached, or refused the login.
            ConfigurationError: a newer version wrote the journal, or psycopg is missing.
        """
        return cls(PostgresDatabase.open(url, password, scratch=scratch))

    def close(self) -> None:
        """Close the connection; the instance cannot be used afterwards."""
        self.database.close()

    def grouped(self) -> AbstractContextManager[None]:
        """Commits inside are not fsynced unless asked; all are fsynced on the way out."""
        return self.database.grouped()

    def hold(self, lease: Lease) -> None:
        """Write only while ``lease`` holds: each write checks it (PostgreSQL journals only).

        Raises:
            TypeError: the journal is a SQLite file (its runs are kept apart by lock files).
        """
        if not isinstance(self.database, PostgresDatabase):
            raise TypeError("mailbox leases need the journal in PostgreSQL")
        self.database.fence = lease

    def make_durable(self) -> None:
        """Fsync every commit so far (nothing to do if they were durable already)."""
        self.database.sync()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- messages --------------------------------------------------------------------------

    def record_fetched(
        self,
        mailbox: str,
        identity: str,
        source_id: str,
        message_id: str,
        sha256: str,
        size: int,
        *,
        sender: str = "",
        subject: str = "",
    ) -> MessageRow:
        """Journal a downloaded message before anything is done with it; idempotent.

        The same location returns its row; so does the same (Message-ID, sha256) seen at a
        new location of this mailbox (a UIDVALIDITY change, a folder moved back), which is
        then remembered as another location of the one message. ``sender`` and
        ``subject`` are kept for ``status``.
        """
        now = time.time()
        with self._write() as db:
            row = _at(db, mailbox, identity, source_id)
            if row is None:
                content = (mailbox, message_id, sha256)
                message = _message_pk(db, content, size, now, (sender, subject))
                # DO NOTHING: another process on PostgreSQL may have just written it.
                db.execute(
                    "INSERT INTO locations (mailbox, source_identity, source_id, message, seen_at)"
                    " VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (mailbox, source_identity, source_id) DO NOTHING",
                    (mailbox, identity, source_id, message, now),
                )
                row = _at(db, mailbox, identity, source_id)
            db.execute(
                "DELETE FROM arrivals WHERE mailbox = ? AND source_identity = ? AND source_id = ?",
                (mailbox, identity, source_id),
            )
        assert row is not None  # noqa: S101 - inserted just above, in the same transaction
        return row

    def arrive(self, mailbox: str, identity: str, source_id: str, sha256: str, size: int) -> int:
        """Journal a downloaded message before it is parsed; returns the attempts so far.

        A parse that hangs or kills the process leaves this row behind, so the next run
        knows how many times reading the message did not finish. :meth:`record_fetched`
        removes it. Written without an fsync: it must survive a killed process, and a
        power loss only forgets an attempt.
        """
        with self._write(durable=False) as db:
            found = db.execute(
                "INSERT INTO arrivals (mailbox, source_identity, source_id, sha256, size,"
                " attempts, seen_at) VALUES (?, ?, ?, ?, ?, 1, ?)"
                " ON CONFLICT (mailbox, source_identity, source_id) DO UPDATE SET attempts ="
                " CASE WHEN arrivals.sha256 = excluded.sha256 THEN arrivals.attempts + 1 ELSE 1"
                " END,"
                " sha256 = excluded.sha256, size = excluded.size, seen_at = excluded.seen_at"
                " RETURNING attempts",
                (mailbox, identity, source_id, sha256, size, time.time()),
            ).fetchone()
        return int(found[0])

    def is_new(self, hours: float) -> bool:
        """Whether the journal began less than ``hours`` ago (a first run, or a lost journal)."""
        with self._read() as db:
            found = db.execute("SELECT value FROM meta WHERE name = 'created_at'").fetchone()
        return found is None or time.time() - float(found[0]) < hours * 3600

    def is_done(self, mailbox: str, identity: str, source_id: str) -> bool:
        """Whether the message at this location was disposed of (the source skips it)."""
        with self._read() as db:
            found = db.execute(
                "SELECT disposed_at FROM locations"
                " WHERE mailbox = ? AND source_identity = ? AND source_id = ?",
                (mailbox, identity, source_id),
            ).fetchone()
        return found is not None and found[0] is not None

    def undisposed(self, mailbox: str, identity: str) -> list[MessageRow]:
        """Messages journalled at this mailbox location whose disposal was never recorded."""
        with self._read() as db:
            return _rows(
                db,
                f"{SELECT_MESSAGE} WHERE l.mailbox = ? AND l.source_identity = ?"
                " AND l.disposed_at IS NULL ORDER BY m.id",
                mailbox,
                identity,
            )

    def get(self, row_id: int) -> MessageRow | None:
        """A message by its journal id (``tracker-mail retry ID``), at its newest location."""
        with self._read() as db:
            return _first(db, f"{SELECT_MESSAGE} WHERE m.id = ? AND {NEWEST_LOCATION}", row_id)

    def mark_state(
        self, row: MessageRow, state: MessageState, decision: Mapping[str, Any] | None = None
    ) -> None:
        """Move a message to ``state``, storing the decision summary when one is given."""
        with self._write() as db:
            db.execute(
                "UPDATE messages SET state = ?, updated_at = ?,"
                " decision = COALESCE(?, decision) WHERE id = ?",
                (state.value, time.time(), to_json(decision), row.id),
            )

    def mark_states(self, rows: Sequence[MessageRow], state: MessageState) -> None:
        """Move every one of ``rows`` to ``state``, in one transaction."""
        now = time.time()
        with self._write() as db:
            db.executemany(
                "UPDATE messages SET state = ?, updated_at = ? WHERE id = ?",
                [(state.value, now, row.id) for row in rows],
            )

    def record_failure(
        self, row: MessageRow, error: BaseException | str, *, attempts: int | None = None
    ) -> int:
        """Count a failed attempt (state ``failed``); returns the attempts so far.

        ``attempts``: the failures counted elsewhere (reading the message, journalled as
        arrivals), when that is more than one more.
        """
        with self._write() as db:
            found = db.execute(
                # CASE, not MAX/GREATEST: SQLite knows only the one, PostgreSQL the other.
                "UPDATE messages SET attempts = CASE WHEN attempts + 1 > ? THEN attempts + 1"
                " ELSE ? END, last_error = ?, state = ?, updated_at = ? WHERE id = ?"
                " RETURNING attempts",
                (
                    attempts or 0,
                    attempts or 0,
                    error_text(error),
                    MessageState.FAILED.value,
                    time.time(),
                    row.id,
                ),
            ).fetchone()
        if found is None:
            raise KeyError(f"no message {row.id} in the journal")
        return int(found[0])

    def record_stop(self, row: MessageRow, error: BaseException | str) -> None:
        """The message stopped its mailbox's run (``failed``, the attempt not counted).

        A broken configuration or an unreachable server is no fault of the message: it is
        tried again once that is fixed, however often it stopped a run, and ``status`` says
        why it waits.
        """
        with self._write() as db:
            db.execute(
                "UPDATE messages SET last_error = ?, state = ?, updated_at = ? WHERE id = ?",
                (error_text(error), MessageState.FAILED.value, time.time(), row.id),
            )

    def record_disposed(
        self, row: MessageRow, disposition: str = "", *, removed: bool = False
    ) -> None:
        """Journal that the source committed ``disposition`` for the row's location.

        Call it after the source's ``commit`` (a POP3 delete is only final at QUIT).
        ``disposition`` says what was done, for ``status`` (e.g. ``move to 'Processed'``).
        ``removed`` says the message left the source folder (moved or deleted); only such
        messages may ever be pruned, since one still there would be fetched again as new,
        so the default is the safe ``False``.
        The state becomes ``disposed`` unless it says why it was disposed of
        (``unprocessed``, ``quarantined``).
        """
        self.record_disposals([(row, disposition, removed)])

    def record_disposals(self, disposals: Sequence[tuple[MessageRow, str, bool]]) -> None:
        """:meth:`record_disposed` for many rows at once: ``(row, disposition, removed)``."""
        now = time.time()
        with self._write() as db:
            db.executemany(
                "UPDATE locations SET disposed_at = ?, disposition = ?, removed = ?"
                " WHERE mailbox = ? AND source_identity = ? AND source_id = ?",
                [
                    (now, what, int(gone), row.mailbox, row.source_identity, row.source_id)
                    for row, what, gone in disposals
                ],
            )
            db.executemany(
                "UPDATE messages SET state = ?, updated_at = ?"
                " WHERE id = ? AND state NOT IN (?, ?)",
                [
                    (MessageState.DISPOSED.value, now, row.id, *SAYS_WHY_DISPOSED)
                    for row, _, _ in disposals
                ],
            )

    def requeue(self, row: MessageRow) -> MessageRow:
        """Make a message new again for ``tracker-mail retry``: attempts reset, not disposed.

        Its actions are kept, so that a write already done is found, not repeated.
        """
        with self._write() as db:
            db.execute(
                "UPDATE messages SET state = ?, attempts = 0, last_error = NULL, updated_at = ?"
                " WHERE id = ?",
                (MessageState.FETCHED.value, time.time(), row.id),
            )
            db.execute(
                "UPDATE locations SET disposed_at = NULL, disposition = NULL, removed = 0"
                " WHERE message = ?",
                (row.id,),
            )
            again = _at(db, row.mailbox, row.source_identity, row.source_id)
        if again is None:
            raise KeyError(f"no message {row.id} in the journal")
        return again


def _at(db: AnyConnection, mailbox: str, identity: str, source_id: str) -> MessageRow | None:
    return _first(
        db,
        f"{SELECT_MESSAGE} WHERE l.mailbox = ? AND l.source_identity = ? AND l.source_id = ?",
        mailbox,
        identity,
        source_id,
    )


def _message_pk(
    db: AnyConnection,
    content: tuple[str, str, str],
    size: int,
    now: float,
    about: tuple[str, str] = ("", ""),
) -> int:
    """The id of the message (mailbox, Message-ID, sha256), inserted when new.

    ``about``: its sender and subject, for ``status``. Insert first, then look up: SQLite
    lets one writer in at a time, but PostgreSQL does not, and there a second process
    inserting the same message waits for the first one's commit and then inserts nothing.
    """
    inserted = db.execute(
        "INSERT INTO messages (mailbox, message_id, sha256, size, first_seen, updated_at, state,"
        " sender, subject) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (mailbox, message_id, sha256) DO NOTHING RETURNING id",
        (*content, size, now, now, MessageState.FETCHED.value, *about),
    ).fetchone()
    if inserted is not None:
        return int(inserted[0])
    found = db.execute(
        "SELECT id FROM messages WHERE mailbox = ? AND message_id = ? AND sha256 = ?", content
    ).fetchone()
    return int(found[0])


def _first(db: AnyConnection, sql: str, *args: object) -> MessageRow | None:
    found = db.execute(sql, args).fetchone()
    return None if found is None else message_row(found)


def _rows(db: AnyConnection, sql: str, *args: object) -> list[MessageRow]:
    return [message_row(found) for found in db.execute(sql, args).fetchall()]
