"""OAuth2 logins end to end: ``tracker-mail`` fetches a token and logs in to a real Dovecot.

The test Dovecot validates XOAUTH2 tokens itself (JWTs signed with its key, see
``tracker_mail_plugin.testing.dovecot``); the token endpoint is tests/servers/tokens.py on
127.0.0.1, issuing such JWTs to a registered client. No password is configured anywhere.
"""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.servers.dovecot import Account, Dovecot, free_ports
from tests.servers.tokens import Client, TokenEndpoint, TokenServer
from tests.test_sync_dovecot import MAILBOX, Rig, mail, pop3_uidls, smtp  # noqa: F401 - fixture

pytestmark = pytest.mark.servers

CLIENT_ID = "tracker-mail-test"
SECRET = "s3cr3t-client-value"  # noqa: S105 - the test client's secret
REFRESH = "refresh-token-value"


@pytest.fixture
def tokens(dovecot: Dovecot, account: Account) -> Iterator[TokenServer]:
    endpoint = TokenEndpoint(key=dovecot.oauth2_key)
    endpoint.clients[CLIENT_ID] = Client(SECRET, account.user, {REFRESH})
    with TokenServer(endpoint) as server:
        yield server


@pytest.fixture
def rig(tmp_path: Path, dovecot: Dovecot, account: Account, smtp: Any) -> Rig:  # noqa: F811
    return Rig(tmp_path, dovecot, account, smtp.port)


def use_oauth2(rig: Rig, token_url: str, secret: str = SECRET, **oauth2: Any) -> None:
    """Replace the mailbox's password with ``auth: {oauth2: ...}`` (secrets in files)."""
    (rig.tmp / "client-secret").write_text(secret)
    (rig.tmp / "refresh-token").write_text(oauth2.pop("refresh", REFRESH))
    document = yaml.safe_load(rig.config.read_text())
    mailbox = document["mailboxes"][MAILBOX]
    del mailbox["password"]
    settings = {
        "provider": "generic",
        "token_url": token_url,
        "client_id": CLIENT_ID,
        "client_secret": {"file": str(rig.tmp / "client-secret")},
        "scope": "mail",
    } | oauth2
    if settings.get("flow") == "refresh_token":
        settings["refresh_token"] = {"file": str(rig.tmp / "refresh-token")}
    mailbox["auth"] = {"oauth2": settings}
    rig.config.write_text(yaml.safe_dump(document, sort_keys=False))


def cache_file(rig: Rig) -> Path:
    found = list(rig.tmp.glob("oauth2-token-*.json"))
    assert len(found) == 1, found
    return found[0]


def cached_token(rig: Rig) -> str:
    return str(json.loads(cache_file(rig).read_text())["access_token"])


def logged_in_with(rig: Rig, protocol: str) -> str:
    """The SASL mechanism of the account's last successful login, from Dovecot's log."""
    wanted = f"{protocol}-login: Info: Login: user=<{rig.account.user}>, method="
    deadline = time.monotonic() + 60  # Dovecot's log process writes a moment after the login
    while time.monotonic() < deadline:
        lines = [line for line in rig.dovecot.log().splitlines() if wanted in line]
        if lines:
            return lines[-1].split("method=", 1)[1].split(",", 1)[0]
        time.sleep(0.1)
    raise AssertionError(f"no {protocol} login of {rig.account.user} in Dovecot's log")


def untouched(rig: Rig, subject: str) -> None:
    assert [m for m in rig.folder() if subject.encode() in m], "the message was moved"
    assert rig.issues() == []


def test_sync_logs_in_with_a_fetched_token_then_reuses_it(rig: Rig, tokens: TokenServer) -> None:
    use_oauth2(rig, tokens.url)
    rig.append(mail("The printer is on fire"))
    assert rig.sync().summary["created"] == 1
    assert [r["grant_type"] for r in tokens.endpoint.requests] == ["client_credentials"]
    assert tokens.endpoint.requests[0]["scope"] == "mail"
    assert stat.S_IMODE(cache_file(rig).stat().st_mode) == 0o600
    rig.append(mail("The printer again"))
    assert rig.sync().summary["created"] == 1
    assert len(tokens.endpoint.requests) == 1  # the cached token served the second run
    assert [issue.title for issue in rig.issues()] == [
        "The printer is on fire",
        "The printer again",
    ]


