"""``GitHubAdapter``: the core's tracker contract on GitHub Issues.

Issues and comments are written by the token's identity (a user, or ``<app>[bot]``), so
their text starts with the sender (see :mod:`.text`); everything else a rule sets maps onto
GitHub's fields: labels, one assignee, a milestone (``custom_fields: {milestone: …}``) and
the issue type (``type``).
"""

from __future__ import annotations

import threading
from functools import partial
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
    Upload,
    UserRef,
)
from tracker_mail_plugin_github.auth import AppInstallationCredentials, TokenCredentials
from tracker_mail_plugin_github.autolinks import (
    neutralise_image_references,
    neutralise_references,
    reference_hosts,
)
from tracker_mail_plugin_github.body import Attachments, BodyPlan, plan_body
from tracker_mail_plugin_github.checks import Checker, Findings
from tracker_mail_plugin_github.commit import commit_files
from tracker_mail_plugin_github.config import GitHubConfig
from tracker_mail_plugin_github.fields import issue_fields, post_issue
from tracker_mail_plugin_github.http import Call, GitHubHttp
from tracker_mail_plugin_github.lookup import KeyFinder
from tracker_mail_plugin_github.pacing import Clock, SystemClock
from tracker_mail_plugin_github.people import People
from tracker_mail_plugin_github.projects import Projects, Repo, notification_domain, web_url
from tracker_mail_plugin_github.references import parse_reference
from tracker_mail_plugin_github.text import neutralise_mentions, split_sender

_GONE = frozenset({404, 410})


