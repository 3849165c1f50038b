"""OAuth2 in the configuration, the token provider and its cache, and SMTP XOAUTH2.

The token endpoint is the small server in tests/servers/tokens.py on 127.0.0.1; the SMTP
server is aiosmtpd with an XOAUTH2 mechanism that validates the JWT like the test Dovecot.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import jwt
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.mailfactory import raw_mail
from tests.servers.dovecot import free_ports
from tests.servers.tokens import Client, TokenEndpoint, TokenServer
from tracker_mail_plugin.config.auth import GenericOAuth2
from tracker_mail_plugin.config.loader import ConfigFileError, load_config_text
from tracker_mail_plugin.config.model import Smtp
from tracker_mail_plugin.errors import ConfigurationError, Unreachable
from tracker_mail_plugin.forward import SmtpForwarder
from tracker_mail_plugin.mail import parse_message
from tracker_mail_plugin.oauth2 import TokenProvider
from tracker_mail_plugin.oauth2.cache import write_private
from tracker_mail_plugin.oauth2.sasl import xoauth2_base64

KEY = b"k" * 32
USER = "support@example.com"
SECRET = "client-secret-value"  # noqa: S105 - the test client's secret

MAILBOX = """\
version: 1
trackers:
  rec: {adapter: recording}
rules:
  - name: all
    when: {subject_contains: x}
    then: [{create_issue: {project: p}}]
mailboxes:
  support:
    protocol: imap
    host: imap.example.com
    username: support@example.com
    tracker: rec
    auth:
      oauth2:
        provider: generic
        token_url: https://login.example.com/token
        client_id: app
        client_secret: {env: APP_SECRET}
        scope: mail
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigFileError) as exc:
        load_config_text(textwrap.dedent(text), "rules.yaml")
    return [str(p) for p in exc.value.problems]


# --- configuration ---------------------------------------------------------------------


def test_a_generic_oauth2_mailbox_loads() -> None:
    box = load_config_text(MAILBOX, "rules.yaml").config.mailboxes["support"]
    assert box.auth is not None
    assert isinstance(box.auth.oauth2, GenericOAuth2)
    assert box.auth.oauth2.flow == "client_credentials"
    assert box.password is None


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "    auth:",
            "    password: {env: P}\n    auth:",
            "password and auth are exclusive",
        ),
        ("provider: generic", "provider: microsoft", "tenant"),  # microsoft's own fields
        ("provider: generic", "provider: yahoo", "provider must be one of generic"),
        (
            "scope: mail",
            "scope: mail\n        flow: refresh_token",
            "flow: refresh_token needs refresh_token",
        ),
        ("client_secret: {env: APP_SECRET}", "client_secret: plain-text", "must not be written"),
        ("https://login", "http://login", "token_url must use https"),
        ("scope: mail", "scope: mail\n        tenant: x", "tenant"),
    ],
)
def test_oauth2_mistakes_are_reported_at_their_line(old: str, new: str, expected: str) -> None:
    found = problems(MAILBOX.replace(old, new))
    assert any(expected in p for p in found), found
    assert all(p.startswith("rules.yaml:") for p in found), found
    assert "plain-text" not in " ".join(found)


def test_smtp_oauth2_needs_a_username() -> None:
    auth = {"oauth2": {"provider": "generic", "token_url": "https://x.example/t",
                       "client_id": "a", "client_secret": {"env": "S"}}}  # fmt: skip
    with pytest.raises(ValueError, match="auth needs username"):
        Smtp.model_validate({"host": "smtp.example.com", "sender": "a@example.com", "auth": auth})


# --- the token provider ----------------------------------------------------------------


@pytest.fixture
def tokens() -> Iterator[TokenServer]:
    endpoint = TokenEndpoint(key=KEY)
    endpoint.clients["app"] = Client(SECRET, USER, {"good-refresh"})
    with TokenServer(endpoint) as server:
        yield server


