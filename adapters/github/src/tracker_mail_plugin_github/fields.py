"""A rule's issue fields on GitHub: title, labels, assignee, milestone, type; nothing else.

GitHub issues have no priority and no custom fields (the milestone is passed as
``custom_fields: {milestone: …}``, by title or number): a rule asking for them fails the
message permanently with the reason, rather than losing what the rule asked for.

GitHub drops labels, assignees, milestone and type silently when the token lacks push
access, but refuses the whole issue (422, ``{"field": "assignees", "code": "invalid"}``)
for a login that cannot be assigned or a milestone that is gone. :func:`post_issue` then
creates the issue without the fields GitHub named, with a warning, as it would have for the
silent drops: a mail is not lost over an assignee. A 422 created nothing, so the second POST
is no duplicate.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import requests

from tracker_mail_plugin import NewIssue, PermanentError
from tracker_mail_plugin_github.config import LOGIN
from tracker_mail_plugin_github.errors import github_message
from tracker_mail_plugin_github.http import Call, GitHubHttp, decode
from tracker_mail_plugin_github.people import People
from tracker_mail_plugin_github.projects import Repo

logger = logging.getLogger("tracker_mail.github")

TITLE_LIMIT = 256
# The fields of a new issue GitHub may refuse with 422 that the issue can do without, by the
# name GitHub's validation error gives them, to the IssueFields attribute that holds them.
DROPPABLE = {
    "assignees": "assignees",
    "assignee": "assignees",
    "milestone": "milestone",
    "labels": "labels",
    "type": "kind",
}
_EMPTY: dict[str, Any] = {"assignees": (), "milestone": None, "labels": (), "kind": None}
MAX_MILESTONE_PAGES = 50  # 5,000 open milestones: beyond any repository's, yet bounded


@dataclass(frozen=True, slots=True)
class IssueFields:
    """What ``POST /repos/{owner}/{repo}/issues`` gets besides the body."""

    title: str
    labels: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    milestone: int | None = None
    kind: str | None = None

    def payload(self, body: str) -> dict[str, Any]:
        """The request's JSON, without the fields the rule left empty."""
        payload: dict[str, Any] = {"title": self.title}
        payload |= {"labels": list(self.labels)} if self.labels else {}
        payload |= {"assignees": list(self.assignees)} if self.assignees else {}
        payload |= {"milestone": self.milestone} if self.milestone is not None else {}
        payload |= {"type": self.kind} if self.kind else {}
        return payload | {"body": body}

    def without(self, refused: set[str]) -> IssueFields | None:
        """These fields without the ``refused`` ones (named as GitHub names them).

        ``None`` when one of them was not sent: leaving it out would change nothing.
        """
        names = {DROPPABLE[name] for name in refused}
        if any(getattr(self, name) in (None, (), "") for name in names):
            return None
        return replace(self, **{name: _EMPTY[name] for name in names})

    def warn_dropped(self, repo: Repo, issue: Mapping[str, Any]) -> None:
        """Log what GitHub silently dropped (it keeps these only from push access)."""
        kept = {str(label.get("name", "")).casefold() for label in issue.get("labels") or []}
        dropped = [label for label in self.labels if label.casefold() not in kept]
        people = {str(a.get("login", "")).casefold() for a in issue.get("assignees") or []}
        dropped += [f"assignee {a}" for a in self.assignees if a.casefold() not in people]
        if self.milestone is not None and not issue.get("milestone"):
            dropped.append(f"milestone {self.milestone}")
        kind = str((issue.get("type") or {}).get("name") or "")
        type_dropped = bool(self.kind) and kind.casefold() != str(self.kind).casefold()
        dropped += [f"type {self.kind}"] if type_dropped else []
        if dropped:
            # A type is also dropped when the repository has no such issue type.
            unknown = " and a type the repository has" if type_dropped else ""
            logger.warning(
                "GitHub dropped %s from %s#%s (push access is needed to set them%s; "
                "tracker-mail check lists what is missing)",
                ", ".join(dropped),
                repo.full,
                issue.get("number"),
                unknown,
            )


