"""What Exchange Online's POP3 and SMTP say when they refuse a token, and our advice.

The servers are fakes on 127.0.0.1 answering with the words of Microsoft's "Authenticate an
IMAP, POP or SMTP connection using OAuth" (its sample failed POP exchange ends in "-ERR
Authentication failure: unknown user name or bad password."; SMTP in "535 5.7.3
Authentication unsuccessful [host]") and of "Enable or disable SMTP AUTH in Exchange Online"
(535 5.7.139 "SmtpClientAuthentication is disabled for the Tenant"). Entra ID is faked by
``responses`` as in test_oauth2_providers.py, every request asserted.
"""

from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.servers.dovecot import free_ports
from tests.test_oauth2 import RAW
from tests.test_oauth2_providers import (
    ACCESS,
    MAILBOX,
    SECRET,
    assert_entra_requests,
    fake_entra,
    microsoft,
)
from tracker_mail_plugin.config.model import Smtp
from tracker_mail_plugin.errors import ConfigurationError
from tracker_mail_plugin.forward import SmtpForwarder
from tracker_mail_plugin.mail import parse_message
from tracker_mail_plugin.oauth2 import TokenProvider
from tracker_mail_plugin.sources.pop3 import Pop3Source

TOKEN = {"token_type": "Bearer", "expires_in": 3599, "access_token": ACCESS}


class ExchangePop3:
    """A POP3 server on 127.0.0.1 that refuses AUTH XOAUTH2 as Exchange Online does."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.commands: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"+OK The Microsoft Exchange POP3 service is ready.\r\n")
            for raw in lines:
                command = raw.decode().strip()
                self.commands.append(command)
                verb = command.split(" ", 1)[0].upper()
                if verb == "CAPA":
                    conn.sendall(b"+OK\r\nTOP\r\nUIDL\r\nSASL PLAIN XOAUTH2\r\nUSER\r\n.\r\n")
                elif verb == "AUTH":
                    conn.sendall(b"+ \r\n")
                    self.commands.append(lines.readline().decode().strip())
                    conn.sendall(
                        b"-ERR Authentication failure: unknown user name or bad password.\r\n"
                    )
                elif verb == "QUIT":
                    conn.sendall(b"+OK Microsoft Exchange Server POP3 server signing off.\r\n")
                    return
                else:
                    conn.sendall(b"-ERR Command is not valid in this state.\r\n")

    def close(self) -> None:
        self.listener.close()
        self.thread.join(5)


@pytest.fixture
def exchange_pop3() -> Iterator[ExchangePop3]:
    server = ExchangePop3()
    yield server
    server.close()


def test_exchange_pop3_refusal_names_pop_steps(tmp_path: Path, exchange_pop3: ExchangePop3) -> None:
    provider = TokenProvider(microsoft(tmp_path), tmp_path, protocol="pop3")
    source = Pop3Source(host="127.0.0.1", port=exchange_pop3.port, security="none",
                        username=MAILBOX, bearer=provider, timeout=10)  # fmt: skip
    with responses.RequestsMock() as rsps:
        fake_entra(rsps, TOKEN)
        with pytest.raises(ConfigurationError) as refused:
            source.open()
        assert_entra_requests(rsps)
    assert exchange_pop3.commands[:2] == ["CAPA", "AUTH XOAUTH2"]  # no OAUTHBEARER offered
    sent = base64.b64decode(exchange_pop3.commands[2]).decode()
    assert sent == f"user={MAILBOX}\x01auth=Bearer {ACCESS}\x01\x01"
    text = str(refused.value)
    assert "POP3 server refused the OAuth2 token" in text
    assert "unknown user name or bad password" in text
    assert "POP.AccessAsApp" in text
    assert "IMAP.AccessAsApp" not in text
    assert "Set-CASMailbox -Identity <mailbox> -PopEnabled $true" in text
    assert "New-ServicePrincipal" in text
    assert "Add-MailboxPermission" in text
    assert ACCESS not in text
    assert SECRET not in text


class ExchangeSmtp:
    """aiosmtpd refusing AUTH XOAUTH2 with the line Exchange Online sends."""

    def __init__(self, line: str):
        self.line = line
        self.tried: list[str] = []

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:  # noqa: N802
        self.tried.append(base64.b64decode(args[1]).decode())
        await server.push(self.line)
        return AuthResult(success=False, handled=True)


def forward_through(line: str, tmp_path: Path) -> tuple[ExchangeSmtp, str]:
    """Forward one message through an Exchange-like server that refuses with ``line``."""
    handler = ExchangeSmtp(line)
    port = free_ports(1)[0]
    controller = Controller(handler, hostname="127.0.0.1", port=port, auth_require_tls=False)
    controller.start()
    try:
        settings = microsoft(tmp_path)
        provider = TokenProvider(settings, tmp_path, protocol="smtp", username=MAILBOX)
        smtp = Smtp.model_validate({
            "host": "127.0.0.1", "port": port, "security": "none", "sender": MAILBOX,
            "username": MAILBOX, "auth": {"oauth2": settings.model_dump()},
        })  # fmt: skip
        forwarder = SmtpForwarder(smtp, "support", bearer=provider)
        with responses.RequestsMock() as rsps:
            fake_entra(rsps, TOKEN)
            with pytest.raises(ConfigurationError) as refused:
                forwarder(parse_message(RAW), RAW, "helpdesk@example.com", "why")
            assert_entra_requests(rsps)
    finally:
        controller.stop()
    assert handler.tried == [f"user={MAILBOX}\x01auth=Bearer {ACCESS}\x01\x01"]
    text = str(refused.value)
    assert ACCESS not in text
    assert SECRET not in text
    return handler, text


@pytest.mark.parametrize("who", ["Tenant", "Mailbox"])
def test_exchange_smtp_auth_disabled_says_what_to_enable(tmp_path: Path, who: str) -> None:
    line = (
        f"535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for "
        f"the {who}. Visit https://aka.ms/smtp_auth_disabled for more information. "
        "[AM0PR02CA0001.eurprd02.prod.outlook.com]"
    )
    _, text = forward_through(line, tmp_path)
    assert "SmtpClientAuthentication is disabled" in text
    assert "Authenticated SMTP" in text
    assert "Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false" in text
    assert "Set-TransportConfig -SmtpClientAuthenticationDisabled $false" in text


def test_exchange_smtp_5_7_3_names_the_sending_steps(tmp_path: Path) -> None:
    line = "535 5.7.3 Authentication unsuccessful [SN2PR00CA0018.namprd00.prod.outlook.com]"
    _, text = forward_through(line, tmp_path)
    assert "535 5.7.3 Authentication unsuccessful" in text
    assert "SMTP.SendAsApp" in text
    assert "New-ServicePrincipal" in text
    assert "Add-MailboxPermission" in text
    assert "-SmtpClientAuthenticationDisabled $false" in text
