"""Server fixtures for the integration tests (marker ``servers``); see TEST-RIG.md.

The Dovecot fixture comes from the adapter kit (``tracker_mail_plugin.testing.fixtures``):
without Dovecot installed the ``servers`` tests are skipped with the install command, unless
``CI`` or ``TRACKER_MAIL_REQUIRE_SERVERS=1`` is set: then a missing server fails the run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.postgres import Postgres, why_unavailable
from tracker_mail_plugin.testing.dovecot import Account, Dovecot
from tracker_mail_plugin.testing.fixtures import dovecot, servers_required

__all__ = ["account", "dovecot", "servers_required"]


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A private PostgreSQL on 127.0.0.1 for the whole session (tests/servers/postgres.py)."""
    reason = why_unavailable()
    if reason is not None:
        if servers_required():
            pytest.fail(
                f"{reason} (required because CI or TRACKER_MAIL_REQUIRE_SERVERS is set)",
                pytrace=False,
            )
        pytest.skip(reason)
    with Postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres: Postgres, request: pytest.FixtureRequest) -> str:
    """The URL of a new, empty database on the session's PostgreSQL."""
    postgres_url.count += 1  # type: ignore[attr-defined]
    name = f"journal_{postgres_url.count}"  # type: ignore[attr-defined]
    postgres.create_database(name)
    return f"postgresql://postgres@{postgres.host}:{postgres.port}/{name}"


postgres_url.count = 0  # type: ignore[attr-defined]


@pytest.fixture
def account(dovecot: Dovecot) -> Account:
    """A new, empty mailbox on the session's Dovecot."""
    return dovecot.add_account()
