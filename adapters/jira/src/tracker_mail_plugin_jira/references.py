"""Which issue a reply names: a key in the subject, or Jira's own notification Message-ID.

Jira (Data Center since 5.2, and Cloud) sends notifications with Message-IDs of the form
``JIRA.<issueId>.<issueCreatedMillis>.<sequence>.<timestamp>@<host>`` and replies carry them
in In-Reply-To/References. Like Jira's own mail handler, the issue id is taken from it and
the issue's creation time must match the one in the id, so a notification from another
Jira (same id, different issue) does not thread here. Parsing is pure; the creation time is
compared by :meth:`IssueLookup.get` when the core asks whether the issue exists.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from tracker_mail_plugin import IssueRef, IssueState, ReferenceCandidate, RefKind
from tracker_mail_plugin_jira.http import API, JiraHttp

NOTIFICATION_ID = re.compile(r"^<?JIRA\.(?P<id>\d+)\.(?P<created>\d+)(?:\.[^@<>]*)?@[^<>\s]+>?$")
_DONE = "done"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class NotificationId:
    """The issue id and creation time read from a notification Message-ID."""

    issue_id: str
    created_millis: int


def notification_id(text: str) -> NotificationId | None:
    """The parts of a Jira notification Message-ID, or ``None`` for any other id."""
    match = NOTIFICATION_ID.match(text.strip().split(";", 1)[0])
    if match is None:
        return None
    return NotificationId(match["id"], int(match["created"]))


def issue_key_of(candidate: ReferenceCandidate, projects: list[str]) -> str | None:
    """``ABC-12`` from a subject candidate, when its project may be replied to."""
    if candidate.kind != RefKind.JIRA_KEY or candidate.project is None:
        return None
    if projects and candidate.project not in projects:
        return None
    return f"{candidate.project}-{candidate.number}"


class IssueLookup:
    """Reads an issue's project and status; remembers notification ids it was given.

    Args:
        http: the connection.
        tracker: the adapter's name, for refs.
    """

    def __init__(self, http: JiraHttp, tracker: str):
        self._http = http
        self._tracker = tracker
        self._expected_created: dict[str, int] = {}

    def parse(self, candidate: ReferenceCandidate, projects: list[str]) -> IssueRef | None:
        """The issue ``candidate`` names (no request is made)."""
        if candidate.kind == RefKind.MESSAGE_ID:
            found = notification_id(candidate.text)
            if found is None:
                return None
            self._expected_created[found.issue_id] = found.created_millis
            return IssueRef(self._tracker, found.issue_id)
        key = issue_key_of(candidate, projects)
        return IssueRef(self._tracker, key) if key else None

    def get(self, ref: IssueRef) -> IssueState | None:
        """The issue's state, or ``None`` when it does not exist (or is another Jira's)."""
        data = self._http.get(
            f"{API}/issue/{ref.key}",
            {"fields": "project,status,created"},
            what=f"reading issue {ref.key}",
            missing_ok=True,
        )
        if data is None:
            return None
        fields = data.get("fields") or {}
        expected = self._expected_created.get(ref.key)
        if expected is not None and _millis(fields.get("created")) != expected:
            return None
        key = str(data["key"])
        project = str((fields.get("project") or {}).get("key") or key.rpartition("-")[0])
        category = ((fields.get("status") or {}).get("statusCategory") or {}).get("key")
        found = IssueRef(self._tracker, key, f"{self._http.base_url}/browse/{key}", project)
        return IssueState(ref=found, project=project, closed=category == _DONE)


def _millis(created: object) -> int | None:
    """Epoch milliseconds of Jira's ``2023-11-03T08:26:40.000+0000`` timestamps."""
    if not isinstance(created, str):
        return None
    try:
        when = dt.datetime.strptime(created, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return None
    return (when - _EPOCH) // dt.timedelta(milliseconds=1)
