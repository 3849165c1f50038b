"""Mail parsing: raw bytes in, an immutable :class:`Message` out."""

from tracker_mail_plugin.mail.classify import LOOP_HEADER
from tracker_mail_plugin.mail.model import (
    Address,
    Attachment,
    Automated,
    Message,
    ReferenceCandidate,
    RefKind,
)
from tracker_mail_plugin.mail.parse import SYNTHETIC_ID_DOMAIN, parse_message, unparsed_message

__all__ = [
    "LOOP_HEADER",
    "SYNTHETIC_ID_DOMAIN",
    "Address",
    "Attachment",
    "Automated",
    "Message",
    "RefKind",
    "ReferenceCandidate",
    "parse_message",
    "unparsed_message",
]
