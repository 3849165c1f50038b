"""Senders and what they may do: the users map, accounts, and repository permissions.

GitHub has no lookup of a user by mail address for most accounts (only a verified address
the user chose to make public, through search), so senders are recognised through the
``users`` map (address -> login). The login is checked against GitHub once per run, which
also gives the account's id and display name.

Whether a sender may write: the collaborator permission API gives the mapped login's base
role on the repository (``admin``, ``write``, ``read`` or ``none``); any role but ``none``
may open issues and comment, as on GitHub. With ``public_repositories_open`` anyone may do
so in a public repository, as anyone can on github.com. GitHub has no per-type permission,
so the issue type does not change the answer.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from tracker_mail_plugin import Permission, UserRef
from tracker_mail_plugin_github.http import Call, GitHubHttp
from tracker_mail_plugin_github.projects import Repo

logger = logging.getLogger("tracker_mail.github")

_MAY_POST = frozenset({Permission.CREATE_ISSUE, Permission.CREATE_REQUEST, Permission.COMMENT})
_NOT_FOUND = frozenset({404})


class People:
    """Users and permissions, each asked of GitHub at most once per adapter (one run).

    Several threads may ask at once (``workers``): one lock guards the caches, held while
    an answer is fetched, so the same question is never sent twice.

    Args:
        http: the client.
        users: lower-cased mail address to GitHub login.
        public_open: whether anyone may post in a public repository.
    """

    def __init__(self, http: GitHubHttp, users: dict[str, str], public_open: bool):
        self._http = http
        self._users = users
        self._public_open = public_open
        self._accounts: dict[str, UserRef | None] = {}
        self._roles: dict[tuple[str, str], str] = {}
        self._repos: dict[str, dict[str, Any] | None] = {}
        self._lock = threading.RLock()

    def login_for(self, address: str) -> str | None:
        """The login the users map gives ``address`` (case-insensitive), if any."""
        return self._users.get(address.lower())

    def find(self, address: str) -> UserRef | None:
        """The account of a mapped sender; ``None`` when unmapped or the login is gone."""
        login = self.login_for(address)
        if login is None:
            return None
        with self._lock:
            if login.lower() not in self._accounts:
                self._accounts[login.lower()] = self._account(login, address.lower())
            return self._accounts[login.lower()]

    def may(self, user: UserRef | None, action: Permission, repo: Repo) -> bool:
        """Whether ``user`` (``None``: anyone) may do ``action`` in ``repo``."""
        if action not in _MAY_POST:
            return False
        if self._public_open and self._is_public(repo):
            return True
        login = user.login if user is not None else None
        if not login:
            return False
        return self.role(login, repo) != "none"

    def role(self, login: str, repo: Repo) -> str:
        """``admin``, ``write``, ``read`` or ``none`` (unknown users have none)."""
        cache = (login.lower(), repo.full.lower())
        with self._lock:
            if cache not in self._roles:
                found = self._http.json_or_none(
                    Call(
                        "GET",
                        repo.path("collaborators", login, "permission"),
                        f"reading {login}'s permission on {repo.full}",
                        expect=_NOT_FOUND,
                    )
                )
                self._roles[cache] = str((found or {}).get("permission") or "none")
            return self._roles[cache]

    def repository(self, repo: Repo) -> dict[str, Any] | None:
        """GitHub's description of ``repo``; ``None`` when it does not exist for us."""
        with self._lock:
            if repo.full.lower() not in self._repos:
                self._repos[repo.full.lower()] = self._http.json_or_none(
                    Call("GET", repo.path(), f"reading repository {repo.full}", expect=_NOT_FOUND)
                )
            return self._repos[repo.full.lower()]

    def _is_public(self, repo: Repo) -> bool:
        found = self.repository(repo)
        return found is not None and found.get("private") is False

    def _account(self, login: str, address: str) -> UserRef | None:
        account = self._http.json_or_none(
            Call("GET", f"/users/{login}", f"looking up GitHub user {login}", expect=_NOT_FOUND)
        )
        if account is None:
            logger.warning("users map: %s is mapped to %s, unknown to GitHub", address, login)
            return None
        name = str(account.get("name") or account["login"])
        return UserRef(str(account["id"]), str(account["login"]), name, address)
