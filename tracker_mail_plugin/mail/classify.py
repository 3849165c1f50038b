"""Tell machine-written mail from mail a person wrote, before any rule sees it.

The order matters and follows what loops cost: our own mail coming back (a loop) is worst,
then bounces, then auto-replies, then lists. ``X-Auto-Response-Suppress`` is deliberately not
a signal: Outlook sets it on ordinary human mail, and it only asks *us* not to auto-reply
(GLPI and sisimai both had to remove it from their detectors).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

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
_DAEMON_LOCALPARTS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})


def classify(
    header: HeaderLookup,
    content_type: str,
    report_type: str | None,
    sender: Address | None,
) -> Automated | None:
    """Return the automated class of a message, or ``None`` when a person wrote it.

    Args:
        header: Returns the first decoded value of a header, or ``None``.
        content_type: The top-level content type, lower-cased.
        report_type: The ``report-type`` parameter of a multipart/report, lower-cased.
        sender: The From address.
    """
    if header(LOOP_HEADER) is not None or _replies_to_our_forward(header):
        return Automated.LOOP
    if _is_bounce(header, content_type, report_type, sender):
        return Automated.BOUNCE
    auto = _auto_submitted(header)
    if auto is not None:
        return auto
    if any(header(name) is not None for name in _AUTO_REPLY_HEADERS):
        return Automated.AUTO_REPLIED
    precedence = (header("precedence") or header("x-precedence") or "").strip().lower()
    if precedence == "auto_reply":
        return Automated.AUTO_REPLIED
    if precedence in _BULK_PRECEDENCE or any(header(name) is not None for name in _LIST_HEADERS):
        return Automated.BULK
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
    header: HeaderLookup, content_type: str, report_type: str | None, sender: Address | None
) -> bool:
    if content_type == "multipart/report" and report_type == "delivery-status":
        return True
    if header("x-failed-recipients") is not None:
        return True
    return_path = header("return-path")
    null_return = return_path is not None and return_path.strip() in ("<>", "")
    from_daemon = sender is not None and sender.address.split("@", 1)[0] in _DAEMON_LOCALPARTS
    return null_return and from_daemon
