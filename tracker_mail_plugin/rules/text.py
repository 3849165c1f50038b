"""The text that goes to the tracker: delimiters cut, Redmine-style field lines taken out."""

from __future__ import annotations

from collections.abc import Sequence

from tracker_mail_plugin.mail.model import Message
from tracker_mail_plugin.rules.patterns import delimiter_pattern

# A field line is short (``Priority: High``); a longer line is text, whatever it starts with.
# The bound also keeps the scan linear: each line is looked at once, for at most this long.
MAX_FIELD_LINE = 1000

# Field names people write in a body, per field the rule may allow (Redmine's keywords).
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "priority": ("priority",),
    "type": ("type", "tracker", "issue type"),
    "category": ("category", "component"),
    "assignee": ("assignee", "assigned to", "assign to"),
    "labels": ("labels", "label", "tags"),
    "due_date": ("due date", "due"),
    "private": ("private", "is private"),
}


def message_text(
    message: Message, *, is_reply: bool, strip_quotes: bool, delimiters: Sequence[str]
) -> str:
    """The text for an issue or a comment.

    Quoted history is removed from replies (comments) when ``strip_quotes`` is on; a new issue
    keeps the whole text, because forwarded mail carries its substance below a header block
    that a quote stripper would cut. Then everything from a configured delimiter line on is
    cut (Redmine's "truncate emails after one of these lines").
    """
    text = message.body if (is_reply and strip_quotes) else message.full_body
    return cut_at_delimiters(text, delimiters)


def cut_at_delimiters(text: str, delimiters: Sequence[str]) -> str:
    """Cut at the first line that starts with a delimiter (after ``>`` quote marks)."""
    pattern = delimiter_pattern(tuple(delimiters))
    if pattern is None:
        return text
    found = pattern.search(text)
    if found is None or not text[: found.start].strip():
        return text  # never cut everything away
    return text[: found.start].rstrip()


def _field_names(allowed: Sequence[str]) -> dict[str, str]:
    """Each alias people may write (lower case) -> the field it sets."""
    return {alias: name for name in allowed for alias in FIELD_ALIASES.get(name, (name,))}


def _field_line(line: str, names: dict[str, str]) -> tuple[str, str] | None:
    """``Priority: High`` -> ``("priority", "High")`` when the name is allowed."""
    if len(line) > MAX_FIELD_LINE:
        return None
    name, colon, value = line.partition(":")
    field_name = names.get(name.strip(" \t").lower()) if colon else None
    value = value.lstrip(" \t").rstrip(" \t")
    if field_name is None or not value or value[0].isspace():
        return None
    return field_name, value


def take_fields(text: str, allowed: Sequence[str]) -> tuple[str, dict[str, str]]:
    """Take ``Priority: High``-style lines for the allowed fields out of ``text``.

    The first line per field wins; matched lines (and empty lines after them) are removed.
    One pass over the lines: linear in the length of the text.
    """
    names = _field_names(allowed)
    fields: dict[str, str] = {}
    kept: list[str] = []
    dropping_blanks = False
    for line in text.split("\n"):
        if dropping_blanks and not line:
            continue
        dropping_blanks = False
        found = _field_line(line, names)
        if found is not None and found[0] not in fields:
            fields[found[0]] = found[1]
            dropping_blanks = True
            continue
        kept.append(line)
    ordered = {name: fields[name] for name in allowed if name in fields}
    return "\n".join(kept).strip("\n"), ordered
