"""flow: device_code (provider: microsoft) and ``tracker-mail login``, Entra ID faked.

``responses`` stands in for login.microsoftonline.com: the device code endpoint, the token
endpoint polled with the device-code grant, and on a later run the refresh-token grant
that ``acquire_token_silent`` sends. Every request's form fields are asserted and an
unexpected request fails the test, so nothing reaches the network. The fake answers at
once (``interval: 0``), so no test waits.
"""

from __future__ import annotations

import base64
import json
import logging
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
import requests
import responses

from tests.test_oauth2_providers import ExchangeWithoutPermission
from tracker_mail_plugin.cli import main
from tracker_mail_plugin.config.auth import MicrosoftOAuth2
from tracker_mail_plugin.config.loader import ConfigFileError, load_config_text
from tracker_mail_plugin.errors import ConfigurationError, ExitCode
from tracker_mail_plugin.oauth2 import TokenProvider

TENANT = "contoso.example"
TENANT_ID = "11111111-2222-3333-4444-555555555555"
CLIENT = "00000000-0000-0000-0000-0000000000bb"
AUTHORITY = f"https://login.microsoftonline.com/{TENANT_ID}"
DISCOVERY = f"https://login.microsoftonline.com/{TENANT}/v2.0/.well-known/openid-configuration"
DEVICE_URL = f"{AUTHORITY}/oauth2/v2.0/devicecode"
TOKEN_URL = f"{AUTHORITY}/oauth2/v2.0/token"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
IMAP_SCOPE = "https://outlook.office365.com/IMAP.AccessAsUser.All"
POP_SCOPE = "https://outlook.office365.com/POP.AccessAsUser.All"
USER = "support@contoso.example"
USER_CODE = "FK7QX2LRP"
VERIFY = "https://microsoft.com/devicelogin"
DEVICE_CODE = "device-code-secret-value-1"
ACCESS_1 = "eyJ0eXAi.first-access-token"
ACCESS_2 = "eyJ0eXAi.second-access-token"
REFRESH_1 = "refresh-token-value-one"
REFRESH_2 = "refresh-token-value-two"

RULES = f"""\
version: 1
journal: state/journal.sqlite3
trackers:
  rec: {{adapter: recording}}
rules:
  - name: all
    when: {{subject_contains: x}}
    then: [{{create_issue: {{project: p}}}}]
mailboxes:
  support:
    protocol: imap
    host: outlook.office365.com
    username: {USER}
    tracker: rec
    auth:
      oauth2:
        provider: microsoft
        tenant: {TENANT}
        client_id: {CLIENT}
        flow: device_code
  archive:
    protocol: maildir
    path: mail
    tracker: rec
"""


def form(call: Any) -> dict[str, str]:
    body = call.request.body
    text = body.decode() if isinstance(body, bytes) else str(body)
    return {k: v[0] for k, v in parse_qs(text).items()}


def settings(**more: Any) -> MicrosoftOAuth2:
    base = {"provider": "microsoft", "tenant": TENANT, "client_id": CLIENT, "flow": "device_code"}
    return MicrosoftOAuth2.model_validate(base | more)


def id_token() -> str:
    now = int(time.time())
    claims = {"aud": CLIENT, "iss": f"{AUTHORITY}/v2.0", "tid": TENANT_ID, "oid": "u-1",
              "sub": "s-1", "preferred_username": USER, "iat": now, "exp": now + 3600}  # fmt: skip
    return jwt.encode(claims, "not-checked-by-msal-key-of-32-bytes", algorithm="HS256")


def token_answer(access: str, refresh: str, expires_in: int = 3599) -> dict[str, Any]:
    info = json.dumps({"uid": "u-1", "utid": TENANT_ID}).encode()
    return {
        "token_type": "Bearer",
        "scope": f"{IMAP_SCOPE} openid profile offline_access",
        "expires_in": expires_in,
        "access_token": access,
        "refresh_token": refresh,
        "id_token": id_token(),
        "client_info": base64.urlsafe_b64encode(info).decode().rstrip("="),
    }


