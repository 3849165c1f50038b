"""A tolerant, fast MIME splitter working on byte offsets of the raw message.

Python's ``email`` feed parser walks every line of every part in Python code, so a 2 MB
attachment costs tens of thousands of iterations before anyone reads it. Here a multipart
body is cut at its boundaries with ``bytes.find`` (C speed) and each part keeps only offsets
into the raw bytes until its content is asked for. Only part headers are split into lines.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

import re2

from tracker_mail_plugin.mail.charset import decode_text
from tracker_mail_plugin.mail.embedded import extract_files
from tracker_mail_plugin.mail.headers import (
    RawHeaders,
    find_body_start,
    header_text,
    looks_like_header_block,
    split_header_lines,
    text_after_fields,
)

try:
    from pybase64 import b64decode as _fast_b64decode

    def _b64decode(data: memoryview) -> bytes:
        return _fast_b64decode(data, validate=False)
except ImportError:  # pragma: no cover - pybase64 is a declared dependency

    def _b64decode(data: memoryview) -> bytes:
        return binascii.a2b_base64(data)


MAX_DEPTH = 30  # deeper nesting is an attack or a broken mailer; the rest is kept as one part


@dataclass(slots=True)
class Part:
    """One MIME entity: its headers, its type, and where its encoded body lies in ``raw``."""

    headers: RawHeaders
    content_type: str
    params: dict[str, str]
    disposition: str | None
    disposition_params: dict[str, str]
    transfer_encoding: str
    raw: bytes = field(repr=False)
    start: int
    end: int
    children: list[Part] = field(default_factory=list)

    def header(self, name: str) -> bytes | None:
        """The first raw value of ``name`` in this part's own headers."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    @property
    def filename(self) -> str | None:
        """The file name from Content-Disposition, else Content-Type's ``name``."""
        return self.disposition_params.get("filename") or self.params.get("name")

    def payload(self, defects: list[str]) -> bytes:
        """The body with its Content-Transfer-Encoding undone."""
        view = memoryview(self.raw)[self.start : self.end]
        if self.transfer_encoding == "base64":
            return _base64(view, defects)
        if self.transfer_encoding == "quoted-printable":
            return binascii.a2b_qp(view)
        if self.transfer_encoding in _UUENCODE:
            return _uudecode(view, defects)
        if self.transfer_encoding not in _AS_SENT:
            defects.append(
                f"unknown Content-Transfer-Encoding {self.transfer_encoding!r}; kept as sent"
            )
        return bytes(view)

    def text(self, defects: list[str]) -> str:
        """The body as text with LF line endings, decoded through the charset chain."""
        text, problem = decode_text(self.payload(defects), self.params.get("charset"))
        if problem:
            defects.append(f"{self.content_type} part: {problem}")
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        return text


def parse_entity(
    raw: bytes,
    start: int,
    end: int,
    defects: list[str],
    default_type: str = "text/plain",
    depth: int = 0,
) -> Part:
    """Parse the entity in ``raw[start:end]``: its headers, then its children if multipart."""
    if (
        start < end
        and not raw.startswith((b"\n", b"\r\n"), start)
        and depth
        and not looks_like_header_block(raw[start : min(end, start + 1000)])
    ):
        head_end, body_start = start, start  # a part with no header block at all
    else:
        head_end, body_start = find_body_start(raw, start, end)
    if head_end > start and (text_at := text_after_fields(raw[start:head_end])) is not None:
        defects.append("no blank line after the headers; the body starts at the first other line")
        head_end = body_start = start + text_at
    headers = split_header_lines(raw[start:head_end], defects) if head_end > start else []
    part = _make_part(raw, headers, body_start, end, defects, default_type)
    if part.content_type.startswith("multipart/"):
        _split_children(part, defects, depth)
    return part


def _make_part(
    raw: bytes, headers: RawHeaders, start: int, end: int, defects: list[str], default_type: str
) -> Part:
    first: dict[str, bytes] = {}
    for key, value in headers:  # one pass for the three fields read here
        first.setdefault(key.lower(), value)
    ctype_raw = first.get("content-type")
    ctype, params = parse_content_header(ctype_raw, defects) if ctype_raw else (default_type, {})
    if not _MEDIA_TYPE.fullmatch(ctype):
        # Only token characters: the type goes on into trackers' upload requests, where a
        # quote or a control character of the sender's would be part of a header.
        defects.append(f"invalid Content-Type {ctype!r}; read as {default_type}")
        ctype = default_type
    disp_raw = first.get("content-disposition")
    disposition, disp_params = parse_content_header(disp_raw, defects) if disp_raw else (None, {})
    cte_raw = first.get("content-transfer-encoding") or b"7bit"
    # "quoted-printable;" and "quoted printable" are seen in the wild; the token is what counts.
    cte = cte_raw.decode("ascii", "replace").partition(";")[0].strip().lower().replace(" ", "-")
    return Part(headers, ctype, params, disposition, disp_params, cte, raw, start, end)


