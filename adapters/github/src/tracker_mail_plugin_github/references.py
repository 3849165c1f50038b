"""Which issue a reply names: ``#12``, ``owner/repo#12``, or a GitHub notification's id.

GitHub's notification mail carries Message-IDs like ``<owner/repo/issues/12@github.com>``
(the issue), ``<owner/repo/issues/12/123456@github.com>`` (a comment on it) and the same with
``pull`` for pull requests, whose numbers are issue numbers too. On Enterprise Server the
domain is the server's host. Only configured repositories count: a reply about another
repository is not a reply to one of ours.

A bare ``#12`` names an issue only when one repository is configured; with several it is
ambiguous and names nothing (the notification's Message-ID, checked next by the core, is
exact).
"""

from __future__ import annotations

import re

from tracker_mail_plugin import IssueRef, ReferenceCandidate, RefKind
from tracker_mail_plugin_github.projects import Projects, Repo

_NOTIFICATION = re.compile(
    r"^(?P<repo>[^/@\s]+/[^/@\s]+)/(?:issues|pull)/(?P<number>\d+)(?:/[^@\s]*)?"
    r"@(?P<domain>[^@\s]+)$"
)


def parse_reference(
    candidate: ReferenceCandidate, projects: Projects, domain: str, tracker: str
) -> IssueRef | None:
    """The configured repository's issue ``candidate`` names, or ``None`` (no network)."""
    found = _target(candidate, projects, domain)
    if found is None:
        return None
    repo, number = found
    return IssueRef(tracker, repo.key(number), project=repo.project)


def _target(
    candidate: ReferenceCandidate, projects: Projects, domain: str
) -> tuple[Repo, int] | None:
    number = candidate.number
    if candidate.kind == RefKind.NUMBER and number is not None:
        repo = projects.only
        return (repo, number) if repo is not None else None
    if candidate.kind == RefKind.GITHUB and number is not None and candidate.project:
        repo = projects.by_full_name(candidate.project)
        return (repo, number) if repo is not None else None
    if candidate.kind == RefKind.MESSAGE_ID:
        found = _NOTIFICATION.match(candidate.text.strip("<>"))
        if found is None or found.group("domain").lower() != domain.lower():
            return None
        repo = projects.by_full_name(found.group("repo"))
        return (repo, int(found.group("number"))) if repo is not None else None
    return None
