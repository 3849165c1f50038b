"""The text that goes to the tracker: delimiters cut, Redmine-style field lines taken out."""

from __future__ import annotations

import re
from collections.abc import Sequence

from tracker_mail_plugin.mail.model import Message

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
    if not delimiters:
        return text
    union = "|".join(re.escape(d.strip()) for d in delimiters if d.strip())
    if not union:
        return text
    found = re.search(rf"^[ \t>]*(?:{union})[ \t]*$", text, re.MULTILINE)
    if found is None or not text[: found.start()].strip():
        return text  # never cut everything away
    return text[: found.start()].rstrip()


def take_fields(text: str, allowed: Sequence[str]) -> tuple[str, dict[str, str]]:
    """Take ``Priority: High``-style lines for the allowed fields out of ``text``.

    The first line per field wins; matched lines (and blank lines after them) are removed.
    """
    fields: dict[str, str] = {}
    for field_name in allowed:
        aliases = "|".join(re.escape(a) for a in FIELD_ALIASES.get(field_name, (field_name,)))
        pattern = re.compile(
            rf"^[ \t]*(?:{aliases})[ \t]*:[ \t]*(\S.*?)[ \t]*\n*(?:\n|\Z)", re.I | re.M
        )
        found = pattern.search(text)
        if found:
            fields[field_name] = found.group(1)
            text = text[: found.start()] + text[found.end() :]
    return text.strip("\n"), fields
