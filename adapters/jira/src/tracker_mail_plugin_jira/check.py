"""``check``: sign in, say what Jira this is, and verify every name the rules use.

Authentication failures and an unreachable server raise (the core prints them and exits 2
or 3); everything else found wrong is a problem in the report, all of them at once.
"""

from __future__ import annotations

from collections.abc import Mapping

from tracker_mail_plugin import CheckReport, ConfigurationError, Requirements, UserRef
from tracker_mail_plugin_jira.config import Deployment, JiraConfig
from tracker_mail_plugin_jira.fields import FieldCatalog
from tracker_mail_plugin_jira.http import API, JiraHttp
from tracker_mail_plugin_jira.permissions import Permissions
from tracker_mail_plugin_jira.projects import Projects
from tracker_mail_plugin_jira.screens import CreateScreens
from tracker_mail_plugin_jira.servicedesk import ServiceDesks
from tracker_mail_plugin_jira.users import Users, to_user


class Checker:
    """Runs the checks; built by the adapter from its own parts.

    Args:
        http: the connection.
        config: the adapter's options.
        projects: project lookups.
        desks: service desk lookups.
        fields: the field catalog.
        users: user lookups.
        permissions: permission lookups.
        screens: the create screens, to find fields rules set that a screen lacks.
    """

    def __init__(
        self,
        http: JiraHttp,
        config: JiraConfig,
        projects: Projects,
        desks: ServiceDesks,
        fields: FieldCatalog,
        users: Users,
        permissions: Permissions,
        screens: CreateScreens | None = None,
    ):
        self._screens = screens
        self._http = http
        self._config = config
        self._projects = projects
        self._desks = desks
        self._fields = fields
        self._users = users
        self._permissions = permissions

    def run(self, needs: Requirements | None) -> CheckReport:
        """Connect, then verify the configuration and ``needs`` against this Jira."""
        info = self._http.get(f"{API}/serverInfo", what="reading the server information")
        me_data = self._http.get(f"{API}/myself", what="signing in")
        cloud = self._config.effective_deployment == Deployment.CLOUD
        me = to_user(me_data, cloud)
        server = (
            Deployment.CLOUD if info.get("deploymentType") == "Cloud" else Deployment.DATACENTER
        )
        facts = {
            "deployment": server.value,
            "version": str(info.get("version", "unknown")),
            "identity": f"{me.name} ({me.id})",
        }
        problems = []
        if server != self._config.effective_deployment:
            problems.append(
                f"the server is Jira {server.value} but the configuration signs in as "
                f"{self._config.effective_deployment.value} (see deployment and the credentials)"
            )
        else:
            problems += self._users_map() + (self._needs(needs, me) if needs else [])
        return CheckReport(problems=tuple(problems), facts=facts)

    def _users_map(self) -> list[str]:
        return [
            f"users: {address} is mapped to {account!r}, which Jira does not know"
            for address, account in self._config.users.items()
            if self._users.by_id(account, what=f"checking the account of {address}") is None
        ]

    def _needs(self, needs: Requirements, me: UserRef) -> list[str]:
        problems: list[str] = []
        for project, kind in sorted(needs.issues, key=_order):
            problems += self._issue_type(project, kind) or self._off_screen(project, kind, needs)
        for project, kind in sorted(needs.requests, key=_order):
            problems += self._request_type(project, kind, needs.request_fields)
        inboxes = (self._inbox(project) for project in sorted(needs.attach_to_project))
        problems += [problem for problem in inboxes if problem]
        problems += [
            f"no field called {name!r} (fields are named as Jira shows them, or by id)"
            for name in sorted(needs.fields)
            if self._fields.find(name) is None
        ]
        problems += [
            f"project {project}: create_user makes service-desk customers, and {project} "
            "is not a service desk"
            for project in sorted(needs.create_users_in)
            if self._desks.desk_of(project) is None
        ]
        problems += self._options(needs)
        problems += self._may_ask_permissions(needs, me)
        return problems

    def _issue_type(self, project: str, kind: str | None) -> list[str]:
        found = self._projects.get(project)
        if found is None:
            return [f"project {project} does not exist or the API user cannot see it"]
        name = self._config.issue_type(kind)
        if found.has_type(name):
            return []
        offered = ", ".join(found.issue_types) or "none"
        return [f"project {project} has no issue type {name!r} (it has: {offered})"]

    def _off_screen(self, project: str, kind: str | None, needs: Requirements) -> list[str]:
        """The fields rules set that the create screen of ``kind`` in ``project`` lacks.

        Fields are named in the requirements without their project, so each named field is
        looked for on every screen the rules create on.
        """
        name = self._config.issue_type(kind)
        screen = self._screens.fields(project, name) if self._screens else None
        if screen is None:
            return []
        ruled = {"labels": "labels"} if needs.labels.get(project) else {}
        for field_name in sorted(needs.fields):
            found = self._fields.find(field_name)
            if found is not None:
                ruled[found.id] = field_name
        return [
            f"project {project}: the create screen of {name} has no field {shown!r}, which "
            "a rule sets (it is left out of the issue; add it to the screen)"
            for field_id, shown in ruled.items()
            if field_id not in screen
        ]

    def _request_type(
        self, project: str, kind: str | None, sets: Mapping[tuple[str, str | None], frozenset[str]]
    ) -> list[str]:
        desk = self._desks.desk_of(project)
        if desk is None:
            return [f"project {project} is not a Jira Service Management service desk"]
        name = self._config.request_type(kind)
        if name is None:
            return [f"project {project}: a rule names no request type and there is no "
                    "default_request_type"]  # fmt: skip
        known = self._desks.request_types(desk)
        if name.casefold() not in known:
            return [f"service desk {project} has no request type {name!r}"]
        wanted = sorted(sets.get((project, kind), frozenset()))
        if not wanted:
            return []
        offered = self._desks.request_type_fields(desk, known[name.casefold()])
        return [
            f"request type {name!r} of service desk {project} has no field {field!r}: "
            "rules set it, and requests leave it out"
            for field in wanted
            if self._field_id(field) not in offered
        ]

    def _field_id(self, name: str) -> str:
        """The id of a field a rule names (``priority``, ``labels``, a custom field)."""
        if name in ("priority", "labels"):
            return name
        found = self._fields.find(name)
        return found.id if found is not None else name

    def _inbox(self, project: str) -> str | None:
        issue = self._config.inbox_issues.get(project)
        if issue is None:
            return (f"attach_to_project {project}: Jira has no project files; name an issue "
                    f"to file messages on in inbox_issues ({project}: {project}-N)")  # fmt: skip
        found = self._http.get(
            f"{API}/issue/{issue}", {"fields": "project"}, what=f"reading {issue}", missing_ok=True
        )
        return None if found else f"inbox issue {issue} does not exist or is not visible"

    def _options(self, needs: Requirements) -> list[str]:
        problems = []
        if needs.private_issues and self._config.security_level is None:
            problems.append("rules create private issues but no security_level is configured")
        plain = {p for p, _ in needs.issues} - {p for p, _ in needs.requests}
        if needs.private_comments and plain and self._config.private_comment_role is None:
            problems.append("rules add private comments but no private_comment_role is set")
        return problems

    def _may_ask_permissions(self, needs: Requirements, me: UserRef) -> list[str]:
        """One permission question about the API user itself, to see that it may ask."""
        projects = sorted({p for p, _ in needs.issues} | {p for p, _ in needs.requests})
        if not projects:
            return []
        try:
            self._permissions.user_has(me, "BROWSE_PROJECTS", projects[0])
        except ConfigurationError as exc:
            return [f"the API user cannot read other users' permissions ({exc.message}); "
                    "it needs Administer Jira or Administer Projects"]  # fmt: skip
        if not self._permissions.mine_globally("USER_PICKER"):
            # Jira answers user searches without it with nobody, not with an error.
            return [
                "the API user lacks the Browse users and groups global permission: Jira "
                "answers its user searches with nobody, so every sender would be unknown"
            ]
        return []


def _order(pair: tuple[str, str | None]) -> tuple[str, str]:
    return pair[0], pair[1] or ""
