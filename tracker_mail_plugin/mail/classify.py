"""Tell machine-written mail from mail a person wrote, before any rule sees it.

The order matters and follows what loops cost: our own mail coming back (a loop) is worst,
then bounces, then auto-replies, then lists. An auto-reply that also says ``Precedence: bulk``
is an auto-reply: the responder is answering one person, it is not list mail.

Headers decide first; where they say nothing, what the mail says does
(:mod:`~tracker_mail_plugin.mail.machine_text`): a delivery report from a daemon without a
``multipart/report``, an auto-reply marked only by its subject.

``X-Auto-Response-Suppress`` is deliberately not a signal: Outlook sets it on ordinary human
mail, and it only asks *us* not to auto-reply (GLPI and sisimai both had to remove it from
their detectors).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tracker_mail_plugin.mail.machine_text import (
    auto_reply_subject,
    bounce_subject,
    bounce_wording,
    is_daemon,
)
from tracker_mail_plugin.mail.model import Address, Automated

LOOP_HEADER = "X-Tracker-Mail-Loop"
"""Header tracker-mail puts on every mail it sends, so that it never imports its own mail."""

FORWARD_ID_PREFIX = "tracker-mail-fwd."
"""How the local part of the Message-ID of every mail tracker-mail forwards begins.

A person's plain reply to such a mail carries no RFC 3834 header and no loop header, but its
In-Reply-To or References name our Message-ID: that makes it a loop too.
"""

HeaderLookup = Callable[[str], str | None]

_AUTO_REPLY_HEADERS = (
    "x-autoreply",
    "x-autorespond",
    "x-autoresponse",
    "x-autoreply-from",
    "x-mail-autoreply",
    "x-ag-autoreply",
    "x-amazon-auto-reply",
)
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})
_LIST_HEADERS = ("list-id", "list-unsubscribe", "list-post", "mailing-list", "x-mailing-list")
# Report parts that only machines write: a delivery report, a read receipt, a spam complaint.
_DELIVERY_STATUS = frozenset({"message/delivery-status", "message/global-delivery-status"})
_READ_RECEIPT = frozenset(
    {"message/disposition-notification", "message/global-disposition-notification"}
)
_SPAM_COMPLAINT = "message/feedback-report"


@dataclass(frozen=True, slots=True)
class Content:
    """What a message says, for the signals its headers do not give."""

    subject: str = ""
    body: str = ""
    part_types: frozenset[str] = frozenset()


def classify(
    header: HeaderLookup,
    content_type: str,
    report_type: str | None,
    sender: Address | None,
    content: Content | None = None,
) -> Automated | None:
    """Return the automated class of a message, or ``None`` when a person wrote it.

    Args:
        header: Returns the first decoded value of a header, or ``None``.
        content_type: The top-level content type, lower-cased.
        report_type: The ``report-type`` parameter of a multipart/report, lower-cased.
        sender: The From address.
        content: The subject, the body text and the types of every part; without it only
            headers decide.
    """
    content = content or Content()
    if header(LOOP_HEADER) is not None or _replies_to_our_forward(header):
        return Automated.LOOP
    if _is_bounce(header, content_type, report_type, sender, content):
        return Automated.BOUNCE
    report = _report_class(report_type, content.part_types)
    if report is not None:
        return report
    auto = _auto_submitted(header)
    if auto is not None:
        return auto
    if _is_auto_reply(header, content.subject):
        return Automated.AUTO_REPLIED
    if _precedence(header) in _BULK_PRECEDENCE or any(header(n) is not None for n in _LIST_HEADERS):
        return Automated.BULK
    return None


def _precedence(header: HeaderLookup) -> str:
    return (header("precedence") or header("x-precedence") or "").strip().lower()


def _null_return_path(header: HeaderLookup) -> bool:
    """RFC 5321: only notifications (reports, auto-replies) are sent with an empty return path."""
    return_path = header("return-path")
    return return_path is not None and return_path.strip() in ("<>", "")


def _is_auto_reply(header: HeaderLookup, subject: str) -> bool:
    if any(header(name) is not None for name in _AUTO_REPLY_HEADERS):
        return True
    if _precedence(header) == "auto_reply" or auto_reply_subject(subject):
        return True
    return _null_return_path(header)


def _report_class(report_type: str | None, part_types: frozenset[str]) -> Automated | None:
    """Read receipts answer one message automatically; spam complaints are generated."""
    if report_type == "disposition-notification" or part_types & _READ_RECEIPT:
        return Automated.AUTO_REPLIED
    if report_type == "feedback-report" or _SPAM_COMPLAINT in part_types:
        return Automated.AUTO_GENERATED
    return None


def replies_to_our_forward(
    in_reply_to: str | None, references: Iterable[str], raw: bytes = b""
) -> bool:
    """Whether a message answers (or carries) mail that tracker-mail forwarded.

    Args:
        in_reply_to: the parsed In-Reply-To id, without angle brackets.
        references: the parsed References ids.
        raw: the message's bytes; our loop header in an attached or quoted original (past
            the message's own header block) counts too.
    """
    ids = [in_reply_to or "", *references]
    if any(id.lower().startswith(FORWARD_ID_PREFIX) for id in ids):
        return True
    _, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    return _QUOTED_LOOP_HEADER.search(body) is not None


# Our loop header at the start of a line, possibly behind quote marks ("> ").
_QUOTED_LOOP_HEADER = re.compile(rb"^[> \t]*" + LOOP_HEADER.encode() + rb"[ \t]*:", re.I | re.M)


def _replies_to_our_forward(header: HeaderLookup) -> bool:
    found = f"<{FORWARD_ID_PREFIX}"
    return any(found in (header(name) or "").lower() for name in ("in-reply-to", "references"))


def _auto_submitted(header: HeaderLookup) -> Automated | None:
    """RFC 3834: any keyword but ``no``; comments and parameters may follow it."""
    value = header("auto-submitted")
    if value is None:
        return None
    keyword = value.strip().split(";", 1)[0].split("(", 1)[0].strip().lower()
    if keyword in ("", "no"):
        return None
    return Automated.AUTO_REPLIED if keyword == "auto-replied" else Automated.AUTO_GENERATED


def _is_bounce(
    header: HeaderLookup,
    content_type: str,
    report_type: str | None,
    sender: Address | None,
    content: Content,
) -> bool:
    if content_type == "multipart/report" and report_type == "delivery-status":
        return True
    if header("x-failed-recipients") is not None or content.part_types & _DELIVERY_STATUS:
        return True
    null_return = _null_return_path(header)
    daemon = is_daemon(sender)
    if null_return and daemon:
        return True
    # The body is read only when the sender or the subject already points to a report:
    # most mail is a person's, and this runs for every message.
    subject_says = bounce_subject(content.subject)
    if daemon or null_return:
        return subject_says or bounce_wording(content.body)
    # From an unusual sender, both the subject and the report's own first lines must say it.
    return subject_says and bounce_wording(content.body)
