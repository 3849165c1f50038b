"""The contract between the core and a tracker, and the values that cross it.

Small on purpose, like an HTTP transport: an adapter knows its tracker, not mail or rules.
The core owns retries, dry-run, logging, journalling and exit codes; an adapter answers a
handful of questions, performs a handful of writes, and translates its library's exceptions
into :mod:`tracker_mail_plugin.errors` at one boundary.

The values are frozen dataclasses, built by the core, never untrusted input; only the
adapter's configuration, which is, is a pydantic model.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import BinaryIO, ClassVar, Generic

from pydantic import BaseModel
from typing_extensions import TypeVar

from tracker_mail_plugin.errors import UnsupportedAction
from tracker_mail_plugin.mail.model import Attachment, ReferenceCandidate

_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class UserRef:
    """A tracker account, as the tracker names it."""

    id: str
    login: str | None
    name: str
    email: str | None


@dataclass(frozen=True, slots=True)
class IssueRef:
    """An issue (or request) in a tracker.

    Two refs are equal when ``adapter`` and ``key`` are: ``url`` and ``project`` are what a
    tracker told us about the issue, absent from a ref parsed out of a subject, and must not
    make the same issue compare unequal.

    Attributes:
        adapter: the adapter's name (``redmine``, ``jira``, ``github``); the configured
            tracker connection (``trackers:`` in rules.yaml) is a "tracker" everywhere else.
        key: the tracker's own key: ``"123"``, ``"ABC-12"``, ``"owner/repo#12"``.
        url: a link for people, when known.
        project: the project the issue lives in, when known.
    """

    adapter: str
    key: str
    url: str | None = field(default=None, compare=False)
    project: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class CommentRef:
    """A comment (note, journal entry) on an issue.

    ``id`` is ``""`` when the adapter knows the comment was saved but did not read its id
    back (a request saved where nothing needs it; ``find_by_key`` gives it when asked).
    """

    issue: IssueRef
    id: str


@dataclass(frozen=True, slots=True)
class IssueState:
    """What reply policies need to know about an existing issue, nothing more."""

    ref: IssueRef
    project: str
    closed: bool


@dataclass(frozen=True, slots=True)
class Upload:
    """A file to send to the tracker, streamed rather than copied.

    Build one with :meth:`from_bytes`, :meth:`from_path` or :meth:`from_attachment`; the
    size and hash are computed once, when it is built (or taken from the attachment), and
    :meth:`open` hands out a fresh stream over the same bytes or file each time it is called,
    so a retried upload never re-reads the message or holds a second copy in memory.

    Attributes:
        content_id: the part's Content-ID without angle brackets (``image001.png@01D9…``),
            when the mail gave it one: the text may show the file where ``cid:`` put it
            (see :func:`tracker_mail_plugin.inline_images`). ``None`` for other files.
    """

    filename: str
    content_type: str
    size: int
    sha256: str
    _source: bytes | Path = field(repr=False, compare=False)
    content_id: str | None = field(default=None, compare=False)

    @classmethod
    def from_bytes(
        cls, filename: str, content: bytes, content_type: str = "application/octet-stream"
    ) -> Upload:
        """An upload of ``content`` held in memory."""
        digest = hashlib.sha256(content).hexdigest()
        return cls(filename, content_type, len(content), digest, content)

    @classmethod
    def from_path(
        cls,
        path: str | os.PathLike[str],
        filename: str | None = None,
        content_type: str | None = None,
    ) -> Upload:
        """An upload of a file on disk, hashed now in chunks and streamed on each open."""
        source = Path(path)
        digest = hashlib.sha256()
        size = 0
        with source.open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
        name = filename or source.name
        kind = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        return cls(name, kind, size, digest.hexdigest(), source)

    @classmethod
    def from_attachment(cls, attachment: Attachment) -> Upload:
        """An upload of a parsed attachment, reusing its bytes and its hash."""
        return cls(
            attachment.filename,
            attachment.content_type,
            attachment.size,
            attachment.sha256,
            attachment.content,
            attachment.content_id,
        )

    def open(self) -> BinaryIO:
        """A new binary stream positioned at the first byte; the caller closes it."""
        if isinstance(self._source, bytes):
            # BytesIO shares an immutable bytes buffer until written to: no copy is made.
            return io.BytesIO(self._source)
        return self._source.open("rb")


def _frozen_mapping(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


@dataclass(frozen=True, slots=True)
class NewIssue:
    """An issue (or, with ``request``, a service-desk request) to create.

    Attributes:
        project: the tracker's project identifier, as written in the rule.
        title: the summary line.
        text: the description.
        idempotency_key: stored with the issue so that ``find_by_key`` finds it again.
        issue_type: the issue type (a Redmine tracker, a Jira issue type, a GitHub issue
            type); ``None`` for the project's default.
        priority: the tracker's priority name, or ``None`` for its default.
        labels: labels or tags.
        assignee: a login, name or address; the adapter resolves it.
        custom_fields: field name to value, in the tracker's own field names.
        private: create the issue visible to its project's staff only.
        watchers: users to notify (needs ``Capability.WATCHERS``).
        reporter: the author, or ``None`` to create as the configured account.
        attachments: files to attach.
        request: create a service-desk request (needs ``Capability.CREATE_REQUEST``).
        request_type: the service desk's request type, when it has several.
    """

    project: str
    title: str
    text: str
    idempotency_key: str
    issue_type: str | None = None
    priority: str | None = None
    labels: tuple[str, ...] = ()
    assignee: str | None = None
    custom_fields: Mapping[str, str] = field(default_factory=dict, hash=False)
    private: bool = False
    watchers: tuple[UserRef, ...] = ()
    reporter: UserRef | None = None
    attachments: tuple[Upload, ...] = ()
    request: bool = False
    request_type: str | None = None

    def __post_init__(self) -> None:
        # A frozen dataclass still holds the caller's dict; freeze that too.
        object.__setattr__(self, "custom_fields", _frozen_mapping(self.custom_fields))


@dataclass(frozen=True, slots=True)
class NewComment:
    """A comment to add to an existing issue."""

    text: str
    idempotency_key: str
    author: UserRef | None = None
    attachments: tuple[Upload, ...] = ()
    private: bool = False


class Capability(StrEnum):
    """Optional things an adapter can do, declared on its class and verified by ``check``.

    Those with a method of their own (``ATTACH_TO_PROJECT``, ``CREATE_USER``, ``REOPEN``)
    override it; the others are fields of :class:`NewIssue`/:class:`NewComment` the adapter
    honours (see :func:`required_capabilities`). ``CHECK_ISSUE_TYPES`` says that
    :meth:`TrackerAdapter.check` compares the rules' issue types with the tracker's own list;
    without it ``check`` says they were not checked.
    """

    CREATE_REQUEST = "create_request"
    ATTACH_TO_PROJECT = "attach_to_project"
    CREATE_USER = "create_user"
    REOPEN = "reopen"
    WATCHERS = "watchers"
    PRIVATE_ISSUES = "private_issues"
    PRIVATE_COMMENTS = "private_comments"
    CHECK_ISSUE_TYPES = "check_issue_types"


class Permission(StrEnum):
    """What a sender may be allowed to do in a project (asked with ``can``)."""

    CREATE_ISSUE = "create_issue"
    CREATE_REQUEST = "create_request"
    COMMENT = "comment"
    ATTACH_TO_PROJECT = "attach_to_project"


# The optional methods, by the capability that unlocks them.
CAPABILITY_METHODS: Mapping[Capability, str] = MappingProxyType(
    {
        Capability.ATTACH_TO_PROJECT: "attach_to_project",
        Capability.CREATE_USER: "create_user",
        Capability.REOPEN: "reopen_issue",
    }
)


# What each capability lets an adapter do, for the error of one that lacks it.
_CAN_DO: Mapping[Capability, str] = MappingProxyType(
    {
        Capability.CREATE_REQUEST: "create service-desk requests",
        Capability.ATTACH_TO_PROJECT: "attach files to a project",
        Capability.CREATE_USER: "create accounts",
        Capability.REOPEN: "reopen issues",
        Capability.WATCHERS: "add watchers",
        Capability.PRIVATE_ISSUES: "create private issues",
        Capability.PRIVATE_COMMENTS: "add private comments",
        Capability.CHECK_ISSUE_TYPES: "list the tracker's issue types",
    }
)


def required_capabilities(item: NewIssue | NewComment) -> frozenset[Capability]:
    """The capabilities an adapter must declare to honour every field of ``item``."""
    needed: set[Capability] = set()
    if isinstance(item, NewIssue):
        needed |= {Capability.CREATE_REQUEST} if item.request else set()
        needed |= {Capability.WATCHERS} if item.watchers else set()
        needed |= {Capability.PRIVATE_ISSUES} if item.private else set()
    elif item.private:
        needed.add(Capability.PRIVATE_COMMENTS)
    return frozenset(needed)


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What ``check`` found: problems in plain sentences, and facts worth showing.

    Attributes:
        problems: everything that would make a run fail; empty when all is well.
        facts: e.g. ``{"version": "5.1.2", "identity": "tracker-mail-bot"}``.
    """

    problems: tuple[str, ...] = ()
    facts: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def ok(self) -> bool:
        """True when there is no problem."""
        return not self.problems


