"""``TemplateAdapter``: the whole adapter contract over a tracker kept in a JSON file.

Copy it and keep its shape: a pydantic config model (secrets as ``Secret``), a constructor
that only stores its config, every call to the tracker through one method that translates
the tracker's errors into the core's (``_calling``), and the idempotency key stored with
every issue and comment so that ``find_by_key`` can tell whether a write whose answer was
lost happened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict
from tracker_mail_plugin import (
    CheckReport,
    CommentRef,
    ConfigurationError,
    IssueRef,
    IssueState,
    NewComment,
    NewIssue,
    PermanentError,
    Permission,
    ReferenceCandidate,
    RefKind,
    Requirements,
    RetryLater,
    Secret,
    TrackerAdapter,
    TrackerMailError,
    UnknownOutcome,
    Unreachable,
    UserRef,
    required_capabilities,
)

from tracker_mail_plugin_template.store import Data, FileStore

# Under the core's logger, so that its secret-scrubbing formatter sees every record.
logger = logging.getLogger("tracker_mail.template")

T = TypeVar("T")


class TemplateConfig(BaseModel):
    """Options of the template tracker (what users write under the tracker in rules.yaml).

    Attributes:
        path: the JSON file the tracker keeps its issues in.
        projects: the projects it has; every account may write in each.
        token: stands for the API token a real tracker needs; never shown.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    path: Path
    projects: tuple[str, ...]
    token: Secret | None = None


class TemplateAdapter(TrackerAdapter[TemplateConfig]):
    """Issues and comments in a JSON file; no optional capability."""

    name: ClassVar[str] = "template"
    config_model: ClassVar[type[BaseModel]] = TemplateConfig

    def __init__(self, config: TemplateConfig):
        super().__init__(config)  # self.config: TemplateConfig
        self.store = FileStore(config.path)  # no I/O here: check and explain build adapters

    # -- reading ---------------------------------------------------------------------------

    def check(self, requirements: Requirements | None = None) -> CheckReport:
        """Read the file; report each project the rules need that the tracker lacks."""
        logger.info("checking %s (token %s)", self.config.path, self.config.token)
        data = self._calling("reading the tracker", self.store.read, write=False)
        wanted = set() if requirements is None else {p for p, _ in requirements.issues}
        missing = sorted(wanted - set(self.config.projects))
        facts = {"path": str(self.config.path), "issues": str(len(data["issues"]))}
        return CheckReport(tuple(f"there is no project {p!r}" for p in missing), facts)

    def find_user(self, address: str) -> UserRef | None:
        """The account with this mail address (compared case-insensitively)."""
        data = self._calling(f"looking up {address}", self.store.read, write=False)
        logins = {mail.lower(): login for mail, login in data["users"].items()}
        login = logins.get(address.lower())
        return None if login is None else UserRef(login, login, login, address)

    def can(
        self, user: UserRef | None, action: Permission, project: str, issue_type: str | None = None
    ) -> bool:
        """Every account may create issues and comment in the configured projects."""
        allowed = action in (Permission.CREATE_ISSUE, Permission.COMMENT)
        return allowed and user is not None and project in self.config.projects

    def find_by_key(
        self, idempotency_key: str, issue: IssueRef | None = None
    ) -> IssueRef | CommentRef | None:
        """The issue or comment written with ``idempotency_key`` (``issue`` is only a hint)."""
        data = self._calling("looking a key up", self.store.read, write=False)
        for key, stored in data["issues"].items():
            if stored["idempotency_key"] == idempotency_key:
                return self._ref(key, stored)
            for comment in stored["comments"]:
                if comment["idempotency_key"] == idempotency_key:
                    return CommentRef(self._ref(key, stored), comment["id"])
        return None

    def get_issue(self, ref: IssueRef) -> IssueState | None:
        """The issue's project, always open (this tracker never closes issues)."""
        data = self._calling(f"reading issue {ref.key}", self.store.read, write=False)
        stored = data["issues"].get(ref.key)
        if stored is None:
            return None
        return IssueState(self._ref(ref.key, stored), stored["project"], closed=False)

    def parse_reference(self, candidate: ReferenceCandidate) -> IssueRef | None:
        """``#12`` and ``[#12]`` in a reply's subject; no network, no file."""
        if candidate.kind in (RefKind.NUMBER, RefKind.TRACKER_TAG) and candidate.number:
            return IssueRef(self.name, str(candidate.number))
        return None

    # -- writing ---------------------------------------------------------------------------

    def create_issue(self, new: NewIssue) -> IssueRef:
        """Store the issue with its key; PermanentError for a project the tracker lacks."""
        # A field this adapter cannot honour (private, watchers…) is refused, not dropped;
        # a copy that declares the capability in `capabilities` is let through.
        for capability in required_capabilities(new) - self.capabilities:
            raise self._unsupported(capability)
        if new.project not in self.config.projects:
            raise PermanentError(f"template tracker: there is no project {new.project!r}")

        def create() -> IssueRef:
            with self.store.write() as data:
                key = _next_id(data)
                data["issues"][key] = {
                    "project": new.project,
                    "title": new.title,
                    "text": new.text,
                    "reporter": new.reporter.id if new.reporter else None,
                    "files": [upload.filename for upload in new.attachments],
                    "idempotency_key": new.idempotency_key,
                    "comments": [],
                }
                return self._ref(key, data["issues"][key])

        return self._calling(f"creating an issue in {new.project}", create, write=True)

    def add_comment(self, issue: IssueRef, new: NewComment) -> CommentRef:
        """Store the comment with its key; PermanentError when the issue is gone."""
        for capability in required_capabilities(new) - self.capabilities:
            raise self._unsupported(capability)

        def comment() -> CommentRef:
            with self.store.write() as data:
                stored = data["issues"].get(issue.key)
                if stored is None:
                    raise PermanentError(f"template tracker: there is no issue {issue.key}")
                made = {
                    "id": _next_id(data),
                    "text": new.text,
                    "idempotency_key": new.idempotency_key,
                }
                stored["comments"].append(made)
                return CommentRef(self._ref(issue.key, stored), made["id"])

        return self._calling(f"commenting on {issue.key}", comment, write=True)

    # -- the one place the tracker's errors become the core's ------------------------------

    def _calling(self, what: str, call: Callable[[], T], *, write: bool) -> T:
        """Run ``call``, translating the tracker's errors.

        A write that failed after it may have reached the tracker is UnknownOutcome (the
        core then calls ``find_by_key`` before any retry); a read that failed is worth
        retrying later; refused credentials need a person.
        """
        try:
            return call()
        except TrackerMailError:
            raise
        except PermissionError as error:
            raise ConfigurationError(f"template tracker refused access {what}: {error}") from None
        except TimeoutError as error:
            if write:
                raise UnknownOutcome(f"no answer {what}: {error}") from None
            raise Unreachable(f"no answer {what}: {error}") from None
        except OSError as error:
            if write:
                raise UnknownOutcome(f"template tracker failed {what}: {error}") from None
            raise RetryLater(f"template tracker failed {what}: {error}") from None

    def _ref(self, key: str, stored: Data) -> IssueRef:
        return IssueRef(self.name, key, f"file://{self.config.path}#{key}", stored["project"])


def _next_id(data: Data) -> str:
    data["next_id"] += 1
    return str(data["next_id"] - 1)