def fake_discovery(rsps: responses.RequestsMock) -> None:
    rsps.get(
        DISCOVERY,
        json={
            "issuer": f"{AUTHORITY}/v2.0",
            "authorization_endpoint": f"{AUTHORITY}/oauth2/v2.0/authorize",
            "token_endpoint": TOKEN_URL,
            "device_authorization_endpoint": DEVICE_URL,
        },
    )


def fake_device_flow(
    rsps: responses.RequestsMock, final: dict[str, Any], status: int = 200
) -> None:
    fake_discovery(rsps)
    rsps.post(
        DEVICE_URL,
        json={
            "user_code": USER_CODE,
            "device_code": DEVICE_CODE,
            "verification_uri": VERIFY,
            "expires_in": 900,
            "interval": 0,  # the fake answers at once: no test waits
            "message": f"To sign in, use a web browser to open the page {VERIFY} and enter "
            f"the code {USER_CODE} to authenticate.",
        },
    )
    # The user has not finished yet at the first poll; then the sign-in's answer.
    rsps.post(TOKEN_URL, json={"error": "authorization_pending"}, status=400)
    rsps.post(TOKEN_URL, json=final, status=status)


def assert_device_flow_requests(rsps: responses.RequestsMock, scope: str = IMAP_SCOPE) -> None:
    assert [(c.request.method, c.request.url) for c in rsps.calls] == [
        ("GET", DISCOVERY),
        ("POST", DEVICE_URL),
        ("POST", TOKEN_URL),
        ("POST", TOKEN_URL),
    ]
    asked = form(rsps.calls[1])
    assert asked["client_id"] == CLIENT
    assert set(asked["scope"].split()) == {scope, "offline_access", "openid", "profile"}
    assert "client_secret" not in asked
    for poll in rsps.calls[2:]:
        sent = form(poll)
        assert sent["grant_type"] == DEVICE_GRANT
        assert sent["device_code"] == DEVICE_CODE
        assert sent["client_id"] == CLIENT
        assert "client_secret" not in sent


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- configuration ---------------------------------------------------------------------


def test_device_code_needs_no_client_secret() -> None:
    loaded = load_config_text(RULES, "rules.yaml").config.mailboxes["support"]
    assert loaded.auth is not None
    oauth2 = loaded.auth.oauth2
    assert isinstance(oauth2, MicrosoftOAuth2)
    assert (oauth2.flow, oauth2.client_secret, oauth2.certificate) == ("device_code", None, None)


def test_device_code_with_a_secret_is_refused_at_its_line() -> None:
    text = RULES.replace("flow: device_code", "flow: device_code\n        client_secret: {env: S}")
    with pytest.raises(ConfigFileError) as exc:
        load_config_text(text, "rules.yaml")
    found = [str(p) for p in exc.value.problems]
    assert any("client_secret is not used with flow: device_code" in p for p in found), found
    assert all(p.startswith("rules.yaml:") for p in found), found


# --- the token provider ----------------------------------------------------------------


def test_sign_in_then_a_later_run_refreshes_silently(tmp_path: Path) -> None:
    now = [1_000_000.0]
    provider = TokenProvider(settings(), tmp_path, lambda: now[0], username=USER, name="support")
    shown: list[str] = []
    with responses.RequestsMock() as rsps:
        fake_device_flow(rsps, token_answer(ACCESS_1, REFRESH_1, expires_in=900))
        assert provider.login(shown.append) == USER
        assert_device_flow_requests(rsps)
    assert len(shown) == 1
    assert USER_CODE in shown[0]
    assert VERIFY in shown[0]
    kept = provider.sign_in_path
    assert kept.parent == tmp_path
    assert kept != provider.cache_path
    assert mode(kept) == 0o600
    assert mode(provider.cache_path) == 0o600
    assert REFRESH_1 in kept.read_text()
    with responses.RequestsMock():  # the sign-in's own token is cached: no request
        assert provider.token() == ACCESS_1

    # A later run, after the access token expired: a refresh-token grant, nobody present.
    now[0] += 3600
    later = TokenProvider(settings(), tmp_path, lambda: now[0], username=USER, name="support")
    with responses.RequestsMock() as rsps:
        fake_discovery(rsps)
        rsps.post(TOKEN_URL, json=token_answer(ACCESS_2, REFRESH_2))
        assert later.token() == ACCESS_2
        assert [(c.request.method, c.request.url) for c in rsps.calls] == [
            ("GET", DISCOVERY),
            ("POST", TOKEN_URL),
        ]
        sent = form(rsps.calls[1])
    assert sent["grant_type"] == "refresh_token"
    assert sent["refresh_token"] == REFRESH_1
    assert sent["client_id"] == CLIENT
    assert IMAP_SCOPE in sent["scope"].split()
    assert "client_secret" not in sent
    assert not later.from_cache
    assert REFRESH_2 in kept.read_text()  # the rotated refresh token is kept
    assert mode(kept) == 0o600


