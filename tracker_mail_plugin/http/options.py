"""The options every HTTP tracker has, and a session built from them that never retries."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Self
from urllib.parse import urlsplit

import requests
from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from requests.adapters import HTTPAdapter

from tracker_mail_plugin.sources.base import is_loopback


def _http_url(value: str) -> str:
    """``value`` parsed as pydantic's ``AnyHttpUrl``, as a string without a trailing slash."""
    try:
        parsed = _HTTP_URL.validate_python(value.strip())
    except ValidationError as exc:
        raise ValueError(f"not a URL: {exc.errors()[0]['msg']}") from None
    return str(parsed).rstrip("/")


def _base_url(value: str) -> str:
    """Refuse what is not a tracker's base URL with a sentence saying why."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            "must be an http:// or https:// URL, e.g. https://tracker.example.com (not a URL)"
        )
    if parts.query or parts.fragment:
        raise ValueError("must be the base URL, without ?query or #fragment")
    if parts.username or parts.password:
        raise ValueError("must not carry credentials; give them in the tracker's secret options")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(
            "http sends credentials in clear (the API key or token goes with every request); "
            "use https (plain http only to a loopback address such as 127.0.0.1)"
        )
    return _http_url(value)


def _proxy_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.username or parts.password:
        raise ValueError(
            "must not carry credentials; give an authenticating proxy in HTTPS_PROXY instead"
        )
    return _http_url(value)


_HTTP_URL: TypeAdapter[AnyHttpUrl] = TypeAdapter(AnyHttpUrl)

# A tracker's base URL: checked, parsed as a pydantic URL, kept as the string adapters join
# paths to (no trailing slash).
TrackerUrl = Annotated[str, AfterValidator(_base_url)]


class HttpOptions(BaseModel):
    """The options every HTTP tracker shares; an adapter's config model extends this.

    Attributes:
        url: the tracker's base URL (a path prefix is fine); https unless the host is a
            loopback address, since credentials go with every request.
        verify_tls: verify the server's certificate (turn off only for a throwaway test).
        ca_file: a CA bundle to verify the server with (a private CA).
        timeout: seconds to wait to connect and for each answer; a write that gets none is
            an unknown outcome, looked up by its key before it is tried again.
        proxy: an http(s) proxy for this tracker; without it the environment's
            ``HTTPS_PROXY``/``NO_PROXY`` apply.
    """

    # hide_input_in_errors: a ValidationError's text must never carry a mistyped secret.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    url: TrackerUrl
    verify_tls: bool = True
    ca_file: str | None = None
    timeout: Annotated[float, Field(gt=0, le=3600)] = 30.0
    proxy: Annotated[str, AfterValidator(_proxy_url)] | None = None

    @field_validator("ca_file")
    @classmethod
    def _readable_ca(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).expanduser().is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @model_validator(mode="after")
    def _tls_choice(self) -> Self:
        if self.ca_file is not None and not self.verify_tls:
            raise ValueError(
                "ca_file is used to verify TLS; it makes no sense with verify_tls: false"
            )
        return self


def build_session(
    options: HttpOptions, headers: Mapping[str, str] | None = None
) -> requests.Session:
    """A session for ``options`` that never retries and reads the environment once.

    ``requests`` reads proxy and CA-bundle variables from the environment on every request;
    they are read here once, for ``options.url``, and the session told not to look again.
    The timeout is not a session setting in ``requests``: pass ``options.timeout`` with each
    request (:meth:`HttpErrors.send` does).

    Args:
        options: the tracker's validated options.
        headers: headers sent with every request (``Accept``, a ``User-Agent``).
    """
    session = requests.Session()
    # No retries of any kind: a retried POST is a duplicate issue; the core retries runs.
    never = HTTPAdapter(max_retries=0)
    session.mount("https://", never)
    session.mount("http://", never)
    session.headers.update(headers or {})
    verify: bool | str = options.ca_file or options.verify_tls
    proxies = {"http": options.proxy, "https": options.proxy} if options.proxy else {}
    found = session.merge_environment_settings(options.url, proxies, None, verify, None)
    session.proxies.update(found["proxies"])
    session.verify = found["verify"]
    # trust_env off also keeps ~/.netrc from adding credentials nobody configured.
    session.trust_env = False
    return session