@dataclass(frozen=True, slots=True)
class Requirements:
    """The names one tracker's rules use, for ``check`` to verify before any mail is read.

    The core knows the rules and the adapter knows the tracker: the core gathers these and
    the adapter answers with a problem for each one its tracker does not know.

    Attributes:
        issues: ``(project, type)`` for each ``create_issue``; type None for the default.
        requests: ``(project, request_type)`` for each ``create_request``.
        attach_to_project: projects messages are attached to.
        fields: custom field names rules set.
        labels: label names rules set, by project.
        create_users_in: projects whose unknown senders get an account (``create_user``).
        private_issues: some rule creates private issues.
        private_comments: some rule adds private comments.
        request_fields: for each ``(project, request_type)`` of ``requests``, what its rules
            set beyond summary and description: custom field names as written, and
            ``priority`` and ``labels`` when a rule sets them (or takes them from the body).
            A service desk's request type may lack some of them.
    """

    issues: frozenset[tuple[str, str | None]] = frozenset()
    requests: frozenset[tuple[str, str | None]] = frozenset()
    attach_to_project: frozenset[str] = frozenset()
    fields: frozenset[str] = frozenset()
    labels: Mapping[str, frozenset[str]] = field(default_factory=dict, hash=False)
    create_users_in: frozenset[str] = frozenset()
    private_issues: bool = False
    private_comments: bool = False
    request_fields: Mapping[tuple[str, str | None], frozenset[str]] = field(
        default_factory=dict, hash=False
    )