class GitHubAdapter(TrackerAdapter[GitHubConfig]):
    """GitHub Issues (github.com or Enterprise Server) through its REST API.

    Args:
        config: a :class:`GitHubConfig`.
        clock: the clock for pacing, rate limits and token expiry (tests pass a fake one).
    """

    name: ClassVar[str] = "github"
    config_model: ClassVar[type[BaseModel]] = GitHubConfig
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.CHECK_ISSUE_TYPES, Capability.CREATE_REQUEST, Capability.REOPEN}
    )
    # Shared state (pacing, rate gate, write budget, caches, tokens) is kept under locks;
    # writes and searches go one at a time, as GitHub asks, reads side by side.
    thread_safe: ClassVar[bool] = True

    def __init__(self, config: GitHubConfig, *, clock: Clock | None = None):
        if not isinstance(config, GitHubConfig):
            raise TypeError(f"GitHubAdapter needs a GitHubConfig, not {type(config).__name__}")
        super().__init__(config)
        self._options = config
        clock = clock or SystemClock()
        self._http = GitHubHttp(config, clock, config.write_interval)
        self._app: AppInstallationCredentials | None = None
        if config.app is not None:
            self._app = AppInstallationCredentials(config.app, self._http, clock)
            self._http.credentials = self._app
        elif config.token is not None:
            self._http.credentials = TokenCredentials(config.token)
        self._projects = Projects(config.projects)
        self._people = People(self._http, config.users, config.public_repositories_open)
        self._attachments = Attachments(
            config.attachments,
            config.attachments_branch,
            config.attachments_path,
            web_url(config.api_url),
        )
        self._keys = KeyFinder(self._http, self._projects, self.identity, self.name)
        self._domain = notification_domain(config.api_url)
        self._hosts = reference_hosts(web_url(config.api_url))
        self._identity: str | None = None
        self._identity_lock = threading.Lock()

    # -- check -----------------------------------------------------------------------------

    def check(self, requirements: Requirements | None = None) -> CheckReport:
        """Identity, repositories and permissions, budget, users map, labels rules use."""
        found = Findings()
        found.facts["identity"] = self._describe_identity()
        checker = self._checker()
        checker.repositories(found)
        checker.rate_limit(found)
        checker.users(found)
        wanted: dict[str, list[str]] = {}
        if self._options.request_labels:
            wanted = {
                r.project: list(self._options.request_labels) for r in self._projects.repositories
            }
        for project, names in (requirements.labels if requirements else {}).items():
            wanted.setdefault(project, []).extend(n for n in names if n not in wanted[project])
        if wanted:
            checker.labels(wanted, found)
        types = _types_by_project(requirements)
        if types:
            checker.issue_types(types, found)
        found.facts["attachments"] = self._options.attachments
        return CheckReport(tuple(found.problems), found.facts)

    def identity(self) -> str:
        """The login our issues and comments appear under (``<app>[bot]`` for an App)."""
        with self._identity_lock:
            if self._identity is None:
                self._identity = self._read_identity()
            return self._identity

    def _read_identity(self) -> str:
        if self._app is not None:
            app = self._http.json(
                Call(
                    "GET",
                    "/app",
                    "reading the GitHub App",
                    authorization=self._app.app_authorization(),
                )
            )
            return f"{app['slug']}[bot]"
        return str(self._http.json(Call("GET", "/user", "reading the token's user"))["login"])

    # -- users and permissions -------------------------------------------------------------

    def find_user(self, address: str) -> UserRef | None:
        """The GitHub account the ``users`` map gives ``address``."""
        return self._people.find(address)

    def can(
        self, user: UserRef | None, action: Permission, project: str, issue_type: str | None = None
    ) -> bool:
        """Whether ``user`` may do ``action`` in ``project`` (``issue_type`` changes nothing)."""
        repo = self._projects.for_project(project)
        return repo is not None and self._people.may(user, action, repo)

    # -- writing ---------------------------------------------------------------------------

    def create_issue(self, new: NewIssue) -> IssueRef:
        """Create the issue (after committing its files under ``attachments: commit``)."""
        if new.private:
            raise self._unsupported(Capability.PRIVATE_ISSUES)
        if new.watchers:
            raise self._unsupported(Capability.WATCHERS)
        repo = self._repo(new.project)
        fields = issue_fields(new, repo, self._http, self._people, self._options.request_labels)
        plan = self._plan(new.text, new.reporter, new.attachments, new.idempotency_key, repo)
        self._store(repo, new.idempotency_key, plan)
        issue = post_issue(self._http, repo, fields, plan.body)
        return self._keys.issue_ref(repo, issue)

    def add_comment(self, issue: IssueRef, new: NewComment) -> CommentRef:
        """Comment on ``issue`` (after committing its files under ``attachments: commit``)."""
        if new.private:
            raise self._unsupported(Capability.PRIVATE_COMMENTS)
        repo, number = self._issue(issue)
        plan = self._plan(new.text, new.author, new.attachments, new.idempotency_key, repo)
        self._store(repo, new.idempotency_key, plan)
        comment = self._http.json(
            Call(
                "POST",
                repo.path("issues", number, "comments"),
                f"commenting on {repo.key(number)}",
                "write",
                body={"body": plan.body},
            )
        )
        return CommentRef(issue, str(comment["id"]))

    def reopen_issue(self, ref: IssueRef) -> None:
        """Reopen a closed issue (the ``closed_issue: reopen`` reply policy)."""
        repo, number = self._issue(ref)
        self._http.send(
            Call(
                "PATCH",
                repo.path("issues", number),
                f"reopening {repo.key(number)}",
                "write",
                body={"state": "open"},
            )
        )

    # -- reading ---------------------------------------------------------------------------

    def find_by_key(
        self, idempotency_key: str, issue: IssueRef | None = None
    ) -> IssueRef | CommentRef | None:
        """The issue or comment whose text carries the key's marker (see :mod:`.lookup`)."""
        return self._keys.find(idempotency_key)

    def parse_reference(self, candidate: ReferenceCandidate) -> IssueRef | None:
        """``#12``, ``owner/repo#12`` or a notification Message-ID, in our repositories."""
        return parse_reference(candidate, self._projects, self._domain, self.name)

    def get_issue(self, ref: IssueRef) -> IssueState | None:
        """The issue's project and state; ``None`` when it is gone or not ours any more."""
        found = self._projects.parse_key(ref.key)
        if found is None:
            return None
        repo, number = found
        issue = self._http.json_or_none(
            Call("GET", repo.path("issues", number), f"reading {ref.key}", expect=_GONE)
        )
        if issue is None:
            return None
        # A transferred issue redirects: the answer names the repository it lives in now.
        moved = str(issue.get("repository_url", "")).split("/repos/", 1)[-1]
        actual = self._projects.by_full_name(moved) if moved else repo
        if actual is None:
            return None
        closed = issue.get("state") == "closed"
        return IssueState(self._keys.issue_ref(actual, issue), actual.project, closed)

    # -- helpers ---------------------------------------------------------------------------

    def _checker(self) -> Checker:
        permissions = None
        if self._app is not None:
            self._app.authorization()  # fetches the installation token and its permissions
            permissions = dict(self._app.installation.get("permissions") or {})
        return Checker(self._http, self._options, self._projects, self._people, permissions)

    def _describe_identity(self) -> str:
        login = self.identity()
        if self._options.app is not None:
            app = self._options.app
            return f"{login} (GitHub App {app.app_id}, installation {app.installation_id})"
        return f"{login} (personal access token)"

    def _repo(self, project: str) -> Repo:
        repo = self._projects.for_project(project)
        if repo is None:
            known = ", ".join(r.project for r in self._projects.repositories)
            raise PermanentError(f"project {project!r} is not configured for GitHub ({known})")
        return repo

    def _issue(self, ref: IssueRef) -> tuple[Repo, int]:
        found = self._projects.parse_key(ref.key)
        if found is None:
            raise PermanentError(f"{ref.key!r} is not an issue in this tracker's repositories")
        return found

    def _plan(
        self,
        text: str,
        author: UserRef | None,
        uploads: tuple[Upload, ...],
        key: str,
        repo: Repo,
    ) -> BodyPlan:
        head, rest = split_sender(text, author, self._options.publish_addresses)
        if not self._options.allow_mentions:
            rest = neutralise_mentions(rest)
        if self._options.allow_references:
            return plan_body(head, rest, uploads, key, repo, self._attachments)
        rest = neutralise_references(rest, self._hosts)
        # The image references kept for the inline images to find, and left over because
        # they named no attachment, are mail text too.
        leftovers = partial(neutralise_image_references, hosts=self._hosts)
        return plan_body(head, rest, uploads, key, repo, self._attachments, leftovers)

    def _store(self, repo: Repo, key: str, plan: BodyPlan) -> None:
        if self._attachments.policy == "commit" and plan.files:
            commit_files(self._http, repo, key, plan.files, self._attachments)


def _types_by_project(requirements: Requirements | None) -> dict[str, list[str]]:
    """The issue types rules set, by project (a rule without a type sets none)."""
    types: dict[str, list[str]] = {}
    for project, kind in sorted((requirements.issues if requirements else set()), key=str):
        if kind:
            types.setdefault(project, []).append(kind)
    return types
