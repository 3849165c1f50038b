"""Jira Service Management: desks by project, request types, customers, requests, files.

Everything here is ``/rest/servicedeskapi``; the customer endpoints are marked experimental
and get the ``X-ExperimentalApi`` header (``opt-in`` on Cloud, ``true`` on Data Center, as
each documents). Cloud names people by ``accountId``, Data
Center by username, in the same fields (``raiseOnBehalfOf``, ``accountIds``/``usernames``);
a new customer's name is ``displayName`` on Cloud and ``fullName`` on Data Center.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tracker_mail_plugin import PermanentError, UnsupportedAction, Upload, UserRef
from tracker_mail_plugin_jira.config import Deployment, JiraConfig
from tracker_mail_plugin_jira.errors import NotFound
from tracker_mail_plugin_jira.http import EXPERIMENTAL_OPT_IN, SERVICE_DESK_API, JiraHttp, Params
from tracker_mail_plugin_jira.memo import Memo
from tracker_mail_plugin_jira.users import to_user

PAGE = 50


class ServiceDesks:
    """The service desks Jira has, read once per adapter, and what can be done with them.

    Args:
        http: the connection.
        config: the adapter's options (``service_desks``, deployment).
    """

    def __init__(self, http: JiraHttp, config: JiraConfig):
        self._http = http
        self._config = config
        self._cloud = config.effective_deployment == Deployment.CLOUD
        self._experimental = {
            "X-ExperimentalApi": EXPERIMENTAL_OPT_IN[config.effective_deployment.value]
        }
        self._desks: Memo[str, dict[str, int]] = Memo()
        self._request_types: Memo[int, dict[str, str]] = Memo()
        self._type_fields: Memo[tuple[int, str], frozenset[str]] = Memo()

    def desk_of(self, project: str) -> int | None:
        """The service desk id of project ``project``, or ``None`` when it is not one.

        A ``service_desks`` map in the options is the whole list; without one, Jira's list
        of service desks is read once.
        """
        if self._config.service_desks:
            return self._config.service_desks.get(project)
        return self._desks.get("all", self._list_desks).get(project)

    def desk_or_refuse(self, project: str) -> int:
        """Like :meth:`desk_of`, raising :class:`UnsupportedAction` for other projects."""
        desk = self.desk_of(project)
        if desk is None:
            raise UnsupportedAction(
                f"project {project} is not a Jira Service Management service desk",
                capability="create_request",
            )
        return desk

    def request_types(self, desk: int) -> dict[str, str]:
        """Request type name (case-folded) to id, for service desk ``desk``."""
        return self._request_types.get(desk, lambda: self._read_types(desk))

    def _read_types(self, desk: int) -> dict[str, str]:
        path = f"{SERVICE_DESK_API}/servicedesk/{desk}/requesttype"
        return {
            str(kind["name"]).casefold(): str(kind["id"])
            for kind in self._pages(path, {}, what=f"reading service desk {desk}'s types")
        }

    def request_type_id(self, desk: int, name: str) -> str:
        """The id of the request type called ``name`` (case-insensitive).

        Raises:
            PermanentError: the service desk has no such request type.
        """
        found = self.request_types(desk).get(name.casefold())
        if found is None:
            raise PermanentError(f"service desk {desk} has no request type {name!r}")
        return found

    def request_type_fields(self, desk: int, type_id: str) -> frozenset[str]:
        """The field ids a customer can fill in on request type ``type_id`` (read once).

        Hidden fields (``visible: false``, preset by the desk) are not among them: Jira
        takes only the fields the request type shows.
        """
        return self._type_fields.get((desk, type_id), lambda: self._read_fields(desk, type_id))

    def _read_fields(self, desk: int, type_id: str) -> frozenset[str]:
        answer = self._http.get(
            f"{SERVICE_DESK_API}/servicedesk/{desk}/requesttype/{type_id}/field",
            what=f"reading the fields of request type {type_id} of service desk {desk}",
        )
        listed = (answer or {}).get("requestTypeFields") or []
        return frozenset(str(f["fieldId"]) for f in listed if f.get("visible", True))

    def create_request(self, body: dict[str, Any], *, what: str) -> dict[str, Any]:
        """POST a customer request; returns Jira's ``CustomerRequest``."""
        created: dict[str, Any] = self._http.post(
            f"{SERVICE_DESK_API}/request", body, what=what, headers=self._experimental
        )
        return created

    def comment(self, issue_key: str, text: str, *, public: bool) -> dict[str, Any]:
        """POST a comment on request ``issue_key``; returns Jira's ``CommentDTO``."""
        created: dict[str, Any] = self._http.post(
            f"{SERVICE_DESK_API}/request/{issue_key}/comment",
            {"body": text, "public": public},
            what=f"adding {'a public' if public else 'an internal'} comment to {issue_key}",
        )
        return created

    def is_customer(self, desk: int, user: UserRef) -> bool:
        """Whether ``user`` is one of the service desk's customers."""
        path = f"{SERVICE_DESK_API}/servicedesk/{desk}/customer"
        query = user.email or user.name
        what = f"checking whether {user.name} is a customer of service desk {desk}"
        for person in self._pages(path, {"query": query}, what=what, headers=self._experimental):
            if to_user(person, self._cloud).id == user.id:
                return True
        return False

    def create_customer(self, address: str, name: str) -> UserRef:
        """Create a customer account for ``address`` (needs Jira admin on the API user).

        Raises:
            Conflict: an account for ``address`` exists already.
        """
        name_key = "displayName" if self._cloud else "fullName"
        # Cloud answers a duplicate with 400 unless asked for 409, which Conflict catches.
        params = {"strictConflictStatusCode": "true"} if self._cloud else None
        created = self._http.post(
            f"{SERVICE_DESK_API}/customer",
            {"email": address, name_key: name or address},
            what=f"creating a customer account for {address}",
            params=params,
            headers=self._experimental,
        )
        user = to_user(created, self._cloud)
        return UserRef(user.id, user.login, user.name, user.email or address)

    def add_customer(self, desk: int, user: UserRef) -> None:
        """Give ``user`` access to service desk ``desk`` as a customer."""
        key = "accountIds" if self._cloud else "usernames"
        self._http.post(
            f"{SERVICE_DESK_API}/servicedesk/{desk}/customer",
            {key: [user.id]},
            what=f"adding {user.name} to service desk {desk}",
            headers=self._experimental,
        )

    def add_participants(self, issue_key: str, people: list[UserRef]) -> None:
        """Make ``people`` (CC'd on the mail) participants of request ``issue_key``."""
        if not people:
            return
        key = "accountIds" if self._cloud else "usernames"
        self._http.post(
            f"{SERVICE_DESK_API}/request/{issue_key}/participant",
            {key: [person.id for person in people]},
            what=f"adding {len(people)} participant(s) to {issue_key}",
            headers=self._experimental,
        )

    def attach(self, desk: int, issue_key: str, uploads: tuple[Upload, ...], public: bool) -> None:
        """Upload files as temporary attachments, then attach them to request ``issue_key``."""
        if not uploads:
            return
        ids: list[str] = []
        for upload in uploads:
            answer = self._http.upload(
                f"{SERVICE_DESK_API}/servicedesk/{desk}/attachTemporaryFile",
                upload,
                what=f"uploading {upload.filename} for {issue_key}",
                headers=self._experimental,
            )
            ids += [str(t["temporaryAttachmentId"]) for t in answer["temporaryAttachments"]]
        self._http.post(
            f"{SERVICE_DESK_API}/request/{issue_key}/attachment",
            {"temporaryAttachmentIds": ids, "public": public},
            what=f"attaching {len(ids)} file(s) to {issue_key}",
            headers=self._experimental,
        )

    def _list_desks(self) -> dict[str, int]:
        path = f"{SERVICE_DESK_API}/servicedesk"
        try:
            desks = list(self._pages(path, {}, what="listing the service desks"))
        except NotFound:  # Service Management is not installed
            return {}
        return {str(desk["projectKey"]): int(desk["id"]) for desk in desks}

    def _pages(
        self, path: str, params: Params, *, what: str, headers: dict[str, str] | None = None
    ) -> Iterator[dict[str, Any]]:
        start = 0
        while True:
            page = self._http.get(
                path, {**params, "start": start, "limit": PAGE}, what=what, headers=headers
            )
            values = page.get("values") or []
            yield from values
            if page.get("isLastPage", True) or not values:
                return
            start += len(values)
