"""Fixtures from the kit, imported so that pytest sees them.

``dovecot`` and ``dovecot_account``: the kit's private Dovecot. ``tracker_mail_logging``
applies itself to every test: it puts tracker-mail's logging back after a test that ran a
command, so that ``caplog`` in later tests still sees the adapter's records.
"""

from tracker_mail_plugin.testing.fixtures import dovecot, dovecot_account, tracker_mail_logging

__all__ = ["dovecot", "dovecot_account", "tracker_mail_logging"]
