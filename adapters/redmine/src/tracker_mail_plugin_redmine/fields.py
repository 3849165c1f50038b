"""A new issue's fields in Redmine's terms, each resolved from a name to an id.

Tracker, priority, category, assignee, custom fields and watchers.

A name Redmine does not know is a :class:`PermanentError` that lists what it does know:
Redmine would otherwise drop the value without a word (an unknown tracker even becomes the
project's first one), and a rule or a ``Priority: Hihg`` line in a mail should fail loudly.
"""

from __future__ import annotations

import logging
from typing import Any

from tracker_mail_plugin import NewIssue, PermanentError
from tracker_mail_plugin_redmine.catalog import Catalog, Names, Project, fold
from tracker_mail_plugin_redmine.client import RedmineClient
from tracker_mail_plugin_redmine.config import RedmineConfig
from tracker_mail_plugin_redmine.people import People

logger = logging.getLogger("tracker_mail.redmine")
CATEGORY = "category"  # a custom_fields key (e.g. from a "Category:" line) that is no field


class Fields:
    """Resolves the named values of a new issue against one Redmine."""

    def __init__(
        self, client: RedmineClient, catalog: Catalog, people: People, config: RedmineConfig
    ):
        self._client = client
        self._catalog = catalog
        self._people = people
        self._config = config
        self._members: dict[int, Names] = {}

    def tracker_name(self, new: NewIssue) -> str | None:
        """The Redmine tracker ``new`` goes into; ``None`` leaves it to Redmine's default."""
        if new.request:
            return self._config.tracker_for(new.request_type or self._config.request_tracker)
        return self._config.tracker_for(new.issue_type) if new.issue_type else None

    def resolve(self, new: NewIssue, project: Project) -> dict[str, Any]:
        """The issue attributes other than subject, text, uploads and watchers."""
        where = f"in project {project.identifier}"
        attributes: dict[str, Any] = {"project_id": project.id}
        tracker = self.tracker_name(new)
        if tracker is not None:
            attributes["tracker_id"] = project.trackers.id_of(tracker, where)
        if new.priority:
            attributes["priority_id"] = self._catalog.priorities().id_of(new.priority)
        category = self._category(new, project)
        if category is not None:
            attributes["category_id"] = category
        if new.assignee:
            attributes["assigned_to_id"] = self._assignee(new.assignee, project)
        custom = [
            {"id": self._field(name, project, attributes.get("tracker_id")), "value": value}
            for name, value in new.custom_fields.items()
            if fold(name) != CATEGORY
        ]
        if custom:
            attributes["custom_fields"] = custom
        return attributes

    def _field(self, name: str, project: Project, tracker: int | None) -> int:
        """A custom field's id: linked to the project, or (administrators) any issue field.

        A field whose trackers exclude the issue's is refused here; whether a field "for
        all projects" is on is not visible, so ``Issues`` checks Redmine's answer too.
        """
        if name in project.custom_fields:
            return project.custom_fields.id_of(name)
        known = self._catalog.issue_fields().get(fold(name))
        if known is None:
            return project.custom_fields.id_of(name, f"in project {project.identifier}")
        if tracker is not None and known.trackers and tracker not in known.trackers:
            raise PermanentError(f"custom field {known.name!r} is not used by this tracker")
        return known.id

    def watcher_ids(self, new: NewIssue) -> list[int]:
        """Ids of the watchers (CC'd people with accounts); those without an id are skipped."""
        ids = set()
        for user in new.watchers:
            if user.id.isdigit():  # found by find_user: already Redmine's id
                ids.add(int(user.id))
                continue
            account = self._people.account(user) if self._people.can_act_as_senders else None
            if account is None:
                logger.info("watcher %s has no Redmine id here; not added", user.login or user.id)
            else:
                ids.add(account.id)
        return sorted(ids)

    def _category(self, new: NewIssue, project: Project) -> int | None:
        """From a ``category`` custom-field value, else the first label naming a category.

        Redmine has no labels; labels that name no category are not an error (rules written
        for trackers with labels still work) but are logged.
        """
        named = [v for k, v in new.custom_fields.items() if fold(k) == CATEGORY]
        if named:
            return project.categories.id_of(named[0], f"in project {project.identifier}")
        matching = [label for label in new.labels if label in project.categories]
        if len(matching) < len(new.labels):
            left = [label for label in new.labels if label not in matching]
            logger.info("labels %s name no issue category of %s", left, project.identifier)
        return project.categories.id_of(matching[0]) if matching else None

    def _assignee(self, who: str, project: Project) -> int:
        """A member of ``project`` by address, login or name."""
        members = self._project_members(project)
        if who in members:
            return members.id_of(who)
        if self._people.can_act_as_senders:
            found = self._people.find(who) if "@" in who else None
            found = found or self._people.by_login(who)
            if found is not None and found.id.isdigit() and int(found.id) in members.ids.values():
                return int(found.id)
        raise PermanentError(
            f"cannot assign to {who!r}: no member of project {project.identifier} has that "
            f"name, login or address (members: {', '.join(members.shown) or 'none'})"
        )

    def _project_members(self, project: Project) -> Names:
        if project.id not in self._members:
            data = self._client.get(
                f"/projects/{project.id}/memberships.json",
                {"limit": 100},
                what=f"list the members of {project.identifier}",
            )
            users = [m["user"] for m in data.get("memberships", []) if m.get("user")]
            self._members[project.id] = Names.of("member", users)
        return self._members[project.id]
