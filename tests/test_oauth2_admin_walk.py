"""The failures a Microsoft 365 admin meets, played through the product on 127.0.0.1.

Entra ID is faked by ``responses`` (every request asserted, an unexpected one fails); its
refusals carry the AADSTS codes and words Entra ID sends. Exchange Online's IMAP is a small
server here answering as Exchange does: ``NO AUTHENTICATE failed.`` for a token it will not
take, and ``* BYE Session invalidated - AccessTokenExpired`` to whatever command comes when
the session's token has expired.
"""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from select import select
from typing import Any

import jwt
import pytest
import responses
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.mailfactory import raw_mail
from tests.servers.dovecot import free_ports
from tests.test_oauth2 import RAW
from tests.test_oauth2_check import GRAPH, TOKEN, check, server_at, write_rules
from tests.test_oauth2_exchange import ExchangeSmtp
from tests.test_oauth2_login import CLIENT as DEVICE_CLIENT
from tests.test_oauth2_login import (
    DEVICE_URL,
    TOKEN_URL,
    fake_device_flow,
    fake_discovery,
    form,
    token_answer,
)
from tests.test_oauth2_login import RULES as DEVICE_RULES
from tests.test_oauth2_login import USER as DELEGATED_USER
from tests.test_oauth2_login import settings as device_code
from tests.test_oauth2_providers import (
    ACCESS,
    MAILBOX,
    MS_TOKEN_URL,
    ExchangeWithoutPermission,
    assert_entra_requests,
    fake_entra,
    microsoft,
)
from tracker_mail_plugin.cli import main
from tracker_mail_plugin.config.model import Smtp
from tracker_mail_plugin.errors import ConfigurationError, ExitCode, Unreachable
from tracker_mail_plugin.forward import SmtpForwarder
from tracker_mail_plugin.mail import parse_message
from tracker_mail_plugin.oauth2 import TokenProvider
from tracker_mail_plugin.sources.imap import ImapSource

MAIL = raw_mail({"Subject": "printer on fire", "From": "ann@example.org"})


def app_token(roles: list[str] | None) -> str:
    """An app-only access token shaped like Entra ID's (a JWT; ``roles`` when consented)."""
    claims: dict[str, Any] = {"aud": "https://outlook.office365.com", "appid": "app",
                              "iat": 0, "exp": int(time.time()) + 3600}  # fmt: skip
    if roles is not None:
        claims["roles"] = roles
    return jwt.encode(claims, "not-the-real-signing-key-32-bytes", algorithm="HS256")


def refusal(error: str, code: int, words: str) -> dict[str, Any]:
    return {
        "error": error,
        "error_description": f"AADSTS{code}: {words} Trace ID: 1 Correlation ID: 2",
        "error_codes": [code],
    }


def check_with(tmp: Path, capsys: pytest.CaptureFixture[str], answer: dict[str, Any],
               status: int = 200) -> tuple[int, str, ExchangeWithoutPermission]:  # fmt: skip
    """``tracker-mail check`` of an app-only IMAP mailbox against Exchange without access."""
    exchange = ExchangeWithoutPermission()
    try:
        rules = write_rules(tmp, server_at("imap", exchange.port))
        with responses.RequestsMock() as rsps:
            fake_entra(rsps, answer, status=status)
            code, said = check(rules, capsys)
            assert_entra_requests(rsps)
    finally:
        exchange.close()
    return code, said, exchange


# --- a token Exchange refuses: which step is missing -----------------------------------


def test_a_token_without_the_imap_role_names_admin_consent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Without admin consent Entra ID still issues an app-only token, only without roles.
    token = app_token(None)
    code, said, exchange = check_with(tmp_path, capsys, TOKEN | {"access_token": token})
    assert code == ExitCode.CONFIGURATION
    assert len(exchange.responses) == 1  # it did log in with the token
    assert "AUTHENTICATE failed" in said
    assert "carries no IMAP.AccessAsApp role (roles: none)" in said
    assert "step 2 of README, Microsoft 365 (Exchange Online), step by step" in said
    assert token not in said


