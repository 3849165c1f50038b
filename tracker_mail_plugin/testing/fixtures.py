"""pytest fixtures for an adapter's tests: a private Dovecot and its accounts, and logging.

Import them into an adapter's ``conftest.py`` (importing is what makes pytest see them)::

    from tracker_mail_plugin.testing.fixtures import (  # noqa: F401
        dovecot,
        dovecot_account,
        tracker_mail_logging,
    )

``tracker_mail_logging`` applies itself to every test once imported: a test that runs a
command (``tracker_mail_plugin.cli.main``) sets tracker-mail's logging up for the process,
and without it a later test's ``caplog`` would see none of tracker-mail's records.

Without Dovecot installed, tests using them are skipped with the install command, unless
``CI`` or ``TRACKER_MAIL_REQUIRE_SERVERS=1`` is set: then a missing server fails the run,
so that CI never passes by skipping.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

from tracker_mail_plugin.testing.dovecot import INSTALL_HINT, Account, Dovecot, dovecot_binary

__all__ = ["dovecot", "dovecot_account", "servers_required", "tracker_mail_logging"]


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


@pytest.fixture(autouse=True)
def tracker_mail_logging() -> Iterator[None]:
    """Put the ``tracker_mail`` logger back as it was after each test.

    A command sets it up for the process (its own handler, WARNING, no propagation), which
    would hide the records of every later test from ``caplog``.
    """
    core = logging.getLogger("tracker_mail")
    saved = (core.handlers[:], core.level, core.propagate)
    yield
    core.handlers[:], core.level, core.propagate = saved
