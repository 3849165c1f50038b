"""provider: microsoft (msal) and provider: google (google-auth), with their endpoints faked.

``responses`` stands in for login.microsoftonline.com and oauth2.googleapis.com: every
request the libraries make is asserted (method, URL, form fields, for Google the JWT
assertion's claims), and an unexpected one fails the test, so nothing reaches the network.
The one IMAP server is a few lines on 127.0.0.1 that answers like Exchange Online when the
app lacks the mailbox permission.
"""

from __future__ import annotations

import base64
import json
import socket
import stat
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
import requests
import responses
import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tracker_mail_plugin.config.auth import GoogleOAuth2, MicrosoftOAuth2
from tracker_mail_plugin.config.loader import ConfigFileError, load_config_text
from tracker_mail_plugin.errors import ConfigurationError, Unreachable
from tracker_mail_plugin.oauth2 import TokenProvider
from tracker_mail_plugin.sources.imap import ImapSource

TENANT = "contoso.example"
TENANT_ID = "11111111-2222-3333-4444-555555555555"
CLIENT = "00000000-0000-0000-0000-0000000000aa"
SECRET = "ms-secret-value-7f3"  # noqa: S105 - the fake app's secret
DISCOVERY = f"https://login.microsoftonline.com/{TENANT}/v2.0/.well-known/openid-configuration"
MS_TOKEN_URL = f"https://login.microsoftonline.com/{TENANT_ID}/oauth2/v2.0/token"
EXCHANGE = "https://outlook.office365.com/.default"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105
GMAIL = "https://mail.google.com/"
MAILBOX = "support@contoso.example"
ACCESS = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.access-token-value"  # what the fakes issue


def form(call: Any) -> dict[str, str]:
    body = call.request.body
    text = body.decode() if isinstance(body, bytes) else str(body)
    return {k: v[0] for k, v in parse_qs(text).items()}


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


# --- configuration ---------------------------------------------------------------------

RULES = """\
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
    host: outlook.office365.com
    username: support@contoso.example
    tracker: rec
    auth:
      oauth2:
"""

MICROSOFT = """\
        provider: microsoft
        tenant: contoso.example
        client_id: 00000000-0000-0000-0000-0000000000aa
        client_secret: {env: MS_SECRET}
"""

GOOGLE = """\
        provider: google
        service_account_file: {file: /etc/tracker-mail/sa.json}
        subject: support@contoso.example
"""


def load(oauth2: str) -> Any:
    return load_config_text(RULES + oauth2, "rules.yaml").config.mailboxes["support"].auth.oauth2


def problems(oauth2: str) -> list[str]:
    with pytest.raises(ConfigFileError) as exc:
        load_config_text(RULES + oauth2, "rules.yaml")
    return [str(p) for p in exc.value.problems]


def test_microsoft_and_google_mailboxes_load_with_their_defaults() -> None:
    ms = load(MICROSOFT)
    assert isinstance(ms, MicrosoftOAuth2)
    assert (ms.flow, ms.scope, ms.tenant) == ("client_credentials", EXCHANGE, TENANT)
    google = load(GOOGLE)
    assert isinstance(google, GoogleOAuth2)
    assert (google.flow, google.scope, google.subject) == ("service_account", GMAIL, MAILBOX)


@pytest.mark.parametrize(
    ("oauth2", "expected"),
    [
        (MICROSOFT.replace("        client_secret: {env: MS_SECRET}\n", ""), "exactly one of"),
        (
            MICROSOFT.replace("client_secret: {env: MS_SECRET}", "certificate: {file: c.pem}"),
            "certificate needs thumbprint",
        ),
        (
            MICROSOFT.replace("client_secret: {env: MS_SECRET}", "certificate: {env: C}")
            + "        thumbprint: "
            + "AB" * 20
            + "\n",
            "certificate must be a file reference",
        ),
        (
            MICROSOFT + "        flow: device_code\n",
            "client_secret is not used with flow: device_code",
        ),
        (MICROSOFT + "        flow: password\n", "client_credentials"),
        (MICROSOFT.replace("{env: MS_SECRET}", "plain-text"), "must not be written"),
        (GOOGLE.replace("        subject: support@contoso.example\n", ""), "needs service"),
        (GOOGLE + "        flow: refresh_token\n", "refresh_token needs client_id"),
        (GOOGLE.replace("{file: /etc/tracker-mail/sa.json}", "{env: SA}"), "file reference"),
    ],
)
def test_provider_mistakes_are_reported_at_their_line(oauth2: str, expected: str) -> None:
    found = problems(oauth2)
    assert any(expected in p for p in found), found
    assert all(p.startswith("rules.yaml:") for p in found), found
    assert "plain-text" not in " ".join(found)


