"""Users and what they may do: lookups by address, memberships, roles, new accounts.

Looking users up by address (``GET /users.json``) and acting as them
(``X-Redmine-Switch-User``) both need an administrator's API key. With any other key the
adapter still works, in a reduced way it reports in ``check``: senders are known only
through the ``users`` map, everything is written as the key's own account with the sender
named in the text, and permissions are those of that account.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tracker_mail_plugin import PermanentError, Permission, UserRef
from tracker_mail_plugin_redmine.catalog import Catalog, Project
from tracker_mail_plugin_redmine.client import RedmineClient
from tracker_mail_plugin_redmine.config import RedmineConfig

logger = logging.getLogger("tracker_mail.redmine")

ACTIVE_USER = 1
# How long a sender look-up is reused. One run asks about the same few senders hundreds of
# times (568 look-ups for 42 senders in the benchmark); an account made or locked by a
# person meanwhile is seen at the latest this much later.
SENDER_CACHE_SECONDS = 600.0
# A Redmine with at most this many active accounts (one page of GET /users.json) is read
# whole once and senders are found in it, instead of one look-up per sender.
_DIRECTORY_MAX = 100
_LOGIN_UNSAFE = re.compile(r"[^a-z0-9_\-@.]")
_LOGIN_MAX = 60
# What each action needs in the project (Redmine's permission names).
NEEDED: Mapping[Permission, str] = {
    Permission.CREATE_ISSUE: "add_issues",
    Permission.CREATE_REQUEST: "add_issues",
    Permission.COMMENT: "add_issue_notes",
    Permission.ATTACH_TO_PROJECT: "manage_files",
}
_MODULE: Mapping[Permission, str] = {
    Permission.CREATE_ISSUE: "issue_tracking",
    Permission.CREATE_REQUEST: "issue_tracking",
    Permission.COMMENT: "issue_tracking",
    Permission.ATTACH_TO_PROJECT: "files",
}


@dataclass(frozen=True, slots=True)
class Account:
    """A Redmine user as the adapter sees it."""

    id: int
    login: str
    name: str
    email: str | None
    admin: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Account:
        """From a user object of the users API."""
        name = f"{data.get('firstname', '')} {data.get('lastname', '')}".strip()
        return cls(
            id=int(data["id"]),
            login=str(data.get("login") or ""),
            name=name or str(data.get("login") or ""),
            email=data.get("mail"),
            admin=bool(data.get("admin", False)),
        )

    def ref(self) -> UserRef:
        """The core's value for this account."""
        return UserRef(id=str(self.id), login=self.login, name=self.name, email=self.email)


@dataclass(frozen=True, slots=True)
class Member:
    """An account with its status and its roles by project id."""

    account: Account
    status: int
    roles: Mapping[int, frozenset[int]]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Member:
        """From ``GET /users/N.json?include=memberships``."""
        found: dict[int, set[int]] = {}
        for membership in data.get("memberships", []):
            project = (membership.get("project") or {}).get("id")
            if project is not None:
                ids = {int(role["id"]) for role in membership.get("roles", [])}
                found.setdefault(int(project), set()).update(ids)
        roles = {project: frozenset(ids) for project, ids in found.items()}
        return cls(Account.from_json(data), int(data.get("status", ACTIVE_USER)), roles)


@dataclass(frozen=True, slots=True)
class Permissions:
    """What one account may do in one project."""

    names: frozenset[str]
    admin: bool = False

    def allows(self, permission: str) -> bool:
        """Whether the account has ``permission`` (administrators have all)."""
        return self.admin or permission in self.names


