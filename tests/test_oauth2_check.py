"""``tracker-mail check`` for OAuth2 mailboxes: it gets a token and logs in, and on failure
says which set-up step is likely missing.

Entra ID and Graph are faked by ``responses`` (every request asserted); Exchange's IMAP and
POP3 are the fakes on 127.0.0.1 of test_oauth2_providers.py and test_oauth2_exchange.py.
A successful check against the real Dovecot is in test_oauth2_dovecot.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import responses

from tests.test_oauth2_exchange import ExchangePop3
from tests.test_oauth2_providers import (
    ACCESS,
    CLIENT,
    SECRET,
    TENANT,
    ExchangeWithoutPermission,
    assert_entra_requests,
    fake_entra,
)
from tracker_mail_plugin.cli import main
from tracker_mail_plugin.errors import ExitCode

USER = "support@contoso.example"
GRAPH = f"https://graph.microsoft.com/v1.0/users/{USER}"
TOKEN = {"token_type": "Bearer", "expires_in": 3599, "access_token": ACCESS}


def write_rules(tmp: Path, where: str) -> Path:
    (tmp / "secret").write_text(SECRET)
    rules = tmp / "rules.yaml"
    rules.write_text(
        f"""\
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
{where}
    username: {USER}
    tracker: rec
    auth:
      oauth2:
        provider: microsoft
        tenant: {TENANT}
        client_id: {CLIENT}
        client_secret: {{file: {tmp / "secret"}}}
"""
    )
    return rules


def server_at(protocol: str, port: int) -> str:
    return f"    protocol: {protocol}\n    host: 127.0.0.1\n    port: {port}\n    security: none"


def check(rules: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["check", "-c", str(rules)])
    out, err = capsys.readouterr()
    assert ACCESS not in out + err
    assert SECRET not in out + err
    return code, out + err


def test_check_gets_a_token_and_names_the_exchange_steps_when_imap_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exchange = ExchangeWithoutPermission()
    try:
        rules = write_rules(tmp_path, server_at("imap", exchange.port))
        with responses.RequestsMock() as rsps:
            fake_entra(rsps, TOKEN)
            code, said = check(rules, capsys)
            assert_entra_requests(rsps)
    finally:
        exchange.close()
    assert code == ExitCode.CONFIGURATION
    assert len(exchange.responses) == 1  # it logged in with the token
    assert "mailbox support:" in said
    assert "AUTHENTICATE failed" in said
    assert "New-ServicePrincipal" in said
    assert "Add-MailboxPermission" in said


def test_check_names_the_pop_steps_when_exchange_pop3_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exchange = ExchangePop3()
    try:
        rules = write_rules(tmp_path, server_at("pop3", exchange.port))
        with responses.RequestsMock() as rsps:
            fake_entra(rsps, TOKEN)
            code, said = check(rules, capsys)
            assert_entra_requests(rsps)
    finally:
        exchange.close()
    assert code == ExitCode.CONFIGURATION
    assert "AUTH XOAUTH2" in exchange.commands
    assert "POP.AccessAsApp" in said
    assert "-PopEnabled $true" in said


def test_check_says_which_step_is_missing_when_entra_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exchange = ExchangeWithoutPermission()
    refusal = {
        "error": "invalid_client",
        "error_description": "AADSTS7000215: Invalid client secret provided.",
        "error_codes": [7000215],
    }
    try:
        rules = write_rules(tmp_path, server_at("imap", exchange.port))
        with responses.RequestsMock() as rsps:
            fake_entra(rsps, refusal, status=401)
            code, said = check(rules, capsys)
            assert_entra_requests(rsps)
    finally:
        exchange.close()
    assert exchange.responses == []  # no token, so no login was tried
    assert code == ExitCode.CONFIGURATION
    assert "the client secret is wrong" in said
    assert "Certificates & secrets" in said


def test_check_of_a_graph_mailbox_reads_the_folder_with_the_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = write_rules(tmp_path, "    protocol: graph")
    with responses.RequestsMock() as rsps:
        fake_entra(rsps, TOKEN)
        folder = {"id": "AAMkInbox==", "displayName": "Inbox", "totalItemCount": 7}
        rsps.get(f"{GRAPH}/mailFolders/inbox", json=folder)
        code, said = check(rules, capsys)
        assert rsps.calls[2].request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert code == ExitCode.OK, said
    assert "mailbox support: ok; Inbox: 7 message(s)" in said


def test_check_of_a_graph_mailbox_names_the_permission_when_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = write_rules(tmp_path, "    protocol: graph")
    denied = {"error": {"code": "ErrorAccessDenied", "message": "Access is denied."}}
    with responses.RequestsMock() as rsps:
        fake_entra(rsps, TOKEN)
        rsps.get(f"{GRAPH}/mailFolders/inbox", json=denied, status=403)
        code, said = check(rules, capsys)
    assert code == ExitCode.CONFIGURATION
    assert "Mail.ReadWrite" in said
    assert "admin consent" in said
