"""Remove quoted replies and signatures from a body, in many languages, never emptying it.

mail-parser-reply finds reply headers ("On … wrote:", "Am … schrieb …:", Outlook's
"From:/Sent:" and "Von:/Gesendet:" blocks, "-----Original Message-----") and signatures in
Danish, Dutch, English, French, German, Italian, Japanese, Polish, Swedish, Czech, Spanish,
Korean and Chinese. It was the best of three libraries on a shared fixture set (see
``docs/research``). Two things we add: indentation is restored (the library strips every
line, which would ruin code and logs in bug reports), and an empty result falls back to the
full text (stripping must never lose what the sender wrote).
"""

from __future__ import annotations

import re

_LANGUAGES = ("en", "de", "fr", "nl", "da", "pl", "sv", "ja", "it", "es", "cs", "ko", "zh")
_QUOTED_LINE = re.compile(r"^[ \t]*>")
# A "signature" whose first line is longer than this is a sentence that happens to start
# with "Thanks," or "Regards,", not a sign-off: keep it.
_LONGEST_SIGN_OFF = 40

# Gmail's attribution line in languages where the library only knows another client's form
# (it expects Dutch "Op … schreef:", Gmail writes "Op … schreef Naam <adres>:"). Cut there
# when quoted lines follow, before the library runs.
_ATTRIBUTION = re.compile(
    r"^[ \t]*(?:On|Am|Le|Op|El|Il|Den|Dnia|W dniu)\b[^\n]{0,240}?"
    r"(?:wrote|schrieb|a écrit|schreef|escribió|ha scritto|skrev|napisał\(a\)|napisał)"
    r"[^\n]{0,160}?:[ \t]*\n(?:[ \t]*\n)*[ \t]*>",
    re.MULTILINE,
)


def _newest_reply(text: str) -> str:
    from mailparser_reply import EmailMessage

    # keep_hyphen_lists: otherwise "- step one" lines in a bug report count as a signature.
    parsed = EmailMessage(text=text, languages=list(_LANGUAGES), keep_hyphen_lists=True).read()
    if not parsed.replies:
        return ""
    reply = parsed.replies[0]
    if len(_first_line(reply.signatures)) <= _LONGEST_SIGN_OFF:
        return str(reply.body)
    return _cut_at_sign_off(str(reply.full_body), parsed.SIGNATURE_REGEX)


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0]


def _cut_at_sign_off(content: str, signature: re.Pattern[str]) -> str:
    """Cut at the first signature match that is a short sign-off line, if any."""
    pos = 0
    while match := signature.search(content, pos):
        found = match.group()
        if len(_first_line(found)) <= _LONGEST_SIGN_OFF:
            return content[: match.start()]
        line_start = match.start() + len(found) - len(found.lstrip())
        pos = content.find("\n", line_start) + 1
        if pos <= 0:
            break
    return content


def strip_quotes(text: str) -> str:
    """Return the newest reply in ``text``: no quoted history, no signature.

    Falls back to ``text`` (with trailing quoted lines removed) when the library would
    return nothing.
    """
    if not text.strip():
        return ""
    attribution = _ATTRIBUTION.search(text)
    if attribution and text[: attribution.start()].strip():
        text = text[: attribution.start()]
    try:
        newest = _newest_reply(text)
    except Exception:  # noqa: BLE001 - a library bug must never cost the message
        newest = ""
    newest = _drop_quoted_lines(newest)
    if not newest.strip():
        fallback = _drop_quoted_lines(text)
        return fallback if fallback.strip() else text.strip()
    return _restore_indentation(text, newest)


def _drop_quoted_lines(text: str) -> str:
    """Remove ``>``-quoted lines at the end (bottom quotes without an attribution line)."""
    lines = text.rstrip().split("\n")
    while lines and (_QUOTED_LINE.match(lines[-1]) or not lines[-1].strip()):
        lines.pop()
    return "\n".join(lines).strip()


def _restore_indentation(original: str, stripped: str) -> str:
    """Map the library's whitespace-stripped lines back onto the original lines."""
    source = original.split("\n")
    out: list[str] = []
    cursor = 0
    for line in stripped.split("\n"):
        wanted = line.strip()
        probe = cursor
        while probe < len(source) and source[probe].strip() != wanted:
            probe += 1
        if probe < len(source):
            out.append(source[probe].rstrip())
            cursor = probe + 1
        else:
            out.append(line)
    return "\n".join(out).strip("\n")
