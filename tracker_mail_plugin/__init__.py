"""tracker-mail: turn mailboxes into issues, requests and comments in your issue tracker.

This module is the public surface: adapters and integrations import from here only.
"""

from tracker_mail_plugin.adapter import (
    Capability,
    CheckReport,
    CommentRef,
    IssueRef,
    IssueState,
    NewComment,
    NewIssue,
    Permission,
    Requirements,
    TrackerAdapter,
    Upload,
    UserRef,
)
from tracker_mail_plugin.config.secrets import Secret, SecretError
from tracker_mail_plugin.errors import (
    ConfigurationError,
    NotPermitted,
    PermanentError,
    RetryLater,
    TrackerMailError,
    UnknownOutcome,
    Unreachable,
    UnsupportedAction,
)
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
    "Capability",
    "CheckReport",
    "CommentRef",
    "ConfigurationError",
    "IssueRef",
    "IssueState",
    "Message",
    "NewComment",
    "NewIssue",
    "NotPermitted",
    "PermanentError",
    "Permission",
    "RefKind",
    "ReferenceCandidate",
    "Requirements",
    "RetryLater",
    "Secret",
    "SecretError",
    "TrackerAdapter",
    "TrackerMailError",
    "UnknownOutcome",
    "Unreachable",
    "UnsupportedAction",
    "Upload",
    "UserRef",
    "__version__",
    "parse_message",
]
