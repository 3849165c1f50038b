"""``protocol: graph``: a mailbox folder read through Microsoft Graph (tenants without IMAP).

Every request carries ``Prefer: IdType="ImmutableId"``: a message's Graph id then survives
its move to another folder, so the journal's identity of a message (its envelope id) is the
same before and after the disposition. Listing pages through ``@odata.nextLink``; each
message is downloaded as MIME (``$value``). Dispositions act at once (Graph has no expunge),
and only after the tracker confirmed, so ``commit`` has nothing left to do.

Failures: a 429 (or 5xx) is :class:`RetryLater` with Graph's ``Retry-After``; 401 and 403
are :class:`ConfigurationError` naming the permission (``Mail.ReadWrite``, application,
with admin consent); no answer at all is :class:`Unreachable`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, ClassVar, Protocol
from urllib.parse import quote

import requests

from tracker_mail_plugin.errors import ConfigurationError, TrackerMailError, Unreachable, scrub
from tracker_mail_plugin.http import HttpErrors, HttpOptions, build_session
from tracker_mail_plugin.sources.base import (
    Delete,
    Disposition,
    Envelope,
    Fetched,
    FlagSeen,
    Leave,
    MailSource,
    Move,
    SourceCheck,
    is_oversize,
    refuse_oversize,
)

GRAPH = "https://graph.microsoft.com/v1.0"
PREFER = 'IdType="ImmutableId"'
PAGE = 100  # messages per listing page ($top)
PERMISSION = (
    "the app needs the Microsoft Graph application permission Mail.ReadWrite with admin "
    "consent (and, where an application access policy limits it, access to this mailbox)"
)
# Graph's well-known folder names: used as they are, never looked up (case-insensitive).
WELL_KNOWN = frozenset(
    {
        "archive",
        "clutter",
        "conflicts",
        "conversationhistory",
        "deleteditems",
        "drafts",
        "inbox",
        "junkemail",
        "localfailures",
        "msgfolderroot",
        "outbox",
        "recoverableitemsdeletions",
        "scheduled",
        "searchfolders",
        "sentitems",
        "serverfailures",
        "syncissues",
    }
)


class Bearer(Protocol):
    """What the source needs of a token provider (:class:`~..oauth2.TokenProvider`)."""

    @property
    def from_cache(self) -> bool:
        """Whether the last token came from the cache."""

    def token(self) -> str:
        """A valid access token."""

    def forget(self) -> None:
        """Drop the cached token."""


class _GraphErrors(HttpErrors):
    """Graph's answers in the error tree; refused tokens name the missing permission."""

    def forbidden(self, response: requests.Response, *, write: bool, what: str) -> TrackerMailError:
        said = scrub(self.details(response))[:200]
        if "AccessPolicy" in said:
            # "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly
            # AccessPolicy settings.": the permission is there, a policy leaves this mailbox out.
            return ConfigurationError(
                f"Microsoft Graph refused to {what} (403: {said}): an application access "
                "policy (or RBAC for Applications scope) in Exchange Online leaves this "
                "mailbox out: add the mailbox, or the group the policy names, to its scope; "
                "Test-ApplicationAccessPolicy -Identity <mailbox> -AppId <client_id> shows "
                "whether the app may use it"
            )
        return ConfigurationError(f"Microsoft Graph refused to {what} (403: {said}): {PERMISSION}")

    def translate_status(
        self, response: requests.Response, *, write: bool, what: str
    ) -> TrackerMailError | None:
        if response.status_code == 401:
            return ConfigurationError(
                f"Microsoft Graph did not accept the token to {what} (401): {PERMISSION}; "
                "the token must be for https://graph.microsoft.com/.default"
            )
        return None

    def details(self, response: requests.Response) -> str:
        try:
            error = response.json().get("error") or {}
            return str(error.get("message") or error.get("code") or response.reason)
        except (ValueError, AttributeError):
            return response.reason or "no message"