def test_a_token_with_the_imap_role_names_the_exchange_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = app_token(["IMAP.AccessAsApp"])
    code, said, _ = check_with(tmp_path, capsys, TOKEN | {"access_token": token})
    assert code == ExitCode.CONFIGURATION
    assert "carries no" not in said
    assert "step 4 of README, Microsoft 365 (Exchange Online), step by step" in said
    # IMAP is on by default in Exchange Online, but may be off for this mailbox.
    assert "Set-CASMailbox -Identity <mailbox> -ImapEnabled $true" in said
    assert "New-ServicePrincipal" in said
    assert "Add-MailboxPermission" in said


def test_a_signed_in_users_refused_token_is_about_the_user_not_an_app(tmp_path: Path) -> None:
    server = ExchangeWithoutPermission()
    provider = TokenProvider(device_code(), tmp_path, username=DELEGATED_USER, name="support")
    source = ImapSource(host="127.0.0.1", port=server.port, security="none",
                        username=DELEGATED_USER, bearer=provider, timeout=10)  # fmt: skip
    try:
        with responses.RequestsMock() as rsps:
            fake_device_flow(rsps, token_answer("eyJ0eXAi.first", "refresh-one"))
            provider.login(lambda _: None)
        with responses.RequestsMock() as rsps:
            # The kept token is refused: one new token from the sign-in, refused too.
            fake_discovery(rsps)
            rsps.post(TOKEN_URL, json=token_answer("eyJ0eXAi.second", "refresh-two"))
            with pytest.raises(ConfigurationError) as refused:
                source.open()
            assert [(c.request.method, c.request.url) for c in rsps.calls][-1] == (
                "POST",
                TOKEN_URL,
            )
    finally:
        server.close()
    assert len(server.responses) == 2
    text = str(refused.value)
    assert "the signed-in user's token" in text
    assert "-ImapEnabled $true" in text
    assert "tracker-mail login" in text
    assert "New-ServicePrincipal" not in text  # an app-only step: not this flow's
    assert "AccessAsApp" not in text


# --- Entra ID refusing the app: which step --------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            refusal(
                "invalid_client",
                7000229,
                "The client application "
                "00000000-0000-0000-0000-0000000000aa is missing service principal in the "
                "tenant 11111111-2222-3333-4444-555555555555.",
            ),
            "the app has no service principal (enterprise application) in this tenant",
        ),
        (
            refusal(
                "invalid_client",
                700027,
                "The certificate with identifier used to sign "
                "the client assertion is not registered on application. [Reason - The key "
                "was not found., Thumbprint of key used by client: 'ABCDEF']",
            ),
            "`openssl x509 -in <certificate> -noout -fingerprint -sha1`",
        ),
        (
            refusal(
                "invalid_client",
                7000222,
                "The provided client secret keys for app "
                "'00000000-0000-0000-0000-0000000000aa' are expired.",
            ),
            "the client secret has expired: create a new one in the app registration's "
            "Certificates & secrets and put it where client_secret points (step 3)",
        ),
    ],
)
def test_entra_refusals_name_the_readme_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], answer: dict[str, Any], expected: str
) -> None:
    code, said, exchange = check_with(tmp_path, capsys, answer, status=401)
    assert code == ExitCode.CONFIGURATION
    assert exchange.responses == []  # no token, no login
    assert expected in said
    # The steps are numbered as in the README the admin is reading.
    assert "(3) give it a client secret or a certificate" in said


def test_a_clock_off_is_said_when_entra_refuses_the_assertions_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "app.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    exchange = ExchangeWithoutPermission()
    try:
        rules = write_rules(tmp_path, server_at("imap", exchange.port))
        rules.write_text(
            rules.read_text().replace(
                f"client_secret: {{file: {tmp_path / 'secret'}}}",
                f"certificate: {{file: {tmp_path / 'app.pem'}}}\n        thumbprint: " + "AB" * 20,
            )
        )
        answer = refusal("invalid_client", 700024, "Client assertion is not within its valid "
                         "time range. Current time: 2026-12-06T12:05:03.6755165Z, assertion "
                         "valid from 2026-12-06T12:35:00.0000000Z, expiry time of assertion "
                         "2026-12-06T12:45:00.0000000Z.")  # fmt: skip
        with responses.RequestsMock() as rsps:
            fake_entra(rsps, answer, status=401)
            code, said = check(rules, capsys)
            sent = assert_entra_requests(rsps)
    finally:
        exchange.close()
    assert "client_assertion" in sent
    assert code == ExitCode.CONFIGURATION
    assert "this machine's clock is off (it says " in said
    assert "Current time: 2026-12-06T12:05:03" in said  # Entra ID's time, to compare
    assert "check client_secret" not in said


