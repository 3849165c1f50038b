"""Hostile messages, generated at any size: one function per kind, ``size`` in bytes.

Shared by ``tests/test_hostile_mail.py`` (what the parser makes of them) and
``benchmarks/hostile.py`` (how time and memory grow with their size). Each kind is a shape
that once made the parser quadratic, lose text, or trust something it should not.
"""

from __future__ import annotations

import base64
import quopri
import struct
from collections.abc import Callable

HEAD = b"From: Alice <alice@example.com>\r\nMessage-ID: <hostile@example.com>\r\n"


def _mail(headers: bytes, body: bytes, content_type: bytes = b"text/plain; charset=utf-8") -> bytes:
    return HEAD + headers + b"Content-Type: " + content_type + b"\r\n\r\n" + body


def quote_spaces(size: int) -> bytes:
    """Quoted-printable "On Mon wrote:" followed by runs of spaces as long as a quarter of it."""
    unit = "On Mon wrote:" + " " * max(1, size // 4) + "x\n"
    text = "Hello, the new text.\n\n" + unit * 4
    body = quopri.encodestring(text.encode())
    return _mail(
        b"Subject: spaces\r\nContent-Transfer-Encoding: quoted-printable\r\n", body.rstrip()
    )


def quote_blank_lines(size: int) -> bytes:
    """A short reply, then a sea of blank lines, then a signature."""
    body = b"Hi team:\r\n" + b"\r\n" * max(1, size // 2) + b"the end\r\n-- \r\nsig\r\n"
    return _mail(b"Subject: blank lines\r\n", body)


def quote_sign_offs(size: int) -> bytes:
    """Thousands of lines that start like a sign-off but are sentences."""
    line = b"Regards, this is a sentence and not a sign-off at all, keep it.\r\n"
    return _mail(b"Subject: regards\r\n", b"Hello\r\n\r\n" + line * max(1, size // len(line)))


def quote_long_on_line(size: int) -> bytes:
    """One "On …" line as long as the message (the library's header expression)."""
    return _mail(b"Subject: long line\r\n", b"Hello\r\n\r\nOn " + b"a " * (size // 2) + b"\r\n")


def subject_tags(size: int) -> bytes:
    """A subject of ``[a - a - a …`` (Redmine's tag form, never closed)."""
    return _mail(b"Subject: [" + b"a - " * (size // 4) + b"\r\n", b"body\r\n")


def address_spaces(size: int) -> bytes:
    """A From display name followed by a long run of spaces and ``<``."""
    return (
        b"From: a" + b" " * size + b"<\r\nMessage-ID: <hostile@example.com>\r\n"
        b"Subject: address\r\n\r\nbody\r\n"
    )


def date_parens(size: int) -> bytes:
    """A Date header of unclosed comments."""
    return _mail(b"Subject: date\r\nDate: " + b"(" * size + b"\r\n", b"body\r\n")


def folded_header(size: int) -> bytes:
    """A Subject folded over a great many continuation lines."""
    return _mail(b"Subject: " + b"x\r\n " * (size // 4) + b"end\r\n", b"body\r\n")


def eight_bit_headers(size: int) -> bytes:
    """Thousands of headers of raw Latin-1 bytes (each once ran the charset detector)."""
    # 16 or more 8-bit bytes in each: below that the detector is never asked
    words = b"r\xe9sum\xe9 caf\xe9 na\xefve fa\xe7ade \xe0 la cr\xe8me br\xfbl\xe9e"
    line = b"X-Note: " + words + b", " + words + b"\r\n"
    return _mail(b"Subject: 8-bit\r\n" + line * max(1, size // len(line)), b"body\r\n")


def deep_blockquote(size: int) -> bytes:
    """HTML of blockquotes nested as deep as the size allows, text at the bottom."""
    depth = max(1, size // 25)
    html = b"<blockquote>" * depth + b"deep text" + b"</blockquote>" * depth + b"<p>after</p>"
    return _mail(b"Subject: deep\r\n", html, b"text/html; charset=utf-8")


def deep_div(size: int) -> bytes:
    """HTML of divs nested past any parser's depth limit."""
    depth = max(1, size // 11)
    html = b"<p>before</p>" + b"<div>" * depth + b"deep text" + b"</div>" * depth
    return _mail(b"Subject: deep\r\n", html, b"text/html; charset=utf-8")


def part_header_word(size: int) -> bytes:
    """A part whose Content-Type carries one long word with no "=" after its charset."""
    body = (
        b"--B\r\nContent-Type: text/plain; charset=iso-8859-1; " + b"x" * size + b"\r\n\r\n"
        b"caf\xe9\r\n--B--\r\n"
    )
    return _mail(b"Subject: part header\r\n", body, b"multipart/mixed; boundary=B")


def subject_numbers(size: int) -> bytes:
    """A subject of ``[#1] [#2] …`` (each one an issue to look up)."""
    count = max(1, size // 8)
    return _mail(b"Subject: " + b" ".join(b"[#%d]" % n for n in range(count)) + b"\r\n", b"b\r\n")


def html_attributes(size: int) -> bytes:
    """One HTML tag with as many attributes as the size allows (``a0/a1/…``, no spaces)."""
    names = b"/".join(b"a%d" % n for n in range(max(1, size // 7)))
    return _mail(
        b"Subject: attributes\r\n",
        b"<p>before</p><div " + names + b">inside</div>",
        b"text/html; charset=utf-8",
    )


def flowed_paragraph(size: int) -> bytes:
    """A format=flowed quote of one paragraph soft-broken into lines of one word."""
    return _mail(
        b"Subject: flowed\r\n",
        b"new\r\n" + b"> a \r\n" * max(1, size // 6),
        b"text/plain; charset=utf-8; format=flowed",
    )


def tnef(objects: list[tuple[int, int, bytes]]) -> bytes:
    """A winmail.dat of ``(level, name, data)`` objects (type 6: bytes), checksums right."""
    out = [struct.pack("<IH", 0x223E9F78, 1)]
    for level, name, data in objects:
        out.append(struct.pack("<BHHI", level, name, 6, len(data)) + data)
        out.append(struct.pack("<H", sum(data) & 0xFFFF))
    return b"".join(out)


def winmail(data: bytes) -> bytes:
    """A message with a text part and ``data`` attached as winmail.dat."""
    body = (
        b"--B\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--B\r\n"
        b"Content-Type: application/ms-tnef; name=winmail.dat\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(data) + b"--B--\r\n"
    )
    return _mail(b"Subject: winmail\r\n", body, b"multipart/mixed; boundary=B")


def tnef_objects(size: int) -> bytes:
    """A winmail.dat of empty objects (tnefparse copies the rest of the file for each)."""
    return winmail(tnef([(1, 0x8008, b"")] * max(1, size // 14)))


def tnef_property_count(size: int) -> bytes:
    """A winmail.dat whose property lists each claim four billion properties."""
    lying = struct.pack("<I", 0xFFFFFFF0)
    return winmail(tnef([(1, 0x9003, lying)] * max(1, size // 30)))


KINDS: dict[str, Callable[[int], bytes]] = {
    "quote-spaces": quote_spaces,
    "quote-blank-lines": quote_blank_lines,
    "quote-sign-offs": quote_sign_offs,
    "quote-long-on-line": quote_long_on_line,
    "subject-tags": subject_tags,
    "address-spaces": address_spaces,
    "date-parens": date_parens,
    "folded-header": folded_header,
    "8bit-headers": eight_bit_headers,
    "deep-blockquote": deep_blockquote,
    "deep-div": deep_div,
    "part-header-word": part_header_word,
    "subject-numbers": subject_numbers,
    "html-attributes": html_attributes,
    "flowed-paragraph": flowed_paragraph,
    "tnef-objects": tnef_objects,
    "tnef-property-count": tnef_property_count,
}

# Sizes at which the issue measured each kind (bytes); the benchmark runs these and a quarter.
ISSUE_SIZES: dict[str, int] = {
    "quote-spaces": 156_000,
    "quote-blank-lines": 100_000,
    "quote-sign-offs": 100_000,
    "quote-long-on-line": 100_000,
    "subject-tags": 100_000,
    "address-spaces": 100_000,
    "date-parens": 100_000,
    "folded-header": 8_000_000,
    "8bit-headers": 3_700_000,
    "deep-blockquote": 100_000,
    "deep-div": 100_000,
    "part-header-word": 60_000,
    "subject-numbers": 60_000,
    "html-attributes": 1_000_000,
    "flowed-paragraph": 1_000_000,
    "tnef-objects": 1_000_000,
    "tnef-property-count": 100,
}


def codec_charset(label: str) -> bytes:
    """An auto-reply whose parts and subject name a codec that is not a text charset."""
    return (
        b"From: Bob <bob@example.com>\r\nMessage-ID: <codec@example.com>\r\n"
        b"Subject: =?" + label.encode("latin-1") + b"?q?Out_of_office?=\r\n"
        b"In-Reply-To: <parent@example.com>\r\nAuto-Submitted: auto-replied\r\n"
        b'Content-Type: text/plain; charset="' + label.encode("latin-1") + b'"\r\n'
        b"Content-Transfer-Encoding: 8bit\r\n\r\nI am away \xe9t\xe9 until Monday.\r\n"
    )
