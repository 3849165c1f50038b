r"""Python's own ``\w``, ``\d`` and ``\s`` as explicit code-point ranges, for RE2.

RE2's ``\w``, ``\d``, ``\s`` and ``\b`` know only ASCII, and its ``\p{L}`` tables follow a
newer Unicode than this Python's: about 5,000 code points would match differently. Reading
the sets from Python's ``re`` itself, once per process, makes a translated pattern accept
exactly the characters the pattern would accept in Python.
"""

from __future__ import annotations

import re
import sys
from array import array
from functools import lru_cache

Ranges = tuple[tuple[int, int], ...]
_LAST = 0x10FFFF
_SURROGATES = (0xD800, 0xDFFF)
_ASCII = {
    "w": ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)),
    "d": ((0x30, 0x39),),
    "s": ((0x09, 0x0D), (0x20, 0x20)),
}


@lru_cache(maxsize=1)
def _every_character() -> tuple[str, str]:
    """All code points but the surrogates, in two runs (a str cannot hold a lone one)."""
    # Decoded from UTF-32 in one call: four times faster than joining a million chr()s,
    # and paid by every process that matches a rule (one per message piped in).
    return _text(0, _SURROGATES[0]), _text(_SURROGATES[1] + 1, _LAST + 1)


def _text(start: int, end: int) -> str:
    """The code points ``start`` .. ``end - 1`` as one str."""
    codes = array("I", range(start, end))
    if codes.itemsize != 4:  # pragma: no cover - 4 on every platform CPython supports
        return "".join(map(chr, range(start, end)))
    return codes.tobytes().decode(f"utf-32-{'le' if sys.byteorder == 'little' else 'be'}")


@lru_cache(maxsize=8)
def ranges(kind: str, *, ascii_only: bool = False) -> Ranges:
    r"""The code points Python's ``\w``, ``\d`` or ``\s`` (``kind``) match, as ranges."""
    if ascii_only:
        return _ASCII[kind]
    low, high = _every_character()
    run = re.compile(rf"\{kind}+")
    found = [(m.start(), m.end() - 1) for m in run.finditer(low)]
    offset = _SURROGATES[1] + 1
    found += [(m.start() + offset, m.end() - 1 + offset) for m in run.finditer(high)]
    return tuple(found)


def complement(spans: Ranges) -> Ranges:
    """Every code point not in ``spans``, surrogates left out (a str never holds one)."""
    result: list[tuple[int, int]] = []
    start = 0
    for low, high in sorted((*spans, _SURROGATES)):
        if low > start:
            result.append((start, low - 1))
        start = max(start, high + 1)
    if start <= _LAST:
        result.append((start, _LAST))
    return tuple(result)


def is_word(code: int) -> bool:
    r"""Whether Python's ``\w`` (and so ``\b``) counts this character as part of a word."""
    char = chr(code)
    return char.isalnum() or char == "_"


def class_body(spans: Ranges) -> str:
    r"""The inside of an RE2 character class for ``spans``: ``\x{30}-\x{39}…``."""
    return "".join(
        rf"\x{{{low:x}}}" if low == high else rf"\x{{{low:x}}}-\x{{{high:x}}}"
        for low, high in spans
    )
