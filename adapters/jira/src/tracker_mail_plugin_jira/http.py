"""The Jira connection: plain ``requests`` through the core's HTTP boundary.

Why not the ``jira`` library: the adapter calls Jira's REST paths itself (v2 on both
deployments, wiki markup text; ``/rest/servicedeskapi`` for Service Management), and the
library's public API offers no way to send such a request: only its private ``_session``
does. What the library added on top (retries of 429/503 and lost connections, POSTs
included) is what must not happen: a retried create is a duplicate issue, and the core owns
retries (it asks ``find_by_key`` first). The session from
:func:`tracker_mail_plugin.build_session` never retries; it sends the headers the library
sent, so Jira sees the same requests.

Every call goes through :class:`~tracker_mail_plugin_jira.errors.JiraErrors`, the single
boundary where failures become the core's errors. Reads (GETs, and the POSTs that only
search) are asked again after a 5xx or a timeout, twice, with growing waits
(:class:`~tracker_mail_plugin.http.retry.ReadRetry`); writes never are.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from typing import Any, Protocol

import requests
from requests_toolbelt import MultipartEncoder  # type: ignore[import-untyped]

from tracker_mail_plugin import ConfigurationError, NotFound, SecretError, Upload, build_session
from tracker_mail_plugin.http.retry import ReadRetry
from tracker_mail_plugin_jira.config import JiraConfig
from tracker_mail_plugin_jira.errors import JiraErrors

API = "/rest/api/2"
SERVICE_DESK_API = "/rest/servicedeskapi"
# Service Management marks some of its endpoints experimental and wants this header, with
# the value each deployment documents: Cloud's REST description says "opt-in"; the Data
# Center REST reference (developer.atlassian.com/server/jira-servicedesk/rest/, "Experimental
# methods") says "true".
EXPERIMENTAL_OPT_IN = {"cloud": "opt-in", "datacenter": "true"}
# What Jira expects of a REST client (and what the jira library sends): JSON, no caching,
# and the token that lets REST writes past Jira's XSRF check.
HEADERS = {
    "Accept": "application/json,*/*;q=0.9",
    "Cache-Control": "no-cache",
    "Content-Type": "application/json",
    "X-Atlassian-Token": "no-check",
}

Params = Mapping[str, str | int]


def build_session_for(config: JiraConfig) -> requests.Session:
    """A session signed in as ``config`` says; makes no request.

    Raises:
        ConfigurationError: a secret reference cannot be read.
    """
    session = build_session(config, HEADERS)
    try:
        if config.api_token is not None and config.email is not None:
            session.auth = (config.email, config.api_token.reveal())
        elif config.token is not None:
            session.headers["Authorization"] = f"Bearer {config.token.reveal()}"
        elif config.username is not None and config.password is not None:
            session.auth = (config.username, config.password.reveal())
    except SecretError as exc:
        raise ConfigurationError(f"jira credentials: {exc}") from None
    return session


class Sleeper(Protocol):
    """The clock reads wait on between tries (tests pass one that does not sleep)."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""


class JiraHttp:
    """REST calls on a lazily built client; each raises only the core's errors.

    Args:
        config: the adapter's validated options.
        clock: what reads wait on between tries (the real clock by default).
    """

    def __init__(self, config: JiraConfig, clock: Sleeper | None = None):
        self._config = config
        self._reads = (
            ReadRetry(clock.sleep, clock.monotonic)
            if clock
            else ReadRetry(time.sleep, time.monotonic)
        )
        self._session: requests.Session | None = None
        self._building = threading.Lock()
        self._errors = JiraErrors("Jira", sign_in=_sign_in(config))

    @property
    def session(self) -> requests.Session:
        """The session, built on first use (no request is made; secrets are read then)."""
        with self._building:  # workers start together: one session, its secrets read once
            if self._session is None:
                self._session = build_session_for(self._config)
            return self._session

    @property
    def base_url(self) -> str:
        """The Jira base URL, without a trailing slash."""
        return self._config.url

    def get(
        self,
        path: str,
        params: Params | None = None,
        *,
        what: str,
        missing_ok: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """GET ``path``; with ``missing_ok`` a 404 answers ``None`` instead of an error."""
        return self._call(
            "GET",
            path,
            params,
            None,
            what=what,
            write=False,
            missing_ok=missing_ok,
            headers=headers,
        )

    def post(
        self,
        path: str,
        body: object,
        *,
        what: str,
        params: Params | None = None,
        write: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """POST ``body`` as JSON; ``write=False`` for searches that change nothing."""
        return self._call("POST", path, params, body, what=what, write=write, headers=headers)

    def put(self, path: str, body: object, *, what: str) -> Any:
        """PUT ``body`` as JSON."""
        return self._call("PUT", path, None, body, what=what, write=True)

    def upload(
        self,
        path: str,
        upload: Upload,
        *,
        what: str,
        headers: Mapping[str, str] | None = None,
        filename: str | None = None,
    ) -> Any:
        """POST ``upload`` as the multipart part ``file``, streamed, with its file name.

        The stream is opened here, so each call sends from the first byte; the encoder reads
        it in chunks as the request goes out, never the whole file at once.
        """
        name = filename or upload.filename
        with upload.open() as stream:
            encoder = MultipartEncoder(fields={"file": (name, stream, upload.content_type)})
            sent = {"Content-Type": encoder.content_type, "X-Atlassian-Token": "no-check"}
            sent.update(headers or {})
            response = self._send("POST", path, what=what, write=True, data=encoder, headers=sent)
        return _json(response.content)

    def _call(
        self,
        method: str,
        path: str,
        params: Params | None,
        body: object,
        *,
        what: str,
        write: bool,
        missing_ok: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        data = None if body is None else json.dumps(body)
        try:
            response = self._send(
                method, path, what=what, write=write, params=dict(params or {}), data=data,
                headers=dict(headers or {}),
            )  # fmt: skip
        except NotFound:
            if missing_ok:
                return None
            raise
        return _json(response.content)

    def _send(self, method: str, path: str, *, what: str, write: bool, **kwargs: Any) -> Any:
        def send() -> Any:
            return self._errors.send(
                self.session, method, self.base_url + path, timeout=self._config.timeout,
                what=what, write=write, **kwargs,
            )  # fmt: skip

        return send() if write else self._reads.run(send)


def _sign_in(config: JiraConfig) -> str:
    """The options a refused sign-in (401) comes from, for the message."""
    if config.api_token is not None:
        return "email and api_token (an API token of that account, not its password)"
    if config.token is not None:
        return "token (a personal access token that is not expired or revoked)"
    return "username and password"


def _json(content: bytes) -> Any:
    return json.loads(content) if content else None
