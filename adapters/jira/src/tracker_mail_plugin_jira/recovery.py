"""``find_by_key``: was the write whose answer was lost done after all?

Every issue and comment this adapter creates carries the entity property ``tracker-mail``
with ``{"key": <idempotency key>}``. Jira makes entity properties searchable by JQL only when
an app indexes them (a Forge ``jira:entityProperty`` or Connect module on Cloud, a plugin's
``index-document-configuration`` on Data Center); without one, ``issue.property[...]``
clauses find nothing at all, which would look like "not created" and duplicate the issue.

So the lookup is, in order:

1. with ``recovery.indexed_property``: ``issue.property[tracker-mail].key = "<key>"``;
2. with an issue named (the issue a comment was written to): that issue's comments;
3. the issues the API user created or watches (Jira watches what one comments on, by
   default) updated in the last ``recovery.lookback_days`` days, newest first: each one's
   property (asked for in the search, read one by one where Data Center leaves it out),
   then its comments' properties, at most ``recovery.max_issues`` issues.

Comment properties are read with ``GET …/comment?expand=properties`` on Data Center and
with ``POST /rest/api/2/comment/list?expand=properties`` on Cloud, which documents the
expansion only there.

Stopping at the limit without having read the whole window is an error rather than "not
found", since "not found" makes the core repeat the write.

Cloud's ``search/jql`` is eventually consistent (Atlassian: "Recent updates might not be
immediately visible in the returned search results"), so on Cloud one search that finds
nothing proves nothing: the lookup waits until ``recovery.settle_seconds`` have passed since
it began, then searches again (the indexed search, then the scan) before it answers "not
found". Issues this adapter created are named in ``reconcileIssues``, so they are answered
as they are now. A comment looked for on a named issue is read directly, not searched.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, Protocol

from tracker_mail_plugin import CommentRef, IssueRef, PermanentError
from tracker_mail_plugin_jira.config import Deployment, JiraConfig
from tracker_mail_plugin_jira.http import API, JiraHttp
from tracker_mail_plugin_jira.issues import PROPERTY
from tracker_mail_plugin_jira.search import RecentIssues, quoted, search

COMMENT_PAGE = 100


class Clock(Protocol):
    """What the recovery needs of time (tests pass one that does not sleep)."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """``time.sleep(seconds)``."""
        time.sleep(seconds)


class Recovery:
    """Finds issues and comments by their idempotency key.

    Args:
        http: the connection.
        config: the adapter's options (``recovery``).
        tracker: the adapter's name, for refs.
        recent: the ids of issues this adapter created, reconciled in Cloud searches.
        clock: the clock the wait for Cloud's search index is measured and slept on.
    """

    def __init__(
        self,
        http: JiraHttp,
        config: JiraConfig,
        tracker: str,
        recent: RecentIssues | None = None,
        clock: Clock | None = None,
    ):
        self._http = http
        self._options = config.recovery
        self._cloud = config.effective_deployment == Deployment.CLOUD
        self._tracker = tracker
        self._recent = recent or RecentIssues()
        self._clock = clock or SystemClock()

    def find(self, key: str, issue: IssueRef | None = None) -> IssueRef | CommentRef | None:
        """The issue or comment created with ``key``, or ``None``.

        Raises:
            PermanentError: the scan hit ``recovery.max_issues`` before the window's end.
        """
        if issue is not None:
            indexed = self._indexed(key) if self._options.indexed_property else None
            return indexed or self._in_comments(key, issue)
        if not self._cloud:
            return self._lookup(key, scan=True)
        started = self._clock.monotonic()
        found = self._lookup(key, scan=False)
        if found is not None:
            return found
        # Not found by a search that may not show the write yet: wait, then look every way.
        wait = self._options.settle_seconds - (self._clock.monotonic() - started)
        if wait > 0:
            self._clock.sleep(wait)
        return self._lookup(key, scan=True)

    def _lookup(self, key: str, *, scan: bool) -> IssueRef | CommentRef | None:
        """The indexed search when there is an index; the scan when asked or without one."""
        if self._options.indexed_property:
            found = self._indexed(key)
            if found is not None or not scan:
                return found
        return self._scan(key)

    def _indexed(self, key: str) -> IssueRef | None:
        jql = f"issue.property[{PROPERTY}].key = {quoted(key)}"
        for data in self._search(jql, limit=1, properties=False):
            return self._ref(data)
        return None

    def _scan(self, key: str) -> IssueRef | CommentRef | None:
        days = self._options.lookback_days
        jql = (
            f'(creator = currentUser() OR watcher = currentUser()) AND updated >= "-{days}d" '
            "ORDER BY updated DESC"
        )
        read = 0
        for data in self._search(jql, limit=self._options.max_issues, properties=True):
            read += 1
            ref = self._ref(data)
            if self._issue_key(data) == key:
                return ref
            found = self._in_comments(key, ref)
            if found is not None:
                return found
        if read >= self._options.max_issues:
            raise PermanentError(
                f"{key} was not among the {read} issues read to find a lost write; raise "
                "recovery.max_issues or index the tracker-mail property (recovery.indexed_property)"
            )
        return None

    def _issue_key(self, data: dict[str, Any]) -> str | None:
        properties = data.get("properties")
        if isinstance(properties, dict):  # asked for in the search and answered
            value = properties.get(PROPERTY)
        else:
            stored = self._http.get(
                f"{API}/issue/{data['key']}/properties/{PROPERTY}",
                what=f"reading the idempotency key of {data['key']}",
                missing_ok=True,
            )
            value = (stored or {}).get("value")
        return str(value.get("key")) if isinstance(value, dict) else None

    def _in_comments(self, key: str, issue: IssueRef) -> CommentRef | None:
        for comment in self._comments(issue.key):
            for prop in comment.get("properties") or []:
                if prop.get("key") == PROPERTY and (prop.get("value") or {}).get("key") == key:
                    return CommentRef(issue, str(comment["id"]))
        return None

    def _comments(self, issue_key: str) -> Iterator[dict[str, Any]]:
        """The issue's comments with their properties, page by page.

        Data Center expands ``properties`` on the issue's comment list. Cloud documents that
        expansion only on ``POST /rest/api/2/comment/list``, so there each page's ids are
        asked for again through it.
        """
        start = 0
        while True:
            params: dict[str, str | int] = {"startAt": start, "maxResults": COMMENT_PAGE}
            if not self._cloud:
                params["expand"] = "properties"
            page = self._http.get(
                f"{API}/issue/{issue_key}/comment",
                params,
                what=f"reading the comments of {issue_key}",
                missing_ok=True,
            )
            comments = (page or {}).get("comments") or []
            yield from self._with_properties(issue_key, comments) if self._cloud else comments
            start += len(comments)
            if not comments or start >= int((page or {}).get("total", start)):
                return

    def _with_properties(
        self, issue_key: str, comments: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        ids = [int(comment["id"]) for comment in comments if str(comment.get("id")).isdigit()]
        if not ids:
            return []
        listed = self._http.post(
            f"{API}/comment/list",
            {"ids": ids},
            params={"expand": "properties"},
            what=f"reading the properties of {issue_key}'s comments",
            write=False,
        )
        values: list[dict[str, Any]] = (listed or {}).get("values") or []
        return values

    def _search(self, jql: str, *, limit: int, properties: bool) -> Iterator[dict[str, Any]]:
        return search(
            self._http,
            jql,
            cloud=self._cloud,
            fields="project",
            properties=PROPERTY if properties else None,
            limit=limit,
            what="looking for a write whose answer was lost",
            reconcile=self._recent.ids() if self._cloud else (),
        )

    def _ref(self, data: dict[str, Any]) -> IssueRef:
        key = str(data["key"])
        project = ((data.get("fields") or {}).get("project") or {}).get("key")
        return IssueRef(self._tracker, key, f"{self._http.base_url}/browse/{key}", project)
