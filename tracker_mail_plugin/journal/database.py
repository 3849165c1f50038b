"""The journal's SQLite connection: WAL, fsync only where exactly-once needs it.

SQLite runs in WAL mode (readers never wait for the writer) with a busy timeout, and every
write is one ``BEGIN IMMEDIATE`` transaction, so overlapping runs queue rather than fail or
interleave.

Two kinds of commit:

- **durable** (``synchronous=FULL``): the commit returns after the WAL was fsynced. It
  survives a killed process and a power loss (or an operating-system crash), and so does
  every transaction committed before it: the WAL is one file, appended to in commit order,
  and SQLite's recovery keeps a prefix of it (each frame's checksum chains the ones before).
- **grouped** (``synchronous=NORMAL``, no fsync): the commit is in the WAL file, that is in
  the operating system's cache, when it returns. It survives the process being killed at
  any moment, not a power loss, until the next durable commit or :meth:`Database.sync`.

Outside :meth:`Database.grouped` every write is durable, as a command that writes once
(``retry``, ``receive``) expects. Inside it, writes are grouped unless the caller asks for
a durable one; a mailbox run uses this and places its own fsyncs (see
:mod:`tracker_mail_plugin.journal.store`).

Any SQLite error (a damaged file, a read-only file or folder, a full disk) becomes one
:class:`~tracker_mail_plugin.errors.ConfigurationError` naming the file and what to do: the
run stops there (exit 2) with its summary. A write that fails is rolled back whole, so the
journal never holds half a step.

A journal this module creates is private to its owner: the file (and with it SQLite's
``-wal`` and ``-shm`` files, which take its permissions) is made 0600, its folder 0700.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tracker_mail_plugin.errors import ConfigurationError
from tracker_mail_plugin.journal.schema import SCHEMA_VERSION, migrate

BUSY_TIMEOUT_SECONDS = 30.0
# Less free space than this beside the journal makes an I/O error read as "the disk is full":
# SQLite says only "disk I/O error" when it cannot grow its -shm file.
_NEARLY_FULL_BYTES = 64 * 1024


class JournalUnusable(ConfigurationError):
    """The journal file cannot be used now (locked, full, read-only, damaged).

    A run that stopped on it does no more journal work: each further try would meet the
    same fault (a locked journal would make each one wait the whole busy timeout again).
    """


class Database:
    """One connection per process, shared by that process's threads under a lock.

    ``open`` refuses nothing a fork inherited silently: every use checks that it runs in the
    process that opened it, since SQLite cannot share a connection across processes.
    """

    def __init__(self, connection: sqlite3.Connection, path: str):
        self.connection = connection
        self.path = path
        self._pid = os.getpid()
        self._lock = threading.RLock()
        self._synchronous = "FULL"  # the connection's setting now
        self._grouping = 0  # how many grouped() blocks are open
        self._unsynced = False  # a grouped commit since the last fsync

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Database:
        """Open (creating or upgrading) the database at ``path``.

        Raises:
            ConfigurationError: the file cannot be opened, or a newer version wrote it.
        """
        where = os.fspath(path)
        if where != ":memory:":
            where = str(Path(where).expanduser())
        db: sqlite3.Connection | None = None
        try:
            if where != ":memory:":
                _create_private(Path(where))
            db = sqlite3.connect(
                where, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
            )
            database = cls(db, where)
            database._prepare()
        except (OSError, sqlite3.Error) as exc:
            if db is not None:
                db.close()
            raise journal_fault(where, exc, "open") from exc
        return database

    def close(self) -> None:
        """Close the connection; the instance cannot be used afterwards."""
        with self._lock:
            self.connection.close()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """The connection, for reads (WAL: they see the last committed state).

        Raises:
            ConfigurationError: SQLite failed (see :func:`journal_fault`).
        """
        with self._lock:
            self._same_process()
            try:
                yield self.connection
            except sqlite3.Error as exc:
                raise journal_fault(self.path, exc) from exc

    @contextmanager
    def write(self, *, durable: bool | None = None) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: committed on exit, rolled back on error.

        ``durable``: True fsyncs at COMMIT (it and everything committed before it survive a
        power loss); False does not (it survives a killed process); None (the default) is
        durable except inside :meth:`grouped`.

        Raises:
            ConfigurationError: SQLite failed, at any statement or at COMMIT; nothing of the
                transaction was kept.
        """
        with self._lock:
            self._same_process()
            fsync = durable if durable is not None else self._grouping == 0
            try:
                self._set_synchronous("FULL" if fsync else "NORMAL")
                self.connection.execute("BEGIN IMMEDIATE")
                try:
                    yield self.connection
                    self.connection.execute("COMMIT")
                except BaseException:
                    self._roll_back()
                    raise
                finally:
                    if self._grouping == 0:  # a lone write left the connection as it was
                        self._set_synchronous("FULL")
            except sqlite3.Error as exc:
                raise journal_fault(self.path, exc) from exc
            self._unsynced = not fsync

    @contextmanager
    def grouped(self) -> Iterator[None]:
        """Writes inside are grouped (no fsync) unless asked durable; synced on the way out.

        Leaving by an exception syncs too: what was written stays written, as after a kill.
        """
        with self._lock:
            self._grouping += 1
        try:
            yield
        finally:
            with self._lock:
                self._grouping -= 1
                last = self._grouping == 0
            if last:
                self.sync()

    def sync(self) -> None:
        """Make every commit so far survive a power loss (one fsync; none if nothing new).

        Raises:
            ConfigurationError: SQLite failed.
        """
        with self._lock:
            if not self._unsynced:
                return
            # A commit with synchronous=FULL fsyncs the WAL, and with it every frame before
            # it; an empty transaction writes no frame, so it records when it happened.
            with self.write(durable=True) as db:
                db.execute(
                    "INSERT INTO meta (name, value) VALUES ('synced_at', ?)"
                    " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    (repr(time.time()),),
                )

    def _set_synchronous(self, level: str) -> None:
        if self._synchronous != level:
            self.connection.execute(f"PRAGMA synchronous = {level}")
            self._synchronous = level

    def _roll_back(self) -> None:
        # SQLite may have rolled back already (a full disk, an I/O error): then there is no
        # transaction left, and ROLLBACK would only raise over the error that matters.
        if self.connection.in_transaction:
            with suppress(sqlite3.Error):
                self.connection.execute("ROLLBACK")

    def _prepare(self) -> None:
        db = self.connection
        db.row_factory = sqlite3.Row
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        # Only a journal that needs its schema made or upgraded is written at open: a
        # reader (status) or a run must not wait for another process's write lock just to
        # open a journal that is already current (migrate checks again under the lock).
        if int(db.execute("PRAGMA user_version").fetchone()[0]) != SCHEMA_VERSION:
            with self.write():
                migrate(db)

    def _same_process(self) -> None:
        if os.getpid() != self._pid:
            raise RuntimeError(
                "this journal connection was opened by another process; "
                "call Journal.open again in this one"
            )


