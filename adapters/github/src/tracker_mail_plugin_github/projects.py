"""Repositories by the names rules use, and the keys issues are known by (``owner/repo#12``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from tracker_mail_plugin_github.config import GITHUB_API

_KEY = re.compile(r"^(?P<repo>[^/#\s]+/[^/#\s]+)#(?P<number>\d+)$")


@dataclass(frozen=True, slots=True)
class Repo:
    """One configured repository.

    Attributes:
        owner: the account that owns it, spelled as configured.
        name: the repository's name, spelled as configured.
        project: the project name rules use for it (``owner/repo`` when not mapped).
    """

    owner: str
    name: str
    project: str

    @property
    def full(self) -> str:
        """``owner/name``, as configured: the stable part of every issue key."""
        return f"{self.owner}/{self.name}"

    def path(self, *parts: str | int) -> str:
        """The API path ``/repos/owner/name/part/…``, each part URL-quoted."""
        tail = "".join(f"/{quote(str(part), safe='')}" for part in parts)
        return f"/repos/{quote(self.owner, safe='')}/{quote(self.name, safe='')}{tail}"

    def key(self, number: int) -> str:
        """The issue key the core stores: ``owner/repo#12``."""
        return f"{self.full}#{number}"


class Projects:
    """The repositories of one tracker configuration, found by project or by name.

    Args:
        projects: project name to ``owner/repo`` (a single repository maps to itself).
    """

    def __init__(self, projects: Mapping[str, str]):
        self._by_project: dict[str, Repo] = {}
        for project, full in projects.items():
            owner, name = full.split("/", 1)
            self._by_project[project] = Repo(owner, name, project)
        self._by_full: dict[str, Repo] = {}
        for repo in self._by_project.values():
            self._by_full.setdefault(repo.full.lower(), repo)

    def for_project(self, project: str) -> Repo | None:
        """The repository a rule's ``project`` names: a project name or ``owner/repo``."""
        return self._by_project.get(project) or self.by_full_name(project)

    def by_full_name(self, full: str) -> Repo | None:
        """The configured repository called ``owner/repo`` (GitHub ignores case)."""
        return self._by_full.get(full.lower())

    @property
    def repositories(self) -> tuple[Repo, ...]:
        """Each configured repository once."""
        return tuple(self._by_full.values())

    @property
    def only(self) -> Repo | None:
        """The repository when exactly one is configured (what a bare ``#12`` means)."""
        repos = self.repositories
        return repos[0] if len(repos) == 1 else None

    def parse_key(self, key: str) -> tuple[Repo, int] | None:
        """The repository and number of a key like ``owner/repo#12``, if configured."""
        found = _KEY.match(key)
        repo = self.by_full_name(found.group("repo")) if found else None
        if found is None or repo is None:
            return None
        return repo, int(found.group("number"))


def web_url(api_url: str) -> str:
    """The web root matching an API root: github.com, or the Enterprise Server's host."""
    if api_url.rstrip("/") == GITHUB_API:
        return "https://github.com"
    parts = urlsplit(api_url)
    return f"{parts.scheme}://{parts.netloc}"


def notification_domain(api_url: str) -> str:
    """The domain of the Message-IDs GitHub's notification mail carries."""
    return urlsplit(web_url(api_url)).hostname or "github.com"
