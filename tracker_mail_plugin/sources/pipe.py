"""One message handed over by a mail server's pipe (``tracker-mail receive``).

There is no mailbox to leave mail in, so "leave" and "move" mean: keep a copy in the spool
directory, under the folder's name (``Unprocessed``, ``Quarantine``…); "delete" keeps none.
Nothing is kept before the run commits, so a run that dies keeps nothing and the mail
server, seeing the failure, delivers again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

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


class PipeSource(MailSource):
    """The message read from standard input, and a spool directory for what is kept."""

    dispositions = frozenset({Leave, Delete, Move})

    def __init__(self, raw: bytes, spool: Path, *, max_message_size: int | None = None):
        self.raw = raw
        self.spool = spool
        self.id = hashlib.sha256(raw).hexdigest()[:32]
        self._max_size = max_message_size
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
            yield Fetched(envelope.id, self.raw)

    def dispose(self, id: str, disposition: Disposition) -> None:
        """Stage keeping a copy (leave, move) or none (delete)."""
        self._staged.append(disposition)

    def commit(self) -> None:
        """Write the copies staged, atomically (temporary file, then rename)."""
        for disposition in self._staged:
            if isinstance(disposition, Delete):
                continue
            folder = self.spool / (disposition.folder if isinstance(disposition, Move) else KEPT)
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{self.id}.eml"
            temporary = folder / f".{self.id}.tmp"
            temporary.write_bytes(self.raw)
            os.replace(temporary, target)
            self.kept.append(target)
        self._staged.clear()

    def check(self) -> SourceCheck:
        """The spool directory."""
        return SourceCheck(identity="pipe", folder=str(self.spool), messages=1)
