"""Which mailbox runs are under way, and whether one before them may have lost writes.

A mailbox run commits most of its journal writes without an fsync (see
:mod:`tracker_mail_plugin.journal.store`): a killed process loses none of them, a power loss
(or an operating-system crash) may lose the last ones. Each run therefore leaves a durable
row here while it works, naming the boot of the machine it began in (Linux's
``/proc/sys/kernel/random/boot_id``, new at every boot). A row left behind by a run of
another boot means that run was cut short by the machine going down, so tracker writes it
made may be missing from the journal: the next run asks the tracker (``find_by_key``) before
every write it makes. A row left by a killed process of this boot is harmless: the
operating system kept everything that process committed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from tracker_mail_plugin.journal.postgres import AnyConnection

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def boot_id() -> str:
    """This boot's id; "" where the system has none (every leftover run is then suspect)."""
    try:
        return _BOOT_ID.read_text(encoding="ascii").strip()
    except OSError:
        return ""


class JournalRuns:
    """``begin_run`` and ``end_run``; mixed into :class:`~tracker_mail_plugin.journal.Journal`."""

    _write: Callable[..., AbstractContextManager[AnyConnection]]

    def begin_run(self, mailbox: str) -> bool:
        """Record that a run of ``mailbox`` starts (durably); True: look every write up.

        True when a run of this mailbox was cut short in another boot (or where the boot
        cannot be told), or when a run that looked writes up for that reason did not get
        through the mailbox: tracker writes those runs made may be missing here.
        """
        this_boot = boot_id()
        with self._write(durable=True) as db:
            left = db.execute(
                "SELECT boot_id, inherited FROM runs WHERE mailbox = ?", (mailbox,)
            ).fetchall()
            suspect = any(not this_boot or row[0] != this_boot or row[1] for row in left)
            db.execute("DELETE FROM runs WHERE mailbox = ?", (mailbox,))
            db.execute(
                "INSERT INTO runs (mailbox, pid, boot_id, inherited, started_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (mailbox, os.getpid(), this_boot, int(suspect), time.time()),
            )
        return suspect

    def end_run(self, mailbox: str, *, whole: bool) -> None:
        """Record (durably) that this process's run of ``mailbox`` ended.

        ``whole``: it went through every message of the mailbox. A run that looked writes up
        and did not (a limit, a rate limit, an error) leaves its row, so that the next run
        looks up too; any other run's row is removed.
        """
        with self._write(durable=True) as db:
            db.execute(
                "DELETE FROM runs WHERE mailbox = ? AND pid = ? AND boot_id = ?"
                " AND (inherited = 0 OR ? = 1)",
                (mailbox, os.getpid(), boot_id(), int(whole)),
            )
