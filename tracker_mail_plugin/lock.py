"""One run per mailbox at a time: a lock file that the kernel releases if the run dies."""

from __future__ import annotations

import errno
import fcntl
import os
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import Self

from tracker_mail_plugin.journal.database import JournalUnusable


class MailboxLock:
    """``flock`` on ``path``; ``acquired`` is False when another run holds it (no waiting).

    The file lives beside the journal: a folder that cannot be written (read-only, full, not
    ours) is :class:`JournalUnusable`, said as for the journal itself.
    """

    def __init__(self, path: Path, wait: bool = False):
        self.path = path
        self.wait = wait
        self.acquired = False
        self._fd: int | None = None

    def __enter__(self) -> Self:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise _unusable(self.path, exc) from exc
        flags = fcntl.LOCK_EX if self.wait else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.flock(self._fd, flags)
        except BlockingIOError:
            return self
        self.acquired = True
        # The PID is for people looking at the file; the lock works without it, and a full
        # disk is better said by the journal, which needs the room.
        with suppress(OSError):
            os.ftruncate(self._fd, 0)
            os.write(self._fd, f"{os.getpid()}\n".encode())
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock
            self._fd = None


def _unusable(path: Path, exc: OSError) -> JournalUnusable:
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        remedy = "free space on its disk"
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        remedy = "let the user running tracker-mail write the journal's folder"
    else:
        remedy = "check the journal's folder and its disk"
    return JournalUnusable(f"cannot lock the mailbox with {path} ({reason}): {remedy}")
