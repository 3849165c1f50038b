"""What the rules of one configuration will ask of a tracker, for ``check`` to verify.

The core knows the rules, the adapter knows the tracker. The core gathers, for each
tracker, the names its rules use and passes them to ``check(requirements)``; the adapter
answers with a problem for each name the tracker does not know. The shape is generic (no
Jira word in it), so that every adapter can take the same value; until the core defines it,
any object with these attributes will do (:class:`NeedsLike`).
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from typing import Protocol


class NeedsLike(Protocol):
    """The attributes ``check`` reads; see :class:`Requirements`."""

    @property
    def issues(self) -> Set[tuple[str, str | None]]:
        """(project, issue type or None) pairs that ``create_issue`` rules use."""

    @property
    def requests(self) -> Set[tuple[str, str | None]]:
        """(project, request type or None) pairs that ``create_request`` rules use."""

    @property
    def attach_to_project(self) -> Set[str]:
        """Projects ``attach_to_project`` rules name."""

    @property
    def fields(self) -> Set[str]:
        """Custom field names rules set."""

    @property
    def create_users_in(self) -> Set[str]:
        """Projects of mailboxes whose unknown senders get an account (``create_user``)."""

    @property
    def private_issues(self) -> bool:
        """Whether some rule creates private issues."""

    @property
    def private_comments(self) -> bool:
        """Whether some rule adds private comments."""


@dataclass(frozen=True, slots=True)
class Requirements:
    """The names one tracker's rules use (see the module docstring).

    Attributes:
        issues: ``(project, type)`` for each ``create_issue``; ``type`` None for the default.
        requests: ``(project, request_type)`` for each ``create_request``.
        attach_to_project: projects messages are attached to.
        fields: custom field names set by rules.
        create_users_in: projects where unknown senders get an account.
        private_issues: some rule creates private issues.
        private_comments: some rule adds private comments.
    """

    issues: frozenset[tuple[str, str | None]] = field(default_factory=frozenset)
    requests: frozenset[tuple[str, str | None]] = field(default_factory=frozenset)
    attach_to_project: frozenset[str] = field(default_factory=frozenset)
    fields: frozenset[str] = field(default_factory=frozenset)
    create_users_in: frozenset[str] = field(default_factory=frozenset)
    private_issues: bool = False
    private_comments: bool = False
