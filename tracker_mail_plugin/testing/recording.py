"""A tracker double: the contract implemented over a small in-memory (or JSON) tracker.

Tests set it up (users, projects, permissions), make it fail on demand, run the core, and
assert on what it stored and on every call it received. It behaves like a well-written
adapter: it translates "the tracker answered 500" into the error a real adapter must raise,
enforces its declared capabilities, and checks each upload's bytes against its hash.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from tracker_mail_plugin.adapter import (
    Capability,
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
    required_capabilities,
)
from tracker_mail_plugin.config.secrets import Secret
from tracker_mail_plugin.errors import PermanentError, UnknownOutcome
from tracker_mail_plugin.mail.model import ReferenceCandidate, RefKind
from tracker_mail_plugin.testing import faults
from tracker_mail_plugin.testing.state import (
    Call,
    Fault,
    FaultKind,
    StoredComment,
    StoredFile,
    StoredIssue,
    StoredProject,
    StoredUser,
    TrackerState,
)
from tracker_mail_plugin.testing.store import StateStore

# Under the logger setup_logging configures, so that its secret-scrubbing formatter sees
# every record.
logger = logging.getLogger("tracker_mail.recording")

# The Message-ID of the recording tracker's own notifications: <recording.issue-12@…>.
# How often a hang looks whether the test released it.
_HANG_LOOK_SECONDS = 0.02

_NOTIFICATION_ID = re.compile(r"^recording\.issue-(\d+)(?:\.[^@]*)?@")


class RecordingConfig(BaseModel):
    """Options of the recording tracker.

    Attributes:
        state_file: share the state through this JSON file (between processes, across a
            killed run); in memory when absent.
        projects: the projects the tracker has, open to anyone. When absent it accepts any
            project, each made open to anyone on first use, until a test declares one with
            :meth:`RecordingAdapter.add_project` or :meth:`RecordingAdapter.grant`: from then
            on only declared projects exist.
        identity: the login ``check`` reports.
        token: a secret, only so that tests can verify it never leaks.
        faults: faults for this instance's calls (not shared through ``state_file``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    state_file: Path | None = None
    projects: tuple[str, ...] | None = None
    identity: str = "tracker-mail"
    token: Secret | None = None
    faults: tuple[Fault, ...] = ()


