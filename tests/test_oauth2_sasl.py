"""SASL OAUTHBEARER (RFC 7628) beside XOAUTH2: the wire format, the choice, SMTP, config.

IMAP and POP3 with both mechanisms run against the real Dovecot in test_oauth2_dovecot.py;
here SMTP is aiosmtpd with OAUTHBEARER and XOAUTH2 authenticators that validate the JWT.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.servers.dovecot import free_ports
from tests.servers.tokens import TokenServer
from tests.test_oauth2 import (  # noqa: F401 - the token endpoint fixture
    KEY,
    MAILBOX,
    RAW,
    USER,
    OAuthSink,
    forwarder,
    problems,
    settings,
    tokens,
)
from tracker_mail_plugin.config.loader import load_config_text
from tracker_mail_plugin.errors import ConfigurationError
from tracker_mail_plugin.mail import parse_message
from tracker_mail_plugin.oauth2 import TokenProvider
from tracker_mail_plugin.oauth2.sasl import Exchange, choose, oauthbearer


def test_oauthbearer_initial_response_follows_rfc_7628() -> None:
    # RFC 7628 section 3.1: gs2 header with the authzid, then host, port and auth fields.
    said = oauthbearer("a=b,c@example.com", "tok", "imap.example.com", 993)
    assert said == (
        "n,a=a=3Db=2Cc@example.com,\x01host=imap.example.com\x01port=993\x01auth=Bearer tok\x01\x01"
    )


def test_an_error_challenge_is_answered_so_the_server_can_finish() -> None:
    bearer = Exchange("OAUTHBEARER", "first")
    assert bearer() == "first"
    assert bearer(b'{"status":"invalid_token"}') == "\x01"
    assert Exchange("XOAUTH2", "first")(b"") == "first"
    xoauth2 = Exchange("XOAUTH2", "first")
    xoauth2()
    assert xoauth2(b'{"status":"401"}') == ""
    assert "first" not in repr(bearer)


@pytest.mark.parametrize(
    ("forced", "offered", "expected"),
    [
        (None, ["PLAIN", "XOAUTH2", "OAUTHBEARER"], "OAUTHBEARER"),
        (None, ["plain", "oauthbearer"], "OAUTHBEARER"),
        (None, ["PLAIN", "XOAUTH2"], "XOAUTH2"),
        (None, [], "XOAUTH2"),
        ("xoauth2", ["XOAUTH2", "OAUTHBEARER"], "XOAUTH2"),
        ("oauthbearer", ["XOAUTH2"], "OAUTHBEARER"),
    ],
)
def test_the_mechanism_is_the_configured_one_else_oauthbearer_where_offered(
    forced: str | None, offered: list[str], expected: str
) -> None:
    assert choose(forced, offered) == expected


# --- configuration ---------------------------------------------------------------------


def test_mechanism_is_read_from_the_oauth2_section() -> None:
    text = MAILBOX.replace("scope: mail", "scope: mail\n        mechanism: oauthbearer")
    box = load_config_text(text, "rules.yaml").config.mailboxes["support"]
    assert box.auth is not None
    assert box.auth.oauth2.mechanism == "oauthbearer"


def test_an_unknown_mechanism_is_a_clear_error_at_its_line() -> None:
    found = problems(MAILBOX.replace("scope: mail", "scope: mail\n        mechanism: plain"))
    assert any("mechanism" in p and "'xoauth2' or 'oauthbearer'" in p for p in found), found
    assert all(p.startswith("rules.yaml:") for p in found), found


def test_a_graph_mailbox_refuses_a_mechanism() -> None:
    text = """\
    version: 1
    trackers:
      rec: {adapter: recording}
    rules:
      - name: all
        when: {subject_contains: x}
        then: [{create_issue: {project: p}}]
    mailboxes:
      support:
        protocol: graph
        username: support@contoso.example
        tracker: rec
        auth:
          oauth2:
            provider: microsoft
            tenant: contoso.example
            client_id: app
            client_secret: {env: APP_SECRET}
            mechanism: xoauth2
    """
    found = problems(text)
    assert any("mechanism is not used by a graph mailbox" in p for p in found), found


# --- SMTP ------------------------------------------------------------------------------


@dataclass
class BearerSink(OAuthSink):
    """OAUTHBEARER too (so it is offered); records each mechanism and error reply."""

    used: list[str] = field(default_factory=list)
    replies: list[bytes] = field(default_factory=list)

    async def auth_OAUTHBEARER(self, server: Any, args: list[str]) -> AuthResult:  # noqa: N802
        self.used.append("OAUTHBEARER")
        gs2, *fields = base64.b64decode(args[1]).decode().split("\x01")
        user = gs2.removeprefix("n,a=").rstrip(",")
        values = dict(f.split("=", 1) for f in fields if f)
        token = values["auth"].removeprefix("Bearer ")
        try:
            claims = jwt.decode(token, KEY, algorithms=["HS256"])
        except jwt.InvalidTokenError:
            # RFC 7628 section 3.2.2: a JSON error challenge; the client must send %x01,
            # then the server fails the exchange (535).
            error = b'{"status":"invalid_token","scope":"mail"}'
            reply = await server.challenge_auth(base64.b64encode(error).decode(), False)
            self.replies.append(reply)
            return AuthResult(success=False, handled=False)
        self.logins.append(user)
        assert values["host"] == "127.0.0.1"
        return AuthResult(success=claims["sub"] == user, handled=False)

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:  # noqa: N802
        self.used.append("XOAUTH2")
        return await super().auth_XOAUTH2(server, args)


@pytest.fixture
def bearer_smtp() -> Iterator[tuple[BearerSink, int]]:
    handler = BearerSink()
    port = free_ports(1)[0]
    controller = Controller(handler, hostname="127.0.0.1", port=port, auth_require_tls=False)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def test_smtp_uses_oauthbearer_where_offered(
    bearer_smtp: tuple[BearerSink, int],
    tokens: TokenServer,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    sink, port = bearer_smtp
    provider = TokenProvider(settings(tokens.url, tmp_path), tmp_path)
    forwarder(port, provider)(parse_message(RAW), RAW, "helpdesk@example.com", "why")
    assert sink.used == ["OAUTHBEARER"]
    assert sink.logins == [USER]
    assert len(sink.received) == 1


def test_smtp_mechanism_xoauth2_forces_xoauth2(
    bearer_smtp: tuple[BearerSink, int],
    tokens: TokenServer,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    sink, port = bearer_smtp
    provider = TokenProvider(settings(tokens.url, tmp_path, mechanism="xoauth2"), tmp_path)
    forwarder(port, provider)(parse_message(RAW), RAW, "helpdesk@example.com", "why")
    assert sink.used == ["XOAUTH2"]
    assert len(sink.received) == 1


def test_smtp_oauthbearer_error_challenge_is_answered_with_x01(
    bearer_smtp: tuple[BearerSink, int],
    tokens: TokenServer,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    sink, port = bearer_smtp
    tokens.endpoint.key = b"another-key" * 3
    provider = TokenProvider(settings(tokens.url, tmp_path), tmp_path)
    with pytest.raises(ConfigurationError, match="OAuth2 token was refused"):
        forwarder(port, provider)(parse_message(RAW), RAW, "helpdesk@example.com", "why")
    assert sink.replies == [b"\x01"]
    assert sink.received == []
