"""Every request to Redmine, through the core's HTTP boundary with Redmine's own quirks.

Plain ``requests`` on the session :func:`tracker_mail_plugin.build_session` makes (no
retries, the environment read once), translated into the error tree by
:class:`RedmineErrors`: the shared table of :mod:`tracker_mail_plugin.http` (reads that time
out or get a 5xx: :class:`RetryLater`, writes: :class:`UnknownOutcome`; nothing sent:
:class:`Unreachable`; 401, TLS, a redirect: :class:`ConfigurationError`; 404:
:class:`NotFound`), plus what is Redmine's own:

- 403 for the API key's own account: :class:`Forbidden` (a configuration error); for a
  sender the adapter acts as (``X-Redmine-Switch-User``): :class:`Refused` (permanent, it
  is about that sender);
- 409: :class:`RetryLater` (a concurrent edit); 412 (no such active login to act as), 413
  and 422 (Redmine's validation messages, kept): :class:`PermanentError`.

Why not python-redmine: the adapter writes Redmine's REST paths itself and needs a real
timeout (python-redmine 2.5 copies it onto the session, where ``requests`` ignores it), no
retries, and the switch-user header per request on one shared session (python-redmine's
``impersonate`` swaps the engine under other threads). Its resource layer served none of
that; the README says the same.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any, ClassVar

import requests

from tracker_mail_plugin import (
    ConfigurationError,
    Failure,
    HttpErrors,
    NotFound,
    PermanentError,
    RetryLater,
    SecretError,
    TrackerMailError,
    UnknownOutcome,
    Upload,
    build_session,
)
from tracker_mail_plugin.http import DEFAULT_MESSAGES
from tracker_mail_plugin_redmine.config import RedmineConfig

__all__ = ["SWITCH_USER", "Forbidden", "NotFound", "RedmineClient", "RedmineErrors", "Refused"]

logger = logging.getLogger("tracker_mail.redmine")

SWITCH_USER = "X-Redmine-Switch-User"


class Forbidden(ConfigurationError):
    """Redmine answered 403 to the API key's own account: it lacks a permission."""


class Refused(PermanentError):
    """Redmine answered 403 to a sender the adapter acted as: that sender may not."""


class RedmineErrors(HttpErrors):
    """The shared translation, in Redmine's words (``what`` is an infinitive: "create an issue")."""

    messages: ClassVar[Mapping[Failure, str]] = dict(DEFAULT_MESSAGES) | {
        Failure.UNAUTHORIZED: "Redmine refused the API key (401): check api_key and that the "
        "REST API is enabled (Administration > Settings > API)",
        Failure.NOT_FOUND: "not found in Redmine (404): {what}",
        Failure.RATE_LIMITED: "Redmine asks to slow down (429) on: {what}",
        Failure.SERVER_READ: "Redmine answered {status} to: {what}",
        Failure.SERVER_WRITE: "Redmine answered {status} to: {what}; it may have done it",
        Failure.REDIRECTED: "Redmine redirects ({status}) instead of answering: {what}; "
        "write url as the address it moves to (https)",
        Failure.REJECTED: "Redmine refused to {what}: {said}",
        Failure.TLS: "TLS with Redmine failed ({what}): {reason}",
        Failure.UNREACHABLE: "cannot connect to Redmine ({what}): {reason}",
        Failure.NO_ANSWER_READ: "no answer from Redmine to: {what} ({reason})",
        Failure.NO_ANSWER_WRITE: "no answer from Redmine to: {what} ({reason}); "
        "it may have done it",
        Failure.BAD_URL: "invalid Redmine URL: {reason}",
    }

    def translate_status(
        self, response: requests.Response, *, write: bool, what: str
    ) -> TrackerMailError | None:
        """409, 412 and 413, which Redmine gives meanings of its own."""
        status = response.status_code
        if status == 409:
            return RetryLater(f"Redmine reports a conflict (409) on: {what}")
        if status == 412:
            as_user = _acting_as(response)
            return PermanentError(f"Redmine has no active account {as_user!r} to act as (412)")
        if status == 413:
            return PermanentError(f"too large for Redmine or its proxy (413): {what}")
        return None

    def forbidden(self, response: requests.Response, *, write: bool, what: str) -> TrackerMailError:
        """About the sender acted as when there is one, else about the API key's account."""
        as_user = _acting_as(response)
        if as_user:
            return Refused(f"Redmine does not let {as_user} {what} (403)")
        return Forbidden(f"the API key's account may not {what} (403)")

    def details(self, response: requests.Response) -> str:
        """Redmine's validation messages (422), joined as Redmine lists them."""
        try:
            errors = response.json().get("errors")
        except (ValueError, AttributeError):
            errors = None
        if isinstance(errors, list) and errors:
            return ", ".join(
                ": ".join(map(str, e)) if isinstance(e, list) else str(e) for e in errors
            )
        return f"{response.status_code} {response.reason or ''}".strip()


