"""The one boundary between python-redmine/requests and the core's error tree.

Every request the adapter makes goes through :class:`RedmineClient`, and every exception
those libraries raise is translated here, once, by what the run should do about it:

- reads (GET) that time out or get a 5xx: :class:`RetryLater`; writes: :class:`UnknownOutcome`
  (Redmine may have committed before it failed), so the core asks ``find_by_key`` first;
- no connection at all (refused, DNS, connect timeout): :class:`Unreachable`;
- 401, a TLS failure, an http/https redirect: :class:`ConfigurationError`;
- 403 for the API key's own account: :class:`Forbidden` (a configuration error); for a
  sender the adapter acts as (``X-Redmine-Switch-User``): :class:`Refused` (permanent, it
  is about that sender);
- 404: :class:`NotFound` (a :class:`PermanentError` callers may turn into ``None`` or a
  configuration error); 412 (no such active login to act as) and 422 (Redmine's validation
  messages) and other 4xx: :class:`PermanentError`.

python-redmine 2.5 copies its ``requests`` options onto the ``Session``, where requests
ignores ``timeout`` (fixed in the unreleased 2.6): :class:`_Engine` passes ``timeout`` and
``verify`` with every request instead, so the timeout is real.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

import requests
from redminelib import Redmine, exceptions  # type: ignore[import-untyped]
from redminelib.engines.sync import SyncEngine  # type: ignore[import-untyped]
from urllib3.exceptions import NameResolutionError, NewConnectionError

from tracker_mail_plugin import (
    ConfigurationError,
    PermanentError,
    RetryLater,
    SecretError,
    TrackerMailError,
    UnknownOutcome,
    Unreachable,
    Upload,
)
from tracker_mail_plugin_redmine.config import RedmineConfig

logger = logging.getLogger("tracker_mail.redmine")

SWITCH_USER = "X-Redmine-Switch-User"
_PER_REQUEST = ("timeout", "verify")


class NotFound(PermanentError):
    """Redmine answered 404: the object does not exist or is not visible to the caller."""


class Forbidden(ConfigurationError):
    """Redmine answered 403 to the API key's own account: it lacks a permission."""


class Refused(PermanentError):
    """Redmine answered 403 to a sender the adapter acted as: that sender may not."""


