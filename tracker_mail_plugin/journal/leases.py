"""Leases: one holder at a time per mailbox, across hosts sharing a PostgreSQL journal.

A file lock only keeps runs on one machine apart. With the journal in PostgreSQL, each
mailbox run first takes the mailbox's row in ``leases``: who holds it, until when (the
server's clock, so hosts' clocks need not agree), and a generation that grows at every
change of holder. The holder renews it while it works; a holder that dies stops renewing,
and once the lease expired another process takes the mailbox (with the next generation).

Fencing: a holder paused (SIGSTOP, a stalled VM) or cut off past its expiry may wake up
after another took over. Each of its journal writes checks, in the same transaction, that
the lease row still names its holder and generation and has not expired, holding the row
(``FOR SHARE``) so that no takeover can slip in before the commit; the check runs again
before mail is disposed of. A holder that lost its lease therefore gets :class:`LeaseLost`
at its next journal write and stops: it writes nothing more and disposes of nothing. A
tracker call it had under way when it was paused still completes; that write was journalled
as started beforehand, so the new holder asks the tracker for it by its idempotency key
instead of writing it again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Self

from tracker_mail_plugin.errors import TrackerMailError, Unreachable

if TYPE_CHECKING:
    from tracker_mail_plugin.journal.postgres import Connection, PostgresDatabase

logger = logging.getLogger("tracker_mail")

DEFAULT_LEASE_SECONDS = 30.0
# The server's clock, as the epoch seconds the journal stores (clock_timestamp, not now():
# now() stands still for the whole transaction).
SERVER_NOW = "extract(epoch FROM clock_timestamp())"


class LeaseLost(Unreachable):
    """This process no longer holds the mailbox: another took it. The run stops here."""


@dataclass(frozen=True)
class Lease:
    """A mailbox held by ``holder`` in ``generation``."""

    mailbox: str
    holder: str
    generation: int


def holder_id() -> str:
    """This process, told apart from every other on any host: host, pid and a nonce."""
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


def check_fence(db: Connection, lease: Lease) -> None:
    """Inside a write transaction: go on only while ``lease`` holds (its row kept until commit).

    Raises:
        LeaseLost: another holder took the mailbox, or the lease expired.
    """
    if not lease_holds(db, lease, keep=True):
        raise LeaseLost(
            f"{lease.mailbox}: this process lost its lease on the mailbox (it was paused or "
            "cut off past its expiry, and another process may have taken it over); it stops "
            "here without writing or disposing of anything more"
        )


def lease_holds(db: Connection, lease: Lease, *, keep: bool = False) -> bool:
    """Whether ``lease`` still names its holder and has not expired.

    ``keep``: hold the row (``FOR SHARE``) to the end of the transaction, so that no
    takeover can slip in before its commit.
    """
    found = db.execute(
        f"SELECT 1 FROM leases WHERE mailbox = ? AND holder = ? AND generation = ?"  # noqa: S608 - a constant, only ? marks
        f" AND expires_at > {SERVER_NOW}{' FOR SHARE' if keep else ''}",
        (lease.mailbox, lease.holder, lease.generation),
    ).fetchone()
    return found is not None


class LeaseKeeper:
    """Take a mailbox's lease, renew it in a thread while the run works, release it after.

    ``held`` is the lease, or None when another live holder has the mailbox (``wait``: try
    again until it is free, as ``sync --wait`` does with the lock file). Uses its own
    connection (``database``), so renewals never wait behind the run's journal writes.
    """

    def __init__(
        self,
        database: PostgresDatabase,
        mailbox: str,
        seconds: float = DEFAULT_LEASE_SECONDS,
        holder: str | None = None,
        *,
        wait: bool = False,
    ):
        self.database = database
        self.mailbox = mailbox
        self.seconds = seconds
        self.holder = holder or holder_id()
        self.wait = wait  # until the mailbox is free (``sync --wait``), not give up at once
        self.held: Lease | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def __enter__(self) -> Self:
        self.held = self.acquire()
        while self.held is None and self.wait:
            time.sleep(min(1.0, self.seconds / 3))
            self.held = self.acquire()
        if self.held is not None:
            self._renewer = threading.Thread(
                target=self._renew_until_stopped, name=f"lease {self.mailbox}", daemon=True
            )
            self._renewer.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        if self.held is not None:
            self.release(self.held)

    def acquire(self) -> Lease | None:
        """Take the mailbox if nobody holds it or its lease expired; None if held."""
        with self.database.write() as db:
            found = db.execute(
                "INSERT INTO leases (mailbox, holder, generation, expires_at)"  # noqa: S608 - a constant, only ? marks
                f" VALUES (?, ?, 1, {SERVER_NOW} + ?) ON CONFLICT (mailbox) DO UPDATE SET"
                " holder = excluded.holder, generation = leases.generation + 1,"
                " expires_at = excluded.expires_at"
                f" WHERE leases.expires_at <= {SERVER_NOW} RETURNING generation",
                (self.mailbox, self.holder, self.seconds),
            ).fetchone()
        return None if found is None else Lease(self.mailbox, self.holder, int(found[0]))

    def renew(self, lease: Lease) -> bool:
        """Push the expiry on; False when the lease was lost (expired or taken)."""
        with self.database.write() as db:
            found = db.execute(
                f"UPDATE leases SET expires_at = {SERVER_NOW} + ?"  # noqa: S608 - a constant, only ? marks
                " WHERE mailbox = ? AND holder = ? AND generation = ?"
                f" AND expires_at > {SERVER_NOW} RETURNING 1",
                (self.seconds, lease.mailbox, lease.holder, lease.generation),
            ).fetchone()
        return found is not None

    def release(self, lease: Lease) -> None:
        """Let the next process take the mailbox at once (only if this one still holds it)."""
        with self.database.write() as db:
            db.execute(
                f"UPDATE leases SET expires_at = {SERVER_NOW}"  # noqa: S608 - a constant, only ? marks
                " WHERE mailbox = ? AND holder = ? AND generation = ?",
                (lease.mailbox, lease.holder, lease.generation),
            )

    def _renew_until_stopped(self) -> None:
        assert self.held is not None  # noqa: S101 - started only with a lease
        # A third of the lease: two renewals may fail (a slow server) before it runs out.
        while not self._stop.wait(self.seconds / 3):
            try:
                if not self.renew(self.held):
                    logger.warning("%s: lease lost; the run stops at its next write", self.mailbox)
                    return
            except TrackerMailError as exc:  # a slow or lost server: try again next time
                logger.warning("%s: lease not renewed: %s", self.mailbox, exc)