class RecordingAdapter(TrackerAdapter[RecordingConfig]):
    """The recording tracker, registered (in tests) under the name ``recording``."""

    name: ClassVar[str] = "recording"
    config_model: ClassVar[type[BaseModel]] = RecordingConfig
    capabilities: ClassVar[frozenset[Capability]] = frozenset(Capability)
    thread_safe: ClassVar[bool] = True  # every call is one transaction on the state

    def __init__(self, config: RecordingConfig | None = None):
        config = config or RecordingConfig()
        super().__init__(config)
        self.settings = config
        self.store = StateStore(config.state_file)
        self._own_faults = [fault.model_copy() for fault in config.faults]
        self._faults_lock = threading.Lock()

    @classmethod
    def with_capabilities(cls, *capabilities: Capability) -> type[RecordingAdapter]:
        """A RecordingAdapter class declaring only ``capabilities``."""
        declared = frozenset(capabilities)
        return type("RestrictedRecordingAdapter", (cls,), {"capabilities": declared})

    # -- setting up ------------------------------------------------------------------------

    def add_user(self, email: str, name: str | None = None, login: str | None = None) -> UserRef:
        """Create an account (no permissions yet)."""
        with self.store.transaction() as state:
            user = _add_user(state, email, name, login)
        return _user_ref(user)

    def add_project(
        self, name: str, issue_types: Iterable[str] | None = None, public: Iterable[Permission] = ()
    ) -> None:
        """Create a project allowing ``issue_types`` (any when None); ``public``: anyone may."""
        with self.store.transaction() as state:
            state.projects[name] = StoredProject(
                name=name,
                issue_types=None if issue_types is None else list(issue_types),
                public=list(public),
            )

    def grant(self, user: UserRef, project: str, *actions: Permission) -> None:
        """Let ``user`` do ``actions`` in ``project`` (created when missing)."""
        with self.store.transaction() as state:
            stored = state.projects.setdefault(project, StoredProject(name=project))
            allowed = stored.members.setdefault(user.id, [])
            allowed.extend(action for action in actions if action not in allowed)

    def close_issue(self, key: str) -> None:
        """Close an issue, as a person in the tracker would."""
        with self.store.transaction() as state:
            state.issues[key].closed = True

    def fail(
        self, method: str, kind: FaultKind, times: int | None = 1, seconds: float = 0.0
    ) -> None:
        """Make the next ``times`` calls (all, when None) of ``method`` (``"*"``: any) fail.

        Shared through ``state_file``, so a test can break the tracker of a child process.
        """
        with self.store.transaction() as state:
            state.faults.append(Fault(method=method, kind=kind, times=times, seconds=seconds))

    def release_hangs(self) -> None:
        """End every ``hang`` under way, and the hang of any call already made, at once.

        Shared through ``state_file``, like :meth:`fail`: a test holds a child process's
        run in a long hang, does what it needed the hang for, then lets the run go on.
        """
        with self.store.transaction() as state:
            state.releases += 1

    def clear_faults(self) -> None:
        """Remove every fault, shared and configured."""
        self._own_faults.clear()
        with self.store.transaction() as state:
            state.faults.clear()

    # -- inspecting ------------------------------------------------------------------------

    def state(self) -> TrackerState:
        """A copy of everything the tracker holds."""
        return self.store.snapshot()

    def issues(self) -> dict[str, StoredIssue]:
        """The issues, by key."""
        return self.state().issues

    def project_files(self, project: str) -> list[StoredFile]:
        """Files attached to ``project`` itself."""
        return self.state().projects[project].files

    def calls(self, method: str | None = None) -> list[Call]:
        """Every call received (of ``method`` only, when given), oldest first."""
        return [call for call in self.store.calls() if method in (None, call.method)]

    # -- the contract ----------------------------------------------------------------------

    def check(self, requirements: Requirements | None = None) -> CheckReport:
        """Report identity and size, and projects the rules need but the tracker lacks."""
        fault = self._enter("check", {})
        logger.info(
            "checking the recording tracker as %s (token %s)",
            self.settings.identity,
            self.settings.token,
        )
        wanted = (
            set()
            if requirements is None
            else {p for p, _ in requirements.issues | requirements.requests}
            | set(requirements.attach_to_project)
        )
        with self.store.reading() as state:
            facts = {
                "version": "recording-1",
                "identity": self.settings.identity,
                "issues": str(len(state.issues)),
            }
            missing = sorted(p for p in wanted if self._find_project(state, p) is None)
            problems = [f"there is no project '{p}'" for p in missing]
            problems += self._unknown_types(state, requirements)
        self._leave(fault)
        return CheckReport(tuple(problems), facts)

    def _unknown_types(self, state: TrackerState, requirements: Requirements | None) -> list[str]:
        """Issue types a project limits itself to (``add_project(issue_types=…)``) and lacks."""
        problems = []
        for project, kind in sorted(requirements.issues if requirements else (), key=str):
            stored = self._find_project(state, project)
            allowed = None if stored is None else stored.issue_types
            if kind is not None and allowed is not None and kind not in allowed:
                shown = ", ".join(allowed) or "none"
                problems.append(f"project '{project}' has no issue type '{kind}' (it has: {shown})")
        return problems

    def find_user(self, address: str) -> UserRef | None:
        """The account with this address, compared case-insensitively."""
        fault = self._enter("find_user", {"address": address})
        with self.store.reading() as state:
            user = state.users.get(address.lower())
            found = None if user is None else _user_ref(user)
        self._leave(fault)
        return found

    def can(
        self, user: UserRef | None, action: Permission, project: str, issue_type: str | None = None
    ) -> bool:
        """Whether the project exists, allows ``issue_type`` and grants ``action`` to ``user``."""
        fault = self._enter(
            "can", {"user": user.id if user else "", "action": action, "project": project}
        )
        with self.store.reading() as state:
            stored = self._find_project(state, project)
            allowed = stored is not None and _allowed(stored, user, action, issue_type)
        self._leave(fault)
        return allowed

    def create_issue(self, new: NewIssue) -> IssueRef:
        """Store the issue; PermanentError for a missing project or an issue type it refuses."""
        fault = self._enter(
            "create_issue",
            {"project": new.project, "title": new.title, "key": new.idempotency_key},
        )
        self._require(*required_capabilities(new))
        files = [_receive(upload) for upload in new.attachments]
        with self.store.transaction() as state:
            issue = _new_issue(state, self._project(state, new.project), new, files)
        self._leave(fault)
        return self._issue_ref(issue)

    def add_comment(self, issue: IssueRef, new: NewComment) -> CommentRef:
        """Store the comment; PermanentError when the issue does not exist."""
        fault = self._enter("add_comment", {"issue": issue.key, "key": new.idempotency_key})
        self._require(*required_capabilities(new))
        files = [_receive(upload) for upload in new.attachments]
        with self.store.transaction() as state:
            stored = _existing(state, issue.key)
            comment = StoredComment(
                id=state.new_id(),
                text=new.text,
                author=new.author.id if new.author else None,
                private=new.private,
                idempotency_key=new.idempotency_key,
                attachments=files,
            )
            stored.comments.append(comment)
        self._leave(fault)
        return CommentRef(self._issue_ref(stored), comment.id)

    def find_by_key(
        self, idempotency_key: str, issue: IssueRef | None = None
    ) -> IssueRef | CommentRef | None:
        """The issue or comment stored with this key."""
        fault = self._enter("find_by_key", {"key": idempotency_key})
        with self.store.reading() as state:
            found = self._keyed(state, idempotency_key)
        self._leave(fault)
        return found

    def parse_reference(self, candidate: ReferenceCandidate) -> IssueRef | None:
        """``#12``, ``[#12]``, ``[Project - Bug #12]`` and ``<recording.issue-12@…>``."""
        if candidate.kind in (RefKind.NUMBER, RefKind.TRACKER_TAG) and candidate.number:
            return IssueRef(self.name, str(candidate.number))
        if candidate.kind == RefKind.MESSAGE_ID:
            found = _NOTIFICATION_ID.match(candidate.text)
            return IssueRef(self.name, found.group(1)) if found else None
        return None

    def get_issue(self, ref: IssueRef) -> IssueState | None:
        """The issue's project and closed flag; None when there is no such issue."""
        fault = self._enter("get_issue", {"issue": ref.key})
        with self.store.reading() as state:
            issue = state.issues.get(ref.key)
            found = (
                None
                if issue is None
                else IssueState(self._issue_ref(issue), issue.project, issue.closed)
            )
        self._leave(fault)
        return found

    def attach_to_project(self, project: str, upload: Upload, idempotency_key: str) -> str:
        """Store a project file; the same key returns the file already stored."""
        fault = self._enter("attach_to_project", {"project": project, "key": idempotency_key})
        self._require(Capability.ATTACH_TO_PROJECT)
        received = _receive(upload)
        with self.store.transaction() as state:
            stored = self._project(state, project)
            existing = [f.id for f in stored.files if f.idempotency_key == idempotency_key]
            if not existing:
                received.id, received.idempotency_key = state.new_id(), idempotency_key
                stored.files.append(received)
        self._leave(fault)
        return existing[0] if existing else received.id

    def create_user(self, address: str, name: str, project: str) -> UserRef:
        """Create an account allowed to create issues and comment in ``project``."""
        fault = self._enter("create_user", {"address": address, "project": project})
        self._require(Capability.CREATE_USER)
        with self.store.transaction() as state:
            stored = self._project(state, project)
            user = state.users.get(address.lower()) or _add_user(state, address, name, None)
            stored.members.setdefault(user.id, [Permission.CREATE_ISSUE, Permission.COMMENT])
        self._leave(fault)
        return _user_ref(user)

    def reopen_issue(self, ref: IssueRef) -> None:
        """Mark the issue open again."""
        fault = self._enter("reopen_issue", {"issue": ref.key})
        self._require(Capability.REOPEN)
        with self.store.transaction() as state:
            _existing(state, ref.key).closed = False
        self._leave(fault)

    # -- plumbing --------------------------------------------------------------------------

    def _issue_ref(self, issue: StoredIssue) -> IssueRef:
        return IssueRef(self.name, issue.key, f"recording://issues/{issue.key}", issue.project)

    def _keyed(self, state: TrackerState, key: str) -> IssueRef | CommentRef | None:
        for stored in state.issues.values():
            if stored.idempotency_key == key:
                return self._issue_ref(stored)
            for comment in stored.comments:
                if comment.idempotency_key == key:
                    return CommentRef(self._issue_ref(stored), comment.id)
        return None

    def _find_project(self, state: TrackerState, name: str) -> StoredProject | None:
        """The project, or one this tracker would make on first use; None: no such project."""
        stored = state.projects.get(name)
        if stored is not None:
            return stored
        configured = self.settings.projects
        if configured is None:
            open_world = all(project.on_demand for project in state.projects.values())
        else:
            open_world = name in configured
        return _on_demand(name) if open_world else None

    def _project(self, state: TrackerState, name: str) -> StoredProject:
        """The project to write to, made now if it is made on first use."""
        stored = self._find_project(state, name)
        if stored is None:
            raise PermanentError(f"recording tracker: there is no project {name!r}")
        return state.projects.setdefault(name, stored)

    def _require(self, *capabilities: Capability) -> None:
        for capability in capabilities:
            if not self.supports(capability):
                raise self._unsupported(capability)

    def _enter(self, method: str, args: Mapping[str, str]) -> Fault | None:
        """Record the call and take the fault waiting for it; raise or sleep as it says."""
        # Read before the call is recorded: a test that saw the call and released the hangs
        # at once must end this one too, however late this thread gets to its hang.
        released = self._releases()
        self.store.record(Call(method=method, args=dict(args)))
        with self._faults_lock:
            fault = faults.take(self._own_faults, method)
        fault = fault or self._take_shared_fault(method)
        if fault is None or fault.kind == FaultKind.SUCCEED_THEN_UNKNOWN:
            return fault
        if fault.kind == FaultKind.HANG:
            self._hang(fault.seconds, released)
            return None
        raise faults.error(fault, method)

    def _releases(self) -> int:
        with self.store.reading() as state:
            return state.releases

    def _hang(self, seconds: float, released: int) -> None:
        """Sleep ``seconds``, or less when :meth:`release_hangs` is called meanwhile."""
        ends = time.monotonic() + seconds
        while (left := ends - time.monotonic()) > 0:
            time.sleep(min(left, _HANG_LOOK_SECONDS))
            if self._releases() != released:
                return

    def _take_shared_fault(self, method: str) -> Fault | None:
        # Looked at first and taken only when there is one: most calls find no fault, and
        # a look costs nothing while taking one saves the state.
        with self.store.reading() as state:
            if not faults.waiting_for(state.faults, method):
                return None
        with self.store.transaction() as state:
            return faults.take(state.faults, method)

    def _leave(self, fault: Fault | None) -> None:
        if fault is not None:
            raise UnknownOutcome(
                f"recording tracker: {fault.method} done, then the answer was lost"
            )


