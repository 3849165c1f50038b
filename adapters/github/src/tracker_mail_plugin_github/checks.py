"""``check``: identity, each repository and our permission on it, budget, users, labels.

Everything a run would trip over is found here, before any mail is touched; facts are
shown by ``tracker-mail check`` one line per tracker.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tracker_mail_plugin_github.config import GitHubConfig
from tracker_mail_plugin_github.http import Call, GitHubHttp
from tracker_mail_plugin_github.people import People
from tracker_mail_plugin_github.projects import Projects, Repo

_NOT_FOUND = frozenset({404})
_ROLES = ("admin", "maintain", "push", "triage", "pull")


@dataclass
class Findings:
    """Problems (each makes ``check`` fail) and facts, gathered step by step."""

    problems: list[str] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)


@dataclass
class Checker:
    """Runs the checks for one adapter's configuration.

    Attributes:
        http: the client.
        config: the adapter's options.
        projects: the configured repositories.
        people: users and repositories, cached.
        app_permissions: the installation's permissions (GitHub App only).
    """

    http: GitHubHttp
    config: GitHubConfig
    projects: Projects
    people: People
    app_permissions: Mapping[str, str] | None = None

    def repositories(self, found: Findings) -> None:
        """Each repository exists, has issues, and lets us write what the config needs."""
        for repo in self.projects.repositories:
            described = self.people.repository(repo)
            if described is None:
                found.problems.append(
                    f"repository {repo.full} does not exist or the credentials cannot see it"
                )
                continue
            if described.get("has_issues") is False:
                found.problems.append(f"repository {repo.full} has issues turned off")
            found.facts[f"access to {repo.full}"] = self._access(repo, described, found)
            if self.config.attachments == "commit":
                self._branch(repo, found)

    def rate_limit(self, found: Findings) -> None:
        """The remaining budget (``GET /rate_limit`` costs nothing)."""
        answer = self.http.json_or_none(
            Call("GET", "/rate_limit", "reading the rate limit", expect=_NOT_FOUND)
        )
        if answer is None:  # GitHub Enterprise Server with rate limiting turned off
            found.facts["rate limit"] = "not enabled on this server"
            return
        resources = answer.get("resources") or {}
        found.facts["rate limit"] = "; ".join(
            _budget(name, resources[name]) for name in ("core", "search") if name in resources
        )

    def users(self, found: Findings) -> None:
        """How many senders the users map lets us recognise."""
        known = 0
        for address, login in self.config.users.items():
            if self.people.find(address) is None:
                found.problems.append(f"users: {address} is mapped to {login}, unknown to GitHub")
            else:
                known += 1
        found.facts["senders recognised"] = (
            f"{known} of {len(self.config.users)} in the users map "
            "(GitHub cannot look up other mail addresses)"
        )

    def labels(self, wanted: Mapping[str, Iterable[str]], found: Findings) -> None:
        """Each label exists in its project's repository (and we may set labels there)."""
        for repo, names in self._by_repository(wanted, found):
            for name in names:
                if not self._label_exists(repo, name):
                    found.problems.append(
                        f"label {name!r} does not exist in {repo.full} (GitHub would create "
                        "it on first use with push access, or drop it without)"
                    )
            if names and not self._may_push(repo):
                found.problems.append(
                    f"labels are dropped in {repo.full}: GitHub keeps the labels, assignees "
                    "and milestone of a new issue only from someone with push access"
                )

    def issue_types(self, wanted: Mapping[str, Iterable[str]], found: Findings) -> None:
        """Each issue type a rule sets exists in its repository, and we may set it there."""
        for repo, names in self._by_repository(wanted, found):
            types = self.http.json_or_none(
                Call(
                    "GET",
                    repo.path("issue-types"),
                    f"listing the issue types of {repo.full}",
                    expect=_NOT_FOUND,
                )
            )
            self._types_known(repo, names, types, found)
            if names and not self._may_push(repo):
                found.problems.append(
                    f"issue types are dropped in {repo.full}: GitHub keeps the type of a new "
                    "issue only from someone with push access"
                )

    def _by_repository(
        self, wanted: Mapping[str, Iterable[str]], found: Findings
    ) -> Iterator[tuple[Repo, list[str]]]:
        """Each wanted project's repository with its names, once each; unknown ones are problems."""
        for project, names in wanted.items():
            repo = self.projects.for_project(project)
            if repo is None:
                found.problems.append(f"project {project!r} is not among this tracker's")
                continue
            yield repo, list(dict.fromkeys(names))

    def _types_known(
        self, repo: Repo, names: list[str], types: list[Any] | None, found: Findings
    ) -> None:
        if types is None:
            found.problems.append(
                f"{repo.full} has no issue types (an organisation feature): GitHub would drop "
                f"the type {', '.join(repr(n) for n in names)} of every new issue"
            )
            return
        enabled = {
            str(t.get("name", "")).casefold() for t in types if t.get("is_enabled") is not False
        }
        for name in names:
            if name.casefold() not in enabled:
                found.problems.append(
                    f"issue type {name!r} is not one of {repo.full}'s (GitHub would drop it); "
                    f"it has: {', '.join(str(t.get('name')) for t in types) or 'none'}"
                )

    def _access(self, repo: Repo, described: Mapping[str, Any], found: Findings) -> str:
        if self.app_permissions is not None:
            issues = self.app_permissions.get("issues", "none")
            if issues != "write":
                found.problems.append(f"the App has issues: {issues}; it needs issues: write")
            contents = self.app_permissions.get("contents", "none")
            if self.config.attachments == "commit" and contents != "write":
                found.problems.append(
                    f"attachments: commit needs contents: write; the App has {contents}"
                )
            return f"App issues {issues}, contents {contents}"
        role = next((r for r in _ROLES if (described.get("permissions") or {}).get(r)), "none")
        if self.config.attachments == "commit" and not self._may_push(repo):
            found.problems.append(
                f"attachments: commit needs push access to {repo.full}; the token has {role}"
            )
        private = "private" if described.get("private") else "public"
        return f"{role} ({private})"

    def _may_push(self, repo: Repo) -> bool:
        if self.app_permissions is not None:
            return self.app_permissions.get("issues") == "write"
        described = self.people.repository(repo) or {}
        return bool((described.get("permissions") or {}).get("push"))

    def _branch(self, repo: Repo, found: Findings) -> None:
        branch = self.config.attachments_branch or ""
        exists = self.http.json_or_none(
            Call(
                "GET",
                # The branch is a multi-segment parameter (GitHub's description): a "/"
                # in its name is sent as "/", each segment quoted, never as %2F.
                repo.path("branches", *branch.split("/")),
                f"reading branch {branch} of {repo.full}",
                expect=_NOT_FOUND,
            )
        )
        if exists is None:
            found.problems.append(
                f"attachments_branch {branch!r} does not exist in {repo.full}; create it first"
            )

    def _label_exists(self, repo: Repo, name: str) -> bool:
        label = self.http.json_or_none(
            Call(
                "GET",
                repo.path("labels", name),
                f"reading label {name} of {repo.full}",
                expect=_NOT_FOUND,
            )
        )
        return label is not None


def _budget(name: str, resource: Mapping[str, Any]) -> str:
    reset = dt.datetime.fromtimestamp(int(resource.get("reset", 0)), dt.UTC)
    return f"{name} {resource.get('remaining')}/{resource.get('limit')} until {reset:%H:%M} UTC"
