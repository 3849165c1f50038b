"""Whether bytes are a mail message: one rule for ``explain``, ``receive`` and the parser.

Saved and piped mail is often a little damaged at the top: blank lines or spaces before the
first header (copied out of a web mail "show original" page), one mangled line before valid
headers, a stray NUL byte. The parser reads such mail fine, so a command that refuses it would
not show what ``sync`` does with it. What is refused: nothing but whitespace; binary data
(NUL bytes well beyond a stray one); text whose first lines are mostly not ``Name: value``.
"""

from __future__ import annotations

import re
from enum import StrEnum

_LEADING_SPACE = re.compile(rb"[ \t\r\n]*")
_HEADER_LINE = re.compile(rb"[!-9;-~]+[ \t]*:")
_HEAD_BYTES = 8192  # the first lines decide; a header block's start fits well within this
_LINES_READ = 20


class NotMail(StrEnum):
    """Why bytes are not a mail message."""

    EMPTY = "empty"
    BINARY = "binary"
    NO_HEADER = "no header"


def header_start(raw: bytes) -> int:
    """Where the header block begins: after blank lines or spaces that precede a header line.

    Returns 0 when nothing precedes the headers, or when what follows the whitespace is not a
    header line (then the message really has an empty header block).
    """
    skipped = _LEADING_SPACE.match(raw, 0, min(len(raw), _HEAD_BYTES))
    end = skipped.end() if skipped else 0
    if end and _HEADER_LINE.match(raw, end):
        return end
    return 0


def not_mail(raw: bytes) -> NotMail | None:
    """Why ``raw`` is not a mail message, or ``None`` when the parser should read it."""
    start = header_start(raw)
    head = raw[start : start + _HEAD_BYTES]
    if not head.strip():
        return NotMail.EMPTY
    valid, invalid = _count_header_lines(head)
    if head.count(b"\x00") > max(1, len(head) // 100):
        return NotMail.BINARY
    if valid == 0 or invalid > valid:
        return NotMail.NO_HEADER
    return None


def _count_header_lines(head: bytes) -> tuple[int, int]:
    """(``Name: value`` lines, other lines) among the first lines of the header block."""
    valid = invalid = 0
    lines = head.split(b"\n", _LINES_READ)[:_LINES_READ]
    if lines and lines[0].startswith(b"From "):  # an mbox separator line
        lines = lines[1:]
    for line in lines:
        line = line.rstrip(b"\r")
        if not line.strip():
            break  # the end of the header block
        if line[:1] in (b" ", b"\t"):
            continue  # a folded continuation
        if _HEADER_LINE.match(line):
            valid += 1
        else:
            invalid += 1
    return valid, invalid