def test_an_expired_cached_token_is_renewed(rig: Rig, tokens: TokenServer) -> None:
    use_oauth2(rig, tokens.url, flow="refresh_token")
    rig.append(mail("printer one"))
    rig.sync()
    # Time passes: the cached token has expired (Dovecot would refuse it too).
    expired = tokens.endpoint.issue(rig.account.user, lifetime=-120)
    payload = {"access_token": expired, "expires_at": time.time() - 120}
    cache_file(rig).write_text(json.dumps(payload))
    rig.append(mail("printer two"))
    assert rig.sync().summary["created"] == 1
    assert [r["grant_type"] for r in tokens.endpoint.requests] == ["refresh_token"] * 2
    assert cached_token(rig) != expired
    assert stat.S_IMODE(cache_file(rig).stat().st_mode) == 0o600


def test_a_rotated_refresh_token_carries_the_next_run(rig: Rig, tokens: TokenServer) -> None:
    tokens.endpoint.rotate = True  # each refresh token works once
    use_oauth2(rig, tokens.url, flow="refresh_token")
    rig.append(mail("printer one"))
    rig.sync()
    cache_file(rig).unlink()  # the access token expired: the next run must refresh
    rig.append(mail("printer two"))
    assert rig.sync().summary["created"] == 1
    used = [r["refresh_token"] for r in tokens.endpoint.requests]
    assert used[0] == REFRESH
    assert used[1] != REFRESH
    assert (rig.tmp / "refresh-token").read_text() == REFRESH


def test_a_cached_token_the_server_no_longer_accepts_is_replaced(
    rig: Rig, tokens: TokenServer
) -> None:
    use_oauth2(rig, tokens.url)
    rig.append(mail("printer one"))
    rig.sync()
    # Still valid by its expiry, but signed with a key the server no longer trusts.
    stale = tokens.endpoint.issue(rig.account.user, key=b"rotated-away" * 3)
    cache_file(rig).write_text(
        json.dumps({"access_token": stale, "expires_at": time.time() + 3000})
    )
    rig.append(mail("printer two"))
    assert rig.sync().summary["created"] == 1
    assert len(tokens.endpoint.requests) == 2


def test_a_run_longer_than_its_token_logs_in_again_and_finishes(
    rig: Rig, tokens: TokenServer
) -> None:
    # Tokens that last only the renewal margin: every command after the login finds the
    # session's token expiring, as a long run finds it after an hour. Exchange would end
    # such a session (BYE AccessTokenExpired); the run logs in again with a new token.
    tokens.endpoint.lifetime = 60
    use_oauth2(rig, tokens.url)
    rig.append(mail("printer one"), mail("printer two"))
    assert rig.sync().summary["created"] == 2
    assert len(tokens.endpoint.requests) > 1  # a new token for each new login
    assert [m for m in rig.folder() if b"printer" in m] == []  # both moved to Processed
    assert len([m for m in rig.folder("Processed") if b"printer" in m]) == 2
    assert sorted(issue.title for issue in rig.issues()) == ["printer one", "printer two"]


def test_a_wrong_client_secret_is_a_configuration_error_and_nothing_is_touched(
    rig: Rig, tokens: TokenServer
) -> None:
    use_oauth2(rig, tokens.url, secret="wrong-secret-value")  # noqa: S106 - a wrong one
    rig.append(mail("printer down"))
    result = rig.run("sync")
    assert result.returncode == 2, result.output
    assert "check client_id and client_secret" in result.output
    assert "wrong-secret-value" not in result.output
    untouched(rig, "printer down")


def test_a_revoked_refresh_token_says_to_obtain_a_new_one(rig: Rig, tokens: TokenServer) -> None:
    use_oauth2(rig, tokens.url, flow="refresh_token", refresh="revoked-refresh-value")
    rig.append(mail("printer down"))
    result = rig.run("sync")
    assert result.returncode == 2, result.output
    assert "obtain a new refresh token" in result.output
    assert "revoked-refresh-value" not in result.output
    untouched(rig, "printer down")