class People:
    """Users, memberships and permissions of one Redmine.

    Args:
        client: the connection.
        catalog: the shared name lookups.
        config: the adapter's options (the users map, the role for new accounts).
    """

    def __init__(self, client: RedmineClient, catalog: Catalog, config: RedmineConfig):
        self._client = client
        self._catalog = catalog
        self._config = config
        self._me: Account | None = None
        self._members: dict[int, Member] = {}
        self._senders: dict[str, tuple[float, UserRef | None]] = {}
        self._senders_lock = threading.Lock()
        self._directory: tuple[float, tuple[Account, ...] | None] | None = None
        self._directory_lock = threading.Lock()
        self._me_lock = threading.Lock()

    # -- who ------------------------------------------------------------------------------

    def me(self) -> Account:
        """The account the API key belongs to (``GET /users/current.json``, read once)."""
        with self._me_lock:  # workers all start by asking this: one of them reads it
            if self._me is None:
                data = self._client.get(
                    "/users/current.json", {"include": "memberships"}, what="authenticate"
                )["user"]
                member = Member.from_json(data)
                self._members[member.account.id] = member
                self._me = member.account
            return self._me

    @property
    def can_act_as_senders(self) -> bool:
        """Whether the key may look senders up and act as them (an administrator's key)."""
        return self.me().admin

    def find(self, address: str) -> UserRef | None:
        """The active account with exactly this address, else the users map's login.

        Answers, found or not, are kept for :data:`SENDER_CACHE_SECONDS`.
        """
        wanted = address.strip().lower()
        with self._senders_lock:
            cached = self._senders.get(wanted)
        if cached is not None and time.monotonic() - cached[0] < SENDER_CACHE_SECONDS:
            return cached[1]
        found = self._find(wanted)
        self._remember(wanted, found)
        return found

    def _remember(self, address: str, user: UserRef | None) -> None:
        with self._senders_lock:
            self._senders[address] = (time.monotonic(), user)

    def _find(self, wanted: str) -> UserRef | None:
        if self.can_act_as_senders:
            found = self._active(wanted, lambda a: (a.email or "").lower() == wanted)
            if found is not None:
                return found.ref()
        login = self._config.users.get(wanted)
        if login is None:
            return None
        if not self.can_act_as_senders:
            # Cannot be checked without an administrator's key: the operator vouched for it.
            return UserRef(id=login, login=login, name=login, email=wanted)
        account = self._active(login, lambda a: a.login.lower() == login.lower())
        if account is None:
            logger.warning(
                "users map: %s -> %s, but Redmine has no active %s", wanted, login, login
            )
        return account.ref() if account is not None else None

    def by_login(self, login: str) -> UserRef | None:
        """The active account with this login (needs an administrator's key), if any."""
        found = self._lookup(login, lambda a: a.login.lower() == login.lower())
        return found.ref() if found is not None else None

    def account(self, user: UserRef) -> Account | None:
        """The active account ``user`` stands for (by id, else by login), if any."""
        if user.id.isdigit():
            return self.member(int(user.id)).account
        login = user.login or user.id
        return self._lookup(login, lambda a: a.login.lower() == login.lower())

    def _active(self, term: str, exact: Any) -> Account | None:
        """The one active account ``exact`` accepts: from the directory, else looked up."""
        accounts = self._directory_accounts()
        if accounts is None:
            return self._lookup(term, exact)
        matches = [a for a in accounts if exact(a)]
        return matches[0] if len(matches) == 1 else None

    def _directory_accounts(self) -> tuple[Account, ...] | None:
        """Every active account, when Redmine has few enough to read at once (else None).

        Read again after :data:`SENDER_CACHE_SECONDS`, like a look-up's answer.
        """
        with self._directory_lock:  # workers all start by finding a sender: one reads it
            now = time.monotonic()
            if self._directory is None or now - self._directory[0] >= SENDER_CACHE_SECONDS:
                params = {"status": ACTIVE_USER, "limit": _DIRECTORY_MAX}
                data = self._client.get("/users.json", params, what="look up users")
                users = data.get("users", [])
                whole = int(data.get("total_count", len(users))) <= len(users)
                listed = tuple(map(Account.from_json, users)) if whole else None
                self._directory = (now, listed)
            return self._directory[1]

    def _lookup(self, term: str, exact: Any, status: int | str = ACTIVE_USER) -> Account | None:
        """``GET /users.json?name=`` (a substring match) narrowed to the exact account."""
        data = self._client.get(
            "/users.json", {"name": term, "status": status, "limit": 100}, what="look up users"
        )
        matches = [a for a in map(Account.from_json, data.get("users", [])) if exact(a)]
        return matches[0] if len(matches) == 1 else None

    # -- may they -------------------------------------------------------------------------

    def may(self, user: UserRef | None, action: Permission, project: Project) -> bool:
        """Whether ``user`` may do ``action`` in ``project``: membership, role, module."""
        if not project.active or _MODULE[action] not in project.modules:
            return False
        if user is None:
            return False
        subject = self.account(user) if self.can_act_as_senders else self.me()
        if subject is None:
            return False
        return self.permissions(subject, project).allows(NEEDED[action])

    def permissions(self, account: Account, project: Project) -> Permissions:
        """The union of ``account``'s roles' permissions in ``project``.

        A project that inherits members also counts the roles held in its parent.
        """
        if account.admin:
            return Permissions(frozenset(), admin=True)
        memberships = self.member(account.id).roles
        roles = set(memberships.get(project.id, frozenset()))
        if project.inherit_members and project.parent_id is not None:
            roles |= memberships.get(project.parent_id, frozenset())
        names: set[str] = set()
        for role in roles:
            names |= self._catalog.permissions(role)
        return Permissions(frozenset(names))

    def member(self, user_id: int) -> Member:
        """The account with id ``user_id``, its status and roles (read once, then cached)."""
        if user_id not in self._members:
            data = self._client.get(
                f"/users/{user_id}.json", {"include": "memberships"}, what=f"read user {user_id}"
            )["user"]
            self._members[user_id] = Member.from_json(data)
        return self._members[user_id]

    # -- new accounts (create_user) ---------------------------------------------------------

    def create(self, address: str, name: str, project: Project) -> UserRef:
        """An account for ``address`` that is a member of ``project`` (made if missing).

        Idempotent: an existing active account is reused and only given the membership, so
        a run that died between the two steps completes them.
        """
        wanted = address.strip().lower()
        role = self._catalog.roles().id_of(self._config.created_user_role, "(created_user_role)")
        existing = self._lookup(wanted, lambda a: (a.email or "").lower() == wanted, status="")
        if existing is None:
            existing = self._new_account(wanted, name)
        elif self.member(existing.id).status != ACTIVE_USER:
            raise PermanentError(f"the Redmine account of {wanted} exists but is not active")
        self._join(existing, project, role)
        self._remember(wanted, existing.ref())
        return existing.ref()

    def _new_account(self, address: str, name: str) -> Account:
        first, last = _split_name(name, address)
        body = {
            "user": {
                "login": login_for(address),
                "firstname": first,
                "lastname": last,
                "mail": address,
                "generate_password": True,
                "must_change_passwd": True,
            },
            "send_information": self._config.notify_created_users,
        }
        data = self._client.post("/users.json", body, what=f"create an account for {address}")
        return Account.from_json(data["user"])

    def _join(self, account: Account, project: Project, role: int) -> None:
        """Make ``account`` a member of ``project`` with ``role`` (if it is not one already).

        An existing membership is left as it is: its roles were given by a person.
        """
        self._members.pop(account.id, None)
        if project.id in self.member(account.id).roles:
            return
        body = {"membership": {"user_id": account.id, "role_ids": [role]}}
        what = f"make {account.login} a member of {project.identifier}"
        self._client.post(f"/projects/{project.id}/memberships.json", body, what=what)
        self._members.pop(account.id, None)


def login_for(address: str) -> str:
    """A Redmine login made from an address: the characters Redmine allows, 60 at most."""
    return _LOGIN_UNSAFE.sub("_", address.lower())[:_LOGIN_MAX]


def _split_name(name: str, address: str) -> tuple[str, str]:
    """First and last name (Redmine requires both) from a display name or the address."""
    words = name.replace('"', "").split()
    if len(words) >= 2:
        return " ".join(words[:-1])[:30], words[-1][:255]
    local, _, domain = address.partition("@")
    if words:
        return words[0][:30], (domain or local)[:255]
    return local[:30] or "-", (domain or "-")[:255]
