"""Remove quoted replies and signatures from a body, in many languages, never emptying it.

Three passes. ``reply_layout`` first finds the sender's own lines: above, below and between
``>`` quotes, up to history that is not quoted (Outlook's header block, separators,
attributions, in many languages; ``reply_markers``), and keeps a forwarded message whole.
mail-parser-reply then removes what it knows in what is left: reply headers and sign-offs
in Danish, Dutch, English, French, German, Italian, Japanese, Polish, Swedish, Czech,
Spanish, Korean and Chinese (it was the best of three libraries on a shared fixture set, see
``docs/research``). Last, ``signatures`` removes phone sign-offs and contact blocks that
have no ``-- `` delimiter. Indentation is restored (the library strips every line, which
would ruin code and logs in bug reports), and an empty result falls back to the full text
(stripping must never lose what the sender wrote).

The library's expressions backtrack on long lines and long runs of blank lines; what it is
shown is bounded first (``quote_bounds``), and everything here is linear in the text.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from functools import lru_cache

import re2

from tracker_mail_plugin.mail.quote_bounds import bound
from tracker_mail_plugin.mail.reply_headers import HeaderSearch, can_search_apart
from tracker_mail_plugin.mail.reply_layout import split_reply
from tracker_mail_plugin.mail.signatures import strip_signature

_LANGUAGES = ("en", "de", "fr", "nl", "da", "pl", "sv", "ja", "it", "es", "cs", "ko", "zh")
_QUOTED_LINE = re.compile(r"^[ \t]*>")
_SURROGATE = re.compile("[\ud800-\udfff]")
# A "signature" whose first line is longer than this is a sentence that happens to start
# with "Thanks," or "Regards,", not a sign-off: keep it.
_LONGEST_SIGN_OFF = 40


@lru_cache(maxsize=1)
def _suspect_pattern() -> re2._Regexp:
    """Where the library could possibly cut: built from its own per-language phrases.

    Every reply header it knows has a colon on the line ("On … wrote:", "From: …"), every
    separator starts with ``--`` or ``__``, quotes with ``>``; signatures start with one of
    its sign-off phrases. Text before the first such line is never cut, so only the rest
    goes through its (slow, all-languages) expressions.

    re2, not re: re tried the hundred sign-off phrases at every line, 0.8 s for a body of a
    million short lines (a 25 MB message would run past any time budget); re2 reads each
    character once. The phrases are written for re, so its Unicode classes are spelled out.
    """
    from mailparser_reply.constants import MAIL_LANGUAGES

    phrases: list[str] = []
    for language in _LANGUAGES:
        table = MAIL_LANGUAGES.get(language, {})
        phrases += [p for p in table.get("signatures", []) if p]
        phrases += [table["sent_from"]] if table.get("sent_from") else []
    sign_offs = "|".join(f"(?:{phrase})" for phrase in phrases)
    pattern = (
        rf"(?m)^[ \t>*]*(?:>|[-_]{{2}}|{_RE_LETTER}[^\n:：]{{0,40}}[:：]|(?P<signoff>{sign_offs}))"
        rf"|[:：][ \t]*$"
    )
    return re2.compile(_for_re2(pattern), _CASELESS)


# re's Unicode classes in re2's terms: ``[^\W\d_]`` (a letter, or a numeral that is not a
# digit) and ``\w``; and ``\uXXXX`` escapes, which re2 writes ``\x{XXXX}``.
_RE_LETTER = r"[^\W\d_]"
_CASELESS = re2.Options()
_CASELESS.case_sensitive = False


def _for_re2(pattern: str) -> str:
    pattern = pattern.replace(_RE_LETTER, r"[\pL\p{Nl}\p{No}]").replace(r"\w", r"[\pL\pN_]")
    return re.sub(r"\\u([0-9a-fA-F]{4})", r"\\x{\1}", pattern)


def _start_of_suspect_part(text: str) -> tuple[int, bool] | None:
    """Where a header, quote or signature could start, and whether it is a plain sign-off.

    A plain sign-off is a short line starting with one of the library's phrases ("Best
    regards", "Mit freundlichen Grüßen") below some text: the library cuts everything from
    such a line to the end, so the answer is known without running it.
    """
    found = _suspect_pattern().search(text)
    if found is None:
        return None
    start = text.rfind("\n", 0, found.start()) + 1
    end = text.find("\n", found.start())
    line = text[start : end if end >= 0 else len(text)].strip()
    plain = found.group("signoff") is not None and _is_sign_off(line)
    return start, plain and bool(text[:start].strip())


# Stands in for the text before the suspect part: the library never takes the very first
# line for a signature, and an Outlook separator needs a blank line above it. It is not
# whitespace, so the library's line stripping keeps it, and it never occurs in mail text.
_CONTEXT = "\u2063"


def _newest_reply_fast(text: str) -> str:
    """The library's answer, computed only on the part of the text that can change."""
    suspect = _start_of_suspect_part(text)
    if suspect is None:
        return text
    start, plain_sign_off = suspect
    head, tail = text[:start], text[start:]
    if plain_sign_off:
        return head
    bounded = bound(tail)
    newest_tail = bounded.restore(_newest_reply(f"{_CONTEXT}\n\n{bounded.text}"))
    newest_tail = bounded.complete(newest_tail.replace(_CONTEXT, "").strip("\n"))
    return f"{head}{newest_tail}" if newest_tail.strip() else head


