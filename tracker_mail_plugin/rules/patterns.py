"""Every regular expression from the configuration that is matched against mail runs here.

Patterns are written in Python's syntax and matched by RE2, whose running time is linear in
the length of the text whatever the pattern: ``(a+)+$`` on a hostile subject costs what any
other pattern costs. Patterns RE2 cannot run that way (backreferences, lookaround…) are
refused when the configuration is loaded, with the construct and its position
(see :mod:`tracker_mail_plugin.rules.re2syntax` for the translation).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import re2

from tracker_mail_plugin.rules.charclasses import class_body, complement, ranges
from tracker_mail_plugin.rules.re2syntax import Refused, Translation, translate

# Rules match case-insensitively, and ^ and $ work per line (the README's promise).
RULE_FLAGS = re.IGNORECASE | re.MULTILINE
_SURROGATE = re.compile("[\ud800-\udfff]")


class PatternError(ValueError):
    """A configured pattern that is not valid, or that the engine refuses; a plain sentence."""


@dataclass(frozen=True, slots=True)
class Found:
    """What a pattern matched: the text and the named groups that took part."""

    text: str
    start: int
    groups: dict[str, str]


class MailPattern:
    """A compiled configuration pattern; ``search`` takes time linear in the text."""

    def __init__(self, source: str, translation: Translation):
        self.source = source
        self.names = translation.names
        self._translation = translation
        self._regexp = re2.compile(translation.pattern, _options())

    def search(self, text: str) -> Found | None:
        """The first match in ``text`` (leftmost, as Python's ``re.search`` finds it)."""
        try:
            found = self._regexp.search(text)
        except UnicodeEncodeError:
            # A lone surrogate (undecodable mail bytes) has no UTF-8 form; one replacement
            # character in its place keeps every position where it was.
            text = _without_surrogates(text)
            found = self._regexp.search(text)
        if found is None:
            return None
        start, end = self._span(found)
        groups = {k: v for k, v in found.groupdict().items() if k in self.names and v is not None}
        return Found(text[start:end], start, groups)

    def _span(self, found: Any) -> tuple[int, int]:
        r"""The match without the context characters a ``\b`` at an edge needed."""
        start, end = found.span()
        prefix = self._translation.prefix_group
        if prefix is not None:
            start = found.end(prefix)
        for group in self._translation.suffix_groups:
            if found.start(group) != -1:
                end = found.start(group)
        return start, end


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # errors are reported to the user as sentences, not on stderr
    return options


def _without_surrogates(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text)


@lru_cache(maxsize=1024)
def compile_pattern(source: str, flags: int = RULE_FLAGS) -> MailPattern:
    """Compile a pattern written in a rule; raises PatternError with a sentence to show."""
    try:
        translation = translate(source, flags)
    except re.error as exc:
        raise PatternError(f"not a valid regular expression: {exc}") from None
    except Refused as exc:
        hint = f"; {exc.hint}" if exc.hint else ""
        raise PatternError(
            f"'{source}' {exc}, which rules cannot use: they are matched by RE2, in time linear "
            f"in the mail's length, and {exc.reason}{hint}"
        ) from None
    except RecursionError:
        raise PatternError(f"'{source}' is nested too deeply") from None
    try:
        return MailPattern(source, translation)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise PatternError(
            f"'{source}' is refused by the matching engine (RE2): {reason}"
        ) from None


def _nonword() -> str:
    return f"(?-i:[{class_body(complement(ranges('w')))}])"


@lru_cache(maxsize=4096)
def keyword_pattern(keyword: str, whole_words: bool) -> MailPattern:
    """A keyword (its words separated by any whitespace), as a word or anywhere.

    Used on case-folded text. As a word, the characters either side must not be word
    characters; that context is matched (RE2 has no lookaround) and cut off again.
    """
    body = r"\s+".join(re.escape(part) for part in keyword.casefold().split())
    translation = translate(body, 0)
    if whole_words:
        nonword = _nonword()
        translation = Translation(
            rf"(\A|{nonword}){translation.pattern}({nonword}|\z)", 1, (2,), frozenset()
        )
    return MailPattern(keyword, translation)


@lru_cache(maxsize=256)
def delimiter_pattern(delimiters: tuple[str, ...]) -> MailPattern | None:
    """A line that starts (after ``>`` quote marks) with one of the configured delimiters."""
    union = "|".join(re.escape(d.strip()) for d in delimiters if d.strip())
    if not union:
        return None
    return compile_pattern(rf"^[ \t>]*(?:{union})[ \t]*$", re.MULTILINE)


def first_keyword(keywords: Sequence[str], folded: str, whole_words: bool) -> str | None:
    """The first of ``keywords`` found in the case-folded ``folded`` text, or ``None``."""
    for keyword in keywords:
        if keyword_pattern(keyword, whole_words).search(folded) is not None:
            return keyword
    return None