def settings(url: str, tmp: Path, secret: str = SECRET, **more: Any) -> GenericOAuth2:
    (tmp / "secret").write_text(secret)
    base = {"provider": "generic", "token_url": url, "client_id": "app",
            "client_secret": {"file": str(tmp / "secret")}}  # fmt: skip
    return GenericOAuth2.model_validate(base | more)


@dataclass
class Clock:
    now: float = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_is_cached_privately_and_renewed_a_minute_before_expiry(
    tokens: TokenServer, tmp_path: Path
) -> None:
    clock = Clock()
    provider = TokenProvider(settings(tokens.url, tmp_path), tmp_path / "state", clock)
    first = provider.token()
    assert stat.S_IMODE(provider.cache_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(provider.cache_path.parent.stat().st_mode) == 0o700
    clock.now += 3600 - 61  # still more than the margin left
    assert provider.token() == first
    assert provider.from_cache
    clock.now += 2  # inside the last minute: renewed
    provider.token()
    assert not provider.from_cache
    assert len(tokens.endpoint.requests) == 2


def test_secrets_and_tokens_never_show_in_reprs_or_errors(
    tokens: TokenServer, tmp_path: Path
) -> None:
    provider = TokenProvider(settings(tokens.url, tmp_path), tmp_path)
    token = provider.token()
    other = tmp_path / "other"  # its own cache: the first token must not serve it
    other.mkdir()
    wrong = TokenProvider(settings(tokens.url, other, secret="wrong-value"), other)  # noqa: S106
    with pytest.raises(ConfigurationError) as refused:
        wrong.token()
    shown = " ".join([repr(provider), str(provider), repr(wrong), str(refused.value)])
    shown += repr(settings(tokens.url, tmp_path))
    for secret in (token, SECRET, "wrong-value"):
        assert secret not in shown
    assert "check client_id and client_secret" in str(refused.value)


def test_a_revoked_refresh_token_is_a_configuration_error(
    tokens: TokenServer, tmp_path: Path
) -> None:
    (tmp_path / "refresh").write_text("revoked")
    more = {"flow": "refresh_token", "refresh_token": {"file": str(tmp_path / "refresh")}}
    provider = TokenProvider(settings(tokens.url, tmp_path, **more), tmp_path)
    with pytest.raises(ConfigurationError, match="obtain a new refresh token"):
        provider.token()


def test_an_unset_secret_is_named(tokens: TokenServer, tmp_path: Path) -> None:
    config = GenericOAuth2.model_validate({"provider": "generic", "token_url": tokens.url,
        "client_id": "app", "client_secret": {"env": "TM_TEST_UNSET_SECRET"}})  # fmt: skip
    with pytest.raises(ConfigurationError, match="TM_TEST_UNSET_SECRET is not set"):
        TokenProvider(config, tmp_path).token()


def test_an_endpoint_that_is_not_there_is_unreachable(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_ports(1)[0]}/token"
    with pytest.raises(Unreachable, match="cannot reach the OAuth2 token endpoint") as caught:
        TokenProvider(settings(url, tmp_path), tmp_path).token()
    assert str(caught.value).endswith("Connection refused")
    assert "Max retries" not in str(caught.value)  # urllib3's wrapper, not the reason


def test_a_wrong_token_url_says_so(tokens: TokenServer, tmp_path: Path) -> None:
    url = tokens.url.replace("/token", "/nothing")
    with pytest.raises(ConfigurationError, match="check token_url"):
        TokenProvider(settings(url, tmp_path), tmp_path).token()


def test_a_redirect_does_not_carry_the_secret_on(tokens: TokenServer, tmp_path: Path) -> None:
    class Moved(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(307)  # keeps the method and the body: the secret would follow
            self.send_header("Location", tokens.url)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Moved)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/token"
        with pytest.raises(ConfigurationError, match="answered 307") as refused:
            TokenProvider(settings(url, tmp_path), tmp_path).token()
    finally:
        server.shutdown()
        server.server_close()
    assert tokens.endpoint.requests == []
    assert SECRET not in str(refused.value)


def test_a_broken_cache_file_costs_one_request(tokens: TokenServer, tmp_path: Path) -> None:
    provider = TokenProvider(settings(tokens.url, tmp_path), tmp_path)
    provider.cache_path.write_text("{not json")
    assert provider.token()
    assert json.loads(provider.cache_path.read_text())["access_token"]


# --- SMTP XOAUTH2 ------------------------------------------------------------------------


@dataclass
class OAuthSink:
    """aiosmtpd handler: XOAUTH2 with a JWT signed by KEY for USER, then keep the mail."""

    received: list[bytes] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:  # noqa: N802
        fields = base64.b64decode(args[1]).decode().split("\x01")
        user = fields[0].removeprefix("user=")
        token = fields[1].removeprefix("auth=Bearer ")
        try:
            claims = jwt.decode(token, KEY, algorithms=["HS256"])
        except jwt.InvalidTokenError:
            # As Gmail does: the error as a JSON challenge, the client's empty line, a 535.
            error = base64.b64encode(b'{"status":"401"}').decode()
            await server.challenge_auth(error, encode_to_b64=False)
            return AuthResult(success=False, handled=False)
        self.logins.append(user)
        return AuthResult(success=claims["sub"] == user, handled=False)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.append(bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def oauth_smtp() -> Iterator[tuple[OAuthSink, int]]:
    handler = OAuthSink()
    port = free_ports(1)[0]
    controller = Controller(handler, hostname="127.0.0.1", port=port, auth_require_tls=False)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def forwarder(port: int, provider: TokenProvider) -> SmtpForwarder:
    smtp = Smtp.model_validate({
        "host": "127.0.0.1", "port": port, "security": "none", "sender": "tm@example.com",
        "username": USER,
        "auth": {"oauth2": provider._settings.model_dump()},
    })  # fmt: skip
    return SmtpForwarder(smtp, "inbox", bearer=provider)


RAW = raw_mail({"From": "a@example.com", "Subject": "hello", "Message-ID": "<m@x>"}, "Hi\r\n")


def test_smtp_forwarding_logs_in_with_xoauth2(
    oauth_smtp: tuple[OAuthSink, int], tokens: TokenServer, tmp_path: Path
) -> None:
    sink, port = oauth_smtp
    provider = TokenProvider(settings(tokens.url, tmp_path), tmp_path)
    forwarder(port, provider)(parse_message(RAW), RAW, "helpdesk@example.com", "why")
    assert sink.logins == [USER]
    assert len(sink.received) == 1


def test_smtp_refused_token_is_a_configuration_error(
    oauth_smtp: tuple[OAuthSink, int], tokens: TokenServer, tmp_path: Path
) -> None:
    sink, port = oauth_smtp
    tokens.endpoint.key = b"another-key" * 3
    provider = TokenProvider(settings(tokens.url, tmp_path), tmp_path)
    with pytest.raises(ConfigurationError, match="OAuth2 token was refused") as refused:
        forwarder(port, provider)(parse_message(RAW), RAW, "helpdesk@example.com", "why")
    assert "eyJ" not in str(refused.value)
    assert sink.received == []
    assert not provider.cache_path.exists()


def test_xoauth2_initial_response_format() -> None:
    decoded = base64.b64decode(xoauth2_base64("u@example.com", "tok"))
    assert decoded == b"user=u@example.com\x01auth=Bearer tok\x01\x01"


def test_a_token_file_is_never_written_through_a_planted_symlink(tmp_path: Path) -> None:
    ours = tmp_path / "ours.txt"
    ours.write_text("keep me\n")
    target = tmp_path / "state" / "token.json"
    target.parent.mkdir()
    (target.parent / f"token.{os.getpid()}.tmp").symlink_to(ours)  # the temporary's name
    write_private(target, "the token")
    assert ours.read_text() == "keep me\n"
    assert target.read_text() == "the token"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