class ServerTrouble(Exception):
    """Redmine answered 5xx or 429; raised by :class:`_Engine` to keep the status."""

    def __init__(self, status: int, retry_after: float | None):
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class _Engine(SyncEngine):  # type: ignore[misc]  # python-redmine has no type hints
    """python-redmine's engine with ``timeout``/``verify`` sent per request."""

    def construct_request_kwargs(
        self, method: str, headers: Any, params: Any, data: Any
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = super().construct_request_kwargs(method, headers, params, data)
        for option in _PER_REQUEST:
            if option in self.requests:
                kwargs[option] = self.requests[option]
        return kwargs

    def process_response(self, response: requests.Response) -> Any:
        status = response.status_code
        if status == 429 or status >= 500:
            raise ServerTrouble(status, _retry_after(response))
        return super().process_response(response)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


class RedmineClient:
    """JSON requests to one Redmine, as the API key's account or as a sender.

    Builds nothing and reads no secret until the first request.

    Args:
        config: the adapter's validated options.
    """

    def __init__(self, config: RedmineConfig):
        self._config = config
        self._redmine: Redmine | None = None
        self._connecting = threading.Lock()

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
        redmine = self._connect()
        what = f"upload {upload.filename} ({upload.size} bytes)"
        headers = {"Content-Type": "application/octet-stream"}
        if as_user:
            headers[SWITCH_USER] = as_user
        with upload.open() as stream:
            try:
                answer = redmine.engine.request(
                    "post", f"{redmine.url}/uploads.json", headers=headers,
                    params={"filename": upload.filename}, data=stream,
                )  # fmt: skip
            except _TRANSLATED as exc:
                raise translate(exc, write=False, what=what, as_user=as_user) from exc
        found = answer.get("upload") if isinstance(answer, dict) else None
        token = found.get("token") if isinstance(found, dict) else None
        if not isinstance(token, str):
            raise RetryLater(f"Redmine gave no upload token for {upload.filename}")
        return token

    # -- internals -------------------------------------------------------------------------

    def _connect(self) -> Redmine:
        with self._connecting:
            if self._redmine is None:
                self._redmine = self._new_connection()
            return self._redmine

    def _new_connection(self) -> Redmine:
        """python-redmine over one ``requests`` session, environment read once.

        ``requests`` reads proxy and CA-bundle variables from the environment on every
        request (0.6 s of the adapter's 3.3 s own time over 500 messages in the benchmark);
        they are read here once, for this URL, and the session told not to look again.
        """
        try:
            key = self._config.api_key.reveal()
        except SecretError as exc:
            raise ConfigurationError(f"api_key: {exc}") from None
        verify: bool | str = self._config.verify_tls
        if self._config.ca_file:
            verify = self._config.ca_file
        redmine = Redmine(
            self._config.url,
            key=key,
            engine=_Engine,
            requests={"timeout": self._config.timeout, "verify": verify},
        )
        session = redmine.engine.session
        # requests' own reading of the environment (proxies, NO_PROXY, REQUESTS_CA_BUNDLE),
        # once for this URL, then never again.
        found = session.merge_environment_settings(self._config.url, {}, None, verify, None)
        session.proxies.update(found["proxies"])
        redmine.engine.requests["verify"] = found["verify"]
        session.trust_env = False
        return redmine

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
        redmine = self._connect()
        headers = {SWITCH_USER: as_user} if as_user else {}
        logger.debug("%s %s%s", method.upper(), path, f" as {as_user}" if as_user else "")
        try:
            return redmine.engine.request(
                method, f"{redmine.url}{path}", headers=headers, params=dict(params or {}),
                data=dict(body) if body is not None else None,
            )  # fmt: skip
        except _TRANSLATED as exc:
            raise translate(exc, write=method != "get", what=what, as_user=as_user) from exc

    @staticmethod
    def _json(answer: Any) -> dict[str, Any]:
        if not isinstance(answer, dict):
            raise RetryLater("Redmine answered without a JSON object")
        return answer


_TRANSLATED = (requests.RequestException, exceptions.BaseRedmineError, ServerTrouble, ValueError)


def translate(
    exc: BaseException, *, write: bool, what: str, as_user: str | None = None
) -> TrackerMailError:
    """The core error for ``exc``, raised while trying to ``what`` (e.g. "create an issue").

    Args:
        exc: what python-redmine or requests raised.
        write: the request may change something (POST, PUT, DELETE).
        what: the attempted action, in words, for the message.
        as_user: the login the request acted as, if any.
    """
    if isinstance(exc, (ServerTrouble, requests.RequestException)):
        return _transport(exc, write=write, what=what)
    return _answer(exc, write=write, what=what, as_user=as_user)


def _transport(exc: BaseException, *, write: bool, what: str) -> TrackerMailError:
    if isinstance(exc, ServerTrouble):
        if exc.status == 429:
            return RetryLater(
                f"Redmine asks to slow down (429) on: {what}", retry_after=exc.retry_after
            )
        if write:
            return UnknownOutcome(f"Redmine answered {exc.status} to: {what}; it may have done it")
        return RetryLater(f"Redmine answered {exc.status} to: {what}", retry_after=exc.retry_after)
    if isinstance(exc, requests.exceptions.SSLError):
        return ConfigurationError(f"TLS with Redmine failed ({what}): {_reason(exc)}")
    if isinstance(exc, requests.exceptions.ConnectTimeout) or _never_connected(exc):
        return Unreachable(f"cannot connect to Redmine ({what}): {_reason(exc)}")
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema)):
        return ConfigurationError(f"invalid Redmine URL: {exc}")
    if write:
        return UnknownOutcome(
            f"no answer from Redmine to: {what} ({_reason(exc)}); it may have done it"
        )
    return RetryLater(f"no answer from Redmine to: {what} ({_reason(exc)})")


def _answer(exc: BaseException, *, write: bool, what: str, as_user: str | None) -> TrackerMailError:
    if isinstance(exc, exceptions.AuthError):
        return ConfigurationError(
            "Redmine refused the API key (401): check api_key and that the REST API is "
            "enabled (Administration > Settings > API)"
        )
    if isinstance(exc, exceptions.ForbiddenError):
        if as_user:
            return Refused(f"Redmine does not let {as_user} {what} (403)")
        return Forbidden(f"the API key's account may not {what} (403)")
    if isinstance(exc, exceptions.ResourceNotFoundError):
        return NotFound(f"not found in Redmine (404): {what}")
    if isinstance(exc, exceptions.ImpersonateError):
        return PermanentError(f"Redmine has no active account {as_user!r} to act as (412)")
    if isinstance(exc, exceptions.ValidationError):
        return PermanentError(f"Redmine refused to {what}: {exc}")
    if isinstance(exc, exceptions.ConflictError):
        return RetryLater(f"Redmine reports a conflict (409) on: {what}")
    if isinstance(exc, exceptions.HTTPProtocolError):
        return ConfigurationError("Redmine redirects between http and https: write url with https")
    if isinstance(exc, (exceptions.JSONDecodeError, ValueError)):
        if write:
            return UnknownOutcome(f"Redmine's answer to: {what} was not JSON; it may have done it")
        return ConfigurationError(f"the url does not answer like Redmine's REST API ({what})")
    if isinstance(exc, exceptions.RequestEntityTooLargeError):
        return PermanentError(f"too large for Redmine or its proxy (413): {what}")
    return PermanentError(f"Redmine refused to {what}: {exc}")


def _never_connected(exc: BaseException) -> bool:
    """True when no byte reached Redmine (refused, unresolvable), so nothing was done."""
    if not isinstance(exc, requests.exceptions.ConnectionError):
        return False
    reason: Any = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, (NewConnectionError, NameResolutionError))


def _reason(exc: BaseException) -> str:
    reason: Any = exc.args[0] if exc.args else exc
    return str(getattr(reason, "reason", None) or reason)