# --- a token that expires during a long run --------------------------------------------


class ExchangeSessions:
    """IMAP like Exchange Online: XOAUTH2 logins; a session whose token expired gets BYE."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.tokens: list[str] = []  # the token of each login
        self.commands: list[tuple[int, str]] = []  # (session, command)
        self.expired: set[int] = set()  # sessions whose token has expired
        self.bye_in_idle = False  # end the session while it idles
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        session = 0
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            session += 1
            threading.Thread(target=self._session, args=(conn, session), daemon=True).start()

    def _session(self, conn: socket.socket, session: int) -> None:
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"* OK The Microsoft Exchange IMAP4 service is ready.\r\n")
            for raw in lines:
                tag, _, command = raw.decode().strip().partition(" ")
                self.commands.append((session, command))
                if session in self.expired:
                    conn.sendall(b"* BYE Session invalidated - AccessTokenExpired\r\n")
                    return
                if not self._answer(conn, lines, tag, command):
                    return

    def _answer(self, conn: socket.socket, lines: Any, tag: str, command: str) -> bool:
        words = command.upper().split()
        verb = " ".join(words[:2]) if words[0] == "UID" else words[0]
        done = f"{tag} OK {verb} completed.\r\n".encode()
        if verb == "CAPABILITY":
            conn.sendall(
                b"* CAPABILITY IMAP4rev1 AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE IDLE\r\n" + done
            )
        elif verb == "AUTHENTICATE":
            if len(words) < 3:
                conn.sendall(b"+ \r\n")
            answer = command.split(" ")[2] if len(words) > 2 else lines.readline().decode()
            said = base64.b64decode(answer).decode()
            self.tokens.append(said.split("auth=Bearer ")[1].rstrip("\x01"))
            conn.sendall(done)
        elif verb == "SELECT":
            conn.sendall(b"* 1 EXISTS\r\n* OK [UIDVALIDITY 14] UIDs valid\r\n"
                         b"* OK [UIDNEXT 2] next\r\n" + done)  # fmt: skip
        elif verb == "UID SEARCH":
            conn.sendall(b"* SEARCH 1\r\n" + done)
        elif verb == "UID FETCH" and "BODY.PEEK[]" in words[-1] + " ".join(words):
            head = b'* 1 FETCH (UID 1 INTERNALDATE "06-Dec-2026 12:00:00 +0000" BODY[] {%d}\r\n'
            conn.sendall(head % len(MAIL) + MAIL + b")\r\n" + done)
        elif verb == "UID FETCH":
            conn.sendall(b"* 1 FETCH (UID 1 RFC822.SIZE %d)\r\n" % len(MAIL) + done)
        elif verb == "IDLE":
            conn.sendall(b"+ IDLE accepted, awaiting DONE command.\r\n")
            if self.bye_in_idle:  # the token expires while idling
                conn.sendall(b"* BYE Session invalidated - AccessTokenExpired\r\n")
                return False
        elif verb == "LOGOUT":
            conn.sendall(b"* BYE\r\n" + done)
            return False
        else:
            conn.sendall(done)
        return True

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def exchange() -> Iterator[ExchangeSessions]:
    server = ExchangeSessions()
    yield server
    server.close()


FIRST = "eyJ0eXAi.first-access-token"
SECOND = "eyJ0eXAi.second-access-token"


def source_at(exchange: ExchangeSessions, provider: TokenProvider) -> ImapSource:
    return ImapSource(host="127.0.0.1", port=exchange.port, security="none", username=MAILBOX,
                      bearer=provider, timeout=10)  # fmt: skip


def test_a_run_longer_than_its_token_logs_in_again_with_a_new_one(
    tmp_path: Path, exchange: ExchangeSessions
) -> None:
    now = [time.time()]
    provider = TokenProvider(microsoft(tmp_path), tmp_path, lambda: now[0])
    source = source_at(exchange, provider)
    with responses.RequestsMock() as rsps:
        fake_entra(rsps, TOKEN | {"access_token": FIRST})
        rsps.post(MS_TOKEN_URL, json=TOKEN | {"access_token": SECOND})
        source.open()
        envelopes = source.pending(lambda _: False)
        # The token's hour is up: Exchange would end this session at the next command.
        now[0] += 3599 - 30
        exchange.expired.add(1)
        fetched = list(source.fetch(envelopes))
        source.close()
        posts = [c.request.url for c in rsps.calls if c.request.method == "POST"]
        assert posts == [MS_TOKEN_URL, MS_TOKEN_URL]  # a second token, for the new login
    assert [f.raw for f in fetched] == [MAIL]
    assert exchange.tokens == [FIRST, SECOND]
    assert (1, "LOGOUT") in exchange.commands  # the old session was ended, not left
    assert not [c for s, c in exchange.commands if s == 1 and "FETCH (BODY" in c.upper()]


def test_a_session_ended_for_an_expired_token_drops_that_token(
    tmp_path: Path, exchange: ExchangeSessions
) -> None:
    provider = TokenProvider(microsoft(tmp_path), tmp_path)
    source = source_at(exchange, provider)
    with responses.RequestsMock() as rsps:
        fake_entra(rsps, TOKEN | {"access_token": FIRST})
        source.open()
    assert provider.cache_path.exists()
    exchange.expired.add(1)  # revoked early: our clock still thinks it is good
    with pytest.raises(Unreachable) as ended:
        source.pending(lambda _: False)
    text = str(ended.value)
    assert "AccessTokenExpired" in text
    assert "the OAuth2 token expired; it was dropped" in text
    assert not provider.cache_path.exists()  # the next run asks Entra ID for a new one
    source.close()


def test_a_session_ended_while_idling_for_an_expired_token_drops_that_token(
    tmp_path: Path, exchange: ExchangeSessions
) -> None:
    provider = TokenProvider(microsoft(tmp_path), tmp_path)
    source = source_at(exchange, provider)
    exchange.bye_in_idle = True
    with responses.RequestsMock() as rsps:
        fake_entra(rsps, TOKEN | {"access_token": FIRST})
        source.open()
    source.start_idle()
    select([source.idle_socket()], [], [], 10)
    with pytest.raises(Unreachable) as ended:
        source.idle_news()
    text = str(ended.value)
    assert "lost while idling: the server said BYE Session invalidated - AccessTokenExpired" in text
    assert "it was dropped" in text
    assert not provider.cache_path.exists()  # watch's reconnection asks for a new token
    source.close()


def test_a_connection_lost_during_authenticate_is_not_a_refused_token(tmp_path: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"* OK The Microsoft Exchange IMAP4 service is ready.\r\n")
            for raw in lines:
                tag, _, command = raw.decode().partition(" ")
                if command.upper().startswith("CAPABILITY"):
                    conn.sendall(b"* CAPABILITY IMAP4rev1 AUTH=XOAUTH2\r\n"
                                 + f"{tag} OK done\r\n".encode())  # fmt: skip
                else:
                    return  # the connection drops during AUTHENTICATE

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    provider = TokenProvider(microsoft(tmp_path), tmp_path)
    source = ImapSource(host="127.0.0.1", port=listener.getsockname()[1], security="none",
                        username=MAILBOX, bearer=provider, timeout=10)  # fmt: skip
    try:
        with responses.RequestsMock() as rsps:
            fake_entra(rsps, TOKEN)
            with pytest.raises(Unreachable) as lost:
                source.open()
    finally:
        listener.close()
        thread.join(5)
    assert "lost while logging in" in str(lost.value)
    assert "New-ServicePrincipal" not in str(lost.value)
    assert ACCESS not in str(lost.value)


# --- Microsoft Graph -------------------------------------------------------------------


def test_graph_403_from_an_access_policy_says_the_policy_not_the_permission(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = write_rules(tmp_path, "    protocol: graph")
    message = (
        "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly "
        "AccessPolicy settings."
    )
    with responses.RequestsMock() as rsps:
        fake_entra(rsps, TOKEN)
        rsps.get(
            f"{GRAPH}/mailFolders/inbox",
            json={"error": {"code": "ErrorAccessDenied", "message": message}},
            status=403,
        )
        code, said = check(rules, capsys)
        assert [(c.request.method, c.request.url) for c in rsps.calls][-1] == (
            "GET",
            f"{GRAPH}/mailFolders/inbox",
        )
    assert code == ExitCode.CONFIGURATION
    assert "Blocked by tenant configured AppOnly AccessPolicy settings" in said
    assert "Test-ApplicationAccessPolicy -Identity <mailbox> -AppId <client_id>" in said
    assert "needs the Microsoft Graph application permission" not in said


def test_graph_403_without_the_permission_says_graphs_words_and_the_permission(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = write_rules(tmp_path, "    protocol: graph")
    denied = {"error": {"code": "ErrorAccessDenied", "message": "Access is denied. Check "
                        "credentials and try again."}}  # fmt: skip
    with responses.RequestsMock() as rsps:
        fake_entra(rsps, TOKEN)
        rsps.get(f"{GRAPH}/mailFolders/inbox", json=denied, status=403)
        code, said = check(rules, capsys)
    assert code == ExitCode.CONFIGURATION
    assert "(403: Access is denied. Check credentials and try again.)" in said
    assert "application permission Mail.ReadWrite with admin consent" in said


def test_device_code_for_an_app_of_another_tenant_says_so_without_app_only_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(DEVICE_RULES)
    (tmp_path / "mail").mkdir()
    answer = refusal("unauthorized_client", 700016, "Application with identifier "
                     f"'{DEVICE_CLIENT}' was not found in the directory 'Contoso'.")  # fmt: skip
    with responses.RequestsMock() as rsps:
        fake_discovery(rsps)
        rsps.post(DEVICE_URL, json=answer, status=400)
        assert main(["login", "-c", str(rules), "support"]) == ExitCode.CONFIGURATION
        assert [(c.request.method, c.request.url) for c in rsps.calls][-1] == ("POST", DEVICE_URL)
    err = capsys.readouterr().err
    assert "the tenant does not know the app: check tenant and client_id" in err
    assert "step" not in err  # the app-only set-up's numbers would point elsewhere


def test_a_signed_in_users_smtp_token_refused_is_about_the_user_not_an_app(
    tmp_path: Path,
) -> None:
    handler = ExchangeSmtp("535 5.7.3 Authentication unsuccessful [SN2PR00CA0018.prod]")
    port = free_ports(1)[0]
    controller = Controller(handler, hostname="127.0.0.1", port=port, auth_require_tls=False)
    controller.start()
    settings = device_code()
    provider = TokenProvider(settings, tmp_path, protocol="smtp", username=DELEGATED_USER)
    smtp = Smtp.model_validate({
        "host": "127.0.0.1", "port": port, "security": "none", "sender": DELEGATED_USER,
        "username": DELEGATED_USER, "auth": {"oauth2": settings.model_dump()},
    })  # fmt: skip
    try:
        with responses.RequestsMock() as rsps:
            fake_device_flow(rsps, token_answer("eyJ0eXAi.first", "refresh-one"))
            provider.login(lambda _: None)
        with responses.RequestsMock() as rsps:
            fake_discovery(rsps)  # the kept token refused: one new one, refused too
            rsps.post(TOKEN_URL, json=token_answer("eyJ0eXAi.second", "refresh-two"))
            with pytest.raises(ConfigurationError) as refused:
                SmtpForwarder(smtp, "support", bearer=provider)(
                    parse_message(RAW), RAW, "helpdesk@example.com", "why"
                )
            assert form(rsps.calls[-1])["grant_type"] == "refresh_token"
    finally:
        controller.stop()
    assert len(handler.tried) == 2
    text = str(refused.value)
    assert "5.7.3 Authentication unsuccessful" in text
    assert "the signed-in user's token" in text
    assert "tracker-mail login smtp" in text
    assert "SMTP.SendAsApp" not in text  # an app-only permission: not this flow's
