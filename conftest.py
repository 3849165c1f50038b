"""Shared by every test of this checkout: the core's (tests/) and the adapters' (adapters/).

Every command sets tracker-mail's logging up for the process (handler, level, no
propagation); the kit's ``tracker_mail_logging`` puts it back after each test, so that a
later test's caplog still sees records, whichever folder ran first.
"""

from tracker_mail_plugin.testing.fixtures import tracker_mail_logging

__all__ = ["tracker_mail_logging"]