def test_a_pop3_mailbox_asks_for_the_pop_scope(tmp_path: Path) -> None:
    provider = TokenProvider(settings(), tmp_path, protocol="pop3", username=USER)
    with responses.RequestsMock() as rsps:
        fake_device_flow(rsps, token_answer(ACCESS_1, REFRESH_1))
        provider.login(lambda _: None)
        assert_device_flow_requests(rsps, POP_SCOPE)


def test_before_login_the_error_says_to_run_login(tmp_path: Path) -> None:
    provider = TokenProvider(settings(), tmp_path, username=USER, name="support")
    with responses.RequestsMock(), pytest.raises(ConfigurationError) as exc:  # no request
        provider.token()
    assert "run `tracker-mail login support`" in str(exc.value)
    assert not any(tmp_path.iterdir())


def test_a_revoked_sign_in_says_to_run_login_again(tmp_path: Path) -> None:
    provider = TokenProvider(settings(), tmp_path, username=USER, name="support")
    with responses.RequestsMock() as rsps:
        fake_device_flow(rsps, token_answer(ACCESS_1, REFRESH_1))
        provider.login(lambda _: None)
    provider.forget()  # as after the server refused the token: msal's copy is not used
    with responses.RequestsMock() as rsps:
        fake_discovery(rsps)
        rsps.post(
            TOKEN_URL,
            status=400,
            json={
                "error": "invalid_grant",
                "error_description": "AADSTS50173: The provided grant has expired due to it "
                "being revoked, a fresh auth token is needed.",
                "error_codes": [50173],
            },
        )
        with pytest.raises(ConfigurationError) as exc:
            provider.token()
        assert form(rsps.calls[1])["refresh_token"] == REFRESH_1
    text = str(exc.value)
    assert "expired or was revoked" in text
    assert "tracker-mail login support" in text
    assert REFRESH_1 not in text


# --- the login command -----------------------------------------------------------------


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    (tmp_path / "mail").mkdir()
    return path


def test_login_prints_the_code_and_url_but_never_tokens(
    rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with responses.RequestsMock() as rsps:
        fake_device_flow(rsps, token_answer(ACCESS_1, REFRESH_1))
        assert main(["login", "-c", str(rules), "support"]) == ExitCode.OK
        assert_device_flow_requests(rsps)
    out, err = capsys.readouterr()
    assert USER_CODE in out
    assert VERIFY in out
    assert f"signed in as {USER}" in out
    kept = [p for p in (rules.parent / "state").iterdir() if p.name.startswith("oauth2-msal-")]
    assert len(kept) == 1
    assert str(kept[0]) in out
    assert mode(kept[0]) == 0o600
    for secret in (ACCESS_1, REFRESH_1, DEVICE_CODE):
        assert secret not in out + err


def test_login_for_a_mailbox_without_sign_in_says_so(
    rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with responses.RequestsMock():
        assert main(["login", "-c", str(rules), "archive"]) == ExitCode.OK
    assert "no login is needed" in capsys.readouterr().out


def test_login_of_an_unknown_mailbox_names_the_mailboxes(
    rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["login", "-c", str(rules), "suport"]) == ExitCode.CONFIGURATION
    err = capsys.readouterr().err
    assert "no mailbox 'suport'" in err
    assert "support, archive" in err


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            {"error": "authorization_declined", "error_description": "AADSTS70000: declined"},
            "the sign-in was declined",
        ),
        ({"error": "expired_token", "error_codes": [70020]}, "the code expired"),
        (
            {
                "error": "invalid_client",
                "error_description": "AADSTS7000218: The request body must contain the "
                "following parameter: 'client_assertion' or 'client_secret'.",
                "error_codes": [7000218],
            },
            "Allow public client flows",
        ),
    ],
)
def test_a_refused_sign_in_exits_2_and_keeps_nothing(
    rules: Path, capsys: pytest.CaptureFixture[str], answer: dict[str, Any], expected: str
) -> None:
    with responses.RequestsMock() as rsps:
        fake_device_flow(rsps, answer, status=400)
        assert main(["login", "-c", str(rules), "support"]) == ExitCode.CONFIGURATION
        assert_device_flow_requests(rsps)
    out, err = capsys.readouterr()
    assert expected in err
    assert USER_CODE in out  # the user was shown the code before Entra ID refused
    assert not [p for p in (rules.parent / "state").iterdir() if p.name.startswith("oauth2-")]


