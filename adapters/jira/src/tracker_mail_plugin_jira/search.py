"""JQL searches, paged the way each deployment pages them.

Cloud removed ``/rest/api/2/search`` (CHANGE-2046): its ``/rest/api/2/search/jql`` pages with
``nextPageToken`` and says ``isLast``. Data Center pages ``/rest/api/2/search`` with
``startAt`` and ``total``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tracker_mail_plugin_jira.http import API, JiraHttp

PAGE = 50


def search(
    http: JiraHttp,
    jql: str,
    *,
    cloud: bool,
    fields: str,
    properties: str | None = None,
    limit: int,
    what: str,
) -> Iterator[dict[str, Any]]:
    """Issues matching ``jql``, at most ``limit`` of them, page by page."""
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
            page = http.get(f"{API}/search/jql", page_params, what=what)
        else:
            page_params = {**params, "startAt": seen, "maxResults": size}
            page = http.get(f"{API}/search", page_params, what=what)
        issues = page.get("issues") or []
        yield from issues
        seen += len(issues)
        token = page.get("nextPageToken")
        if not issues or _last(page, seen, cloud, token):
            return


def _last(page: dict[str, Any], seen: int, cloud: bool, token: str | None) -> bool:
    if cloud:
        return bool(page.get("isLast", token is None)) or token is None
    return seen >= int(page.get("total", seen))


def quoted(value: str) -> str:
    """``value`` as a JQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
