"""Server fixtures for the integration tests (marker ``servers``); see TEST-RIG.md.

Without Dovecot installed the ``servers`` tests are skipped with the install command, unless
``CI`` or ``TRACKER_MAIL_REQUIRE_SERVERS=1`` is set: then a missing server fails the run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.servers.dovecot import INSTALL_HINT, Account, Dovecot, dovecot_binary


def servers_required() -> bool:
    """True in CI or when asked: a missing server is then a failure, not a skip."""
    ci = os.environ.get("CI", "").strip().lower()
    return (
        ci not in ("", "0", "false", "no") or os.environ.get("TRACKER_MAIL_REQUIRE_SERVERS") == "1"
    )


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A private Dovecot on 127.0.0.1 for the whole session."""
    if dovecot_binary() is None:
        reason = f"dovecot is not installed; install the test servers with: {INSTALL_HINT}"
        if servers_required():
            pytest.fail(
                f"{reason} (required because CI or TRACKER_MAIL_REQUIRE_SERVERS is set)",
                pytrace=False,
            )
        pytest.skip(reason)
    with Dovecot() as server:
        yield server


@pytest.fixture
def account(dovecot: Dovecot) -> Account:
    """A new, empty mailbox on the session's Dovecot."""
    return dovecot.add_account()
