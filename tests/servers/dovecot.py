"""The test Dovecot ships in the adapter kit; these names stay for the core's own tests."""

from tracker_mail_plugin.testing.dovecot import (
    INSTALL_HINT,
    Account,
    Dovecot,
    Ports,
    dovecot_binary,
    free_ports,
    make_certificates,
)

__all__ = [
    "INSTALL_HINT",
    "Account",
    "Dovecot",
    "Ports",
    "dovecot_binary",
    "free_ports",
    "make_certificates",
]
