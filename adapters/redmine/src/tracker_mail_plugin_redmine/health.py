"""``check``: authenticate, describe the Redmine, and verify every name the setup relies on.

Missing projects, trackers, roles or fields are reported as problems (the run would fail on
them), before any mail is touched. The names come from two places: the adapter's own
options (``created_user_role``, ``request_tracker``, ``tracker_names``,
``idempotency_field``, ``reopen_status``), always checked, and the core's
:class:`~tracker_mail_plugin.Requirements`, gathered from the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tracker_mail_plugin import CheckReport, ConfigurationError, PermanentError, Requirements
from tracker_mail_plugin_redmine.catalog import Catalog, Project, fold
from tracker_mail_plugin_redmine.client import Forbidden, NotFound, RedmineClient
from tracker_mail_plugin_redmine.config import RedmineConfig
from tracker_mail_plugin_redmine.people import People

_ISSUES, _FILES = "issue_tracking", "files"


@dataclass
class _Findings:
    problems: list[str] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)

    def report(self) -> CheckReport:
        return CheckReport(tuple(dict.fromkeys(self.problems)), self.facts)


class Health:
    """Runs ``check`` for the adapter."""

    def __init__(
        self, client: RedmineClient, catalog: Catalog, people: People, config: RedmineConfig
    ):
        self._client = client
        self._catalog = catalog
        self._people = people
        self._config = config

    def check(self, needs: Requirements | None = None) -> CheckReport:
        """Authenticate and describe the Redmine; report every missing name as a problem.

        Raises what the connection raises (401: configuration error; no connection:
        unreachable), since nothing else can be checked then.
        """
        found = _Findings()
        me = self._people.me()
        trackers = self._client.get("/trackers.json", what="list trackers")["trackers"]
        found.facts |= {
            "url": self._client.url,
            "version": _version(trackers),
            "identity": me.login,
            "admin": "yes" if me.admin else "no",
            "senders": self._senders_fact(me.admin, me.login),
            "text formatting": _formatting(self._config),
        }
        if self._client.url.startswith("https:"):
            found.facts["tls"] = _tls(self._config)
        self._own_names(found, me.admin)
        if needs is not None:
            self._needs(found, needs)
        return found.report()

    def field_id(self) -> int | None:
        """The id of ``idempotency_field``; ``None`` when none is configured."""
        name = self._config.idempotency_field
        if name is None:
            return None
        found = self._catalog.issue_fields().get(fold(name))
        if found is None:
            raise ConfigurationError(
                f"Redmine has no issue custom field {name!r} (idempotency_field), or the "
                "API key is not an administrator's and may not list custom fields"
            )
        return found.id

    def _senders_fact(self, admin: bool, login: str) -> str:
        if admin:
            return "looked up by address, written as themselves (X-Redmine-Switch-User)"
        return (
            f"not an administrator's key: senders known only from the users map "
            f"({len(self._config.users)} entries), written as {login} with a From line, "
            f"permissions are {login}'s"
        )

    # -- the adapter's own options ----------------------------------------------------------

    def _own_names(self, found: _Findings, admin: bool) -> None:
        config = self._config
        trackers = self._catalog.trackers()
        for name in sorted({config.request_tracker, *config.tracker_names.values()}):
            if fold(name) not in trackers:
                found.problems.append(f"Redmine has no tracker {name!r} (named in the options)")
        if config.created_user_role not in self._catalog.roles():
            found.problems.append(
                f"Redmine has no role {config.created_user_role!r} (created_user_role)"
            )
        if config.reopen_status:
            try:
                self._catalog.status_named(config.reopen_status)
            except PermanentError as exc:
                found.problems.append(exc.message)
        if config.idempotency_field:
            self._idempotency(found, admin)
        else:
            found.facts["idempotency"] = f"hidden marker in the text ({config.text_formatting})"

    def _idempotency(self, found: _Findings, admin: bool) -> None:
        if not admin:
            found.problems.append("idempotency_field needs an administrator's API key")
            return
        try:
            field_id = self.field_id()
        except ConfigurationError as exc:
            found.problems.append(exc.message)
            return
        found.facts["idempotency"] = f"custom field {self._config.idempotency_field} (#{field_id})"

    # -- what the rules need ------------------------------------------------------------------

    def _needs(self, found: _Findings, needs: Requirements) -> None:
        for ref, kind in sorted(needs.issues, key=str):
            tracker = self._config.tracker_for(kind) if kind else None
            self._project(found, ref, _ISSUES, tracker)
        for ref, kind in sorted(needs.requests, key=str):
            self._project(
                found, ref, _ISSUES, self._config.tracker_for(kind or self._config.request_tracker)
            )
        for ref in sorted(needs.attach_to_project):
            self._project(found, ref, _FILES, None)
        for ref in sorted(needs.create_users_in):
            self._project(found, ref, _ISSUES, None)
        self._fields(found, needs.fields)
        self._labels(found, needs.labels)

    def _project(self, found: _Findings, ref: str, module: str, tracker: str | None) -> None:
        project = self._find(found, ref)
        if project is None:
            return
        if not project.active:
            found.problems.append(f"project {ref!r} is closed or archived")
        if module not in project.modules:
            found.problems.append(f"project {ref!r} has the {module} module turned off")
        if tracker is not None and tracker not in project.trackers:
            shown = ", ".join(project.trackers.shown) or "none"
            found.problems.append(f"project {ref!r} has no tracker {tracker!r} (it has: {shown})")

    def _find(self, found: _Findings, ref: str) -> Project | None:
        try:
            return self._catalog.project(ref)
        except (NotFound, Forbidden):
            found.problems.append(f"Redmine has no project {ref!r} (or the API key cannot see it)")
            return None

    def _fields(self, found: _Findings, names: frozenset[str]) -> None:
        known = self._catalog.issue_fields()
        if not known:  # a key that may not list custom fields: create_issue will tell
            return
        for name in sorted(names):
            if fold(name) not in known and fold(name) != "category":
                found.problems.append(f"Redmine has no issue custom field {name!r}")

    def _labels(self, found: _Findings, labels: Mapping[str, frozenset[str]]) -> None:
        """Redmine has no labels: a label naming a category sets it, others are dropped."""
        dropped = []
        for ref, names in sorted(labels.items()):
            project = self._find(found, ref)
            if project is not None:
                dropped += [f"{n} ({ref})" for n in sorted(names) if n not in project.categories]
        if dropped:
            listed = ", ".join(dropped)
            found.facts["labels"] = f"ignored (Redmine has no labels, no such category): {listed}"


def _tls(config: RedmineConfig) -> str:
    if not config.verify_tls:
        return "NOT verified (verify_tls: false)"
    return f"verified with {config.ca_file}" if config.ca_file else "verified"


def _version(trackers: list[Mapping[str, Any]]) -> str:
    """The version as far as the API's answers show it (Redmine does not report it)."""
    sample = trackers[0] if trackers else {}
    if "enabled_standard_fields" in sample:
        return "5.0 or later (from the API's features; Redmine does not report its version)"
    if "description" in sample:
        return "4.2 (from the API's features; Redmine does not report its version)"
    return "older than 4.2 (from the API's features; Redmine does not report its version)"


def _formatting(config: RedmineConfig) -> str:
    """The text formatting used, and where it comes from (the REST API does not say)."""
    if "text_formatting" in config.model_fields_set:
        return f"{config.text_formatting} (as configured)"
    return (
        f"{config.text_formatting} (the default; set text_formatting if your Redmine uses another)"
    )
