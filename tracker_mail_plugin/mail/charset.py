"""Turn bytes of unknown or mislabelled encoding into text without ever failing.

Real mail lies about its charset all the time: ``us-ascii`` parts full of UTF-8, Korean
Outlook's ``ks_c_5601-1987``, Japanese ``iso-2022-jp`` using extension characters, labels
Python has never heard of, or no label at all. The chain below tries, in order: the declared
charset mapped to the codec that real senders mean by it, UTF-8, a statistical guess, then
Windows-1252 and Latin-1 with replacement characters. Every repair is reported so that
``explain`` can show it.

Only real text charsets are used. Python's codec registry also answers to ``hex``,
``base64``, ``zlib``, ``rot13`` (bytes-to-bytes or text-to-text transforms), ``idna``,
``punycode``, ``undefined`` and the escape codecs (text codecs that are not charsets): such a
label is treated like an unknown one, with a defect, and the usual chain decodes the bytes.

The statistical detector costs about a millisecond a call; a message of 100,000 8-bit
headers called it for each (53 s for 3.7 MB). Inside :func:`detection_budget` (one per
message) it runs at most ``MAX_DETECTIONS`` (8) times; after that its last verdict is
reused, then UTF-8 and Windows-1252 as always.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache

from tracker_mail_plugin.mail.iso2022jp import decode_iso2022jp_ms

# What senders write -> the superset codec they actually use. Browsers and the mail gem
# make the same substitutions (WHATWG encoding standard).
_ALIASES: dict[str, tuple[str, ...]] = {
    "ks_c_5601-1987": ("cp949",),
    "ks_c_5601": ("cp949",),
    "euc-kr": ("cp949",),
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "x-gbk": ("gb18030",),
    "big5": ("big5hkscs", "cp950"),
    "shift_jis": ("cp932",),
    "shift-jis": ("cp932",),
    "x-sjis": ("cp932",),
    "sjis": ("cp932",),
    "windows-31j": ("cp932",),
    "iso-2022-jp": ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2004", "iso2022_jp_2"),
    "iso-2022-jp-2": ("iso2022_jp_2", "iso2022_jp_2004"),
    "iso-8859-1": ("cp1252", "latin-1"),
    "latin1": ("cp1252", "latin-1"),
    "latin-1": ("cp1252", "latin-1"),
    "iso-8859-9": ("cp1254",),
    "iso-8859-11": ("cp874",),
    "tis-620": ("cp874",),
    "windows-874": ("cp874",),
    "us-ascii": ("utf-8", "cp1252"),
    "ascii": ("utf-8", "cp1252"),
    "ansi_x3.4-1968": ("utf-8", "cp1252"),
    "unicode-1-1-utf-7": ("utf-7",),
    "utf8": ("utf-8",),
    "cp-850": ("cp850",),
}

# Single-byte labels that are often stuck on UTF-8 text by misconfigured senders: if the
# bytes are valid UTF-8 and not plain ASCII, UTF-8 is what was meant.
_OFTEN_MISLABELLED = frozenset({"cp1252", "iso8859-15", "cp1250", "iso8859-2", "cp1254"})


# Text codecs in Python's registry that are not charsets a mail can be written in.
_NOT_CHARSETS = frozenset(
    {"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape", "charmap"}
)

MAX_DETECTIONS = 8

# A character that UTF-8 decoding produced from more than one byte (a single character class:
# one linear scan, no backtracking).
_DECODED_NON_ASCII = re.compile("[^\x00-\x7f\ufffd]")


@lru_cache(maxsize=256)
def codecs_for(label: str | None) -> tuple[str, ...]:
    """Return the Python codec names to try for a MIME charset label, best first.

    Unknown labels, and codecs that are not text charsets, give an empty tuple; the caller
    then falls back to guessing.
    """
    if not label:
        return ()
    key = label.strip().strip("\"'").lower()
    if key in _ALIASES:
        return _ALIASES[key]
    try:
        info = codecs.lookup(key)
    except (LookupError, ValueError, TypeError):  # ValueError: a NUL in the label
        return ()
    if not info._is_text_encoding or info.name in _NOT_CHARSETS:
        return ()
    return (info.name,)


def _is_codec(label: str) -> bool:
    """True when Python knows ``label`` as some codec (then it is not a text charset)."""
    try:
        codecs.lookup(label.strip().strip("\"'").lower())
    except (LookupError, ValueError, TypeError):
        return False
    return True


@dataclass
class _Budget:
    left: int = MAX_DETECTIONS
    last: str | None = None


_BUDGET: ContextVar[_Budget | None] = ContextVar("charset_detection_budget", default=None)
_HEADER_CODEC: ContextVar[str | None] = ContextVar("header_codec", default=None)


@contextmanager
def detection_budget() -> Iterator[None]:
    """Within this block the detector runs at most ``MAX_DETECTIONS`` times."""
    token = _BUDGET.set(_Budget())
    try:
        yield
    finally:
        _BUDGET.reset(token)


def decode_text(data: bytes | memoryview, label: str | None) -> tuple[str, str | None]:
    """Decode ``data`` declared as ``label``; never raises.

    Returns:
        The text and, when anything had to be repaired or guessed, a sentence saying what.
    """
    raw = bytes(data)
    if raw.isascii() and not _is_seven_bit_encoding(label):
        return raw.decode("ascii"), None
    candidates = codecs_for(label)
    if label and not candidates and _is_iso2022jp_label(label):
        windows_text = decode_iso2022jp_ms(raw)  # "ISO-2022-JP-MS", "CP50220": Python has none
        if windows_text is not None:
            return windows_text, None
    if label and not candidates:
        text, how = _guess(raw)
        what = "not a text charset" if _is_codec(label) else "unknown charset"
        return text, f"{what} {label!r}; decoded as {how}"
    for index, codec in enumerate(candidates):
        if codec in _OFTEN_MISLABELLED and _is_utf8(raw):
            return raw.decode("utf-8"), f"declared {label} but the bytes are UTF-8"
        try:
            text = raw.decode(codec)
        except (UnicodeError, LookupError):
            continue
        # A later ISO-2022-JP variant is the same label read fully; a later cp1252 is not,
        # nor is UTF-8 under an ASCII label (the bytes are not ASCII, or we returned above).
        relabelled = (index and codec == "cp1252") or (codec == "utf-8" and _is_ascii_label(label))
        return text, f"declared {label} but the bytes are {codec}" if relabelled else None
    if _is_iso2022jp_label(label):
        windows_text = decode_iso2022jp_ms(raw)
        if windows_text is not None:
            return windows_text, None
    if candidates and not raw.isascii() and _is_utf8(raw):
        # Not valid in the declared charset yet valid UTF-8: a sender's template declaring
        # GB2312 or Shift_JIS around UTF-8 text (read as declared, it is all mojibake).
        # Plain ASCII bytes prove nothing: ISO-2022-JP and UTF-7 are written in them.
        return raw.decode("utf-8"), f"declared {label} but the bytes are UTF-8"
    if candidates and candidates[0] == "utf-8":
        text = raw.decode("utf-8", errors="replace")
        if not _DECODED_NON_ASCII.search(text):
            # Not one character is valid UTF-8: 8-bit text in a single-byte charset under a
            # UTF-8 label (Windows Live Mail's QP "Det h=E4r"), not UTF-8 with a few bad bytes.
            text, how = _guess(raw)
            return text, f"declared {label} but no character in it is UTF-8; decoded as {how}"
    if candidates:
        # The label is right for most of the text; a few broken bytes become U+FFFD.
        try:
            text = raw.decode(candidates[0], errors="replace")
        except (UnicodeError, LookupError):
            text, how = _guess(raw)
            return text, f"bytes that could not be read as {label!r}; decoded as {how}"
        return text, f"bytes that are not valid {label} were replaced with U+FFFD"
    text, how = _guess(raw)
    if how == "utf-8":
        return text, None
    return text, f"no charset declared; decoded as {how}"


def _is_iso2022jp_label(label: str | None) -> bool:
    lowered = (label or "").lower()
    return "2022-jp" in lowered or "5022" in lowered  # Microsoft's code pages 50220-50222


def _is_ascii_label(label: str | None) -> bool:
    return (label or "").strip().strip("\"'").lower() in ("us-ascii", "ascii", "ansi_x3.4-1968")


def _is_seven_bit_encoding(label: str | None) -> bool:
    """True for encodings whose text is pure ASCII bytes yet not ASCII text (ISO-2022, UTF-7)."""
    if not label:
        return False
    lowered = label.lower()
    return "2022" in lowered or "utf-7" in lowered or lowered.startswith("hz")


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _guess(raw: bytes) -> tuple[str, str]:
    """Best effort for bytes whose charset is unknown: UTF-8, a detector, then cp1252."""
    if _is_utf8(raw):
        return raw.decode("utf-8"), "utf-8"
    guessed = _detect(raw)
    if guessed:
        try:
            return raw.decode(guessed), guessed
        except (UnicodeError, LookupError):
            pass
    # cp1252 leaves five bytes undefined; replace those rather than fail.
    text = raw.decode("cp1252", errors="replace")
    if "\ufffd" in text:
        return text, "windows-1252 with replacement characters"
    return text, "windows-1252"


# Detectors guess wildly on a few bytes ("café" comes back as UTF-16); below this many
# non-ASCII bytes, windows-1252, the most common undeclared charset, is the better bet.
_MIN_BYTES_TO_DETECT = 16


def _detect(raw: bytes) -> str | None:
    """Ask charset-normalizer for the most plausible encoding of non-UTF-8 bytes."""
    sample = raw[:65536]
    if sum(byte >= 0x80 for byte in sample) < _MIN_BYTES_TO_DETECT or b"\x00" in sample:
        return None
    budget = _BUDGET.get()
    if budget is not None:
        if budget.left <= 0:
            return budget.last
        budget.left -= 1
        budget.last = _run_detector(sample)
        return budget.last
    return _run_detector(sample)


def _run_detector(sample: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes

        matches = from_bytes(sample)
        best = matches.best()
    except Exception:  # noqa: BLE001 - a detector bug must not lose a message
        return None
    if best is None or best.encoding.startswith(("utf_16", "utf_32")):
        return None
    # On mostly-ASCII text (HTML above all) several Latin code pages read equally clean and
    # the detector picks among them by a language score that favours English-looking
    # letters: Italian "martedì" came out as Vietnamese cp1258 (a combining accent) and
    # Spanish "¡" as cp1250 "ˇ". Windows-1252 is the likeliest when it reads as clean.
    if any(
        match.chaos <= best.chaos and "cp1252" in match.could_be_from_charset for match in matches
    ):
        return "cp1252"
    return str(best.encoding)


# --- unlabelled 8-bit headers ----------------------------------------------------------------


def guess_header_charset(
    values: list[bytes], body_label: Callable[[], str | None]
) -> tuple[str, str] | None:
    """The codec a message's raw 8-bit (not UTF-8) headers were written in, and how it was found.

    Header values carry no charset label, and one subject is too short for a detector
    ("Привет" in KOI8-R is six bytes). Mail clients that write raw 8-bit headers use their
    own charset throughout, so the body's declared charset is tried first; else the
    detector reads all such header values together. ``None`` when no header needs it or
    nothing better than the usual per-value chain is known.
    """
    eight_bit = [value for value in values if not value.isascii() and not _is_utf8(value)]
    if not eight_bit:
        return None
    joined = b"\n".join(eight_bit)
    label = body_label()
    for codec in codecs_for(label):
        if codec in ("utf-8", "cp1252", "latin-1") or _is_seven_bit_encoding(codec):
            continue  # UTF-8 already failed; cp1252 is what the usual chain ends with anyway
        try:
            joined.decode(codec)
        except (UnicodeError, LookupError):
            continue
        return codec, f"the charset the body declares ({label})"
    guessed = _detect(joined)
    if guessed:
        return guessed, "guessed from the bytes"
    cyrillic = _short_cyrillic(joined)
    return (cyrillic, "guessed from the bytes (Cyrillic letters)") if cyrillic else None


def _short_cyrillic(data: bytes) -> str | None:
    """cp1251 or KOI8-R for a few words too short for the detector, else ``None``.

    In both charsets Cyrillic letters are the bytes 0xC0-0xFF, and whole words of them are
    rare in Western text ("Ïðèâåò"). Words are mostly lower case: lower case is 0xE0-0xFF in
    cp1251 and 0xC0-0xDF in KOI8-R, which tells the two apart.
    """
    data = data[:4096]  # a few words is what this is for; the detector reads long text
    high = [byte for byte in data if byte >= 0x80]
    if len(high) < 3 or any(byte < 0xC0 for byte in high):
        return None
    words = data.split()
    if not any(len(word) >= 3 and all(byte >= 0xC0 for byte in word) for word in words):
        return None
    upper_half = sum(byte >= 0xE0 for byte in high)
    return "cp1251" if upper_half * 2 >= len(high) else "koi8_r"


@contextmanager
def header_codec(codec: str | None) -> Iterator[None]:
    """Within this block, raw 8-bit header bytes that are not UTF-8 are read as ``codec``."""
    token = _HEADER_CODEC.set(codec)
    try:
        yield
    finally:
        _HEADER_CODEC.reset(token)


def decode_header_bytes(data: bytes) -> tuple[str, str | None]:
    """Decode raw header bytes: the message's header codec if one was found, else the chain."""
    codec = _HEADER_CODEC.get()
    if codec and not data.isascii() and not _is_utf8(data):
        try:
            return data.decode(codec), None
        except (UnicodeError, LookupError):
            pass
    return decode_text(data, None)
