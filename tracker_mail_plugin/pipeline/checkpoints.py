"""The moments of a run where a crash matters, named once.

The exactly-once tests kill a run at each of these (``kill -9`` in a separate process, or an
exception nothing catches in-process) and check that the next run neither loses nor repeats
anything. Production code calls the hook at each moment; it does nothing unless a test set
:data:`KILL_AT_ENV`.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from enum import StrEnum


class Checkpoint(StrEnum):
    """A moment in a message's way where the process may die."""

    # The message is journalled as fetched; nothing else happened.
    AFTER_FETCH = "after_fetch"
    # The tracker confirmed a write; the journal does not know yet.
    AFTER_WRITE = "after_write"
    # Every write is journalled; the mail is not yet disposed of.
    AFTER_RECORD = "after_record"
    # Dispositions were given to the source; it has not committed them.
    BEFORE_COMMIT = "before_commit"
    # A batch of mail is ready to be disposed of, its confirmations fsynced; nothing moved.
    BEFORE_DISPOSE = "before_dispose"
    # The source was given a batch's dispositions (an IMAP move is done); nothing journalled.
    AFTER_DISPOSE = "after_dispose"


CheckpointHook = Callable[[Checkpoint], None]

# A crash test names a checkpoint here; a `tracker-mail` process then kills itself there.
KILL_AT_ENV = "TRACKER_MAIL_TEST_KILL_AT"


def kill_if_asked(checkpoint: Checkpoint) -> None:
    """Die here, as ``kill -9`` would, when a crash test asks for it."""
    if os.environ.get(KILL_AT_ENV) == checkpoint.value:
        os.kill(os.getpid(), signal.SIGKILL)


def never(checkpoint: Checkpoint) -> None:
    """A hook for runs no test interrupts."""