@lru_cache(maxsize=1)
def _compiled() -> dict[str, re.Pattern[str]]:
    """The library's three expressions, built once instead of once per message.

    It rebuilds them from its language tables for every message (about 70 string joins
    each time); they only depend on the languages, so we hand it prebuilt ones.
    """
    from mailparser_reply import EmailMessage

    sample = EmailMessage(text="", languages=list(_LANGUAGES), keep_hyphen_lists=True)
    return {
        "_header_regex": sample.HEADER_REGEX,
        "_signature_regex": sample.SIGNATURE_REGEX,
        "_disclaimers_regex": sample.DISCLAIMERS_REGEX,
    }


@lru_cache(maxsize=1)
def _library_expressions() -> dict[str, object]:
    """What the library is handed: the expressions, its header one searched faster.

    The faster search is only used when it is built from exactly the alternatives the
    library joins (another library version may join others): else the library's own.
    """
    from mailparser_reply import EmailMessage
    from mailparser_reply.constants import GENERIC_MAIL_SEPARATOR, MAIL_LANGUAGES

    expressions: dict[str, object] = dict(_compiled())
    joined = _compiled()["_header_regex"]
    sample = EmailMessage(text="", languages=list(_LANGUAGES), keep_hyphen_lists=True)
    alternatives = []
    for key in ("wrote_header", "from_header"):
        for language in sample.languages:
            value = MAIL_LANGUAGES.get(language, {}).get(key, "")
            alternatives.append("|".join(value) if isinstance(value, list) else value)
    alternatives.append(f"({GENERIC_MAIL_SEPARATOR})")
    alternatives = [pattern for pattern in alternatives if pattern]
    if can_search_apart(alternatives, joined.pattern):
        expressions["_header_regex"] = HeaderSearch(alternatives, joined.flags)
    return expressions


# The library's signature expression ends in ``(.|\s)*)``: everything to the end of the
# text. Searching with it again from every later line is quadratic; where a signature
# starts only needs the expression without that tail.
_TO_THE_END = r"(.|\s)*)"


@lru_cache(maxsize=1)
def _signature_start() -> re.Pattern[str]:
    full = _compiled()["_signature_regex"]
    if not full.pattern.endswith(_TO_THE_END):
        return full  # a library version with another shape: slower, still correct
    return re.compile(full.pattern[: -len(_TO_THE_END)] + ")", full.flags)


def _newest_reply(text: str) -> str:
    from mailparser_reply import EmailMessage

    # keep_hyphen_lists: otherwise "- step one" lines in a bug report count as a signature.
    parsed = EmailMessage(
        text=text, languages=list(_LANGUAGES), keep_hyphen_lists=True, **_library_expressions()
    ).read()
    if not parsed.replies:
        return ""
    reply = parsed.replies[0]
    if _is_sign_off(_first_line(reply.signatures)):
        return str(reply.body)
    return _cut_at_sign_off(str(reply.full_body), _signature_start())


