"""The sender and subject of a message the parser could not read, for ``status``.

A message quarantined unread keeps its raw text as its body; an operator looking at the
quarantine still wants to recognise it. Only the first line of ``From:`` and ``Subject:``
in the first :data:`HEAD_BYTES` are read, each cut to :data:`VALUE_BYTES` before it is
decoded: a bounded amount of work whatever the message holds, since the full parser is
what failed on it.
"""

from __future__ import annotations

from tracker_mail_plugin.mail.headers import header_text, parse_addresses
from tracker_mail_plugin.mail.model import Address

HEAD_BYTES = 64 * 1024
VALUE_BYTES = 300


def peek(raw: bytes) -> tuple[Address | None, str]:
    """``(sender, subject)`` from the start of ``raw``; ``(None, "")`` where not found."""
    head = raw[:HEAD_BYTES]
    ends = [i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i >= 0]
    found: dict[bytes, bytes] = {}
    for line in head[: min(ends, default=len(head))].split(b"\n"):
        name, colon, value = line.partition(b":")
        key = name.strip().lower()
        if colon and key in (b"from", b"subject") and key not in found:
            found[key] = value[:VALUE_BYTES].strip()
    ignored: list[str] = []
    subject = header_text(found[b"subject"], ignored) if b"subject" in found else ""
    senders = parse_addresses(found.get(b"from"), ignored) if b"from" in found else ()
    return (senders[0] if senders else None), subject
