"""The recording tracker's state: typed, in memory or in a JSON file shared by processes.

With a file, every call re-reads it and writes it back under an exclusive ``fcntl`` lock,
through a temporary file and ``os.replace``: a process killed with SIGKILL mid-call leaves
the previous state or the next one, never half of one, and two processes (a test and the
``tracker-mail sync`` it started) see each other's writes. In memory, each call works on a
copy swapped in at the end, so a call that raises changes nothing in either mode.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from tracker_mail_plugin.adapter import Permission


class FaultKind(StrEnum):
    """What an injected fault does to a call.

    The first four raise that error as is. ``server_error``, ``timeout`` and ``unauthorized``
    stand for the tracker answering 500, not answering, or answering 401; the recording
    adapter translates them the way every adapter must (see ``AdapterContract``).
    ``hang`` sleeps ``seconds`` and then answers normally; ``succeed_then_unknown`` does the
    call and then raises UnknownOutcome, the crash between "created" and "recorded".
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
    """

    name: str
    issue_types: list[str] | None = None
    members: dict[str, list[Permission]] = {}
    public: list[Permission] = []
    files: list[StoredFile] = []


class Call(_Model):
    """One call to the adapter, with a summary of its arguments, for assertions."""

    method: str
    args: dict[str, str] = {}


class TrackerState(_Model):
    """Everything the recording tracker knows."""

    users: dict[str, StoredUser] = {}  # by lower-cased address
    projects: dict[str, StoredProject] = {}
    issues: dict[str, StoredIssue] = {}
    faults: list[Fault] = []
    calls: list[Call] = []
    next_id: int = 1

    def new_id(self) -> str:
        """A fresh number for an issue, comment, file or user."""
        self.next_id += 1
        return str(self.next_id - 1)


class StateStore:
    """Where the state lives; :meth:`transaction` is the only way to touch it.

    Args:
        path: the JSON file to share, or ``None`` to keep the state in this object.
    """

    def __init__(self, path: Path | None):
        self.path = path
        self._memory = TrackerState()
        self._lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[TrackerState]:
        """Yield the current state; what the block changes is kept only if it returns."""
        with self._lock:
            if self.path is None:
                state = self._memory.model_copy(deep=True)
                yield state
                self._memory = state
                return
            with _locked(self.path):
                state = _read(self.path)
                yield state
                _write(self.path, state)

    def snapshot(self) -> TrackerState:
        """A copy of the current state, read without writing anything back."""
        with self._lock:
            if self.path is None:
                return self._memory.model_copy(deep=True)
            with _locked(self.path):
                return _read(self.path)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    # A separate lock file: the state file itself is replaced on every write, and a lock
    # on a replaced inode would no longer exclude anybody.
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _read(path: Path) -> TrackerState:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return TrackerState()
    return TrackerState.model_validate_json(text)


def _write(path: Path, state: TrackerState) -> None:
    # No fsync: the state must outlive a killed process, not a power cut, and tests write
    # it on every call.
    handle, temporary = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(state.model_dump_json(indent=1))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
