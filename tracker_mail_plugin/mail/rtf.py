r"""The text of an RTF body, and the HTML that Outlook encapsulates in RTF.

Outlook in "Rich Text" mode, and Exchange between its own servers, can send a message whose
only body is RTF inside winmail.dat. Outlook's RTF is of two kinds ([MS-OXRTFEX]):

- ``\fromhtml1``: the original HTML encapsulated. HTML markup sits in ``{\*\htmltag …}``
  groups, and RTF-only text (for RTF readers) between ``\htmlrtf`` and ``\htmlrtf0``; the
  rest is the HTML's own text. De-encapsulating gives the HTML back exactly.
- anything else (``\fromtext``, or real rich text): only its text is wanted.

One tokenizer serves both, in one pass over the bytes: linear time, a bounded group stack,
and no more output than input. (RTFDE does the HTML part too, but brings oletools and a
grammar parser for what is a short loop; striprtf does not de-encapsulate HTML.)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

MAX_DEPTH = 200  # deeper groups are read as part of the group at this depth

# Destinations whose content is never body text.
_SKIPPED = frozenset(
    {
        "fonttbl", "colortbl", "stylesheet", "info", "pict", "object", "header", "footer",
        "headerl", "headerr", "footerl", "footerr", "listtable", "listoverridetable",
        "rsidtbl", "generator", "xmlnstbl", "themedata", "colorschememapping", "datastore",
        "latentstyles", "pgdsctbl", "filetbl", "revtbl", "fldinst", "mhtmltag", "bkmkstart",
        "bkmkend", "nonshppict", "shppict", "userprops", "template", "pn",
    }
)  # fmt: skip
_NEWLINES = frozenset({"par", "line", "sect", "page", "row"})
_CHARS = {"tab": "\t", "cell": "\t", "emdash": "—", "endash": "–", "bullet": "•",
          "lquote": "‘", "rquote": "’", "ldblquote": "“", "rdblquote": "”", "emspace": " ",
          "enspace": " ", "qmspace": " "}  # fmt: skip
_HEX = frozenset(b"0123456789abcdefABCDEF")
_SYMBOLS = {"\\": "\\", "{": "{", "}": "}", "~": "\u00a0", "_": "-", "-": ""}


@dataclass(frozen=True, slots=True)
class RtfBody:
    """What an RTF body holds: HTML when it encapsulates HTML, else plain text."""

    html: str
    text: str


@dataclass(frozen=True, slots=True)
class _State:
    skip: bool = False  # inside a destination that is not body text
    rtf_only: bool = False  # between \htmlrtf and \htmlrtf0
    html_tag: bool = False  # inside {\*\htmltag ...}: HTML markup
    unicode_skip: int = 1  # \ucN: characters that follow \uN as its fallback


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.codec = "cp1252"
        self.from_html = False
        self.out: list[str] = []
        self.pending = bytearray()  # \'hh bytes, decoded together (multi-byte code pages)
        self.state = _State()
        self.stack: list[_State] = []
        self.overflow = 0
        self.new_group = False  # the next control word is the group's first
        self.fallback_left = 0

    def emit(self, text: str) -> None:
        if self.fallback_left:
            self.fallback_left -= 1
            return
        if not self._visible():
            return
        self._flush()
        self.out.append(text)

    def emit_byte(self, byte: int) -> None:
        if self.fallback_left:
            self.fallback_left -= 1
            return
        if self._visible():
            self.pending.append(byte)

    def _visible(self) -> bool:
        state = self.state
        if state.html_tag:
            return True
        return not state.skip and not (self.from_html and state.rtf_only)

    def _flush(self) -> None:
        if self.pending:
            self.out.append(bytes(self.pending).decode(self.codec, errors="replace"))
            self.pending.clear()

    def text(self) -> str:
        self._flush()
        return "".join(self.out)


def read_rtf(data: bytes) -> RtfBody:
    """Read an RTF document: its encapsulated HTML, or its text."""
    reader = _Reader(data)
    while reader.pos < len(data):
        byte = data[reader.pos]
        reader.pos += 1
        if byte == 0x7B:  # {
            _open_group(reader)
        elif byte == 0x7D:  # }
            _close_group(reader)
        elif byte == 0x5C:  # backslash
            _control(reader)
        elif byte in (0x0D, 0x0A, 0x00):
            continue  # line breaks in RTF source are not text
        else:
            reader.new_group = False
            reader.emit_byte(byte)
    body = reader.text()
    return RtfBody(body, "") if reader.from_html else RtfBody("", body)


def _open_group(reader: _Reader) -> None:
    if len(reader.stack) >= MAX_DEPTH:
        reader.overflow += 1
        return
    reader.stack.append(reader.state)
    reader.new_group = True


def _close_group(reader: _Reader) -> None:
    reader.new_group = False
    if reader.overflow:
        reader.overflow -= 1
    elif reader.stack:
        reader._flush()
        reader.state = reader.stack.pop()


def _control(reader: _Reader) -> None:
    data = reader.data
    if reader.pos >= len(data):
        return
    first = data[reader.pos]
    if not _is_letter(first):
        reader.pos += 1
        _symbol(reader, chr(first))
        return
    start = reader.pos
    while reader.pos < len(data) and reader.pos - start < 32 and _is_letter(data[reader.pos]):
        reader.pos += 1
    word = data[start : reader.pos].decode("ascii")
    param = _parameter(reader)
    if reader.pos < len(data) and data[reader.pos] == 0x20:
        reader.pos += 1  # the space that ends a control word is not text
    _word(reader, word, param)


def _is_letter(byte: int) -> bool:
    return 0x41 <= byte <= 0x5A or 0x61 <= byte <= 0x7A  # ASCII only: "ÿ" is no control word


def _parameter(reader: _Reader) -> int | None:
    data = reader.data
    start = reader.pos
    if reader.pos < len(data) and data[reader.pos] == 0x2D:  # -
        reader.pos += 1
    digits = reader.pos
    while reader.pos < len(data) and reader.pos - digits < 10 and 0x30 <= data[reader.pos] <= 0x39:
        reader.pos += 1
    if reader.pos == digits:
        reader.pos = start
        return None
    return int(data[start : reader.pos])


def _symbol(reader: _Reader, char: str) -> None:
    if char == "'":
        hex_digits = reader.data[reader.pos : reader.pos + 2]
        reader.pos += 2
        if len(hex_digits) == 2 and all(c in _HEX for c in hex_digits):
            reader.emit_byte(int(hex_digits, 16))
    elif char == "*":
        reader.state = replace(reader.state, skip=True)  # an ignorable destination
    elif char in "\r\n":
        reader.emit("\n")
    elif char in _SYMBOLS:
        reader.emit(_SYMBOLS[char])


def _word(reader: _Reader, word: str, param: int | None) -> None:
    first_in_group = reader.new_group
    reader.new_group = False
    if word == "htmltag":
        reader.state = replace(reader.state, skip=False, html_tag=True)
    elif word in _SKIPPED and (first_in_group or reader.state.skip):
        reader.state = replace(reader.state, skip=True, html_tag=False)
    elif word == "fromhtml":
        reader.from_html = True
    elif word == "ansicpg" and param is not None:
        reader.codec = _codec(param)
    elif word == "htmlrtf":
        reader._flush()
        reader.state = replace(reader.state, rtf_only=param != 0)
    elif word == "uc" and param is not None:
        reader.state = replace(reader.state, unicode_skip=max(0, param))
    elif word == "u" and param is not None:
        code = param % 65536  # RTF writes code points above 32767 as negative numbers
        reader.emit("\ufffd" if 0xD800 <= code <= 0xDFFF else chr(code))
        reader.fallback_left = reader.state.unicode_skip
    elif word in _NEWLINES:
        reader.emit("\r\n" if reader.from_html else "\n")
    elif word in _CHARS:
        reader.emit(_CHARS[word])


def _codec(code_page: int) -> str:
    codec = f"cp{code_page}"
    try:
        "".encode(codec)
    except LookupError:
        return "cp1252"
    return codec
