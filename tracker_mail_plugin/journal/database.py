"""The journal's SQLite connection: WAL, ``synchronous=FULL``, one transaction per write.

SQLite runs in WAL mode (readers never wait for the writer), with ``synchronous=FULL``
(a confirmed write survives power loss, not only a killed process: the price is one fsync
per commit, small next to a tracker round trip) and a busy timeout, and every write is one
``BEGIN IMMEDIATE`` transaction, so overlapping runs queue rather than fail or interleave.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tracker_mail_plugin.errors import ConfigurationError
from tracker_mail_plugin.journal.schema import migrate

BUSY_TIMEOUT_SECONDS = 30.0


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
                Path(where).parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(
                where, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
            )
            database = cls(db, where)
            database._prepare()
        except (OSError, sqlite3.Error) as exc:
            if db is not None:
                db.close()
            raise ConfigurationError(f"cannot open the journal {where}: {exc}") from exc
        return database

    def close(self) -> None:
        """Close the connection; the instance cannot be used afterwards."""
        with self._lock:
            self.connection.close()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """The connection, for reads (WAL: they see the last committed state)."""
        with self._lock:
            self._same_process()
            yield self.connection

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: committed on exit, rolled back on error.

        ``durable=False`` commits without an fsync (``synchronous=NORMAL`` for this one
        transaction): the change survives the process being killed, not a power loss. The
        next durable commit makes it durable too.
        """
        with self._lock:
            self._same_process()
            if not durable:
                self.connection.execute("PRAGMA synchronous = NORMAL")
            try:
                self.connection.execute("BEGIN IMMEDIATE")
                try:
                    yield self.connection
                except BaseException:
                    self.connection.execute("ROLLBACK")
                    raise
                self.connection.execute("COMMIT")
            finally:
                if not durable:
                    self.connection.execute("PRAGMA synchronous = FULL")

    def _prepare(self) -> None:
        db = self.connection
        db.row_factory = sqlite3.Row
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        with self.write():
            migrate(db)

    def _same_process(self) -> None:
        if os.getpid() != self._pid:
            raise RuntimeError(
                "this journal connection was opened by another process; "
                "call Journal.open again in this one"
            )
