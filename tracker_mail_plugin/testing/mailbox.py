"""An in-memory mail source that behaves like an IMAP folder, for tests of the run.

Like a real server it only makes dispositions final at ``commit`` (a session that dies
before it changes nothing), numbers messages under a UIDVALIDITY that a test can change,
and can be told to fail at any step (an IMAP disconnect is ``Unreachable`` from ``fetch``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

from tracker_mail_plugin.errors import TrackerMailError
from tracker_mail_plugin.sources.base import (
    Delete,
    Disposition,
    Envelope,
    Fetched,
    FlagSeen,
    Leave,
    MailSource,
    Move,
    SourceCheck,
)


@dataclass(slots=True)
class _Stored:
    uid: int
    raw: bytes
    seen: bool = False


@dataclass(frozen=True, slots=True)
class Disposed:
    """A disposition the run asked for, and whether a ``commit`` made it final."""

    id: str
    disposition: Disposition
    committed: bool


class FakeMailbox(MailSource):
    """A folder of raw messages; ``folders`` receives what is moved out of it.

    Attributes:
        log: every disposition asked for, in order, marked when a commit made it final.
        fetched: the id of every message downloaded, in order (repeats included).
        folders: the messages moved out, by folder name.

    Args:
        messages: raw messages already in the folder, oldest first.
        name: the account and folder, part of ``identity()``.
        uidvalidity: changed by :meth:`renumber`, as a server does after a rebuild.
        max_message_size: envelopes above it are marked oversize and never fetched.
    """

    dispositions: ClassVar[frozenset[type[Disposition]]] = frozenset(
        {Leave, Delete, Move, FlagSeen}
    )

    def __init__(
        self,
        messages: Iterable[bytes] = (),
        *,
        name: str = "fake@example.com/INBOX",
        uidvalidity: int = 1,
        max_message_size: int | None = None,
    ):
        self.name = name
        self.uidvalidity = uidvalidity
        self.max_message_size = max_message_size
        self.log: list[Disposed] = []
        self.fetched: list[str] = []
        self.folders: dict[str, list[bytes]] = {}
        self.is_open = False
        self._messages: list[_Stored] = []
        self._staged: list[int] = []  # positions in log
        self._faults: dict[str, list[TrackerMailError]] = {}
        self._next_uid = 1
        for raw in messages:
            self.add(raw)

    # -- test controls ---------------------------------------------------------------------

    def add(self, raw: bytes) -> str:
        """Deliver a message; returns its id."""
        self._messages.append(_Stored(self._next_uid, raw))
        self._next_uid += 1
        return self._id(self._messages[-1])

    def ids(self) -> list[str]:
        """The ids of the messages still in the folder."""
        return [self._id(stored) for stored in self._messages]

    def seen(self) -> list[str]:
        """The ids of the messages flagged as seen."""
        return [self._id(stored) for stored in self._messages if stored.seen]

    def renumber(self) -> None:
        """Bump UIDVALIDITY and give every message a new UID: every id changes."""
        self.uidvalidity += 1
        for uid, stored in enumerate(self._messages, start=1):
            stored.uid = uid
        self._next_uid = len(self._messages) + 1

    def fail_next(self, method: str, error: TrackerMailError) -> None:
        """Make the next call of ``method`` raise ``error``.

        ``method`` is one of ``open``, ``pending``, ``fetch``, ``dispose``, ``commit``;
        ``fetch`` yields its first message before raising, as a connection dropped mid-batch.
        """
        self._faults.setdefault(method, []).append(error)

    # -- MailSource ------------------------------------------------------------------------

    def identity(self) -> str:
        """``fake:<name>;uidvalidity=<n>``."""
        return f"fake:{self.name};uidvalidity={self.uidvalidity}"

    def open(self) -> None:
        """Open the folder."""
        self._maybe_fail("open")
        self.is_open = True

    def close(self) -> None:
        """Close; dispositions not committed are forgotten, as a dropped session's are."""
        self._staged.clear()
        self.is_open = False

    def pending(self, is_done: Callable[[str], bool], limit: int | None = None) -> list[Envelope]:
        """Messages ``is_done`` rejects, oldest first, at most ``limit``."""
        self._require_open()
        self._maybe_fail("pending")
        envelopes = [self._envelope(s) for s in self._messages if not is_done(self._id(s))]
        return envelopes if limit is None else envelopes[:limit]

    def fetch(self, envelopes: Sequence[Envelope]) -> Iterator[Fetched]:
        """The raw bytes of ``envelopes`` in the order given."""
        self._require_open()
        big = [envelope.id for envelope in envelopes if envelope.oversize]
        if big:  # a caller bug: the oversize policy applies to these instead
            raise ValueError(f"oversize messages are never downloaded: {', '.join(big)}")
        by_id = {self._id(stored): stored for stored in self._messages}
        for position, envelope in enumerate(envelopes):
            self.fetched.append(envelope.id)
            yield Fetched(envelope.id, by_id[envelope.id].raw)
            if position == 0:
                self._maybe_fail("fetch")

    def dispose(self, id: str, disposition: Disposition) -> None:
        """Stage ``disposition`` for ``id``; it happens at :meth:`commit`."""
        self._require_open()
        self._maybe_fail("dispose")
        if id not in self.ids():
            raise KeyError(f"no message {id} in {self.identity()}")
        self._staged.append(len(self.log))
        self.log.append(Disposed(id, disposition, committed=False))

    def commit(self) -> None:
        """Apply every staged disposition."""
        self._require_open()
        self._maybe_fail("commit")
        staged, self._staged = self._staged, []
        for position in staged:
            asked = self.log[position]
            self._apply(asked.id, asked.disposition)
            self.log[position] = Disposed(asked.id, asked.disposition, committed=True)

    def check(self) -> SourceCheck:
        """The folder and how many messages it holds."""
        self._require_open()
        return SourceCheck(self.identity(), self.name, len(self._messages), ("FAKE",), None)

    # -- internals -------------------------------------------------------------------------

    def _id(self, stored: _Stored) -> str:
        return f"{self.uidvalidity}:{stored.uid}"

    def _envelope(self, stored: _Stored) -> Envelope:
        size = len(stored.raw)
        limit = self.max_message_size
        return Envelope(self._id(stored), size, oversize=limit is not None and size > limit)

    def _apply(self, id: str, disposition: Disposition) -> None:
        stored = next((s for s in self._messages if self._id(s) == id), None)
        if stored is None:  # disposed of twice in one commit, as a server would refuse
            raise KeyError(f"message {id} is no longer in {self.identity()}")
        match disposition:
            case Delete():
                self._messages.remove(stored)
            case Move(folder=folder):
                self._messages.remove(stored)
                self.folders.setdefault(folder, []).append(stored.raw)
            case FlagSeen():
                stored.seen = True
            case Leave():
                pass

    def _require_open(self) -> None:
        if not self.is_open:
            raise RuntimeError("the fake mailbox is not open; use it in a with block")

    def _maybe_fail(self, method: str) -> None:
        waiting = self._faults.get(method)
        if waiting:
            raise waiting.pop(0)
