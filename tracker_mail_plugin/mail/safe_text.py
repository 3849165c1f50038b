"""Text that can neither drive a terminal nor deceive a reader.

A subject or a display name is shown at terminals (``explain``) and becomes a tracker's
title; ESC, BEL and the other C0 and C1 controls in it could move the cursor, retitle the
window or hide text there. Bidirectional overrides and isolates (U+202A–U+202E,
U+2066–U+2069) make ``invoice‮fdp.exe`` read as ``invoiceexe.pdf``.
"""

from __future__ import annotations

import re
import unicodedata

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_LINE_SPACE = re.compile(r"[\t\n\r\v\f]")
_FOR_TERMINAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def one_line(text: str) -> str:
    """``text`` without controls: line breaks and tabs become spaces, the rest go."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub("", _LINE_SPACE.sub(" ", text))


def bounded(text: str, limit: int) -> str:
    """``text`` on one line, without controls or format characters, at most ``limit`` long.

    For a subject or a sender shown in a log line or a table: hostile mail can make them
    megabytes long or full of escape sequences, and a log line must stay one short line.
    """
    # Cut first (with room to spare) so that cleaning a huge header stays cheap.
    cleaned = without_format_characters(one_line(text[: limit * 4])).strip()
    return cleaned if len(cleaned) <= limit else cleaned[: max(limit - 1, 0)] + "…"


def without_format_characters(text: str) -> str:
    """``text`` without invisible format characters (category Cf: bidi, zero-width, …)."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def for_terminal(text: str) -> str:
    r"""Controls (but line breaks and tabs) and bidi overrides shown as ``\x1b``, ``\u202e``."""
    return _FOR_TERMINAL.sub(_escape, text)


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
