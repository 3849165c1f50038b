"""pytest fixtures for tests against a real mail server: a private Dovecot and its accounts.

Import them into an adapter's ``conftest.py`` (importing is what makes pytest see them)::

    from tracker_mail_plugin.testing.fixtures import dovecot, dovecot_account  # noqa: F401

Without Dovecot installed, tests using them are skipped with the install command, unless
``CI`` or ``TRACKER_MAIL_REQUIRE_SERVERS=1`` is set: then a missing server fails the run,
so that CI never passes by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tracker_mail_plugin.testing.dovecot import INSTALL_HINT, Account, Dovecot, dovecot_binary

__all__ = ["dovecot", "dovecot_account", "servers_required"]


def servers_required() -> bool:
    """True in CI or when asked: a missing server is then a failure, not a skip."""
    ci = os.environ.get("CI", "").strip().lower()
    return (
        ci not in ("", "0", "false", "no") or os.environ.get("TRACKER_MAIL_REQUIRE_SERVERS") == "1"
    )


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A private Dovecot on 127.0.0.1 for the whole session (see :class:`Dovecot`)."""
    if dovecot_binary() is None:
        reason = f"dovecot is not installed; install it with: {INSTALL_HINT}"
        if servers_required():
            pytest.fail(
                f"{reason} (required because CI or TRACKER_MAIL_REQUIRE_SERVERS is set)",
                pytrace=False,
            )
        pytest.skip(reason)
    with Dovecot() as server:
        yield server


@pytest.fixture
def dovecot_account(dovecot: Dovecot) -> Account:
    """A new, empty mailbox on the session's Dovecot."""
    return dovecot.add_account()