def issue_fields(
    new: NewIssue, repo: Repo, http: GitHubHttp, people: People, request_labels: Sequence[str]
) -> IssueFields:
    """The GitHub fields for ``new``; raises PermanentError for what GitHub does not have."""
    if new.priority:
        raise PermanentError(f"GitHub issues have no priority (asked: {new.priority}); use a label")
    unknown = sorted(set(new.custom_fields) - {"milestone"})
    if unknown:
        raise PermanentError(
            f"GitHub issues have no field {', '.join(unknown)}; only milestone is known"
        )
    extra = [*request_labels, *([new.request_type] if new.request_type else [])]
    labels = tuple(dict.fromkeys([*new.labels, *(extra if new.request else [])]))
    return IssueFields(
        title=_title(new.title),
        labels=labels,
        assignees=(_login(new.assignee, people),) if new.assignee else (),
        milestone=_milestone(http, repo, new.custom_fields.get("milestone")),
        kind=new.issue_type,
    )


def _title(title: str) -> str:
    title = " ".join(title.split()) or "(no subject)"
    return title if len(title) <= TITLE_LIMIT else title[: TITLE_LIMIT - 1] + "…"


def _login(assignee: str, people: People) -> str:
    if "@" in assignee.lstrip("@"):
        login = people.login_for(assignee)
        if login is None:
            raise PermanentError(f"assignee {assignee} is not in the users map")
        return login
    if not LOGIN.match(assignee.lstrip("@")):
        raise PermanentError(f"assignee {assignee!r} is not a GitHub login")
    return assignee.lstrip("@")


def _milestone(http: GitHubHttp, repo: Repo, wanted: str | None) -> int | None:
    if wanted is None:
        return None
    if wanted.isdigit():
        return int(wanted)
    listing = Call(
        "GET",
        repo.path("milestones"),
        f"listing the milestones of {repo.full}",
        params={"state": "open", "per_page": 100},
    )
    # Every page until the title is found: a repository may have more than 100 open.
    for milestone in http.pages(listing, MAX_MILESTONE_PAGES):
        if str(milestone.get("title", "")).casefold() == wanted.casefold():
            return int(milestone["number"])
    raise PermanentError(f"milestone {wanted!r} is not an open milestone of {repo.full}")


def post_issue(http: GitHubHttp, repo: Repo, fields: IssueFields, body: str) -> Any:
    """``POST /repos/{owner}/{repo}/issues``; GitHub's answer (the issue).

    A 422 that refuses only fields the issue can do without (see the module doc) is sent
    once more without them; any other 422 is the message's problem.
    """
    call = Call(
        "POST",
        repo.path("issues"),
        f"creating an issue in {repo.full}",
        "write",
        body=fields.payload(body),
        expect=frozenset({422}),
    )
    response = http.send(call)
    if response.status_code != 422:
        issue = decode(response, call)
        fields.warn_dropped(repo, issue)
        return issue
    refused = refused_fields(response)
    kept = fields.without(refused) if refused else None
    if kept is None:
        raise http.errors.for_response(response, write=True, what=call.what)
    logger.warning(
        "GitHub refused the %s of a new issue in %s (%s); it is created without them",
        " and ".join(sorted(refused)),
        repo.full,
        github_message(response),
    )
    issue = http.json(replace(call, body=kept.payload(body), expect=frozenset()))
    kept.warn_dropped(repo, issue)
    return issue


def refused_fields(response: requests.Response) -> set[str]:
    """The droppable fields a 422 names as invalid; empty when it names anything else."""
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        return set()
    named = set()
    for error in errors:
        field = error.get("field") if isinstance(error, dict) else None
        if field not in DROPPABLE or error.get("code") != "invalid":
            return set()
        named.add(str(field))
    return named