def _split_children(part: Part, defects: list[str], depth: int) -> None:
    boundary = part.params.get("boundary")
    if not boundary:
        defects.append(f"{part.content_type} without a boundary; read as text")
        part.content_type, part.params = "text/plain", {}
        return
    if depth >= MAX_DEPTH:
        defects.append(f"MIME nesting deeper than {MAX_DEPTH}; the rest is kept as one attachment")
        part.content_type = "application/octet-stream"
        return
    spans = _boundary_spans(
        part.raw, part.start, part.end, boundary.encode("utf-8", "replace"), defects
    )
    if not spans:
        spans = _spans_of_used_boundary(part, defects)
    if not spans:
        # Mail whose parts a list or a filter stripped, leaving only text: keep that text.
        defects.append(f"{part.content_type} without any boundary line; read as text")
        part.content_type, part.params = "text/plain", {}
        return
    child_type = "message/rfc822" if part.content_type == "multipart/digest" else "text/plain"
    for start, end in spans:
        part.children.append(parse_entity(part.raw, start, end, defects, child_type, depth + 1))


def _boundary_spans(
    raw: bytes, start: int, end: int, boundary: bytes, defects: list[str]
) -> list[tuple[int, int]]:
    """Offsets of each body part between ``--boundary`` delimiter lines.

    Parts after the final delimiter are kept too: Outlook Express for Mac and spam kits
    give a nested multipart its parent's boundary, so the nested part's final delimiter
    comes first and the attachments after it would be lost as the epilogue.
    """
    marker = b"--" + boundary
    spans: list[tuple[int, int]] = []
    part_start: int | None = None
    closed = False
    pos = raw.find(marker, start, end)
    while pos >= 0:
        line_end = raw.find(b"\n", pos, end)
        line_end = end if line_end < 0 else line_end
        rest = raw[pos + len(marker) : line_end].rstrip(b"\r \t")
        at_line_start = pos == start or raw[pos - 1] == 0x0A
        if at_line_start and rest in (b"", b"--"):
            if part_start is not None:
                spans.append((part_start, _strip_newline_before(raw, part_start, pos)))
            if closed and rest == b"":
                closed = False
                defects.append("parts after the final boundary (a nested part reused it); kept")
            elif rest == b"--":
                closed = True
            part_start = None if closed else min(line_end + 1, end)
        pos = raw.find(marker, pos + len(marker), end)
    if part_start is not None:
        spans.append((part_start, end))
        defects.append(
            "multipart body not closed by its final boundary; kept the last part as it was"
        )
    return spans


def _spans_of_used_boundary(part: Part, defects: list[str]) -> list[tuple[int, int]]:
    """Split at the delimiter the body does use when it is not the declared one.

    Spam kits and broken mailers declare one boundary and write another. The first line that
    starts with ``--`` and is followed by a ``Content-`` header is taken as the delimiter
    actually used.
    """
    raw, end = part.raw, part.end
    pos = (
        part.start
        if raw.startswith(b"--", part.start, end)
        else _next_dash_line(part.raw, part.start, end)
    )
    while pos >= 0:
        line_end = raw.find(b"\n", pos, end)
        if line_end < 0:
            return []
        line = raw[pos:line_end].rstrip(b"\r \t")
        if 2 < len(line) <= 72 and raw[line_end + 1 : line_end + 9].lower() == b"content-":
            defects.append(
                f"{part.content_type} declares a boundary its body does not use;"
                f" split at {line.decode('ascii', 'replace')!r}"
            )
            return _boundary_spans(raw, pos, end, line[2:], defects)
        pos = _next_dash_line(raw, line_end, end)
    return []


def _next_dash_line(raw: bytes, start: int, end: int) -> int:
    """Where the next line starting with ``--`` begins, or -1."""
    found = raw.find(b"\n--", start, end)
    return found + 1 if found >= 0 else -1


def _strip_newline_before(raw: bytes, floor: int, pos: int) -> int:
    """The CRLF before a delimiter belongs to the delimiter, not to the part."""
    if pos - 2 >= floor and raw[pos - 2 : pos] == b"\r\n":
        return pos - 2
    if pos - 1 >= floor and raw[pos - 1] == 0x0A:
        return pos - 1
    return pos


# --- Content-Type / Content-Disposition parameters (RFC 2045, RFC 2231, RFC 2047) ---------

# re2, not re: a backtracking engine tries every start inside a long run without "=", so a
# 64 KiB part header of one word took half a minute (per part). RFC 2045 whitespace only.
_WS = r"[\t\n\v\f\r ]*"
_PARAM = re2.compile(
    rf"""(?s){_WS};?{_WS}([^\t\n\v\f\r =;"]+){_WS}={_WS}("(?:[^"\\]|\\.)*"?|[^;]*)"""
)
_TYPE_CHARS = r"[!#$%&'*+.^_`|~0-9a-z-]+"  # RFC 2045's token, lower-cased
_MEDIA_TYPE = re.compile(f"{_TYPE_CHARS}/{_TYPE_CHARS}")
_SECTION = re.compile(r"^(.*?)\*(\d+)(\*?)$")
_QUOTED_PAIR = re.compile(r"\\(.)")


