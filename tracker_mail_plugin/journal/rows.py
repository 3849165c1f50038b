"""The journal's rows, states and idempotency keys: frozen values, and how rows map to them."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

from tracker_mail_plugin.adapter import CommentRef, IssueRef
from tracker_mail_plugin.errors import scrub

KEY_PREFIX = "tm-"


class Row(Protocol):
    """A result row read by column name: SQLite's, or the PostgreSQL journal's."""

    def __getitem__(self, key: str, /) -> Any:
        """The value of column ``key``."""


class MessageState(StrEnum):
    """Where a message is in the flow.

    ``disposed``, ``unprocessed`` and ``quarantined`` end it; ``failed`` is tried again.
    """

    FETCHED = "fetched"
    DECIDED = "decided"
    ACTED = "acted"
    DISPOSED = "disposed"
    UNPROCESSED = "unprocessed"
    FAILED = "failed"
    QUARANTINED = "quarantined"


_S = MessageState
# Every state change a message may make, and nothing else (the pipeline's state keeper
# refuses the rest as a bug). A disposal keeps ``unprocessed`` and ``quarantined``: they say
# why the mail was moved. ``failed`` and every ending go back to ``fetched`` through
# ``tracker-mail retry``; a later run repeats ``decided`` after a crash before ``acted``.
TRANSITIONS: Mapping[MessageState, frozenset[MessageState]] = {
    _S.FETCHED: frozenset({_S.DECIDED, _S.UNPROCESSED, _S.FAILED}),
    _S.DECIDED: frozenset({_S.DECIDED, _S.ACTED, _S.UNPROCESSED, _S.FAILED, _S.DISPOSED}),
    _S.ACTED: frozenset({_S.DISPOSED, _S.FAILED}),
    _S.FAILED: frozenset({_S.DECIDED, _S.UNPROCESSED, _S.FAILED, _S.QUARANTINED, _S.FETCHED}),
    _S.UNPROCESSED: frozenset({_S.UNPROCESSED, _S.FAILED, _S.FETCHED}),
    _S.QUARANTINED: frozenset({_S.QUARANTINED, _S.FETCHED}),
    _S.DISPOSED: frozenset({_S.DISPOSED, _S.FETCHED}),
}


class ActionState(StrEnum):
    """A tracker write: begun, confirmed, or interrupted without an answer."""

    STARTED = "started"
    DONE = "done"
    UNKNOWN = "unknown"


def idempotency_key(message_id: str, action_index: int) -> str:
    """The key stored with the tracker object the ``action_index``-th action creates.

    ``tm-`` and 20 base32 characters (100 bits) of ``sha256(message_id:index)``: short
    enough for a label or hidden field, the same on every run.

    Built from the Message-ID, not from the UID: a UID changes when the server renumbers
    (UIDVALIDITY), when the message is moved back from a quarantine folder, or when it comes
    through another mailbox, and each of those must find the issue already created. Nor
    from the sha256 of the bytes: the same message delivered twice (to two addresses, or via
    a list) differs in its Received headers, and it should still be acted on once.
    Messages without a Message-ID get one derived from their bytes by the parser.
    """
    digest = hashlib.sha256(f"{message_id}:{action_index}".encode()).digest()
    return KEY_PREFIX + base64.b32encode(digest).decode("ascii")[:20].lower()


@dataclass(frozen=True, slots=True)
class MessageRow:
    """A journalled message, read through one location (where it was fetched from)."""

    id: int
    mailbox: str
    source_identity: str
    source_id: str
    message_id: str
    sha256: str
    size: int
    first_seen: dt.datetime
    updated_at: dt.datetime
    state: MessageState
    decision: Mapping[str, Any] | None = field(hash=False)
    attempts: int
    last_error: str | None
    disposed_at: dt.datetime | None
    sender: str = ""  # the From address as the mail gave it; empty when unknown
    subject: str = ""

    @property
    def done(self) -> bool:
        """Whether this location of the message has been disposed of."""
        return self.disposed_at is not None


@dataclass(frozen=True, slots=True)
class ActionRow:
    """A tracker write on behalf of a message; ``result`` is what the tracker returned."""

    message: int
    index: int
    idempotency_key: str
    kind: str
    state: ActionState
    result: IssueRef | CommentRef | str | None
    error: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None


class Thread(NamedTuple):
    """The issue a Message-ID belongs to."""

    tracker: str
    issue_key: str


@dataclass(frozen=True, slots=True)
class JournalStatus:
    """Counts by state and the most recently changed messages, for ``tracker-mail status``."""

    counts: Mapping[MessageState, int] = field(hash=False)
    recent: tuple[MessageRow, ...]


def message_row(found: Row) -> MessageRow:
    """A MessageRow from a row of ``schema.SELECT_MESSAGE``."""
    return MessageRow(
        id=found["id"],
        mailbox=found["mailbox"],
        source_identity=found["source_identity"],
        source_id=found["source_id"],
        message_id=found["message_id"],
        sha256=found["sha256"],
        size=found["size"],
        first_seen=_moment(found["first_seen"]),
        updated_at=_moment(found["updated_at"]),
        state=MessageState(found["state"]),
        decision=json.loads(found["decision"]) if found["decision"] else None,
        attempts=found["attempts"],
        last_error=found["last_error"],
        disposed_at=_maybe_moment(found["disposed_at"]),
        sender=found["sender"] or "",
        subject=found["subject"] or "",
    )


def action_row(found: Row) -> ActionRow:
    """An ActionRow from a row of the ``actions`` table."""
    return ActionRow(
        message=found["message"],
        index=found["idx"],
        idempotency_key=found["idempotency_key"],
        kind=found["kind"],
        state=ActionState(found["state"]),
        result=_ref_from_json(found["result"]),
        error=found["error"],
        started_at=_moment(found["started_at"]),
        finished_at=_maybe_moment(found["finished_at"]),
    )


def _moment(stamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(stamp, dt.UTC)


def _maybe_moment(stamp: float | None) -> dt.datetime | None:
    return None if stamp is None else _moment(stamp)


def to_json(value: Mapping[str, Any] | None) -> str | None:
    """A decision summary as stored (keys sorted, anything odd as its str)."""
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def error_text(error: BaseException | str) -> str:
    """An error as stored: ``Type: message``, credentials scrubbed."""
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return scrub(text)


def _issue_json(ref: IssueRef) -> dict[str, str | None]:
    # Stored as "tracker" (the name it had when journals were first written).
    return {"tracker": ref.adapter, "key": ref.key, "url": ref.url, "project": ref.project}


def ref_json(ref: IssueRef | CommentRef | str) -> str:
    """What a tracker write returned, as stored in ``actions.result``."""
    if isinstance(ref, IssueRef):
        return json.dumps({"issue": _issue_json(ref)})
    if isinstance(ref, CommentRef):
        return json.dumps({"issue": _issue_json(ref.issue), "comment": ref.id})
    return json.dumps({"file": ref})


def _ref_from_json(text: str | None) -> IssueRef | CommentRef | str | None:
    if text is None:
        return None
    data = json.loads(text)
    if "file" in data:
        return str(data["file"])
    stored = data["issue"]
    issue = IssueRef(stored["tracker"], stored["key"], stored.get("url"), stored.get("project"))
    return CommentRef(issue, data["comment"]) if "comment" in data else issue
