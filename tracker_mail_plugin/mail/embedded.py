"""Files carried inside a text body: uuencode (old Unix clients, lists) and BinHex 4.0 (old Macs).

Before MIME, files travelled as text blocks in the body; some clients and list archives still
send them. Left in place they are pages of noise in an issue and the file is lost, so they
are decoded as attachments and cut out of the text. Python 3.11 removed the ``binhex``
module and ``binascii``'s BinHex helpers, so BinHex is decoded here (6-bit alphabet, run
length expansion, the fork header and its CRC, checked with ``binascii.crc_hqx``).

Everything is line by line and linear; run-length expansion is capped at ``MAX_FILE_BYTES``
so that a small block cannot expand into a huge file.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass, field

MAX_FILE_BYTES = 64 * 1024 * 1024

_BINHEX_BANNER = "(This file must be converted with BinHex"
_BINHEX_ALPHABET = "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr"
_BINHEX_VALUE = {char: index for index, char in enumerate(_BINHEX_ALPHABET)}
_RUN_MARKER = 0x90


@dataclass
class Embedded:
    """A body's text with its embedded files cut out."""

    text: str
    files: list[tuple[str, bytes]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def extract_files(text: str) -> Embedded:
    """Cut uuencoded and BinHex blocks out of ``text`` and decode them."""
    if "begin " not in text and _BINHEX_BANNER not in text:
        return Embedded(text)  # the common case costs two substring searches
    found = Embedded("")
    kept: list[str] = []
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("begin ") and _uu_header(line):
            end = _uu_block(lines, index, found)
        elif line.startswith(_BINHEX_BANNER):
            end = _binhex_block(lines, index, found)
        else:
            end = None
        if end is None:
            kept.append(line)
            index += 1
        else:
            index = end
    found.text = "\n".join(kept)
    return found


# --- uuencode -------------------------------------------------------------------------------


def _uu_header(line: str) -> str | None:
    """The file name of a ``begin 644 name`` line, or ``None``."""
    parts = line.rstrip("\r").split(" ", 2)
    if len(parts) != 3 or not 3 <= len(parts[1]) <= 4 or not parts[2].strip():
        return None
    if any(char not in "01234567" for char in parts[1]):
        return None
    return parts[2].strip()


def _uu_block(lines: list[str], start: int, found: Embedded) -> int | None:
    """Decode the block at ``start``; the index after its ``end`` line, or ``None``."""
    name = _uu_header(lines[start]) or "uuencoded.bin"
    chunks: list[bytes] = []
    size = 0
    for index in range(start + 1, len(lines)):
        line = lines[index].rstrip("\r")
        if line == "end":
            found.files.append((name, b"".join(chunks)))
            return index + 1
        try:
            chunk = _uu_line(line)
        except (binascii.Error, ValueError):
            return None  # not uuencoded after all: keep the text as it is
        size += len(chunk)
        if size > MAX_FILE_BYTES:
            found.problems.append(f"uuencoded file {name!r} is larger than 64 MiB; left as text")
            return None
        chunks.append(chunk)
    return None  # no "end" line


def _uu_line(line: str) -> bytes:
    if not line:
        return b""
    # The first character says how many bytes the line holds; a longer line is not uuencode
    # (a shorter one may have lost trailing spaces in transit). This also ends the scan at
    # the next "begin" line, so many "begin" lines without "end" cost linear time.
    count = (ord(line[0]) - 32) & 63
    if len(line) > 1 + (count + 2) // 3 * 4 + 2:
        raise ValueError("not a uuencoded line")
    try:
        return binascii.a2b_uu(line)
    except binascii.Error:
        # Some encoders add stray characters after the data; the length byte says how much.
        count = ((ord(line[0]) - 32) & 63) * 4 + 5
        return binascii.a2b_uu(line[: count // 3])


# --- BinHex 4.0 -----------------------------------------------------------------------------


def _binhex_block(lines: list[str], start: int, found: Embedded) -> int | None:
    """Decode the BinHex block after the banner at ``start``; the index after it, or None."""
    body: list[str] = []
    first = start + 1
    while first < len(lines) and not lines[first].strip():
        first += 1
    if first >= len(lines) or not lines[first].startswith(":"):
        return None
    for index in range(first, len(lines)):
        line = lines[index].strip()
        body.append(line)
        if line.endswith(":") and (len(body) > 1 or len(line) > 1):
            break
    else:
        return None
    encoded = "".join(body)[1:-1]
    try:
        name, data = _binhex_decode(encoded)
    except ValueError as exc:
        found.problems.append(f"a BinHex block could not be decoded ({exc}); left as text")
        return None
    found.files.append((name, data))
    return index + 1


def _binhex_decode(encoded: str) -> tuple[str, bytes]:
    """The file name and data fork of a BinHex 4.0 stream (the resource fork is dropped)."""
    packed = _expand_runs(_six_bit(encoded))
    if not packed:
        raise ValueError("empty")
    name_length = packed[0]
    head_end = 1 + name_length + 1 + 4 + 4 + 2 + 4 + 4
    if len(packed) < head_end + 2:
        raise ValueError("the header is cut short")
    name = packed[1 : 1 + name_length].decode("mac_roman")
    data_length, _ = struct.unpack(">II", packed[head_end - 8 : head_end])
    if binascii.crc_hqx(packed[:head_end], 0) != _crc(packed, head_end):
        raise ValueError("the header's checksum does not match")
    data_start = head_end + 2
    data = packed[data_start : data_start + data_length]
    if len(data) != data_length:
        raise ValueError("the data is cut short")
    if binascii.crc_hqx(data, 0) != _crc(packed, data_start + data_length):
        raise ValueError("the data's checksum does not match")
    return name, data


def _crc(packed: bytes, at: int) -> int:
    if len(packed) < at + 2:
        raise ValueError("a checksum is missing")
    return int(struct.unpack(">H", packed[at : at + 2])[0])


def _six_bit(encoded: str) -> bytes:
    out = bytearray()
    bits = 0
    count = 0
    for char in encoded:
        if char in "\r\n\t ":
            continue
        value = _BINHEX_VALUE.get(char)
        if value is None:
            raise ValueError(f"the character {char!r} is not BinHex")
        bits = (bits << 6) | value
        count += 6
        if count >= 8:
            count -= 8
            out.append((bits >> count) & 0xFF)
    return bytes(out)


def _expand_runs(data: bytes) -> bytes:
    """Undo BinHex run-length encoding: ``byte 0x90 n`` repeats ``byte`` n times in all."""
    out = bytearray()
    index = 0
    while index < len(data):
        byte = data[index]
        if byte != _RUN_MARKER:
            out.append(byte)
            index += 1
            continue
        if index + 1 >= len(data):
            raise ValueError("a run is cut short")
        count = data[index + 1]
        if count == 0:
            out.append(_RUN_MARKER)  # 0x90 0x00 is a literal 0x90
        elif out:
            out.extend(out[-1:] * (count - 1))
        index += 2
        if len(out) > MAX_FILE_BYTES:
            raise ValueError("it expands beyond 64 MiB")
    return bytes(out)
