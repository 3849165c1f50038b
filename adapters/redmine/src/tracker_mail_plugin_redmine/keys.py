"""Idempotency keys: stored with every issue and note, found again after a crash.

Redmine has no idempotency header and its REST API cannot create custom fields, so the key
lives in one of two places (see the README for why):

- an issue custom field the operator made (``idempotency_field``), for issues; found with
  a ``cf_N=`` filter on ``/issues.json``;
- otherwise a marker at the end of the description or note, written so that Redmine's
  formatter hides it: an HTML comment in Textile, a link reference definition
  (``[//]: # (…)``) in Markdown and CommonMark. Found with Redmine's search
  (``/search.json``, which reads descriptions and notes), then confirmed by reading the
  issue, so a search hit is never trusted on its own.

Notes always carry the marker: custom fields belong to the issue, not to a note.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tracker_mail_plugin import CommentRef, IssueRef
from tracker_mail_plugin_redmine.client import NotFound, RedmineClient
from tracker_mail_plugin_redmine.config import TextFormatting

TRACKER = "redmine"
_SEARCH_LIMIT = 25


def marker(key: str, formatting: TextFormatting) -> str:
    """The line that carries ``key`` in a text, hidden by ``formatting``'s renderer."""
    if formatting == "textile":
        return f"<!-- tracker-mail {key} -->"
    if formatting in ("markdown", "common_mark"):
        return f"[//]: # (tracker-mail {key})"
    return f"(tracker-mail {key})"  # no formatting hides anything: at least keep it short


def with_marker(text: str, key: str, formatting: TextFormatting) -> str:
    """``text`` with the marker for ``key`` as its own last paragraph."""
    return f"{text.rstrip()}\n\n{marker(key, formatting)}"


def carries(text: str | None, key: str) -> bool:
    """Whether ``text`` holds the marker for ``key`` (in whichever formatting)."""
    return bool(text) and f"tracker-mail {key}" in str(text)


def issue_ref(url: str, data: Mapping[str, Any]) -> IssueRef:
    """The core's reference for an issue object of the API."""
    return IssueRef(TRACKER, str(data["id"]), url=f"{url}/issues/{data['id']}")


class KeyFinder:
    """Looks up what was written with a key.

    Args:
        client: the connection.
        field_id: the id of the issue custom field holding keys, when one is configured.
    """

    def __init__(self, client: RedmineClient, field_id: int | None):
        self._client = client
        self._field_id = field_id

    def find(self, key: str, issue: IssueRef | None = None) -> IssueRef | CommentRef | None:
        """The issue or note written with ``key``, or ``None``.

        ``issue``, when the core knows where a note went, is read first: one request
        instead of a search of the whole Redmine.
        """
        if issue is not None and issue.key.isdigit():
            try:
                found = self._confirm(int(issue.key), key)
            except NotFound:
                found = None
            if found is not None:
                return found
        if self._field_id is not None:
            found = self._by_field(key)
            if found is not None:
                return found
        return self._by_search(key)

    def _by_field(self, key: str) -> IssueRef | None:
        params = {"status_id": "*", f"cf_{self._field_id}": key, "limit": 5}
        issues = self._client.get("/issues.json", params, what="find an issue by its key")
        for issue in issues.get("issues", []):
            # Redmine ignores a filter on a field that is not "used as a filter": check.
            values = {f.get("id"): f.get("value") for f in issue.get("custom_fields", [])}
            if values.get(self._field_id) == key:
                return issue_ref(self._client.url, issue)
        return None

    def _by_search(self, key: str) -> IssueRef | CommentRef | None:
        # Redmine reads any value of titles_only/open_issues as "yes": leave them out.
        params = {"q": key, "issues": 1, "limit": _SEARCH_LIMIT}
        results = self._client.get("/search.json", params, what="search for a key")
        for result in results.get("results", []):
            if str(result.get("type", "")).startswith("issue") and result.get("id"):
                found = self._confirm(int(result["id"]), key)
                if found is not None:
                    return found
        return None

    def _confirm(self, issue_id: int, key: str) -> IssueRef | CommentRef | None:
        data = self._client.get(
            f"/issues/{issue_id}.json", {"include": "journals"}, what=f"read issue #{issue_id}"
        )["issue"]
        ref = issue_ref(self._client.url, data)
        if carries(data.get("description"), key):
            return ref
        for journal in data.get("journals", []):
            if carries(journal.get("notes"), key):
                return CommentRef(ref, str(journal["id"]))
        return None