# --- Microsoft (msal) ------------------------------------------------------------------


def microsoft(tmp: Path, **more: Any) -> MicrosoftOAuth2:
    (tmp / "ms-secret").write_text(SECRET)
    base: dict[str, Any] = {"provider": "microsoft", "tenant": TENANT, "client_id": CLIENT,
                            "client_secret": {"file": str(tmp / "ms-secret")}}  # fmt: skip
    return MicrosoftOAuth2.model_validate(base | more)


def fake_entra(
    rsps: responses.RequestsMock, token_answer: dict[str, Any], status: int = 200
) -> None:
    rsps.get(
        DISCOVERY,
        json={
            "issuer": f"https://login.microsoftonline.com/{TENANT_ID}/v2.0",
            "authorization_endpoint": f"https://login.microsoftonline.com/{TENANT_ID}/oauth2/v2.0/authorize",
            "token_endpoint": MS_TOKEN_URL,
            "device_authorization_endpoint": f"https://login.microsoftonline.com/{TENANT_ID}/oauth2/v2.0/devicecode",
        },
    )
    rsps.post(MS_TOKEN_URL, json=token_answer, status=status)


def assert_entra_requests(rsps: responses.RequestsMock) -> dict[str, str]:
    assert [(c.request.method, c.request.url) for c in rsps.calls] == [
        ("GET", DISCOVERY),
        ("POST", MS_TOKEN_URL),
    ]
    sent = form(rsps.calls[1])
    assert sent["grant_type"] == "client_credentials"
    assert sent["client_id"] == CLIENT
    assert set(sent["scope"].split()) >= {EXCHANGE}
    return sent


def test_microsoft_client_secret_token_is_fetched_and_cached(tmp_path: Path) -> None:
    provider = TokenProvider(microsoft(tmp_path), tmp_path)
    with responses.RequestsMock() as rsps:
        fake_entra(rsps, {"token_type": "Bearer", "expires_in": 3599, "access_token": ACCESS})
        assert provider.token() == ACCESS
        sent = assert_entra_requests(rsps)
    assert sent["client_secret"] == SECRET
    assert not provider.from_cache
    assert stat.S_IMODE(provider.cache_path.stat().st_mode) == 0o600
    again = TokenProvider(microsoft(tmp_path), tmp_path)
    with responses.RequestsMock():  # any request would fail the test
        assert again.token() == ACCESS
    assert again.from_cache
    assert SECRET not in repr(provider)
    assert ACCESS not in repr(provider)