def _add_user(state: TrackerState, email: str, name: str | None, login: str | None) -> StoredUser:
    user = StoredUser(id=state.new_id(), login=login, name=name or email, email=email)
    state.users[email.lower()] = user
    return user


def _user_ref(user: StoredUser) -> UserRef:
    return UserRef(user.id, user.login, user.name, user.email)


def _allowed(
    project: StoredProject, user: UserRef | None, action: Permission, issue_type: str | None
) -> bool:
    if (
        issue_type is not None
        and project.issue_types is not None
        and issue_type not in project.issue_types
    ):
        return False
    granted = set(project.public) | set(project.members.get(user.id, []) if user else [])
    return action in granted


def _on_demand(name: str) -> StoredProject:
    return StoredProject(name=name, public=list(Permission), on_demand=True)


def _existing(state: TrackerState, key: str) -> StoredIssue:
    if key not in state.issues:
        raise PermanentError(f"recording tracker: there is no issue {key}")
    return state.issues[key]


def _new_issue(
    state: TrackerState, project: StoredProject, new: NewIssue, files: list[StoredFile]
) -> StoredIssue:
    allowed = project.issue_types
    if new.issue_type is not None and allowed is not None and new.issue_type not in allowed:
        raise PermanentError(
            f"recording tracker: project {new.project} has no issue type {new.issue_type!r}"
        )
    for file in files:
        file.id = state.new_id()
    issue = StoredIssue(
        key=state.new_id(),
        project=new.project,
        title=new.title,
        text=new.text,
        issue_type=new.issue_type,
        priority=new.priority,
        labels=list(new.labels),
        assignee=new.assignee,
        custom_fields=dict(new.custom_fields),
        private=new.private,
        watchers=[user.id for user in new.watchers],
        reporter=new.reporter.id if new.reporter else None,
        request=new.request,
        request_type=new.request_type,
        idempotency_key=new.idempotency_key,
        attachments=files,
    )
    state.issues[issue.key] = issue
    return issue


def _receive(upload: Upload) -> StoredFile:
    """Read the upload's stream as a tracker would, refusing bytes that do not match it."""
    digest, size = hashlib.sha256(), 0
    with upload.open() as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    if (digest.hexdigest(), size) != (upload.sha256, upload.size):
        raise ValueError(f"upload {upload.filename}: the stream does not match its size and hash")
    return StoredFile(
        id="",
        filename=upload.filename,
        content_type=upload.content_type,
        size=size,
        sha256=upload.sha256,
    )
