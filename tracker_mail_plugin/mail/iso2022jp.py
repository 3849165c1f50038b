"""ISO-2022-JP as Windows writes it: JIS X 0208 plus NEC's and IBM's extra rows.

Outlook and other Windows mailers label mail ``iso-2022-jp`` and then use Microsoft's
superset (code page 50220/50221): NEC's row 13 ("№", "①", "㈱"), the NEC-selected IBM
rows 89-92 ("髙") and half-width katakana after ``ESC ( I``. Python's ``iso2022_jp`` codecs
reject all of these, and a single "№" in a subject used to leave the whole text unread.
Every ISO-2022-JP character maps to one Shift_JIS code by arithmetic, and Python's
``cp932`` (Windows Shift_JIS) knows exactly those extensions, so the text is rewritten as
cp932 bytes in one pass and decoded by that codec.
"""

from __future__ import annotations

_ESC = 0x1B
# Escape sequences (the bytes after ESC) and the character set each one selects.
_SHIFTS: dict[bytes, str] = {
    b"(B": "ascii",
    b"(J": "ascii",  # JIS X 0201 Roman: ASCII but for the yen sign and overline
    b"(I": "katakana",  # JIS X 0201 half-width katakana
    b"$@": "kanji",  # JIS C 6226-1978, read as its successor
    b"$B": "kanji",  # JIS X 0208 and Microsoft's extra rows
}


def decode_iso2022jp_ms(raw: bytes) -> str | None:
    """Decode ISO-2022-JP with Microsoft's extensions, or ``None`` when the bytes are not that."""
    out = bytearray()
    mode = "ascii"
    index = 0
    while index < len(raw):
        byte = raw[index]
        if byte == _ESC:
            mode_found = _SHIFTS.get(raw[index + 1 : index + 3])
            if mode_found is None:
                return None  # JIS X 0212, ISO-2022-JP-2's other sets: not Shift_JIS
            mode = mode_found
            index += 3
        elif byte >= 0x80:
            return None
        elif mode == "ascii" or byte in (0x0A, 0x0D):
            out.append(byte)
            index += 1
        elif mode == "katakana":
            if not 0x21 <= byte <= 0x5F:
                return None
            out.append(byte + 0x80)
            index += 1
        else:
            pair = _shift_jis(raw[index : index + 2])
            if pair is None:
                return None
            out += pair
            index += 2
    try:
        return out.decode("cp932")
    except UnicodeDecodeError:
        return None


def _shift_jis(pair: bytes) -> bytes | None:
    """The Shift_JIS bytes of one two-byte JIS code (row and cell 0x21-0x7E)."""
    if len(pair) != 2 or not all(0x21 <= byte <= 0x7E for byte in pair):
        return None
    row, cell = pair
    lead = ((row + 1) >> 1) + (0x70 if row <= 0x5E else 0xB0)
    # Odd rows take the low half of the trail-byte range (skipping 0x7F), even rows the high.
    odd_trail = cell + (0x1F if cell <= 0x5F else 0x20)
    trail = odd_trail if row % 2 else cell + 0x7E
    return bytes((lead, trail))