# The default keeps a bare ``TrackerAdapter`` (any adapter, as the core holds them) valid.
# Covariant, so that a ``TrackerAdapter[MyConfig]`` is one: an author's adapter passes where
# the core and the test kit take any adapter (``CrashHarness``, ``AdapterContract``). Sound
# enough: ``config`` is set by the constructor and only read after.
ConfigT = TypeVar("ConfigT", bound=BaseModel, default=BaseModel, covariant=True)


class TrackerAdapter(ABC, Generic[ConfigT]):
    """The contract every tracker adapter implements, generic over its options model.

    ``class MyAdapter(TrackerAdapter[MyConfig])`` types ``self.config`` as ``MyConfig``.
    Class attributes declare the adapter: ``name`` (its entry-point name, what users write
    as ``adapter:``), ``config_model`` (the pydantic model of its options, secrets typed as
    secrets; the same class as ``ConfigT``, which the registry validates options with),
    ``capabilities``, and ``thread_safe``: whether one instance may be called from
    several threads at once, which a mailbox's ``workers`` setting above 1 needs (the core
    never calls one method twice at once for the same message, but does for different
    ones). The constructor receives the validated config and must not touch the network:
    adapters are built for ``check`` and ``explain`` too.

    Every method raises only errors from :mod:`tracker_mail_plugin.errors`. Writes carry an
    idempotency key that the adapter stores with the object (a label, a hidden field, a
    marker in the text), so that ``find_by_key`` can tell after a crash or an
    :class:`~tracker_mail_plugin.errors.UnknownOutcome` whether a write happened.

    Args:
        config: an instance of ``config_model``.
    """

    name: ClassVar[str]
    config_model: ClassVar[type[BaseModel]]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    thread_safe: ClassVar[bool] = False

    def __init__(self, config: ConfigT):
        self.config: ConfigT = config

    def __repr__(self) -> str:
        # Never the config: it holds credentials (masked, but there is no need to try).
        return f"<{type(self).__name__} adapter={self.name!r}>"

    @classmethod
    def supports(cls, capability: Capability) -> bool:
        """Whether the adapter declares ``capability``."""
        return capability in cls.capabilities

    @abstractmethod
    def check(self, requirements: Requirements | None = None) -> CheckReport:
        """Connect, authenticate and report version and identity; problems go in the report.

        With ``requirements``, also report every project, type, field or label the rules use
        that the tracker does not have.
        """

    @abstractmethod
    def find_user(self, address: str) -> UserRef | None:
        """The account whose email address is ``address`` (case-insensitive), if any."""

    @abstractmethod
    def can(
        self, user: UserRef | None, action: Permission, project: str, issue_type: str | None = None
    ) -> bool:
        """Whether ``user`` (``None``: anonymous) may do ``action`` in ``project``.

        ``issue_type`` narrows the question to an issue type (a role may be limited to some
        types). A project that does not exist answers False, not an error.
        """

    @abstractmethod
    def create_issue(self, new: NewIssue) -> IssueRef:
        """Create the issue (with its attachments) and return where it is."""

    @abstractmethod
    def add_comment(self, issue: IssueRef, new: NewComment) -> CommentRef:
        """Add a comment (with its attachments) to ``issue``.

        The answer's ``id`` may be ``""`` (not read back); its ``issue`` is always set.
        """

    @abstractmethod
    def find_by_key(
        self, idempotency_key: str, issue: IssueRef | None = None
    ) -> IssueRef | CommentRef | None:
        """The issue or comment created with ``idempotency_key``, or ``None``.

        ``issue``: for a comment, the issue it was written to, when the core knows it (an
        adapter may look there first instead of searching the whole tracker).
        """

    @abstractmethod
    def parse_reference(self, candidate: ReferenceCandidate) -> IssueRef | None:
        """The issue ``candidate`` names in this tracker's forms, or ``None``.

        Pure: no network. Whether the issue exists is asked later with :meth:`get_issue`.
        """

    @abstractmethod
    def get_issue(self, ref: IssueRef) -> IssueState | None:
        """The issue's project and whether it is closed; ``None`` when it does not exist."""

    def attach_to_project(self, project: str, upload: Upload, idempotency_key: str) -> str:
        """Store ``upload`` among a project's files; returns the file's id.

        Must itself be idempotent on ``idempotency_key`` (a file carrying it is returned, not
        uploaded again), since ``find_by_key`` only finds issues and comments.
        """
        raise self._unsupported(Capability.ATTACH_TO_PROJECT)

    def create_user(self, address: str, name: str, project: str) -> UserRef:
        """Create an account for ``address`` with access to ``project`` (for ``create_user``)."""
        raise self._unsupported(Capability.CREATE_USER)

    def reopen_issue(self, ref: IssueRef) -> None:
        """Reopen a closed issue (the ``closed_issue: reopen`` reply policy)."""
        raise self._unsupported(Capability.REOPEN)

    def _unsupported(self, capability: Capability) -> UnsupportedAction:
        """The error for an action needing ``capability``, which this adapter lacks.

        Adapters raise it for each of :func:`required_capabilities` they do not declare.
        """
        return UnsupportedAction(
            f"the {self.name} adapter cannot {_CAN_DO[capability]}", capability=capability.value
        )
