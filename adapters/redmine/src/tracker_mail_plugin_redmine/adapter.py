"""``RedmineAdapter``: the core's contract, delegated to the small modules beside it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import ClassVar, TypeVar

from pydantic import BaseModel

from tracker_mail_plugin import (
    Capability,
    CheckReport,
    CommentRef,
    IssueRef,
    IssueState,
    NewComment,
    NewIssue,
    Permission,
    ReferenceCandidate,
    Requirements,
    RetryLater,
    TrackerAdapter,
    UnknownOutcome,
    Unreachable,
    Upload,
    UserRef,
)
from tracker_mail_plugin_redmine.catalog import Catalog
from tracker_mail_plugin_redmine.client import Forbidden, NotFound, RedmineClient
from tracker_mail_plugin_redmine.config import RedmineConfig
from tracker_mail_plugin_redmine.files import ProjectFiles
from tracker_mail_plugin_redmine.health import Health
from tracker_mail_plugin_redmine.issues import Issues
from tracker_mail_plugin_redmine.keys import KeyFinder
from tracker_mail_plugin_redmine.people import People
from tracker_mail_plugin_redmine.references import parse_reference

T = TypeVar("T")


def _writing(operation: Callable[[], T], what: str) -> T:
    """Run a write operation; a transient failure anywhere in it is an unknown outcome.

    A write is a few requests (look-ups, uploads, the write, reading it back); once any
    of them may have reached Redmine, only ``find_by_key`` can tell whether the write
    happened, so the core must ask it before trying again. Only "could not connect at
    all" is certain to have done nothing.
    """
    try:
        return operation()
    except Unreachable:
        raise
    except RetryLater as exc:
        raise UnknownOutcome(f"{what}: {exc.message}") from exc


class RedmineAdapter(TrackerAdapter[RedmineConfig]):
    """Issues, notes, project files and accounts in a Redmine, through its REST API.

    Nothing touches the network before the first call; every call after that shares one
    connection and the names and ids it has read (one adapter lives for one run).

    Args:
        config: a :class:`RedmineConfig`.
    """

    name: ClassVar[str] = "redmine"
    config_model: ClassVar[type[BaseModel]] = RedmineConfig
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.CHECK_ISSUE_TYPES,
            Capability.CREATE_REQUEST,
            Capability.ATTACH_TO_PROJECT,
            Capability.CREATE_USER,
            Capability.REOPEN,
            Capability.WATCHERS,
            Capability.PRIVATE_ISSUES,
            Capability.PRIVATE_COMMENTS,
        }
    )
    # Caches are filled whole and swapped in; the only shared connection state is the
    # requests session (thread-safe for requests); switch-user travels per request.
    thread_safe: ClassVar[bool] = True

    def __init__(self, config: RedmineConfig):
        super().__init__(config)
        self._options = config
        self._client = RedmineClient(config)
        self._catalog = Catalog(self._client)
        self._people = People(self._client, self._catalog, config)
        self._health = Health(self._client, self._catalog, self._people, config)
        self._files = ProjectFiles(self._client)
        self._issues_cache: Issues | None = None
        self._issues_lock = threading.Lock()
        self._field_id: int | None = None

    @property
    def _issues(self) -> Issues:
        with self._issues_lock:  # one Issues, so that its short-lived read cache is shared
            if self._issues_cache is None:
                # Reads /custom_fields.json only when idempotency_field is configured.
                self._field_id = self._health.field_id()
                self._issues_cache = Issues(
                    self._client, self._catalog, self._people, self._options, self._field_id
                )
            return self._issues_cache

    def check(self, requirements: Requirements | None = None) -> CheckReport:
        """Authenticate, report version, identity and admin status, verify names.

        Args:
            requirements: what the rules use: each project must exist and be open, with
                the module (issue tracking, files) and the tracker each action needs, and
                each custom field must exist. The options' own names are always checked.
        """
        return self._health.check(requirements)

    def find_user(self, address: str) -> UserRef | None:
        """The active account with exactly this address, else the users map's login."""
        return self._people.find(address)

    def can(
        self, user: UserRef | None, action: Permission, project: str, issue_type: str | None = None
    ) -> bool:
        """Membership with a role allowing ``action`` in an open project.

        The tracker must be enabled in the project. Redmine's per-tracker role limits are
        not visible over REST; ``create_issue`` catches them afterwards (see the README).
        """
        try:
            found = self._catalog.project(project)
        except (NotFound, Forbidden):
            return False
        if action in (Permission.CREATE_ISSUE, Permission.CREATE_REQUEST):
            tracker = self._tracker(action, issue_type)
            if tracker is not None and tracker not in found.trackers:
                return False
        return self._people.may(user, action, found)

    def _tracker(self, action: Permission, issue_type: str | None) -> str | None:
        if action == Permission.CREATE_REQUEST:
            return self._options.tracker_for(issue_type or self._options.request_tracker)
        return self._options.tracker_for(issue_type) if issue_type else None

    def create_issue(self, new: NewIssue) -> IssueRef:
        """Create the issue (``new.request``: in the request tracker) with its files."""
        return _writing(lambda: self._issues.create(new), "creating an issue")

    def add_comment(self, issue: IssueRef, new: NewComment) -> CommentRef:
        """Add a note, as its author where Redmine allows it, with its files."""
        return _writing(lambda: self._issues.comment(issue, new), "adding a note")

    def find_by_key(
        self, idempotency_key: str, issue: IssueRef | None = None
    ) -> IssueRef | CommentRef | None:
        """The issue or note written with ``idempotency_key`` (custom field or marker).

        ``issue``: for a note, the issue it went to; its notes are read before searching.
        """
        self._issues  # noqa: B018 - resolves the idempotency field once
        return KeyFinder(self._client, self._field_id).find(idempotency_key, issue)

    def parse_reference(self, candidate: ReferenceCandidate) -> IssueRef | None:
        """``#123``, ``[Project - Bug #123]``, Redmine notification Message-IDs; no network."""
        return parse_reference(candidate)

    def get_issue(self, ref: IssueRef) -> IssueState | None:
        """Project and closed state; a pending note reference is resolved to its issue."""
        return self._issues.get(ref)

    def attach_to_project(self, project: str, upload: Upload, idempotency_key: str) -> str:
        """Store ``upload`` as a file of ``project``, once per key."""
        # Idempotent by itself (a file carrying the key is returned), so a failure may
        # simply be retried: no _writing() here, nor for create_user and reopen_issue.
        return self._files.attach(self._issues.project(project), upload, idempotency_key)

    def create_user(self, address: str, name: str, project: str) -> UserRef:
        """Make (or complete) the account of an unknown sender, member of ``project``."""
        return self._people.create(address, name, self._issues.project(project))

    def reopen_issue(self, ref: IssueRef) -> None:
        """Give a closed issue its tracker's default status (or ``reopen_status``)."""
        self._issues.reopen(ref)
