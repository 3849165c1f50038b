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
    required_capabilities,
)
from tracker_mail_plugin.config.secrets import Secret, SecretError
from tracker_mail_plugin.errors import (
    ConfigurationError,
    NotFound,
    NotPermitted,
    PermanentError,
    RetryLater,
    TrackerMailError,
    UnknownOutcome,
    Unreachable,
    UnsupportedAction,
)
from tracker_mail_plugin.http import (
    Failure,
    HttpErrors,
    HttpOptions,
    TrackerUrl,
    build_session,
    is_loopback,
    parse_retry_after,
)
from tracker_mail_plugin.inline import inline_images
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
    "Failure",
    "HttpErrors",
    "HttpOptions",
    "IssueRef",
    "IssueState",
    "Message",
    "NewComment",
    "NewIssue",
    "NotFound",
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
    "TrackerUrl",
    "UnknownOutcome",
    "Unreachable",
    "UnsupportedAction",
    "Upload",
    "UserRef",
    "__version__",
    "build_session",
    "inline_images",
    "is_loopback",
    "parse_message",
    "parse_retry_after",
    "required_capabilities",
]