def test_a_token_the_mail_server_refuses_is_a_configuration_error(
    rig: Rig, tokens: TokenServer
) -> None:
    tokens.endpoint.key = b"not-the-dovecot-key" * 2  # the endpoint's tokens are worthless
    use_oauth2(rig, tokens.url)
    rig.append(mail("printer down"))
    result = rig.run("sync")
    assert result.returncode == 2, result.output
    assert "refused the OAuth2 token" in result.output
    assert "eyJ" not in result.output  # no JWT in the output
    assert not list(rig.tmp.glob("oauth2-token-*.json"))  # the refused token was dropped
    untouched(rig, "printer down")


def test_a_token_endpoint_that_cannot_be_reached_is_exit_3(rig: Rig) -> None:
    use_oauth2(rig, f"http://127.0.0.1:{free_ports(1)[0]}/token")
    rig.append(mail("printer down"))
    result = rig.run("sync")
    assert result.returncode == 3, result.output
    assert "cannot reach the OAuth2 token endpoint" in result.output
    untouched(rig, "printer down")


def test_a_failing_token_endpoint_is_exit_3(rig: Rig, tokens: TokenServer) -> None:
    tokens.endpoint.status = 503
    use_oauth2(rig, tokens.url)
    result = rig.run("sync")
    assert result.returncode == 3, result.output
    assert "failed (503)" in result.output


def test_pop3_logs_in_with_xoauth2(rig: Rig, tokens: TokenServer) -> None:
    rig.configure(protocol="pop3", on_success="delete")
    use_oauth2(rig, tokens.url)
    rig.append(mail("printer via pop3"))
    assert rig.sync().summary["created"] == 1
    assert pop3_uidls(rig.dovecot, rig.account) == []
    assert len(tokens.endpoint.requests) == 1


def test_pop3_refused_token_is_a_configuration_error(rig: Rig, tokens: TokenServer) -> None:
    tokens.endpoint.key = b"not-the-dovecot-key" * 2
    rig.configure(protocol="pop3")
    use_oauth2(rig, tokens.url)
    result = rig.run("sync")
    assert result.returncode == 2, result.output
    assert "POP3 server refused the OAuth2 token" in result.output


def test_check_obtains_a_token_and_logs_in(rig: Rig, tokens: TokenServer) -> None:
    use_oauth2(rig, tokens.url)
    result = rig.run("check")
    assert f"mailbox {MAILBOX}: ok" in result.stdout, result.output
    assert len(tokens.endpoint.requests) == 1


# --- OAUTHBEARER (RFC 7628) and XOAUTH2 ----------------------------------------------------


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_oauthbearer_is_used_where_the_server_offers_it(
    rig: Rig, tokens: TokenServer, protocol: str
) -> None:
    rig.configure(protocol=protocol, on_success="delete")
    use_oauth2(rig, tokens.url)
    rig.append(mail(f"printer via {protocol}"))
    assert rig.sync().summary["created"] == 1
    assert logged_in_with(rig, protocol) == "OAUTHBEARER"


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_mechanism_xoauth2_forces_xoauth2(rig: Rig, tokens: TokenServer, protocol: str) -> None:
    rig.configure(protocol=protocol, on_success="delete")
    use_oauth2(rig, tokens.url, mechanism="xoauth2")
    rig.append(mail(f"printer via {protocol}"))
    assert rig.sync().summary["created"] == 1
    assert logged_in_with(rig, protocol) == "XOAUTH2"


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
@pytest.mark.parametrize("mechanism", ["xoauth2", "oauthbearer"])
def test_a_refused_token_ends_the_exchange_with_either_mechanism(
    rig: Rig, tokens: TokenServer, protocol: str, mechanism: str
) -> None:
    # The server answers with a JSON error challenge; a client that does not reply (an
    # empty line, or %x01 for OAUTHBEARER) waits until the deadline: exit 3, not this.
    tokens.endpoint.key = b"not-the-dovecot-key" * 2
    rig.configure(protocol=protocol)
    use_oauth2(rig, tokens.url, mechanism=mechanism)
    rig.append(mail("printer down"))
    result = rig.run("sync")
    assert result.returncode == 2, result.output
    assert f"{protocol.upper()} server refused the OAuth2 token" in result.output
    assert "did not answer" not in result.output
    untouched(rig, "printer down")
