"""tracker-mail: turn mailboxes into issues, requests and comments in your issue tracker.

This module is the public surface: adapters and integrations import from here only.
"""

from tracker_mail_plugin.mail import (
    LOOP_HEADER,
    Address,
    Attachment,
    Automated,
    Message,
    ReferenceCandidate,
    RefKind,
    parse_message,
)

__version__ = "0.1.0"

__all__ = [
    "LOOP_HEADER",
    "Address",
    "Attachment",
    "Automated",
    "Message",
    "RefKind",
    "ReferenceCandidate",
    "__version__",
    "parse_message",
]
