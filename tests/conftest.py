"""Server fixtures for the integration tests (marker ``servers``); see TEST-RIG.md.

The Dovecot fixture comes from the adapter kit (``tracker_mail_plugin.testing.fixtures``):
without Dovecot installed the ``servers`` tests are skipped with the install command, unless
``CI`` or ``TRACKER_MAIL_REQUIRE_SERVERS=1`` is set: then a missing server fails the run.
"""

from __future__ import annotations

import pytest

from tracker_mail_plugin.testing.dovecot import Account, Dovecot
from tracker_mail_plugin.testing.fixtures import dovecot, servers_required

__all__ = ["account", "dovecot", "servers_required"]


@pytest.fixture
def account(dovecot: Dovecot) -> Account:
    """A new, empty mailbox on the session's Dovecot."""
    return dovecot.add_account()
