"""Fixtures for the template adapter's tests: the kit's Dovecot, imported so pytest sees it."""

from tracker_mail_plugin.testing.fixtures import dovecot, dovecot_account

__all__ = ["dovecot", "dovecot_account"]
