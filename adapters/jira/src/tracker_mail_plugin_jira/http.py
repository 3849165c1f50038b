"""The Jira connection: a ``jira.JIRA`` client built on first use, and plain REST calls on it.

Why build the client this way:

- ``get_server_info=False``: the library otherwise asks ``/rest/api/2/serverInfo`` in its
  constructor, and adapters are built for ``check`` and ``explain`` before any network use.
- ``max_retries=0``: the library's session retries 429/503 answers and lost connections
  with sleeps, POSTs included; a retried create is a duplicate issue, and the core owns
  retries (it asks ``find_by_key`` first).
- The deployment is set on the client (``deploymentType``) so that the library's own
  Cloud/Data Center switches agree with ours without the serverInfo call.

Every call goes through :func:`~tracker_mail_plugin_jira.errors.translated`, the single
boundary where the library's exceptions become the core's errors. The REST paths are v2 on
both deployments (wiki markup text), ``/rest/servicedeskapi`` for Service Management.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jira import JIRA
from requests_toolbelt import MultipartEncoder  # type: ignore[import-untyped]

from tracker_mail_plugin import ConfigurationError, SecretError, Upload
from tracker_mail_plugin_jira.config import Deployment, JiraConfig
from tracker_mail_plugin_jira.errors import NotFound, translated

API = "/rest/api/2"
SERVICE_DESK_API = "/rest/servicedeskapi"
# Service Management marks some of its endpoints experimental and wants this header.
EXPERIMENTAL = {"X-ExperimentalApi": "opt-in"}

Params = Mapping[str, str | int]


def build_client(config: JiraConfig) -> JIRA:
    """A ``jira.JIRA`` client for ``config``; makes no request.

    Raises:
        ConfigurationError: a secret reference cannot be read.
    """
    try:
        auth: dict[str, Any]
        if config.api_token is not None and config.email is not None:
            auth = {"basic_auth": (config.email, config.api_token.reveal())}
        elif config.token is not None:
            auth = {"token_auth": config.token.reveal()}
        else:
            assert config.username is not None  # noqa: S101 - guaranteed by JiraConfig
            assert config.password is not None  # noqa: S101
            auth = {"basic_auth": (config.username, config.password.reveal())}
    except SecretError as exc:
        raise ConfigurationError(f"jira credentials: {exc}") from None
    verify: bool | str = config.ca_file if config.ca_file else config.verify_tls
    client = JIRA(
        server=config.url,
        options={"verify": verify, "rest_api_version": "2"},
        get_server_info=False,
        max_retries=0,
        timeout=config.timeout,
        **auth,
    )
    client.deploymentType = "Cloud" if config.effective_deployment == Deployment.CLOUD else "Server"
    return client


class JiraHttp:
    """REST calls on a lazily built client; each raises only the core's errors.

    Args:
        config: the adapter's validated options.
    """

    def __init__(self, config: JiraConfig):
        self._config = config
        self._client: JIRA | None = None

    @property
    def client(self) -> JIRA:
        """The ``jira.JIRA`` client, built on first use (no request is made)."""
        if self._client is None:
            self._client = build_client(self._config)
        return self._client

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
            with translated(what, write=True):
                response = self.client._session.post(
                    self.base_url + path, data=encoder, headers=sent
                )
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
        session = self.client._session
        try:
            with translated(what, write=write):
                response = session.request(
                    method,
                    self.base_url + path,
                    params=dict(params or {}),
                    data=data,
                    headers=dict(headers or {}),
                )
        except NotFound:
            if missing_ok:
                return None
            raise
        return _json(response.content)


def _json(content: bytes) -> Any:
    return json.loads(content) if content else None