def journal_fault(path: str, error: BaseException, doing: str = "use") -> JournalUnusable:
    """The error for a journal that SQLite (or the file system) cannot use: path and remedy."""
    text = str(error)
    lowered = text.lower()
    if "readonly" in lowered or "read-only" in lowered or isinstance(error, PermissionError):
        remedy = "let the user running tracker-mail write the file and its folder"
    elif "full" in lowered or "no space" in lowered:
        remedy = "free space on its disk; nothing was half written"
    elif "locked" in lowered or "busy" in lowered:
        remedy = f"another process held it locked for over {BUSY_TIMEOUT_SECONDS:g} s; try again"
    elif "newer" in lowered:
        remedy = "use that newer tracker-mail, or point journal: at another file"
    elif isinstance(error, sqlite3.DatabaseError) and not isinstance(
        error, sqlite3.OperationalError
    ):
        remedy = (
            "it is damaged or not a journal: restore it from a backup, or move it aside so "
            "that a new one is started"
        )
    elif _nearly_full(path):
        remedy = "its disk is full: free space on it; nothing was half written"
    else:
        remedy = "check the file, its folder and the disk"
    return JournalUnusable(f"cannot {doing} the journal {path} ({text}): {remedy}")


def _nearly_full(path: str) -> bool:
    """Whether the journal's disk has (almost) no free space left."""
    try:
        return shutil.disk_usage(Path(path).parent).free < _NEARLY_FULL_BYTES
    except OSError:
        return False


def _create_private(path: Path) -> None:
    """Create the journal's folder (0700) and an empty file (0600) when they are missing.

    SQLite gives its ``-wal`` and ``-shm`` files the permissions of the database file.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