def test_login_smtp_signs_in_for_forwarding_with_the_smtp_scope(
    rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules.write_text(
        RULES
        + f"""smtp:
  host: smtp.office365.com
  username: {USER}
  sender: {USER}
  auth:
    oauth2:
      provider: microsoft
      tenant: {TENANT}
      client_id: {CLIENT}
      flow: device_code
"""
    )
    with responses.RequestsMock() as rsps:
        fake_device_flow(rsps, token_answer(ACCESS_1, REFRESH_1))
        assert main(["login", "-c", str(rules), "smtp"]) == ExitCode.OK
        assert_device_flow_requests(rsps, "https://outlook.office365.com/SMTP.Send")
    assert "smtp: signed in as" in capsys.readouterr().out


def test_login_when_entra_cannot_be_reached_exits_3(
    rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with responses.RequestsMock() as rsps:
        rsps.get(DISCOVERY, body=requests.ConnectionError("no route to host"))
        assert main(["login", "-c", str(rules), "support"]) == ExitCode.UNREACHABLE
    assert "cannot be reached" in capsys.readouterr().err


def test_check_before_login_exits_2_and_says_to_run_login(
    rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = ExchangeWithoutPermission()
    try:
        text = RULES.replace(
            "host: outlook.office365.com",
            f"host: 127.0.0.1\n    port: {server.port}\n    security: none",
        ).replace("path: mail", f"path: {rules.parent / 'mail'}")
        (rules.parent / "mail").mkdir(exist_ok=True)
        rules.write_text(text)
        with responses.RequestsMock():  # no request to Entra ID
            code = main(["check", "-c", str(rules)])
    finally:
        server.close()
    assert code == ExitCode.CONFIGURATION
    assert "run `tracker-mail login support`" in capsys.readouterr().err
    assert server.responses == []


@pytest.fixture
def sync_logging() -> Iterator[None]:
    """``sync`` in this process sets up the package's logger; later tests get it back."""
    root = logging.getLogger("tracker_mail")
    saved = (root.handlers[:], root.level, root.propagate)
    yield
    root.handlers[:], root.level, root.propagate = saved


@pytest.mark.usefixtures("sync_logging")
def test_sync_before_login_exits_2_and_touches_nothing(
    rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = ExchangeWithoutPermission()
    try:
        text = RULES.replace(
            "host: outlook.office365.com",
            f"host: 127.0.0.1\n    port: {server.port}\n    security: none",
        ).replace("path: mail", f"path: {rules.parent / 'mail'}")
        (rules.parent / "mail").mkdir(exist_ok=True)
        rules.write_text(text)
        with responses.RequestsMock():  # no request to Entra ID
            code = main(["sync", "-c", str(rules), "--mailbox", "support"])
    finally:
        server.close()
    assert code == ExitCode.CONFIGURATION
    out, err = capsys.readouterr()
    assert "run `tracker-mail login support`" in out + err
    assert "support: stopped: " in out
    assert "so far: fetched 0, created 0" in out  # nothing fetched, nothing written
    assert server.responses == []  # no login was attempted
