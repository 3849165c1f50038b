"""Which Redmine issue a reply names: subject tags and Redmine's notification Message-IDs.

Redmine's notifications carry ``Message-ID: <redmine.issue-123.<created, UTC>[.<user>]@host>``
for a new issue and ``<redmine.journal-456.…@host>`` for an update (with ``References`` to
the issue); subjects carry ``[Project - Bug #123]``. A journal id says nothing about its
issue, and :meth:`parse_reference` must stay pure, so it returns a *pending* reference
(key ``journal-456.20261101120000``) that :func:`resolve_journal` turns into the issue when
``get_issue`` is asked about it: the timestamp in the Message-ID bounds the search to issues
updated since then.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from tracker_mail_plugin import IssueRef, ReferenceCandidate, RefKind
from tracker_mail_plugin_redmine.client import RedmineClient
from tracker_mail_plugin_redmine.keys import TRACKER

_MESSAGE_ID = re.compile(
    r"^<?redmine\.(?P<kind>[a-z_]+)-(?P<id>\d+)\.(?P<stamp>\d{14})(?:\.[0-9a-f]+)?@", re.IGNORECASE
)
_PENDING = re.compile(r"^journal-(?P<id>\d+)\.(?P<stamp>\d{14})$")
_CANDIDATES = 50  # issues updated since the note's time that are read, at most


def parse_reference(candidate: ReferenceCandidate) -> IssueRef | None:
    """The issue ``candidate`` names in Redmine's forms, or ``None``; no network."""
    if candidate.kind in (RefKind.NUMBER, RefKind.TRACKER_TAG) and candidate.number:
        return IssueRef(TRACKER, str(candidate.number))
    if candidate.kind != RefKind.MESSAGE_ID:
        return None
    found = _MESSAGE_ID.match(candidate.text.strip())
    if found is None:
        return None
    kind = found["kind"].lower()
    if kind == "issue":
        return IssueRef(TRACKER, str(int(found["id"])))
    if kind == "journal":
        return IssueRef(TRACKER, f"journal-{int(found['id'])}.{found['stamp']}")
    return None  # forum messages, news…: not issues


def pending_journal(ref: IssueRef) -> tuple[int, dt.datetime] | None:
    """The journal id and time a pending reference stands for, if it is one."""
    found = _PENDING.match(ref.key)
    if found is None:
        return None
    stamp = dt.datetime.strptime(found["stamp"], "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    return int(found["id"]), stamp


def resolve_journal(client: RedmineClient, journal_id: int, since: dt.datetime) -> int | None:
    """The id of the issue journal ``journal_id`` belongs to, or ``None``.

    The journal's issue was updated when the journal was written and can only have been
    updated later since, so the issues updated from that second on (oldest first) are read
    until one holds the journal. A second of slack covers the issue's own timestamp being
    taken just before the journal's.
    """
    start = (since - dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    params = {
        "status_id": "*",
        "updated_on": f">={start}",
        "sort": "updated_on",
        "limit": _CANDIDATES,
    }
    listed = client.get("/issues.json", params, what=f"find the issue of note {journal_id}")
    for issue in listed.get("issues", []):
        if _holds(client, int(issue["id"]), journal_id):
            return int(issue["id"])
    return None


def _holds(client: RedmineClient, issue_id: int, journal_id: int) -> bool:
    data: dict[str, Any] = client.get(
        f"/issues/{issue_id}.json", {"include": "journals"}, what=f"read issue #{issue_id}"
    )["issue"]
    return any(int(j["id"]) == journal_id for j in data.get("journals", []))
