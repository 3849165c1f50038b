"""Where mail comes from: IMAP, POP3, Maildir, mbox, a directory, and files given to explain.

Every source implements :class:`MailSource`. The network sources import their client
libraries only when they are imported themselves, so ``explain`` stays light.
"""

from tracker_mail_plugin.sources.base import (
    Delete,
    Disposition,
    Envelope,
    Fetched,
    FlagSeen,
    Leave,
    MailSource,
    Move,
    Security,
    SourceCheck,
)
from tracker_mail_plugin.sources.files import LocalMessage, NotMailError, read_paths
from tracker_mail_plugin.sources.local import DirectorySource, MaildirSource, MboxSource

__all__ = [
    "Delete",
    "DirectorySource",
    "Disposition",
    "Envelope",
    "Fetched",
    "FlagSeen",
    "Leave",
    "LocalMessage",
    "MailSource",
    "MaildirSource",
    "MboxSource",
    "Move",
    "NotMailError",
    "Security",
    "SourceCheck",
    "read_paths",
]
