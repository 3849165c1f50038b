"""Redmine's names and ids: projects, trackers, priorities, roles, statuses.

Rules name things the way people do (``project: support``, ``type: Bug``, ``Priority:
high``); the REST API wants ids. Each list is read once per adapter (a run) and matched
without regard to case, so a keyword line written ``Priority: high`` finds ``High``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

from tracker_mail_plugin import PermanentError
from tracker_mail_plugin_redmine.client import Forbidden, RedmineClient

ACTIVE = 1  # Project::STATUS_ACTIVE; closed (5) and archived (9) projects take no writes
_PROJECT_INCLUDES = "trackers,issue_categories,enabled_modules,issue_custom_fields"


def fold(name: str) -> str:
    """The form names are compared in: case- and surrounding-space-insensitive."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True, slots=True)
class Names:
    """Named things of one kind (trackers, priorities…): ids by folded name."""

    kind: str
    ids: Mapping[str, int]
    shown: tuple[str, ...]

    @classmethod
    def of(cls, kind: str, items: Iterable[Mapping[str, Any]]) -> Names:
        """From API items carrying ``id`` and ``name``."""
        listed = [(str(item["name"]), int(item["id"])) for item in items]
        ids = MappingProxyType({fold(name): id for name, id in listed})
        return cls(kind, ids, tuple(name for name, _ in listed))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and fold(name) in self.ids

    def id_of(self, name: str, where: str = "") -> int:
        """The id of ``name``; a PermanentError listing the choices when there is none."""
        try:
            return self.ids[fold(name)]
        except KeyError:
            listed = ", ".join(self.shown) or "none"
            place = f" {where}" if where else ""
            raise PermanentError(
                f"Redmine has no {self.kind} {name!r}{place} (there is: {listed})"
            ) from None


@dataclass(frozen=True, slots=True)
class Project:
    """What the adapter needs to know about one project."""

    id: int
    identifier: str
    name: str
    status: int
    trackers: Names
    categories: Names
    modules: frozenset[str]
    custom_fields: Names
    parent_id: int | None
    inherit_members: bool

    @property
    def active(self) -> bool:
        """Open for new issues and notes (not closed, not archived)."""
        return self.status == ACTIVE

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Project:
        """Build from ``GET /projects/X.json`` with the trackers, categories etc. included."""
        parent = data.get("parent") or {}
        return cls(
            id=int(data["id"]),
            identifier=str(data["identifier"]),
            name=str(data["name"]),
            status=int(data.get("status", ACTIVE)),
            trackers=Names.of("tracker", data.get("trackers", [])),
            categories=Names.of("issue category", data.get("issue_categories", [])),
            modules=frozenset(str(m["name"]) for m in data.get("enabled_modules", [])),
            custom_fields=Names.of("issue custom field", data.get("issue_custom_fields", [])),
            parent_id=int(parent["id"]) if parent.get("id") else None,
            inherit_members=bool(data.get("inherit_members", False)),
        )


@dataclass(frozen=True, slots=True)
class IssueField:
    """An issue custom field as ``/custom_fields.json`` shows it (administrators only)."""

    id: int
    name: str
    trackers: frozenset[int]


@dataclass(frozen=True, slots=True)
class Tracker:
    """A tracker (issue type) and the status its issues start in."""

    id: int
    name: str
    default_status: int | None


class Catalog:
    """Cached name and id lookups against one Redmine.

    Args:
        client: the connection; nothing is read before the first lookup.
    """

    def __init__(self, client: RedmineClient):
        self._client = client
        self._projects: dict[str, Project] = {}
        self._trackers: dict[str, Tracker] | None = None
        self._priorities: Names | None = None
        self._roles: Names | None = None
        self._permissions: dict[int, frozenset[str]] = {}
        self._statuses: dict[int, tuple[str, bool]] | None = None
        self._fields: dict[str, IssueField] | None = None

    def project(self, ref: str) -> Project:
        """The project with identifier or id ``ref``; raises NotFound when there is none."""
        key = ref.strip()
        if key not in self._projects:
            data = self._client.get(
                f"/projects/{quote(key, safe='')}.json",
                {"include": _PROJECT_INCLUDES},
                what=f"read project {key}",
            )["project"]
            project = Project.from_json(data)
            self._projects[key] = self._projects[project.identifier] = project
            self._projects[str(project.id)] = project
        return self._projects[key]

    def trackers(self) -> Mapping[str, Tracker]:
        """Every tracker by folded name."""
        if self._trackers is None:
            data = self._client.get("/trackers.json", what="list trackers")["trackers"]
            self._trackers = {
                fold(t["name"]): Tracker(
                    int(t["id"]), str(t["name"]), (t.get("default_status") or {}).get("id")
                )
                for t in data
            }
        return self._trackers

    def priorities(self) -> Names:
        """Active issue priorities."""
        if self._priorities is None:
            data = self._client.get(
                "/enumerations/issue_priorities.json", what="list issue priorities"
            )["issue_priorities"]
            self._priorities = Names.of("priority", (p for p in data if p.get("active", True)))
        return self._priorities

    def roles(self) -> Names:
        """The roles that can be given to members."""
        if self._roles is None:
            data = self._client.get("/roles.json", what="list roles")["roles"]
            self._roles = Names.of("role", data)
        return self._roles

    def permissions(self, role_id: int) -> frozenset[str]:
        """The permissions of one role (``add_issues``, ``add_issue_notes``…)."""
        if role_id not in self._permissions:
            data = self._client.get(f"/roles/{role_id}.json", what=f"read role {role_id}")
            self._permissions[role_id] = frozenset(data["role"].get("permissions", []))
        return self._permissions[role_id]

    def issue_fields(self) -> Mapping[str, IssueField]:
        """Every issue custom field by folded name; empty for a key that may not list them.

        The project API shows only the fields linked to a project by hand, not those "for
        all projects", so this list (an administrator's) is where most fields are found.
        """
        if self._fields is None:
            try:
                data = self._client.get("/custom_fields.json", what="list custom fields")
            except Forbidden:
                data = {}
            self._fields = {
                fold(f["name"]): IssueField(
                    int(f["id"]),
                    str(f["name"]),
                    frozenset(int(t["id"]) for t in f.get("trackers", [])),
                )
                for f in data.get("custom_fields", [])
                if f.get("customized_type") == "issue"
            }
        return self._fields

    def statuses(self) -> Mapping[int, tuple[str, bool]]:
        """Issue statuses: id to (name, is_closed)."""
        if self._statuses is None:
            data = self._client.get("/issue_statuses.json", what="list issue statuses")
            self._statuses = {
                int(s["id"]): (str(s["name"]), bool(s.get("is_closed")))
                for s in data["issue_statuses"]
            }
        return self._statuses

    def status_named(self, name: str) -> int:
        """The id of the status called ``name``; PermanentError naming the choices if none."""
        items = [{"id": id, "name": shown} for id, (shown, _) in self.statuses().items()]
        return Names.of("issue status", items).id_of(name)