def _is_sign_off(line: str) -> bool:
    """A closing formula ("Thanks,", "Mit freundlichen Grüßen"), not a sentence.

    Danish "Tak for din mail. Det lyder godt." starts with a sign-off word, but two
    sentences are text: a full stop inside, or a question or exclamation, says so.
    """
    line = line.strip()
    return len(line) <= _LONGEST_SIGN_OFF and ". " not in line and not line.endswith(("?", "!"))


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0]


def _cut_at_sign_off(content: str, signature: re.Pattern[str]) -> str:
    """Cut at the first signature match that is a short sign-off line, if any."""
    pos = 0
    while match := signature.search(content, pos):
        found = match.group()
        line_start = match.start() + len(found) - len(found.lstrip())
        line_end = content.find("\n", line_start)
        line = content[line_start : line_end if line_end >= 0 else len(content)]
        if _is_sign_off(line):
            return content[: match.start()]
        pos = line_end + 1
        if pos <= 0:
            break
    return content


def strip_quotes(text: str) -> str:
    """Return the newest reply in ``text``: no quoted history, no signature.

    The reply's own lines are found first (above, below or between quotes; up to unmarked
    history), then the library removes what it knows, then a signature without delimiter
    goes. A forwarded message is kept whole after the new text. Falls back to ``text``
    (with trailing quoted lines removed) when nothing would be left.
    """
    if not text.strip():
        return ""
    text = _encodable(text)
    layout = split_reply(text)
    newest = _newest_own_text(layout.new_text) if layout.new_text.strip() else ""
    if layout.forward:
        newest = f"{newest}\n\n{layout.forward}".strip("\n")
    if not newest.strip():
        fallback = _drop_quoted_lines(text)
        return fallback if fallback.strip() else text.strip()
    return newest


def _encodable(text: str) -> str:
    """``text`` with a lone surrogate (an undecodable byte) as U+FFFD, one for one.

    RE2 reads UTF-8, which a lone surrogate has no form in; ``full_body`` keeps it, and the
    body, meant for a tracker, is better off with the replacement character anyway.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def _newest_own_text(text: str) -> str:
    """What the library and the signature rules leave of the sender's own lines."""
    try:
        newest = _newest_reply_fast(text)
    except Exception:  # noqa: BLE001 - a library bug must never cost the message
        newest = ""
    newest = _drop_quoted_lines(newest)
    if not newest.strip():
        # The library took all of it for a signature ("Thanks, that fixed it."): the
        # sender's own lines are still better than the whole history.
        return strip_signature(text.strip("\n"))
    if _has_indented_line(text):
        newest = _restore_indentation(text, newest)
    return strip_signature(newest.strip("\n"))


def _has_indented_line(text: str) -> bool:
    """Whether any line starts with a space or tab: else there is nothing to restore."""
    return text[:1] in (" ", "\t") or "\n " in text or "\n\t" in text


def _drop_quoted_lines(text: str) -> str:
    """Remove ``>``-quoted lines at the end (bottom quotes without an attribution line)."""
    lines = text.rstrip().split("\n")
    while lines and (_QUOTED_LINE.match(lines[-1]) or not lines[-1].strip()):
        lines.pop()
    return "\n".join(lines).strip()


def _restore_indentation(original: str, stripped: str) -> str:
    """Map the library's whitespace-stripped lines back onto the original lines.

    Each stripped line is matched to the next original line with the same content; an
    index of where each content occurs keeps this linear (up to a logarithm) even when many
    lines match nothing.
    """
    source = original.split("\n")
    where: dict[str, list[int]] = {}
    for index, line in enumerate(source):
        where.setdefault(line.strip(), []).append(index)
    out: list[str] = []
    cursor = 0
    for line in stripped.split("\n"):
        places = where.get(line.strip(), [])
        found = bisect_left(places, cursor)
        if found < len(places):
            out.append(source[places[found]].rstrip())
            cursor = places[found] + 1
        else:
            out.append(line)
    return "\n".join(out).strip("\n")
