"""What a run reports as it goes, for whoever measures it (metrics); nobody, by default.

A run without an observer pays one ``is None`` test per count and nothing per tracker call:
the adapter is only wrapped by :func:`observed` when someone listens.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from tracker_mail_plugin.adapter import (
    CheckReport,
    CommentRef,
    IssueRef,
    IssueState,
    NewComment,
    NewIssue,
    Permission,
    Requirements,
    TrackerAdapter,
    Upload,
    UserRef,
)
from tracker_mail_plugin.mail.model import ReferenceCandidate

T = TypeVar("T")


class RunObserver(Protocol):
    """Told what a mailbox's run does; every method must be cheap and must not raise."""

    def counted(self, mailbox: str, outcome: str, amount: int) -> None:
        """``amount`` more messages (or writes) under ``outcome``, as the summary counts them."""

    def confirmed(self, mailbox: str, arrived: datetime | None) -> None:
        """The tracker confirmed a message's writes; ``arrived``: when it reached the mailbox."""

    def tracker_call(
        self, adapter: str, kind: str, seconds: float, error: BaseException | None
    ) -> None:
        """One adapter operation (``kind``: its method name) took ``seconds``; ``error``: raised."""


class ObservedAdapter(TrackerAdapter[BaseModel]):
    """Any adapter, each operation timed and reported to a :class:`RunObserver`.

    Built by :func:`observed` as a subclass carrying the wrapped class's declarations
    (``name``, ``capabilities``, ``thread_safe``), so that ``supports`` answers the same.
    """

    def __init__(self, inner: TrackerAdapter, observer: RunObserver):
        super().__init__(inner.config)
        self.inner = inner
        self.observer = observer

    def __repr__(self) -> str:
        return repr(self.inner)

    def _timed(self, kind: str, call: Callable[[], T]) -> T:
        start = time.perf_counter()
        try:
            result = call()
        except BaseException as exc:
            self.observer.tracker_call(self.name, kind, time.perf_counter() - start, exc)
            raise
        self.observer.tracker_call(self.name, kind, time.perf_counter() - start, None)
        return result

    def check(self, requirements: Requirements | None = None) -> CheckReport:
        """Timed as ``check``."""
        return self._timed("check", lambda: self.inner.check(requirements))

    def find_user(self, address: str) -> UserRef | None:
        """Timed as ``find_user``."""
        return self._timed("find_user", lambda: self.inner.find_user(address))

    def can(
        self, user: UserRef | None, action: Permission, project: str, issue_type: str | None = None
    ) -> bool:
        """Timed as ``can``."""
        return self._timed("can", lambda: self.inner.can(user, action, project, issue_type))

    def create_issue(self, new: NewIssue) -> IssueRef:
        """Timed as ``create_issue``."""
        return self._timed("create_issue", lambda: self.inner.create_issue(new))

    def add_comment(self, issue: IssueRef, new: NewComment) -> CommentRef:
        """Timed as ``add_comment``."""
        return self._timed("add_comment", lambda: self.inner.add_comment(issue, new))

    def find_by_key(
        self, idempotency_key: str, issue: IssueRef | None = None
    ) -> IssueRef | CommentRef | None:
        """Timed as ``find_by_key``."""
        return self._timed("find_by_key", lambda: self.inner.find_by_key(idempotency_key, issue))

    def parse_reference(self, candidate: ReferenceCandidate) -> IssueRef | None:
        """Not timed: pure, no tracker is asked."""
        return self.inner.parse_reference(candidate)

    def get_issue(self, ref: IssueRef) -> IssueState | None:
        """Timed as ``get_issue``."""
        return self._timed("get_issue", lambda: self.inner.get_issue(ref))

    def attach_to_project(self, project: str, upload: Upload, idempotency_key: str) -> str:
        """Timed as ``attach_to_project``."""
        return self._timed(
            "attach_to_project",
            lambda: self.inner.attach_to_project(project, upload, idempotency_key),
        )

    def create_user(self, address: str, name: str, project: str) -> UserRef:
        """Timed as ``create_user``."""
        return self._timed("create_user", lambda: self.inner.create_user(address, name, project))

    def reopen_issue(self, ref: IssueRef) -> None:
        """Timed as ``reopen_issue``."""
        self._timed("reopen_issue", lambda: self.inner.reopen_issue(ref))


def observed(adapter: TrackerAdapter, observer: RunObserver | None) -> TrackerAdapter:
    """``adapter`` with its operations reported to ``observer``; itself when there is none."""
    if observer is None or isinstance(adapter, ObservedAdapter):
        return adapter
    return _observed_class(type(adapter))(adapter, observer)


@functools.cache
def _observed_class(inner: type[TrackerAdapter]) -> type[ObservedAdapter]:
    declarations: dict[str, Any] = {
        "name": inner.name,
        "config_model": inner.config_model,
        "capabilities": inner.capabilities,
        "thread_safe": inner.thread_safe,
    }
    return type(f"Observed{inner.__name__}", (ObservedAdapter,), declarations)
