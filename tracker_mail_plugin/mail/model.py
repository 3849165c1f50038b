"""The parsed message: immutable values that every later step reads.

These are frozen, slotted dataclasses rather than pydantic models on purpose: a message is a
value produced by our own parser, never untrusted input to validate, and building thousands of
them per second is on the hot path (see ``benchmarks/parse.py``). Configuration, which *is*
untrusted input, uses pydantic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class Automated(StrEnum):
    """Why a message was written by a machine rather than a person.

    Classified before any rule runs, so that auto-responders, lists and bounces can never
    open an issue or start a mail loop unless a policy says so.
    """

    LOOP = "loop"
    BOUNCE = "bounce"
    AUTO_REPLIED = "auto_replied"
    AUTO_GENERATED = "auto_generated"
    BULK = "bulk"


class RefKind(StrEnum):
    """The shape a reference to an existing issue was found in."""

    NUMBER = "number"  # "#123" or "[#123]"
    TRACKER_TAG = "tracker_tag"  # Redmine's "[Project - Bug #123]"
    JIRA_KEY = "jira_key"  # "ABC-123"
    GITHUB = "github"  # "owner/repo#12"
    MESSAGE_ID = "message_id"  # from In-Reply-To / References


@dataclass(frozen=True, slots=True)
class Address:
    """A mailbox: display name and address (lower-cased, IDNA domain decoded to Unicode)."""

    name: str
    address: str

    @property
    def domain(self) -> str:
        """The part after the last ``@``, or ``""`` when there is none."""
        return self.address.rpartition("@")[2] if "@" in self.address else ""

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>" if self.name else self.address


@dataclass(frozen=True, slots=True)
class Attachment:
    """One file carried by the message, with its bytes exactly as sent (transfer-decoded)."""

    filename: str
    content_type: str
    size: int
    sha256: str
    content: bytes = field(repr=False)
    inline: bool = False
    content_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReferenceCandidate:
    """Something in the message that may point to an existing issue.

    Only extracted here; whether it names a real issue is decided later against the tracker
    or the journal.
    """

    kind: RefKind
    source: str  # "subject", "in_reply_to" or "references"
    text: str  # exactly what was found, e.g. "[Support - Bug #12]" or a message-id
    number: int | None = None
    project: str | None = None  # Jira project key, Redmine project name, or "owner/repo"
    tracker: str | None = None  # Redmine tracker name in "[Project - Bug #12]"


@dataclass(frozen=True, slots=True)
class Message:
    """A mail message parsed from raw RFC 5322 bytes; never built by hand outside tests.

    ``body`` is ``full_body`` with quoted replies and signatures removed (never empty when
    ``full_body`` is not). ``defects`` lists, in plain words, everything the parser had to
    repair or could not read.
    """

    message_id: str
    subject: str
    from_: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    date: dt.datetime | None
    in_reply_to: str | None
    references: tuple[str, ...]
    headers: tuple[tuple[str, str], ...] = field(repr=False)
    body: str = field(repr=False)
    full_body: str = field(repr=False)
    attachments: tuple[Attachment, ...]
    automated: Automated | None
    reference_candidates: tuple[ReferenceCandidate, ...]
    defects: tuple[str, ...]
    sha256: str
    size: int
    message_id_synthesised: bool = False

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), decoded, or ``None``."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def header_all(self, name: str) -> tuple[str, ...]:
        """Every value of header ``name`` (case-insensitive), in the order they appear."""
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key.lower() == wanted)
