"""Tell machine-written mail from mail a person wrote, before any rule sees it.

The order matters and follows what loops cost: our own mail coming back (a loop) is worst,
then bounces, then auto-replies, then lists. ``X-Auto-Response-Suppress`` is deliberately not
a signal: Outlook sets it on ordinary human mail, and it only asks *us* not to auto-reply
(GLPI and sisimai both had to remove it from their detectors).
"""

from __future__ import annotations

from collections.abc import Callable

from tracker_mail_plugin.mail.model import Address, Automated

LOOP_HEADER = "X-Tracker-Mail-Loop"
"""Header tracker-mail puts on every mail it sends, so that it never imports its own mail."""

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
    if header(LOOP_HEADER) is not None:
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
