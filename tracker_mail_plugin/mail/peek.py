"""The sender and subject of a message the parser could not read, for ``status``.

A message quarantined unread keeps its raw text as its body; an operator looking at the
quarantine still wants to recognise it. Only the header fields within the first
:data:`HEAD_BYTES` are split (as the parser splits them), and the first ``From:`` and
``Subject:`` are cut to :data:`VALUE_BYTES` before they are decoded: a bounded amount of
work whatever the message holds, since the full parser is what failed on it.
"""

from __future__ import annotations

from tracker_mail_plugin.mail.headers import (
    find_body_start,
    header_text,
    parse_addresses,
    split_header_lines,
)
from tracker_mail_plugin.mail.model import Address

HEAD_BYTES = 64 * 1024
VALUE_BYTES = 300


def peek(raw: bytes) -> tuple[Address | None, str]:
    """``(sender, subject)`` from the start of ``raw``; ``(None, "")`` where not found."""
    head = raw[:HEAD_BYTES]
    ignored: list[str] = []
    found: dict[str, bytes] = {}
    for name, value in split_header_lines(head[: find_body_start(head)[0]], ignored):
        found.setdefault(name.lower(), value[:VALUE_BYTES])
    subject = header_text(found["subject"], ignored) if "subject" in found else ""
    senders = parse_addresses(found["from"], ignored) if "from" in found else ()
    return (senders[0] if senders else None), subject
