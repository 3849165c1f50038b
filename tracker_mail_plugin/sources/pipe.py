"""One message handed over by a mail server's pipe (``tracker-mail receive``).

There is no mailbox to leave mail in, so "leave" and "move" mean: keep a copy in the spool
directory, under the folder's name (``Unprocessed``, ``Quarantine``…); "delete" keeps none.
Nothing is kept before the run commits, so a run that dies keeps nothing and the mail
server, seeing the failure, delivers again. A spool that cannot be written is a
``RetryLater``: the mail server keeps the message (exit 75) rather than bounce it.

The spool's folders are made 0700 and its files 0600: they hold other people's mail.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from tracker_mail_plugin.errors import RetryLater
from tracker_mail_plugin.sources.base import (
    Delete,
    Disposition,
    Envelope,
    Fetched,
    Leave,
    MailSource,
    Move,
    SourceCheck,
    is_oversize,
    refuse_oversize,
)

KEPT = "Kept"

# The first line of a message: a header field, or the "From sender date" line some mail
# servers put in front (Postfix's pipe with flag F, procmail).
_FIRST_LINE = re.compile(rb"[\r\n]*(?:From [^\n]*\n)?[!-9;-~]+:")


def not_mail(raw: bytes) -> str | None:
    """Why ``raw`` cannot be a piped mail message (empty, no header block), or None."""
    if not raw.strip():
        return "standard input is empty"
    if not _FIRST_LINE.match(raw):
        return "standard input does not start with a mail header (Name: value)"
    return None


class PipeSource(MailSource):
    """The message read from standard input, and a spool directory for what is kept."""

    dispositions = frozenset({Leave, Delete, Move})

    def __init__(self, raw: bytes, spool: Path, *, max_message_size: int | None = None):
        self.raw = raw
        self.spool = spool
        self.id = hashlib.sha256(raw).hexdigest()[:32]
        self._max_size = max_message_size
        self.received = datetime.now(UTC)  # the mail server hands it over as it arrives
        self._staged: list[Disposition] = []
        self.kept: list[Path] = []

    def identity(self) -> str:
        """``pipe``: one message arrives at a time; its id is a hash of its bytes."""
        return "pipe"

    def open(self) -> None:
        """Nothing to open."""

    def close(self) -> None:
        """Forget what was not committed."""
        self._staged.clear()

    def pending(self, is_done: Callable[[str], bool], limit: int | None = None) -> list[Envelope]:
        """The one message, unless the journal has it done (the mail server delivered twice)."""
        if is_done(self.id) or limit == 0:
            return []
        return [Envelope(self.id, len(self.raw), is_oversize(len(self.raw), self._max_size))]

    def fetch(self, envelopes: Sequence[Envelope]) -> Iterator[Fetched]:
        """The message's bytes."""
        refuse_oversize(envelopes)
        for envelope in envelopes:
            yield Fetched(envelope.id, self.raw, self.received)

    def dispose(self, id: str, disposition: Disposition) -> None:
        """Stage keeping a copy (leave, move) or none (delete)."""
        self._staged.append(disposition)

    def commit(self) -> None:
        """Write the copies staged, atomically (temporary file, then rename).

        Raises:
            RetryLater: the spool cannot be written; nothing was kept, the mail server
                keeps the message and delivers it again.
        """
        for disposition in self._staged:
            if isinstance(disposition, Delete):
                continue
            folder = self.spool / (disposition.folder if isinstance(disposition, Move) else KEPT)
            try:
                self.kept.append(self._keep(folder))
            except OSError as exc:
                raise RetryLater(
                    f"cannot keep the message in the spool folder {folder}: {exc.strerror or exc}"
                ) from exc
        self._staged.clear()

    def _keep(self, folder: Path) -> Path:
        self.spool.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        target = folder / f"{self.id}.eml"
        temporary = folder / f".{self.id}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(descriptor, "wb") as file:
            file.write(self.raw)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
        return target

    def check(self) -> SourceCheck:
        """The spool directory."""
        return SourceCheck(identity="pipe", folder=str(self.spool), messages=1)
