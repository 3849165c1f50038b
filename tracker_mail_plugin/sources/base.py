r"""The one small contract every mail source implements, and the values it passes around.

A source only lists, downloads and disposes of messages; it never decides anything. What is
"done" is the journal's business: ``pending`` asks the journal through ``is_done`` and never
trusts server-side state such as ``\Seen``, which people and other clients change at will.
"""

from __future__ import annotations

import ipaddress
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Literal, Self

from tracker_mail_plugin.errors import ConfigurationError

Security = Literal["ssl", "starttls", "none"]

# A fetch batch stops at whichever comes first: keeps round trips few without holding
# hundreds of megabytes of mail in one response.
BATCH_MESSAGES = 100
BATCH_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Envelope:
    """A message known to be in the source, before its bytes are downloaded.

    ``id`` is stable across runs (IMAP ``UIDVALIDITY:UID``, the POP3 UIDL, the Maildir key,
    the mbox index plus a hash, or a directory-relative path). ``oversize`` is set when
    ``size`` exceeds the source's ``max_message_size``: such a message is never downloaded,
    so that the caller can apply its oversize policy instead. ``arrived``: when the mail
    reached the mailbox, where the listing already says so (Graph's ``receivedDateTime``).
    """

    id: str
    size: int
    oversize: bool = False
    arrived: datetime | None = None


@dataclass(frozen=True, slots=True)
class Fetched:
    """A downloaded message: exactly the bytes the server holds.

    ``arrived``: when the mail reached the mailbox (IMAP INTERNALDATE, Graph
    ``receivedDateTime``, a file's modification time, the time a piped message was read),
    timezone-aware; None where the source cannot tell (POP3, mbox). The processing latency
    is measured from it, not from when tracker-mail first saw the message.
    """

    id: str
    raw: bytes
    arrived: datetime | None = None


@dataclass(frozen=True, slots=True)
class Leave:
    """Leave the message as it is."""


@dataclass(frozen=True, slots=True)
class Delete:
    """Remove the message (for IMAP and POP3 it becomes final at ``commit``)."""


@dataclass(frozen=True, slots=True)
class Move:
    """Move the message to ``folder`` (created when missing)."""

    folder: str


@dataclass(frozen=True, slots=True)
class FlagSeen:
    """Mark the message as read, for the people who also look at the mailbox."""


Disposition = Leave | Delete | Move | FlagSeen


@dataclass(frozen=True, slots=True)
class SourceCheck:
    """What ``tracker-mail check`` reports about a working mailbox connection."""

    identity: str
    folder: str
    messages: int
    capabilities: tuple[str, ...] = ()
    tls: str | None = None


class MailSource(ABC):
    """Where mail comes from; every source subclasses this (it is also the context manager).

    The run calls ``open``, ``pending``, ``fetch``, then ``dispose`` for each message the
    tracker has confirmed, then ``commit``, then ``close``. Nothing a source does before
    ``commit`` loses mail: a run that dies in between leaves every message on the server.
    """

    dispositions: ClassVar[frozenset[type[Disposition]]]

    @abstractmethod
    def identity(self) -> str:
        """Account, folder and (IMAP, once open) UIDVALIDITY: what the journal keys on."""

    @abstractmethod
    def open(self) -> None:
        """Connect (or open the files); raises Unreachable or ConfigurationError."""

    @abstractmethod
    def close(self) -> None:
        """Disconnect without committing anything not yet committed."""

    @abstractmethod
    def pending(self, is_done: Callable[[str], bool], limit: int | None = None) -> list[Envelope]:
        """Messages whose id ``is_done`` rejects, oldest first, at most ``limit`` of them."""

    @abstractmethod
    def fetch(self, envelopes: Sequence[Envelope]) -> Iterator[Fetched]:
        """Download ``envelopes`` (never oversize ones) in batches, in the order given."""

    @abstractmethod
    def dispose(self, id: str, disposition: Disposition) -> None:
        """Apply ``disposition`` to one message; raises ConfigurationError if unsupported."""

    @abstractmethod
    def commit(self) -> None:
        """Make dispositions final (IMAP: expunge; POP3: QUIT, which ends the session)."""

    @abstractmethod
    def check(self) -> SourceCheck:
        """Describe the open connection: folder, message count, capabilities."""

    def supports(self, disposition: Disposition) -> bool:
        """Whether ``dispose`` can apply ``disposition`` (for validating config up front)."""
        return type(disposition) in self.dispositions

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def require_supported(source: MailSource, disposition: Disposition, label: str, why: str) -> None:
    """Raise ConfigurationError naming the disposition when ``source`` cannot apply it."""
    if not source.supports(disposition):
        allowed = ", ".join(sorted(kind.__name__.lower() for kind in source.dispositions))
        raise ConfigurationError(
            f"{label}: cannot {describe(disposition)}: {why}; use one of: {allowed}"
        )


def describe(disposition: Disposition) -> str:
    """A disposition in the words of rules.yaml, for messages."""
    match disposition:
        case Move(folder=folder):
            return f"move to {folder!r}"
        case FlagSeen():
            return "flag as seen"
        case Delete():
            return "delete"
        case Leave():
            return "leave"


def require_secure(host: str, security: Security) -> None:
    """Refuse to send a password in clear anywhere but to this machine."""
    if security not in ("ssl", "starttls", "none"):
        raise ConfigurationError(f"security must be ssl, starttls or none, not {security!r}")
    if security == "none" and not is_loopback(host):
        raise ConfigurationError(
            f"security: none would send the password to {host} in clear; it is only allowed "
            "for 127.0.0.1/localhost; use ssl or starttls"
        )


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_oversize(size: int, limit: int | None) -> bool:
    """Whether a message of ``size`` bytes exceeds ``limit`` (None: no limit)."""
    return limit is not None and size > limit


def refuse_oversize(envelopes: Sequence[Envelope]) -> None:
    """Fetching an oversize message is a caller bug: its policy applies instead."""
    big = [e.id for e in envelopes if e.oversize]
    if big:
        raise ValueError(f"oversize messages are never downloaded: {', '.join(big)}")


def batches(
    envelopes: Sequence[Envelope],
    max_messages: int = BATCH_MESSAGES,
    max_bytes: int = BATCH_BYTES,
) -> Iterator[list[Envelope]]:
    """Split ``envelopes`` into consecutive batches bounded by count and total size."""
    batch: list[Envelope] = []
    total = 0
    for envelope in envelopes:
        if batch and (len(batch) >= max_messages or total + envelope.size > max_bytes):
            yield batch
            batch, total = [], 0
        batch.append(envelope)
        total += envelope.size
    if batch:
        yield batch


def file_time(path: Path) -> datetime:
    """When a file-stored message arrived: its modification time (delivery writes it once)."""
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def take(envelopes: Iterator[Envelope], limit: int | None) -> list[Envelope]:
    """The first ``limit`` envelopes (all of them when ``limit`` is None)."""
    found: list[Envelope] = []
    for envelope in envelopes:
        if limit is not None and len(found) >= limit:
            break
        found.append(envelope)
    return found
