"""The recording tracker's state, typed; :mod:`tracker_mail_plugin.testing.store` keeps it."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from tracker_mail_plugin.adapter import Permission


class FaultKind(StrEnum):
    """What an injected fault does to a call.

    The first four raise that error as is. ``server_error``, ``timeout`` and ``unauthorized``
    stand for the tracker answering 500, not answering, or answering 401; the recording
    adapter translates them the way every adapter must (see ``AdapterContract``).
    ``hang`` sleeps ``seconds`` and then answers normally, or answers as soon as the test
    calls ``RecordingAdapter.release_hangs`` (a hang that only holds a run while the test
    acts needs no guess at how long the test takes); ``succeed_then_unknown`` does the call
    and then raises UnknownOutcome, the crash between "created" and "recorded".
    """

    RETRY_LATER = "retry_later"
    UNREACHABLE = "unreachable"
    PERMANENT = "permanent"
    UNKNOWN_OUTCOME = "unknown_outcome"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    UNAUTHORIZED = "unauthorized"
    HANG = "hang"
    SUCCEED_THEN_UNKNOWN = "succeed_then_unknown"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Fault(_Model):
    """A fault waiting for calls of ``method`` (``"*"``: any method).

    Attributes:
        times: how many more calls it hits; ``None`` for every call until cleared.
        seconds: how long ``hang`` sleeps, or the ``retry_after`` of ``retry_later``.
    """

    method: str
    kind: FaultKind
    times: Annotated[int, Field(ge=1)] | None = 1
    seconds: Annotated[float, Field(ge=0)] = 0.0


class StoredUser(_Model):
    """An account of the recording tracker."""

    id: str
    login: str | None
    name: str
    email: str | None


class StoredFile(_Model):
    """An uploaded file: what arrived, hashed from the stream the adapter was given."""

    id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    idempotency_key: str | None = None


class StoredComment(_Model):
    """A comment as the tracker keeps it."""

    id: str
    text: str
    author: str | None
    private: bool
    idempotency_key: str
    attachments: list[StoredFile] = []


class StoredIssue(_Model):
    """An issue (or request) as the tracker keeps it; ``closed`` can be set by tests."""

    key: str
    project: str
    title: str
    text: str
    issue_type: str | None
    priority: str | None = None
    labels: list[str] = []
    assignee: str | None = None
    custom_fields: dict[str, str] = {}
    private: bool = False
    watchers: list[str] = []
    reporter: str | None = None
    request: bool = False
    request_type: str | None = None
    idempotency_key: str
    closed: bool = False
    attachments: list[StoredFile] = []
    comments: list[StoredComment] = []


class StoredProject(_Model):
    """A project: who may do what in it, which issue types it allows, its files.

    Attributes:
        issue_types: issue types allowed; ``None`` allows any.
        members: user id to the actions that user may do.
        public: actions anyone may do, unknown senders (``user=None``) included.
        on_demand: made on first use, open to anyone, by a tracker that accepts any project
            (or every project its ``projects`` option names); see ``RecordingConfig``.
    """

    name: str
    issue_types: list[str] | None = None
    members: dict[str, list[Permission]] = {}
    public: list[Permission] = []
    files: list[StoredFile] = []
    on_demand: bool = False


class Call(_Model):
    """One call to the adapter, with a summary of its arguments, for assertions."""

    method: str
    args: dict[str, str] = {}


class TrackerState(_Model):
    """Everything the recording tracker knows.

    Attributes:
        releases: how many times ``release_hangs`` was called; a hang ends when it grows.
    """

    users: dict[str, StoredUser] = {}  # by lower-cased address
    projects: dict[str, StoredProject] = {}
    issues: dict[str, StoredIssue] = {}
    faults: list[Fault] = []
    calls: list[Call] = []
    next_id: int = 1
    releases: int = 0

    def new_id(self) -> str:
        """A fresh number for an issue, comment, file or user."""
        self.next_id += 1
        return str(self.next_id - 1)
