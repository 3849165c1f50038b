"""Who may do what: the sender's own project permissions, not only the API user's.

``GET /rest/api/2/user/permission/search`` answers the users (among those the query names)
who hold a permission in a project; asked with the sender's accountId (Cloud) or username
(Data Center), an empty answer means the sender lacks it. It needs the API user to be a Jira
or project administrator, which ``check`` verifies. The API user's own permissions (may it
set the reporter?) come from ``/rest/api/2/mypermissions``. Service-desk customers hold no
project permissions: they may raise requests and comment when they are customers of the
desk (or when the desk is open to anyone, ``request_access: anyone``).
"""

from __future__ import annotations

from tracker_mail_plugin import Permission, UserRef
from tracker_mail_plugin_jira.config import JiraConfig
from tracker_mail_plugin_jira.errors import NotFound
from tracker_mail_plugin_jira.http import API, JiraHttp
from tracker_mail_plugin_jira.memo import Memo
from tracker_mail_plugin_jira.servicedesk import ServiceDesks
from tracker_mail_plugin_jira.users import Users

PERMISSION_FOR: dict[Permission, str] = {
    Permission.CREATE_ISSUE: "CREATE_ISSUES",
    Permission.CREATE_REQUEST: "CREATE_ISSUES",
    Permission.COMMENT: "ADD_COMMENTS",
    Permission.ATTACH_TO_PROJECT: "CREATE_ATTACHMENTS",
}


class Permissions:
    """Answers ``can`` questions, caching each answer for the adapter's life.

    Args:
        http: the connection.
        users: how people are named in queries.
        desks: the service desks, for customers.
        config: the adapter's options (``request_access``).
    """

    def __init__(self, http: JiraHttp, users: Users, desks: ServiceDesks, config: JiraConfig):
        self._http = http
        self._users = users
        self._desks = desks
        self._config = config
        self._answers: Memo[tuple[str, str, str], bool] = Memo()
        self._mine: Memo[tuple[str, str], bool] = Memo()

    def can(self, user: UserRef, action: Permission, project: str) -> bool:
        """Whether ``user`` may do ``action`` in ``project`` (False for unknown projects)."""
        if action == Permission.CREATE_REQUEST:
            return self._may_raise(user, project)
        if self.user_has(user, PERMISSION_FOR[action], project):
            return True
        if action == Permission.COMMENT:
            desk = self._desks.desk_of(project)
            return desk is not None and self._is_customer(desk, user)
        return False

    def user_has(self, user: UserRef, permission: str, project: str) -> bool:
        """Whether ``user`` holds the project permission ``permission`` in ``project``."""
        key = (user.id, permission, project)
        return self._answers.get(key, lambda: self._ask(user, permission, project))

    def _ask(self, user: UserRef, permission: str, project: str) -> bool:
        params: dict[str, str | int] = {
            "permissions": permission,
            "projectKey": project,
            self._users.id_param: user.id,
            "maxResults": 50,
        }
        what = f"checking {permission} of {user.name} in {project}"
        try:
            found = self._http.get(f"{API}/user/permission/search", params, what=what)
        except NotFound:  # no such project
            found = []
        return user.id in {_id_of(person) for person in found or []}

    def mine(self, permission: str, project: str) -> bool:
        """Whether the API user holds ``permission`` in ``project``."""
        return self._mine.get((permission, project), lambda: self._ask_mine(permission, project))

    def mine_globally(self, permission: str) -> bool:
        """Whether the API user holds the global permission ``permission``."""
        return self._mine.get((permission, ""), lambda: self._ask_mine(permission, None))

    def _ask_mine(self, permission: str, project: str | None) -> bool:
        params: dict[str, str | int] = {"permissions": permission}
        if project is not None:
            params["projectKey"] = project
        where = f" in {project}" if project is not None else ""
        answer = self._http.get(
            f"{API}/mypermissions", params, what=f"reading my permissions{where}"
        )
        entry = ((answer or {}).get("permissions") or {}).get(permission) or {}
        return bool(entry.get("havePermission"))

    def _may_raise(self, user: UserRef, project: str) -> bool:
        desk = self._desks.desk_of(project)
        if desk is None:
            return False
        if self._config.request_access == "anyone":
            return True
        return self._is_customer(desk, user) or self.user_has(user, "CREATE_ISSUES", project)

    def _is_customer(self, desk: int, user: UserRef) -> bool:
        key = (user.id, "customer", str(desk))
        return self._answers.get(key, lambda: self._desks.is_customer(desk, user))


def _id_of(person: dict[str, object]) -> str:
    return str(person.get("accountId") or person.get("name") or "")
