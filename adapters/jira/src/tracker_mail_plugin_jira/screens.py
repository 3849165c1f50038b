"""Create screens: which fields a project's issue type accepts when an issue is created.

Jira refuses a create that sets a field the project's create screen lacks with a 400 ("Field
'priority' cannot be set. It is not on the appropriate screen, or unknown."), and team-managed
projects often lack priority or labels. The create metadata says which fields the screen has:
``GET /rest/api/2/issue/createmeta/{project}/issuetypes/{issueTypeId}``, paged, on Cloud and
on Data Center since 8.4 (the older ``createmeta?expand=projects.issuetypes.fields`` is gone
from both). Cloud lists the fields under ``fields``, Data Center under ``values``.
"""

from __future__ import annotations

from typing import Any

from tracker_mail_plugin_jira.http import API, JiraHttp
from tracker_mail_plugin_jira.projects import Projects

PAGE = 50


class CreateScreens:
    """The field ids on each (project, issue type) create screen, read once each.

    Args:
        http: the connection.
        projects: project lookups (for the issue type's id).
    """

    def __init__(self, http: JiraHttp, projects: Projects):
        self._http = http
        self._projects = projects
        self._known: dict[tuple[str, str], frozenset[str] | None] = {}

    def fields(self, project: str, issue_type: str) -> frozenset[str] | None:
        """The ids of the fields on the screen; ``None`` when the project or type is unknown."""
        wanted = (project, issue_type.casefold())
        if wanted not in self._known:
            self._known[wanted] = self._read(project, issue_type)
        return self._known[wanted]

    def _read(self, project: str, issue_type: str) -> frozenset[str] | None:
        found = self._projects.get(project)
        type_id = found.type_id(issue_type) if found is not None else None
        if type_id is None:
            return None
        path = f"{API}/issue/createmeta/{project}/issuetypes/{type_id}"
        what = f"reading the create screen of {issue_type} in {project}"
        ids: set[str] = set()
        start = 0
        while True:
            page: dict[str, Any] = (
                self._http.get(
                    path, {"startAt": start, "maxResults": PAGE}, what=what, missing_ok=True
                )
                or {}
            )
            listed = page.get("fields") or page.get("values") or page.get("results") or []
            ids.update(str(item["fieldId"]) for item in listed if "fieldId" in item)
            start += len(listed)
            if not listed or page.get("isLast") or start >= int(page.get("total", start)):
                return frozenset(ids)
