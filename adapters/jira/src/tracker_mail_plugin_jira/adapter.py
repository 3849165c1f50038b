"""``JiraAdapter``: the tracker-mail contract on Jira Cloud and Data Center.

The adapter wires small parts together; each part owns one area of Jira's API:
:mod:`~tracker_mail_plugin_jira.http` (the client and the error boundary),
:mod:`~tracker_mail_plugin_jira.users`, :mod:`~tracker_mail_plugin_jira.permissions`,
:mod:`~tracker_mail_plugin_jira.issues`, :mod:`~tracker_mail_plugin_jira.comments`,
:mod:`~tracker_mail_plugin_jira.servicedesk`, :mod:`~tracker_mail_plugin_jira.references`,
:mod:`~tracker_mail_plugin_jira.recovery`, :mod:`~tracker_mail_plugin_jira.inbox`,
:mod:`~tracker_mail_plugin_jira.workflow` and :mod:`~tracker_mail_plugin_jira.check`.
Nothing touches the network before the first call that needs it.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from tracker_mail_plugin import (
    Capability,
    CheckReport,
    CommentRef,
    IssueRef,
    IssueState,
    NewComment,
    NewIssue,
    PermanentError,
    Permission,
    ReferenceCandidate,
    Requirements,
    TrackerAdapter,
    UnsupportedAction,
    Upload,
    UserRef,
)
from tracker_mail_plugin_jira.check import Checker
from tracker_mail_plugin_jira.comments import CommentWriter
from tracker_mail_plugin_jira.config import Deployment, JiraConfig
from tracker_mail_plugin_jira.errors import Conflict
from tracker_mail_plugin_jira.fields import FieldCatalog
from tracker_mail_plugin_jira.http import JiraHttp
from tracker_mail_plugin_jira.inbox import Inbox
from tracker_mail_plugin_jira.issues import IssueWriter
from tracker_mail_plugin_jira.permissions import Permissions
from tracker_mail_plugin_jira.projects import Projects
from tracker_mail_plugin_jira.recovery import Clock, Recovery
from tracker_mail_plugin_jira.references import IssueLookup
from tracker_mail_plugin_jira.screens import CreateScreens
from tracker_mail_plugin_jira.search import RecentIssues
from tracker_mail_plugin_jira.servicedesk import ServiceDesks
from tracker_mail_plugin_jira.users import Users
from tracker_mail_plugin_jira.workflow import reopen


class JiraAdapter(TrackerAdapter[JiraConfig]):
    """Issues, comments and Service Management requests in Jira, from mail.

    Args:
        config: a validated :class:`~tracker_mail_plugin_jira.config.JiraConfig`.
        clock: the clock lost-answer lookups wait on for Cloud's search, and reads between
            tries (tests pass a fake).
    """

    name: ClassVar[str] = "jira"
    config_model: ClassVar[type[BaseModel]] = JiraConfig
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
    # Shared answers live in Memo caches (each key read once, under a lock); the session is
    # built once under a lock and requests' Session is shared as the Redmine adapter's is;
    # everything about one message travels in arguments, never in the adapter's parts.
    thread_safe: ClassVar[bool] = True

    def __init__(self, config: JiraConfig, *, clock: Clock | None = None):
        # The registry validates options with config_model; a caller building the adapter
        # by hand with something else gets told so at once.
        if not isinstance(config, JiraConfig):
            raise TypeError(f"JiraAdapter needs a JiraConfig, not {type(config).__name__}")
        super().__init__(config)
        self._options = config
        self._http = http = JiraHttp(config, clock)
        self._users = Users(http, config)
        self._desks = ServiceDesks(http, config)
        self._projects = Projects(http)
        self._fields = FieldCatalog(http)
        self._permissions = Permissions(http, self._users, self._desks, config)
        recent = RecentIssues()
        self._screens = CreateScreens(http, self._projects)
        self._issues = IssueWriter(
            http, config, self._users, self._fields, self._permissions, self._desks, recent,
            self._screens,
        )  # fmt: skip
        self._comments = CommentWriter(http, config, self._desks, self._issues)
        self._lookup = IssueLookup(http, self.name)
        self._recovery = Recovery(http, config, self.name, recent, clock)
        self._inbox = Inbox(http, config)

    def check(self, requirements: Requirements | None = None) -> CheckReport:
        """Sign in, report deployment, version and identity, and verify ``requirements``.

        Args:
            requirements: the project keys, issue types, request types, fields and
                policies the rules use (the core's :class:`~tracker_mail_plugin.Requirements`);
                ``None`` checks the connection and the adapter's own options only.
        """
        checker = Checker(
            self._http,
            self._options,
            self._projects,
            self._desks,
            self._fields,
            self._users,
            self._permissions,
            self._screens,
        )
        return checker.run(requirements)

    def find_user(self, address: str) -> UserRef | None:
        """The active Jira account with this e-mail address (the ``users`` map first)."""
        return self._users.find(address)

    def can(
        self, user: UserRef | None, action: Permission, project: str, issue_type: str | None = None
    ) -> bool:
        """Whether ``user`` holds the permission ``action`` needs in ``project``.

        ``issue_type`` narrows a ``create_issue`` to an issue type the project must offer.
        """
        if user is None:
            return False
        if action == Permission.CREATE_ISSUE and issue_type is not None:
            found = self._projects.get(project)
            if found is None or not found.has_type(self._options.issue_type(issue_type)):
                return False
        return self._permissions.can(user, action, project)

    def create_issue(self, new: NewIssue) -> IssueRef:
        """Create the issue, or with ``new.request`` the service-desk request."""
        if new.request:
            return self._issues.create_request(new, self.name)
        return self._issues.create_issue(new, self.name)

    def add_comment(self, issue: IssueRef, new: NewComment) -> CommentRef:
        """Comment on ``issue`` (public or internal on service desks) with the files."""
        return self._comments.add(issue, new)

    def find_by_key(
        self, idempotency_key: str, issue: IssueRef | None = None
    ) -> IssueRef | CommentRef | None:
        """The issue or comment created with ``idempotency_key``.

        Args:
            idempotency_key: the key the write carried.
            issue: for a comment, the issue it was written to, when the caller knows it
                (one issue's comments are read instead of scanning recent issues).
        """
        return self._recovery.find(idempotency_key, issue)

    def parse_reference(self, candidate: ReferenceCandidate) -> IssueRef | None:
        """``ABC-12`` from a subject, or the issue of a Jira notification Message-ID."""
        return self._lookup.parse(candidate, self._options.reply_projects)

    def get_issue(self, ref: IssueRef) -> IssueState | None:
        """The issue's project and whether its status is in the done category."""
        return self._lookup.get(ref)

    def attach_to_project(self, project: str, upload: Upload, idempotency_key: str) -> str:
        """Attach the message to the project's inbox issue (``inbox_issues``), once."""
        return self._inbox.attach(project, upload, idempotency_key)

    def create_user(self, address: str, name: str, project: str) -> UserRef:
        """Make ``address`` a customer of the service desk ``project`` is.

        Raises:
            UnsupportedAction: ``project`` is not a service desk (Jira accounts for staff
                are not created from mail).
        """
        desk = self._desks.desk_of(project)
        if desk is None:
            raise UnsupportedAction(
                f"create_user makes service-desk customers, and {project} is not a service desk",
                capability=Capability.CREATE_USER.value,
            )
        try:
            user = self._desks.create_customer(address, name)
        except PermanentError as refused:
            user = self._existing_customer(address, refused)
        self._desks.add_customer(desk, user)
        self._users.remember(address, user)
        return user

    def _existing_customer(self, address: str, refused: PermanentError) -> UserRef:
        """The account Jira refused to create again, or ``refused`` when it is another error.

        Cloud answers a duplicate with 409 (asked for with ``strictConflictStatusCode``).
        Data Center has no such flag and answers 400, with a text it does not document, so
        there a 400 is taken for a duplicate only when an account for the address is found.
        """
        conflict = isinstance(refused, Conflict)
        cloud = self._options.effective_deployment == Deployment.CLOUD
        if not conflict and cloud:
            raise refused
        existing = self._users.find_again(address)
        if existing is not None:
            return existing
        if not conflict:
            raise refused
        raise PermanentError(
            f"Jira has an account for {address} that cannot be looked up by address"
        ) from None

    def reopen_issue(self, ref: IssueRef) -> None:
        """Move ``ref`` back out of its done status through the workflow."""
        reopen(self._http, ref)