def _acting_as(response: requests.Response) -> str | None:
    sent = response.request.headers.get(SWITCH_USER) if response.request else None
    return str(sent) if sent else None


class RedmineClient:
    """JSON requests to one Redmine, as the API key's account or as a sender.

    Builds nothing and reads no secret until the first request.

    Args:
        config: the adapter's validated options.
    """

    def __init__(self, config: RedmineConfig):
        self._config = config
        self._session: requests.Session | None = None
        self._connecting = threading.Lock()
        self._errors = RedmineErrors("Redmine")

    @property
    def url(self) -> str:
        """The Redmine's base URL, without a trailing slash."""
        return self._config.url

    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        what: str,
        as_user: str | None = None,
    ) -> dict[str, Any]:
        """GET ``path`` (``/issues/1.json``) and return the decoded JSON object."""
        return self._json(self._request("get", path, what, params=params, as_user=as_user))

    def post(
        self, path: str, body: Mapping[str, Any], *, what: str, as_user: str | None = None
    ) -> dict[str, Any]:
        """POST a JSON ``body``; returns Redmine's JSON answer (``{}`` for an empty one)."""
        answer = self._request("post", path, what, body=body, as_user=as_user)
        return answer if isinstance(answer, dict) else {}

    def put(
        self, path: str, body: Mapping[str, Any], *, what: str, as_user: str | None = None
    ) -> None:
        """PUT a JSON ``body`` (Redmine answers 204 No Content)."""
        self._request("put", path, what, body=body, as_user=as_user)

    def delete(self, path: str, *, what: str) -> None:
        """DELETE ``path`` as the API key's account."""
        self._request("delete", path, what)

    def upload(self, upload: Upload, *, as_user: str | None = None) -> str:
        """Stream ``upload`` to ``/uploads.json`` and return its token.

        An upload not attached to anything is invisible and pruned by Redmine, so a failed
        one is translated like a read: retrying it can never duplicate anything. The
        switch-user header goes with this request only (python-redmine's ``session()``
        swaps the engine of the shared client, which other threads are using).
        """
        what = f"upload {upload.filename} ({upload.size} bytes)"
        headers = {"Content-Type": "application/octet-stream"}
        if as_user:
            headers[SWITCH_USER] = as_user
        with upload.open() as stream:
            answer = self._answer(
                "post", "/uploads.json", what, write=False,
                headers=headers, params={"filename": upload.filename}, data=stream,
            )  # fmt: skip
        found = answer.get("upload") if isinstance(answer, dict) else None
        token = found.get("token") if isinstance(found, dict) else None
        if not isinstance(token, str):
            raise RetryLater(f"Redmine gave no upload token for {upload.filename}")
        return token

    # -- internals -------------------------------------------------------------------------

    def _connect(self) -> requests.Session:
        """The one session, built on first use; the API key is read then, not before."""
        with self._connecting:
            if self._session is None:
                try:
                    key = self._config.api_key.reveal()
                except SecretError as exc:
                    raise ConfigurationError(f"api_key: {exc}") from None
                self._session = build_session(self._config, {"X-Redmine-API-Key": key})
            return self._session

    def _request(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        as_user: str | None = None,
    ) -> Any:
        headers = {SWITCH_USER: as_user} if as_user else {}
        logger.debug("%s %s%s", method.upper(), path, f" as {as_user}" if as_user else "")
        return self._answer(
            method, path, what, write=method != "get", headers=headers,
            params=dict(params or {}), json=dict(body) if body is not None else None,
        )  # fmt: skip

    def _answer(self, method: str, path: str, what: str, *, write: bool, **kwargs: Any) -> Any:
        """Send, translate failures, and decode the JSON answer (``True`` when empty)."""
        response = self._errors.send(
            self._connect(), method, f"{self.url}{path}", timeout=self._config.timeout,
            what=what, write=write, allow_redirects=False, **kwargs,
        )  # fmt: skip
        if not response.content.strip():
            return True
        try:
            return response.json()
        except ValueError:
            if write:
                raise UnknownOutcome(
                    f"Redmine's answer to: {what} was not JSON; it may have done it"
                ) from None
            raise ConfigurationError(
                f"the url does not answer like Redmine's REST API ({what})"
            ) from None

    @staticmethod
    def _json(answer: Any) -> dict[str, Any]:
        if not isinstance(answer, dict):
            raise RetryLater("Redmine answered without a JSON object")
        return answer
