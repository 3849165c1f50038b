"""Projects as Jira describes them (``GET /rest/api/2/project/{key}``), read once each."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tracker_mail_plugin_jira.http import API, JiraHttp
from tracker_mail_plugin_jira.memo import Memo


@dataclass(frozen=True, slots=True)
class Project:
    """A project's key, name and the issue types it offers (with their ids, by name)."""

    key: str
    name: str
    issue_types: tuple[str, ...]
    type_ids: Mapping[str, str] = field(default_factory=dict, compare=False)

    def has_type(self, name: str) -> bool:
        """Whether the project offers the issue type ``name`` (case-insensitive)."""
        return name.casefold() in (kind.casefold() for kind in self.issue_types)

    def type_id(self, name: str) -> str | None:
        """The id of the issue type ``name`` (case-insensitive), if the project offers it."""
        return self.type_ids.get(name.casefold())


class Projects:
    """Looks projects up by key; a project that does not exist (or is hidden) is ``None``.

    Args:
        http: the connection.
    """

    def __init__(self, http: JiraHttp):
        self._http = http
        self._known: Memo[str, Project | None] = Memo()

    def get(self, key: str) -> Project | None:
        """The project ``key``, or ``None``."""
        return self._known.get(key, lambda: self._read(key))

    def _read(self, key: str) -> Project | None:
        data = self._http.get(
            f"{API}/project/{key}", what=f"reading project {key}", missing_ok=True
        )
        if data is None:
            return None
        return Project(
            key=str(data["key"]),
            name=str(data.get("name") or data["key"]),
            issue_types=tuple(str(t["name"]) for t in data.get("issueTypes") or []),
            type_ids={
                str(t["name"]).casefold(): str(t["id"])
                for t in data.get("issueTypes") or []
                if "id" in t
            },
        )