class GraphSource(MailSource):
    """One folder of one Exchange Online mailbox, through Microsoft Graph.

    Args:
        user: The mailbox's address (``username:``).
        bearer: Gives access tokens for Graph.
        folder: A folder's path: a well-known name (``Inbox``) or a top-level folder's
            display name, then subfolders' display names (``Inbox/Support``).
        timeout: Seconds to connect and to wait for each answer.
        max_message_size: Messages larger than this (bytes, from PR_MESSAGE_SIZE) are reported
            oversize when listed, and never downloaded.
        session: The HTTP session (tests pass their own; default: :func:`build_session`).
    """

    dispositions: ClassVar[frozenset[type[Disposition]]] = frozenset(
        {Leave, Delete, Move, FlagSeen}
    )

    def __init__(
        self,
        user: str,
        bearer: Bearer,
        *,
        folder: str = "Inbox",
        timeout: float = 60.0,
        max_message_size: int | None = None,
        session: requests.Session | None = None,
    ):
        self.user = user
        self.folder = folder
        self._bearer = bearer
        self._timeout = timeout
        self._max = max_message_size
        self._session = session
        self._errors = _GraphErrors("Microsoft Graph")
        self._folder_id: str | None = None
        self._folders: dict[str, str] = {}  # display name (lower case) -> id, for moves

    def identity(self) -> str:
        """``graph:`` the mailbox and the folder."""
        return f"graph:{self.user.lower()}/{self.folder}"

    def open(self) -> None:
        """Make the session and find the folder (raises when Graph refuses or is away)."""
        if self._session is None:
            self._session = build_session(HttpOptions(url=GRAPH, timeout=self._timeout))
        self._folder_id = self._resolve(self.folder, create=False)

    def close(self) -> None:
        """Forget the folder; nothing is pending (dispositions act at once)."""
        self._folder_id = None

    def pending(self, is_done: Callable[[str], bool], limit: int | None = None) -> list[Envelope]:
        """The folder's messages not yet done, oldest first, following ``@odata.nextLink``."""
        found: list[Envelope] = []
        url: str | None = (
            f"{self._user_url()}/mailFolders/{quote(self._opened(), safe='=')}/messages"
        )
        params: dict[str, str] | None = {
            "$select": "id,internetMessageId,receivedDateTime",
            "$expand": f"singleValueExtendedProperties($filter=id eq '{SIZE_PROPERTY}')",
            "$orderby": "receivedDateTime asc",
            "$top": str(PAGE),
        }
        while url is not None:
            page = self._call("GET", url, what="list the folder's messages", params=params).json()
            for item in page.get("value", []):
                if limit is not None and len(found) >= limit:
                    return found
                if not is_done(str(item["id"])):
                    size = _size(item)
                    oversize = is_oversize(size, self._max)
                    found.append(Envelope(str(item["id"]), size, oversize, _received(item)))
            url, params = page.get("@odata.nextLink"), None  # the link carries the query
        return found

    def fetch(self, envelopes: Sequence[Envelope]) -> Iterator[Fetched]:
        """Each message's MIME (``$value``), in the order given."""
        refuse_oversize(envelopes)
        for envelope in envelopes:
            url = f"{self._message_url(envelope.id)}/$value"
            raw = self._call("GET", url, what="download a message").content
            yield Fetched(id=envelope.id, raw=raw, arrived=envelope.arrived)

    def dispose(self, id: str, disposition: Disposition) -> None:
        """Move, delete or mark read now (Graph has nothing to commit)."""
        url = self._message_url(id)
        match disposition:
            case Leave():
                return
            case FlagSeen():
                self._call("PATCH", url, what="mark a message read", json={"isRead": True})
            case Delete():
                self._call("DELETE", url, what="delete a message", expect=(404,))
            case Move(folder=folder):
                destination = self._resolve(folder, create=True)
                body = {"destinationId": destination}
                self._call("POST", f"{url}/move", what=f"move a message to {folder}", json=body)

    def commit(self) -> None:
        """Nothing: every disposition already took effect."""

    def check(self) -> SourceCheck:
        """The folder's message count (``totalItemCount``)."""
        url = f"{self._user_url()}/mailFolders/{quote(self._opened(), safe='=')}"
        answer = self._call("GET", url, what="read the folder").json()
        return SourceCheck(
            identity=self.identity(),
            folder=str(answer.get("displayName", self.folder)),
            messages=int(answer.get("totalItemCount", 0)),
            capabilities=("graph", "immutable-ids"),
            tls="https",
        )

    # -- helpers ----------------------------------------------------------------------------

    def _opened(self) -> str:
        if self._folder_id is None:
            raise RuntimeError("the source is not open")
        return self._folder_id

    def _user_url(self) -> str:
        return f"{GRAPH}/users/{quote(self.user, safe='@')}"

    def _message_url(self, id: str) -> str:
        return f"{self._user_url()}/messages/{quote(id, safe='=')}"

    def _resolve(self, path: str, *, create: bool) -> str:
        """A folder's id from its path (``Inbox/Support``): found, or made when ``create``.

        The first name may be a well-known one (``inbox``, ``archive``…), used as it is;
        every other name is a display name, looked up (case-insensitively, as Exchange
        compares them) among the children of the folder before it.
        """
        names = [name.strip() for name in path.split("/") if name.strip()]
        if not names:
            raise ConfigurationError(f"folder {path!r}: give a folder name such as Inbox")
        key = "/".join(names).lower()
        if key in self._folders:
            return self._folders[key]
        head = names[0].lower()
        parent = head if head in WELL_KNOWN else self._child(None, names[0], path, create)
        for name in names[1:]:
            parent = self._child(parent, name, path, create)
        self._folders[key] = parent
        return parent

    def _child(self, parent: str | None, name: str, path: str, create: bool) -> str:
        """The id of folder ``name`` under ``parent`` (None: the top level), paging through."""
        url = (
            f"{self._user_url()}/mailFolders"
            if parent is None
            else f"{self._user_url()}/mailFolders/{quote(parent, safe='=')}/childFolders"
        )
        listing: str | None = url
        params: dict[str, str] | None = {"$select": "id,displayName", "$top": str(PAGE)}
        while listing is not None:
            found = self._call("GET", listing, what=f"find folder {path}", params=params).json()
            for folder in found.get("value", []):
                if str(folder.get("displayName", "")).lower() == name.lower():
                    return str(folder["id"])
            listing, params = found.get("@odata.nextLink"), None  # the link carries the query
        if not create:
            where = "at the top level" if parent is None else "in the folder before it"
            raise ConfigurationError(
                f"mailbox {self.user} has no folder {path!r} (folder:): {name!r} is not "
                f"{where}; give a well-known name such as Inbox, or an existing folder's "
                "path of display names such as Inbox/Support"
            )
        made = self._call("POST", url, what=f"create folder {path}", json={"displayName": name})
        return str(made.json()["id"])

    def _call(
        self,
        method: str,
        url: str,
        *,
        what: str,
        expect: Sequence[int] = (),
        **kwargs: Any,
    ) -> requests.Response:
        """One request with token and Prefer header; a refused cached token is renewed once."""
        session = self._session
        if session is None:
            raise RuntimeError("the source is not open")
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._bearer.token()}", "Prefer": PREFER}
            try:
                response = session.request(
                    method, url, headers=headers, timeout=self._timeout, **kwargs
                )
            except requests.exceptions.SSLError as exc:
                raise ConfigurationError(scrub(f"Microsoft Graph: TLS failed: {exc}")) from None
            except requests.RequestException as exc:
                reason = scrub(f"cannot reach Microsoft Graph to {what}: {exc}")
                raise Unreachable(reason) from None
            if response.status_code == 401 and attempt == 1 and self._bearer.from_cache:
                self._bearer.forget()  # an old token may have been revoked: ask once more
                continue
            if 200 <= response.status_code < 300 or response.status_code in expect:
                return response
            raise self._errors.for_response(response, write=False, what=what)
        raise AssertionError("unreachable")  # pragma: no cover


# PR_MESSAGE_SIZE (MAPI 0x0E08): Graph has no size field on a message, only this property.
SIZE_PROPERTY = "Integer 0x0E08"


def _size(item: dict[str, object]) -> int:
    """The listed message's size in bytes from PR_MESSAGE_SIZE; 0 when Graph left it out."""
    properties = item.get("singleValueExtendedProperties")
    if isinstance(properties, list):
        for prop in properties:
            # Graph writes the id back its own way ("Integer 0xe08"): compare the tag.
            if isinstance(prop, dict) and _tag(str(prop.get("id", ""))) == 0x0E08:
                value = str(prop.get("value", "0"))
                return int(value) if value.isdigit() else 0
    return 0


def _tag(property_id: str) -> int | None:
    kind, _, tag = property_id.partition(" ")
    if kind.lower() != "integer":
        return None
    try:
        return int(tag, 16)
    except ValueError:
        return None


def _received(item: dict[str, object]) -> datetime | None:
    """``receivedDateTime`` (ISO 8601, UTC); None when absent or not a date."""
    value = item.get("receivedDateTime")
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
