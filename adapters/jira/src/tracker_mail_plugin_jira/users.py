"""Jira accounts: found by e-mail address, named in fields the way each deployment wants.

Cloud identifies people by ``accountId`` only (usernames were removed for privacy) and
returns ``emailAddress`` only when the person's profile shows it. Its user search matches
the *prefix* of names and addresses, so a person without a visible address in its answer
may be anyone whose name or address starts with the one asked for. Such a person is taken
only when ``/groupuserpicker`` also lists them, which Atlassian documents to find a hidden
address by an exact match only, and their display name does not itself contain the address;
otherwise nobody is, with a warning that says why.
Data Center identifies people by username (``name``), and its ``username`` search matches
usernames, names and addresses alike, so the answers are filtered on the address.
"""

from __future__ import annotations

import logging
from typing import Any

from tracker_mail_plugin import ConfigurationError, UserRef
from tracker_mail_plugin_jira.config import Deployment, JiraConfig
from tracker_mail_plugin_jira.http import API, JiraHttp
from tracker_mail_plugin_jira.memo import Memo

SEARCH_LIMIT = 10

logger = logging.getLogger("tracker_mail.jira")


class Users:
    """Looks people up (cached for the adapter's life) and names them in request bodies.

    Args:
        http: the connection.
        config: the adapter's options (deployment and the ``users`` map).
    """

    def __init__(self, http: JiraHttp, config: JiraConfig):
        self._http = http
        self._config = config
        self._cloud = config.effective_deployment == Deployment.CLOUD
        self._by_address: Memo[str, UserRef | None] = Memo()

    def find(self, address: str) -> UserRef | None:
        """The active account whose address is ``address`` (the ``users`` map first)."""
        wanted = address.strip().lower()
        return self._by_address.get(wanted, lambda: self._look_up(wanted))

    def _look_up(self, address: str) -> UserRef | None:
        mapped = self._config.users.get(address)
        return self._mapped(address, mapped) if mapped else self._search(address)

    def by_id(self, account: str, *, what: str) -> UserRef | None:
        """The account with this accountId (Cloud) or username (Data Center), if it exists."""
        key = "accountId" if self._cloud else "username"
        data = self._http.get(f"{API}/user", {key: account}, what=what, missing_ok=True)
        return to_user(data, self._cloud) if data else None

    def field(self, user: UserRef) -> dict[str, str]:
        """How a user field (reporter, assignee) names ``user`` in a request body."""
        return {"accountId": user.id} if self._cloud else {"name": user.id}

    @property
    def id_param(self) -> str:
        """The query parameter that names a user: ``accountId`` or ``username``."""
        return "accountId" if self._cloud else "username"

    def find_again(self, address: str) -> UserRef | None:
        """Look ``address`` up anew (after Jira said an account for it exists).

        Data Center names the customer accounts Service Management creates after their
        address, so the address is also tried as a username there.
        """
        wanted = address.strip().lower()
        self._by_address.forget(wanted)
        found = self.find(wanted)
        if found is None and not self._cloud:
            user = self.by_id(wanted, what=f"reading the account named {wanted}")
            found = UserRef(user.id, user.login, user.name, user.email or wanted) if user else None
            self._by_address.put(wanted, found)
        return found

    def remember(self, address: str, user: UserRef) -> None:
        """Record an account made for ``address`` (a new service-desk customer)."""
        self._by_address.put(address.strip().lower(), user)

    def _mapped(self, address: str, account: str) -> UserRef:
        user = self.by_id(account, what=f"reading the account users maps {address} to")
        if user is None:
            raise ConfigurationError(
                f"users: {address} is mapped to {account!r}, which Jira does not know"
            )
        return UserRef(user.id, user.login, user.name, user.email or address)

    def _search(self, address: str) -> UserRef | None:
        key = "query" if self._cloud else "username"
        found = self._http.get(
            f"{API}/user/search",
            {key: address, "maxResults": SEARCH_LIMIT},
            what=f"looking up the account of {address}",
        )
        people = [p for p in found or [] if isinstance(p, dict) and p.get("active", True)]
        exact = [p for p in people if str(p.get("emailAddress", "")).lower() == address]
        if len(exact) == 1:
            return to_user(exact[0], self._cloud)
        hidden = [p for p in people if "emailAddress" not in p and _is_person(p)]
        if self._cloud and not exact and hidden:
            return self._hidden(address, hidden)
        return None

    def _hidden(self, address: str, hidden: list[dict[str, Any]]) -> UserRef | None:
        """The one person with a hidden address whose address is exactly ``address``."""
        if len(hidden) == 1:
            user = to_user(hidden[0], self._cloud)
            if address not in user.name.casefold() and self._exactly(address, user.id):
                return UserRef(user.id, user.login, user.name, address)
        logger.warning(
            "Jira found %d account(s) with a hidden address for %s but cannot confirm that "
            "the address is exactly theirs (its user search matches prefixes of names and "
            "addresses); the sender is not taken for any of them: map the address in users",
            len(hidden), address,
        )  # fmt: skip
        return None

    def _exactly(self, address: str, account: str) -> bool:
        # Atlassian: "if a user has hidden their email address ... partial matches of the
        # email address will not find the user. An exact match is required."
        found = self._http.get(
            f"{API}/groupuserpicker",
            {"query": address, "maxResults": SEARCH_LIMIT, "excludeConnectAddons": "true"},
            what=f"confirming the account of {address}",
        )
        listed = ((found or {}).get("users") or {}).get("users") or []
        return any(str(person.get("accountId")) == account for person in listed)


def to_user(data: dict[str, Any], cloud: bool) -> UserRef:
    """A :class:`UserRef` from Jira's user JSON (a ``User`` on either deployment)."""
    if cloud:
        return UserRef(
            id=str(data["accountId"]),
            login=None,
            name=str(data.get("displayName") or data["accountId"]),
            email=data.get("emailAddress"),
        )
    return UserRef(
        id=str(data["name"]),
        login=str(data["name"]),
        name=str(data.get("displayName") or data["name"]),
        email=data.get("emailAddress"),
    )


def _is_person(data: dict[str, Any]) -> bool:
    # Apps and bots (accountType "app") never send mail.
    return data.get("accountType", "atlassian") in ("atlassian", "customer")
