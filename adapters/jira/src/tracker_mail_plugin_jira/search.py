"""JQL searches, paged the way each deployment pages them.

Cloud removed ``/rest/api/2/search`` (CHANGE-2046): its ``/rest/api/2/search/jql`` pages with
``nextPageToken`` and says ``isLast``. Data Center pages ``/rest/api/2/search`` with
``startAt`` and ``total``.

Cloud's search is eventually consistent: a write of the last seconds may be missing from
its answers. Issues whose ids are known can be named in ``reconcileIssues`` (at most 50),
which Atlassian documents in the body of ``POST /rest/api/2/search/jql`` ("search and
reconcile"): those issues are then answered as they are now.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

from tracker_mail_plugin_jira.http import API, JiraHttp

PAGE = 50
RECONCILE_LIMIT = 50  # Atlassian: reconcileIssues takes at most 50 ids


class RecentIssues:
    """The ids of the last issues this adapter created, to reconcile searches with.

    A create whose follow-up failed (a file, a watcher) is an unknown outcome to the core,
    which then asks ``find_by_key``: the issue's id is known here, so Cloud's search is told
    to answer it as it is now instead of as its index last saw it.
    """

    def __init__(self) -> None:
        self._ids: deque[int] = deque(maxlen=RECONCILE_LIMIT)
        self._lock = threading.Lock()

    def add(self, issue_id: object) -> None:
        """Remember the id Jira answered for a created issue (ignored when not a number)."""
        if str(issue_id).isdigit():
            with self._lock:
                self._ids.append(int(str(issue_id)))

    def ids(self) -> tuple[int, ...]:
        """The remembered ids, oldest first."""
        with self._lock:
            return tuple(self._ids)


def search(
    http: JiraHttp,
    jql: str,
    *,
    cloud: bool,
    fields: str,
    properties: str | None = None,
    limit: int,
    what: str,
    reconcile: Sequence[int] = (),
) -> Iterator[dict[str, Any]]:
    """Issues matching ``jql``, at most ``limit`` of them, page by page.

    ``reconcile``: on Cloud, ids of issues to answer as they are now (the same on every page).
    """
    params: dict[str, str | int] = {"jql": jql, "fields": fields}
    if properties:
        params["properties"] = properties
    seen = 0
    token: str | None = None
    while seen < limit:
        size = min(PAGE, limit - seen)
        if cloud:
            page_params = {**params, "maxResults": size}
            if token:
                page_params["nextPageToken"] = token
            page = _cloud_page(http, page_params, list(reconcile)[-RECONCILE_LIMIT:], what)
        else:
            page_params = {**params, "startAt": seen, "maxResults": size}
            page = http.get(f"{API}/search", page_params, what=what)
        issues = page.get("issues") or []
        yield from issues
        seen += len(issues)
        token = page.get("nextPageToken")
        if not issues or _last(page, seen, cloud, token):
            return


def _cloud_page(
    http: JiraHttp, params: dict[str, str | int], reconcile: list[int], what: str
) -> Any:
    if not reconcile:
        return http.get(f"{API}/search/jql", params, what=what)
    body: dict[str, Any] = {
        key: str(value).split(",") if key in ("fields", "properties") else value
        for key, value in params.items()
    }
    body["reconcileIssues"] = reconcile
    return http.post(f"{API}/search/jql", body, what=what, write=False)


def _last(page: dict[str, Any], seen: int, cloud: bool, token: str | None) -> bool:
    if cloud:
        return bool(page.get("isLast", token is None)) or token is None
    return seen >= int(page.get("total", seen))


def quoted(value: str) -> str:
    """``value`` as a JQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