def parse_content_header(value: bytes, defects: list[str]) -> tuple[str, dict[str, str]]:
    """Split ``type/sub; a=b; name*0*=utf-8''..`` into a lower-cased type and decoded params."""
    # RFC 2047 words are decoded per parameter later: decoding them here could add quotes.
    text = value.decode("ascii") if value.isascii() else decode_text(value, None)[0]
    main, _, rest = text.partition(";")
    raw_params: list[tuple[str, str]] = []
    for match in _PARAM.finditer(";" + rest):
        name, val = match.group(1).lower(), match.group(2).strip()
        if val.startswith('"'):
            val = val[1:-1] if val.endswith('"') and len(val) > 1 else val[1:]
            if "\\" in val:
                val = _QUOTED_PAIR.sub(r"\1", val)
        raw_params.append((name, val))
    return _media_type(main, defects), _join_rfc2231(raw_params, defects)


def _media_type(main: str, defects: list[str]) -> str:
    """``type/subtype`` lower-cased, also from ``text / html`` or with text after it.

    A phishing kit wrote ``Content-Type: text/html Content-Transfer-Encoding: 8bit``; read as
    one type, its body became a nameless attachment.
    """
    words = main.replace("/", " / ").split()
    if len(words) < 3 or words[1] != "/":
        return main.strip().lower()
    if len(words) > 3:
        defects.append(f"ignored {' '.join(words[3:])[:60]!r} after the type {words[0]}/{words[2]}")
    return f"{words[0]}/{words[2]}".lower()


def _join_rfc2231(raw_params: list[tuple[str, str]], defects: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    sections: dict[str, list[tuple[int, bool, str]]] = {}
    for name, value in raw_params:
        if "*" not in name:  # the usual parameter: no RFC 2231 section or charset
            if name not in params:
                params[name] = _rfc2047_param(value, defects)
            continue
        section = _SECTION.match(name)
        if section:
            sections.setdefault(section.group(1), []).append(
                (int(section.group(2)), bool(section.group(3)), value)
            )
        elif name.endswith("*"):
            params[name[:-1]] = _extended_value([(0, True, value)], defects)
        elif name not in params:
            params[name] = _rfc2047_param(value, defects)
    for name, parts in sections.items():
        params[name] = _extended_value(sorted(parts), defects)
    return params


def _rfc2047_param(value: str, defects: list[str]) -> str:
    # Outlook and others put RFC 2047 words inside quoted parameters; decode them too.
    return header_text(value.encode("utf-8"), defects) if "=?" in value else value


def _extended_value(parts: list[tuple[int, bool, str]], defects: list[str]) -> str:
    """Join RFC 2231 sections; the first encoded one carries ``charset'language'``."""
    charset = None
    chunks: list[bytes] = []
    for index, (_, encoded, value) in enumerate(parts):
        if encoded and index == 0 and value.count("'") >= 2:
            charset, _, value = value.split("'", 2)
        chunks.append(unquote_to_bytes(value) if encoded else value.encode("utf-8"))
    text, problem = decode_text(b"".join(chunks), charset or None)
    if problem:
        defects.append(f"file name: {problem}")
    return text


# Not in any RFC, but Outlook Express, Eudora and Mac mailers label parts with these.
_UUENCODE = frozenset({"x-uuencode", "uuencode", "x-uue", "uue"})
# Encodings whose body is the content itself (RFC 2045 6.2).
_AS_SENT = frozenset({"7bit", "8bit", "binary"})


def _uudecode(view: memoryview, defects: list[str]) -> bytes:
    if not bytes(view).strip():
        return b""  # an empty part; dropped and reported as such by the caller
    found = extract_files(bytes(view).decode("latin-1"))
    if found.files:
        return found.files[0][1]
    defects.extend(found.problems)
    defects.append("uuencoded part without a complete begin/end block; kept as it was")
    return bytes(view)


def _base64(view: memoryview, defects: list[str]) -> bytes:
    # pybase64 (SIMD) decodes line-wrapped base64 about eight times faster than binascii;
    # on an attachment-heavy mailbox that is most of the parsing time.
    try:
        return _b64decode(view)
    except (binascii.Error, ValueError):
        defects.append("damaged base64 content; decoded what could be read")
    try:
        # Lenient: skips stray characters and stops at the padding that ends the data (RFC
        # 2045 6.8), so a broken boundary line glued after the part is not decoded into it.
        return binascii.a2b_base64(view)
    except binascii.Error:
        pass  # a group cut short: decode the whole groups below
    cleaned = re.sub(rb"[^A-Za-z0-9+/]", b"", bytes(view))
    cleaned = cleaned[: len(cleaned) - len(cleaned) % 4]
    try:
        return binascii.a2b_base64(cleaned)
    except binascii.Error:
        return b""