def test_microsoft_certificate_signs_a_client_assertion(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tracker-mail")])
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(rsa_key.public_key()).serial_number(1)
        .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
        .sign(rsa_key, hashes.SHA256())
    )  # fmt: skip
    thumbprint = cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - Entra's thumbprint
    (tmp_path / "app.pem").write_text(pem(rsa_key))
    settings = microsoft(tmp_path, client_secret=None, certificate={"file": str(tmp_path / "app.pem")},
                         thumbprint=thumbprint)  # fmt: skip
    with responses.RequestsMock() as rsps:
        fake_entra(rsps, {"token_type": "Bearer", "expires_in": 3599, "access_token": ACCESS})
        assert TokenProvider(settings, tmp_path).token() == ACCESS
        sent = assert_entra_requests(rsps)
    assert "client_secret" not in sent
    assert sent["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    header = jwt.get_unverified_header(sent["client_assertion"])
    x5t = base64.urlsafe_b64decode(header["x5t"] + "==").hex().upper()
    assert x5t == thumbprint
    claims = jwt.decode(sent["client_assertion"], options={"verify_signature": False})
    assert (claims["iss"], claims["sub"]) == (CLIENT, CLIENT)
    assert claims["aud"] == MS_TOKEN_URL
    jwt.decode(sent["client_assertion"], rsa_key.public_key(), algorithms=["RS256", "PS256"],
               audience=MS_TOKEN_URL)  # fmt: skip


@pytest.mark.parametrize(
    ("error", "codes", "expected"),
    [
        ("invalid_client", [7000215], "the client secret is wrong"),
        ("invalid_client", [7000222], "the client secret has expired"),
        ("invalid_client", [], "credential was not accepted"),
        ("unauthorized_client", [700016], "the tenant does not know the app"),
        ("unauthorized_client", [], "the tenant does not know the app"),
        ("invalid_grant", [], "admin consent is missing or was revoked"),
        ("invalid_request", [65001], "admin consent is missing"),
    ],
)
def test_entra_refusals_say_which_step_is_missing(
    tmp_path: Path, error: str, codes: list[int], expected: str
) -> None:
    described = f"AADSTS{codes[0]}: refused. Trace ID: x" if codes else "refused"
    answer = {"error": error, "error_description": described, "error_codes": codes}
    with responses.RequestsMock() as rsps:
        fake_entra(rsps, answer, status=400)
        with pytest.raises(ConfigurationError) as refused:
            TokenProvider(microsoft(tmp_path), tmp_path).token()
        assert_entra_requests(rsps)
    text = str(refused.value)
    assert expected in text
    assert "admin consent" in text
    assert "New-ServicePrincipal" in text
    assert "Add-MailboxPermission" in text
    assert SECRET not in text


def test_an_unknown_tenant_is_named(tmp_path: Path) -> None:
    with responses.RequestsMock() as rsps:
        rsps.get(DISCOVERY, status=400, json={"error": "invalid_tenant",
                 "error_description": "AADSTS90002: Tenant 'contoso.example' not found."})  # fmt: skip
        with pytest.raises(ConfigurationError, match=r"does not know tenant contoso\.example"):
            TokenProvider(microsoft(tmp_path), tmp_path).token()
        assert [c.request.url for c in rsps.calls] == [DISCOVERY]


def test_entra_failing_is_unreachable(tmp_path: Path) -> None:
    with responses.RequestsMock() as rsps:
        fake_entra(rsps, {"error": "server_error"}, status=503)
        with pytest.raises(Unreachable):
            TokenProvider(microsoft(tmp_path), tmp_path).token()
        assert_entra_requests(rsps)


def test_entra_out_of_reach_is_said_with_the_innermost_reason(tmp_path: Path) -> None:
    refused = requests.exceptions.ConnectionError(
        urllib3.exceptions.MaxRetryError(
            None, "/", urllib3.exceptions.NewConnectionError(None, "Connection refused")
        )
    )
    with responses.RequestsMock() as rsps:
        rsps.get(DISCOVERY, body=refused)
        with pytest.raises(Unreachable) as caught:
            TokenProvider(microsoft(tmp_path), tmp_path).token()
    said = str(caught.value)
    assert said.startswith("cannot get a token from Microsoft Entra ID")
    assert said.endswith("Connection refused")
    assert "Max retries" not in said  # urllib3's wrapper around the reason


class ExchangeWithoutPermission:
    """An IMAP server on 127.0.0.1 that refuses XOAUTH2 as Exchange does: AUTHENTICATE failed."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.responses: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"* OK The Microsoft Exchange IMAP4 service is ready.\r\n")
            for raw in lines:
                tag, _, command = raw.decode().strip().partition(" ")
                verb = command.split(" ", 1)[0].upper()
                if verb == "CAPABILITY":
                    conn.sendall(b"* CAPABILITY IMAP4 IMAP4rev1 AUTH=XOAUTH2 SASL-IR ID\r\n")
                    conn.sendall(f"{tag} OK CAPABILITY completed.\r\n".encode())
                elif verb == "AUTHENTICATE":
                    parts = command.split(" ")
                    if len(parts) > 2:
                        self.responses.append(parts[2])
                    else:
                        conn.sendall(b"+ \r\n")
                        self.responses.append(lines.readline().decode().strip())
                    conn.sendall(f"{tag} NO AUTHENTICATE failed.\r\n".encode())
                elif verb == "LOGOUT":
                    conn.sendall(f"* BYE\r\n{tag} OK LOGOUT completed.\r\n".encode())
                    return
                else:
                    conn.sendall(f"{tag} OK done.\r\n".encode())

    def close(self) -> None:
        self.listener.close()
        self.thread.join(5)


@pytest.fixture
def exchange() -> Iterator[ExchangeWithoutPermission]:
    server = ExchangeWithoutPermission()
    yield server
    server.close()


def test_exchange_authenticate_failed_names_the_exchange_steps(
    tmp_path: Path, exchange: ExchangeWithoutPermission
) -> None:
    provider = TokenProvider(microsoft(tmp_path), tmp_path)
    source = ImapSource(host="127.0.0.1", port=exchange.port, security="none", username=MAILBOX,
                        bearer=provider, timeout=10)  # fmt: skip
    with responses.RequestsMock() as rsps:
        fake_entra(rsps, {"token_type": "Bearer", "expires_in": 3599, "access_token": ACCESS})
        with pytest.raises(ConfigurationError) as refused:
            source.open()
        assert_entra_requests(rsps)
    sent = base64.b64decode(exchange.responses[0]).decode()
    assert sent == f"user={MAILBOX}\x01auth=Bearer {ACCESS}\x01\x01"
    text = str(refused.value)
    assert "AUTHENTICATE failed" in text
    assert "New-ServicePrincipal" in text
    assert "Add-MailboxPermission" in text
    assert ACCESS not in text
    assert SECRET not in text
    assert not provider.cache_path.exists()  # the refused token is not kept


def test_without_msal_the_pip_command_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "msal", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'tracker-mail-plugin\[oauth2\]'"):
        TokenProvider(microsoft(tmp_path), tmp_path).token()


# --- Google (google-auth) --------------------------------------------------------------

SA_EMAIL = "tracker-mail@project.iam.gserviceaccount.com"
SA_CLIENT = "109876543210987654321"
REFRESH = "1//refresh-token-value"
GOOGLE_SECRET = "GOCSPX-google-client-secret"  # noqa: S105 - the fake installed app's


def service_account(tmp: Path, key: rsa.RSAPrivateKey) -> GoogleOAuth2:
    info = {
        "type": "service_account",
        "project_id": "project",
        "private_key_id": "abc123",
        "private_key": pem(key),
        "client_email": SA_EMAIL,
        "client_id": SA_CLIENT,
        "token_uri": GOOGLE_TOKEN_URL,
    }
    (tmp / "sa.json").write_text(json.dumps(info))
    return GoogleOAuth2.model_validate({"provider": "google", "subject": MAILBOX,
        "service_account_file": {"file": str(tmp / "sa.json")}})  # fmt: skip


def installed_app(tmp: Path) -> GoogleOAuth2:
    (tmp / "refresh").write_text(REFRESH)
    (tmp / "client-secret").write_text(GOOGLE_SECRET)
    return GoogleOAuth2.model_validate({"provider": "google", "flow": "refresh_token",
        "client_id": "1234-app.apps.googleusercontent.com",
        "client_secret": {"file": str(tmp / "client-secret")},
        "refresh_token": {"file": str(tmp / "refresh")}})  # fmt: skip


def test_google_service_account_acts_as_the_subject(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    provider = TokenProvider(service_account(tmp_path, rsa_key), tmp_path)
    with responses.RequestsMock() as rsps:
        rsps.post(GOOGLE_TOKEN_URL, json={"access_token": ACCESS, "expires_in": 3599,
                                          "token_type": "Bearer"})  # fmt: skip
        assert provider.token() == ACCESS
        assert [(c.request.method, c.request.url) for c in rsps.calls] == [
            ("POST", GOOGLE_TOKEN_URL)
        ]
        sent = form(rsps.calls[0])
    assert sent["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = jwt.decode(sent["assertion"], options={"verify_signature": False})
    assert claims["sub"] == MAILBOX
    assert claims["scope"] == GMAIL
    assert claims["iss"] == SA_EMAIL
    assert claims["aud"] == GOOGLE_TOKEN_URL
    jwt.decode(sent["assertion"], rsa_key.public_key(), algorithms=["RS256"],
               audience=GOOGLE_TOKEN_URL)  # fmt: skip
    assert stat.S_IMODE(provider.cache_path.stat().st_mode) == 0o600
    with responses.RequestsMock():
        assert TokenProvider(service_account(tmp_path, rsa_key), tmp_path).token() == ACCESS


def test_google_refresh_token_flow(tmp_path: Path) -> None:
    provider = TokenProvider(installed_app(tmp_path), tmp_path)
    with responses.RequestsMock() as rsps:
        rsps.post(GOOGLE_TOKEN_URL, json={"access_token": ACCESS, "expires_in": 3599,
                                          "scope": GMAIL, "token_type": "Bearer"})  # fmt: skip
        assert provider.token() == ACCESS
        assert [(c.request.method, c.request.url) for c in rsps.calls] == [
            ("POST", GOOGLE_TOKEN_URL)
        ]
        sent = form(rsps.calls[0])
    assert sent == {
        "grant_type": "refresh_token",
        "client_id": "1234-app.apps.googleusercontent.com",
        "client_secret": GOOGLE_SECRET,
        "refresh_token": REFRESH,
        "scope": GMAIL,
    }
    shown = repr(provider) + repr(installed_app(tmp_path))
    for secret in (ACCESS, REFRESH, GOOGLE_SECRET):
        assert secret not in shown


@pytest.mark.parametrize(
    ("flow", "answer", "expected"),
    [
        (
            "service_account",
            {
                "error": "unauthorized_client",
                "error_description": "Client is unauthorized to "
                "retrieve access tokens using this method, or client not authorized for any of "
                "the scopes requested.",
            },
            "domain-wide delegation is missing for this scope: in the Google Admin console",
        ),
        (
            "service_account",
            {"error": "invalid_grant", "error_description": "Invalid email or User ID"},
            f"subject {MAILBOX} is not a user",
        ),
        (
            "service_account",
            {"error": "invalid_grant", "error_description": "Invalid JWT Signature."},
            "create a new JSON key",
        ),
        (
            "service_account",
            {
                "error": "invalid_grant",
                "error_description": "Invalid JWT: Token must be a short-lived token (60 "
                "minutes) and in a reasonable timeframe. Check your iat and exp values in the "
                "JWT claim.",
            },
            "this machine's clock is off (it says ",
        ),
        (
            "refresh_token",
            {"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
            "obtain a new refresh token",
        ),
        (
            "refresh_token",
            {"error": "invalid_client", "error_description": "The OAuth client was not found."},
            "check client_id and client_secret",
        ),
    ],
)
def test_google_refusals_say_what_to_do(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, flow: str, answer: dict[str, str], expected: str
) -> None:
    settings = (
        service_account(tmp_path, rsa_key) if flow == "service_account" else installed_app(tmp_path)
    )
    with responses.RequestsMock() as rsps:
        rsps.post(GOOGLE_TOKEN_URL, json=answer, status=400 if "grant" in answer["error"] else 401)
        with pytest.raises(ConfigurationError) as refused:
            TokenProvider(settings, tmp_path).token()
        assert len(rsps.calls) == 1
    text = str(refused.value)
    assert expected in text
    if flow == "service_account" and answer["error"] == "unauthorized_client":
        assert SA_CLIENT in text
        assert GMAIL in text
    for secret in (REFRESH, GOOGLE_SECRET, "PRIVATE KEY"):
        assert secret not in text


def test_a_file_that_is_not_a_service_account_key_is_named(tmp_path: Path) -> None:
    (tmp_path / "sa.json").write_text('{"installed": {"client_id": "x"}}')
    settings = GoogleOAuth2.model_validate({"provider": "google", "subject": MAILBOX,
        "service_account_file": {"file": str(tmp_path / "sa.json")}})  # fmt: skip
    with (
        responses.RequestsMock(),
        pytest.raises(ConfigurationError, match="not a service account key"),
    ):
        TokenProvider(settings, tmp_path).token()


def test_without_google_auth_the_pip_command_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "google.oauth2.credentials", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'tracker-mail-plugin\[oauth2\]'"):
        TokenProvider(installed_app(tmp_path), tmp_path).token()


def test_rules_example_mailboxes_load() -> None:
    text = Path(__file__).parent.parent.joinpath("rules.yaml.example").read_text()
    boxes = load_config_text(textwrap.dedent(text), "rules.yaml.example").config.mailboxes
    providers = {b.auth.oauth2.provider for b in boxes.values() if b.auth is not None}
    assert {"microsoft", "google"} <= providers
