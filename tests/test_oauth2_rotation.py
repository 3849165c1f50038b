"""Refresh tokens the token endpoint rotates (``provider: generic``, ``flow: refresh_token``).

The endpoint (tests/servers/tokens.py on 127.0.0.1, ``rotate``) revokes each refresh token
it is sent and answers a new one, so a second run can only work with the stored new one.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.tokens import Client, TokenEndpoint, TokenServer
from tests.test_oauth2 import KEY, SECRET, USER, settings
from tracker_mail_plugin.errors import ConfigurationError
from tracker_mail_plugin.oauth2 import TokenProvider

CONFIGURED = "configured-refresh-value"


@pytest.fixture
def rotating() -> Iterator[TokenServer]:
    endpoint = TokenEndpoint(key=KEY, rotate=True)
    endpoint.clients["app"] = Client(SECRET, USER, {CONFIGURED})
    with TokenServer(endpoint) as server:
        yield server


def run(server: TokenServer, tmp: Path) -> TokenProvider:
    """One run: a new provider, no access token cached (as after it expired), one token."""
    more = {"flow": "refresh_token", "refresh_token": {"file": str(tmp / "refresh")}}
    provider = TokenProvider(settings(server.url, tmp, **more), tmp)
    provider.forget()
    provider.token()
    return provider


def sent(server: TokenServer) -> list[str]:
    return [r["refresh_token"] for r in server.endpoint.requests]


def test_a_rotated_refresh_token_is_stored_privately_and_used_next_time(
    rotating: TokenServer, tmp_path: Path
) -> None:
    (tmp_path / "refresh").write_text(CONFIGURED)
    first = run(rotating, tmp_path)
    (rotated,) = rotating.endpoint.clients["app"].refresh_tokens
    assert CONFIGURED not in rotating.endpoint.clients["app"].refresh_tokens  # revoked
    kept = first.cache_path.with_name(first.cache_path.name.replace("-token-", "-refresh-"))
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert json.loads(kept.read_text())["refresh_token"] == rotated
    assert CONFIGURED not in kept.read_text()  # only a digest of the one it replaced
    assert (tmp_path / "refresh").read_text() == CONFIGURED  # the configuration is untouched

    run(rotating, tmp_path)  # works only with the rotated token: the configured one is dead
    run(rotating, tmp_path)
    assert sent(rotating)[:2] == [CONFIGURED, rotated]
    assert len(set(sent(rotating))) == 3


def test_without_the_stored_token_the_second_run_is_refused(
    rotating: TokenServer, tmp_path: Path
) -> None:
    (tmp_path / "refresh").write_text(CONFIGURED)
    run(rotating, tmp_path)
    for kept in tmp_path.glob("oauth2-refresh-*.json"):
        kept.unlink()
    with pytest.raises(ConfigurationError, match="obtain a new refresh token"):
        run(rotating, tmp_path)


def test_a_new_configured_refresh_token_wins_over_an_older_rotation(
    rotating: TokenServer, tmp_path: Path
) -> None:
    (tmp_path / "refresh").write_text(CONFIGURED)
    run(rotating, tmp_path)
    # The consent was given again: the operator configures the new refresh token.
    rotating.endpoint.clients["app"].refresh_tokens = {"given-again-value"}
    (tmp_path / "refresh").write_text("given-again-value")
    run(rotating, tmp_path)
    assert sent(rotating)[-1] == "given-again-value"


def test_an_endpoint_that_does_not_rotate_leaves_no_refresh_file(
    tokens_plain: TokenServer, tmp_path: Path
) -> None:
    (tmp_path / "refresh").write_text(CONFIGURED)
    run(tokens_plain, tmp_path)
    run(tokens_plain, tmp_path)
    assert sent(tokens_plain) == [CONFIGURED, CONFIGURED]
    assert not list(tmp_path.glob("oauth2-refresh-*.json"))


@pytest.fixture
def tokens_plain() -> Iterator[TokenServer]:
    endpoint = TokenEndpoint(key=KEY)
    endpoint.clients["app"] = Client(SECRET, USER, {CONFIGURED})
    with TokenServer(endpoint) as server:
        yield server
