"""Texts within Jira's limits: 32,767 characters for a text field, 255 for a summary.

Jira refuses a description, comment or request text over 32,767 characters with a 400, which
would quarantine long mail for good; the wiki escaping of :func:`wiki_text` makes a text
longer than the mail was. So a text over the limit is cut at the last line that fits, ends
with a note saying so, and the whole text (as the mail had it, unescaped) goes with the
issue or comment as one more file, ``full-text.txt``, which the note links to.

Jira counts Java characters, which are UTF-16 code units: an emoji outside the Basic
Multilingual Plane counts twice, so lengths are measured that way here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tracker_mail_plugin import Upload
from tracker_mail_plugin_jira.markup import wiki_text, wiki_writer

TEXT_LIMIT = 32_767  # Jira's maximum for a text field (description, comment), in characters
SUMMARY_LIMIT = 255
FULL_TEXT_NAME = "full-text.txt"


@dataclass(frozen=True, slots=True)
class Fitted:
    """A text ready to send and the files to attach with it.

    Attributes:
        text: the wiki text, within :data:`TEXT_LIMIT`.
        uploads: the mail's files, and the whole text as a file when it was cut.
    """

    text: str
    uploads: tuple[Upload, ...]


def jira_length(text: str) -> int:
    """``text``'s length as Jira counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, uploads: Sequence[Upload] = ()) -> Fitted:
    """``text`` as wiki markup within Jira's limit, cut on a line boundary when it must be.

    Args:
        text: the plain text (sender line included) as the mail had it.
        uploads: the mail's files; the whole text is added to them when the text is cut.
    """
    wiki = wiki_text(text, uploads)
    if jira_length(wiki) <= TEXT_LIMIT:
        return Fitted(wiki, tuple(uploads))
    name = free_name(uploads)
    note = _note(len(text), name)
    kept = cut_lines(text, TEXT_LIMIT - jira_length(note) - 2, uploads)
    full = Upload.from_bytes(name, text.encode(), "text/plain; charset=utf-8")
    return Fitted(f"{kept}\n\n{note}", (*uploads, full))


def cut_summary(line: str) -> str:
    """``line`` within the 255 characters of a summary, ending in ``…`` when cut."""
    if jira_length(line) <= SUMMARY_LIMIT:
        return line
    kept = line[: SUMMARY_LIMIT - 1]
    while jira_length(kept) > SUMMARY_LIMIT - 1:
        kept = kept[:-1]
    return kept + "…"


def cut_lines(text: str, budget: int, uploads: Sequence[Upload] = ()) -> str:
    """The escaped start of ``text`` that fits in ``budget``, ending at a line's end.

    A first line longer than the budget is cut inside (after the last escape that fits, so
    no backslash is left alone).
    """
    kept: list[str] = []
    used = 0
    wiki = wiki_writer(uploads)  # the files indexed once, not again for every line
    # Escaping never shortens a line, so nothing past budget + 1 characters can be kept (a
    # line cut there is too long either way): splitting all of a 25 MB text cost a string
    # per line.
    for line in text[: budget + 1].splitlines(keepends=True):
        escaped = wiki(line)
        size = jira_length(escaped)
        if used + size > budget:
            if not kept:
                kept.append(_cut_inside(line, budget))
            break
        kept.append(escaped)
        used += size
    return "".join(kept).rstrip("\n")


def free_name(uploads: Sequence[Upload]) -> str:
    """``full-text.txt``, or ``full-text-2.txt``… when the mail has a file of that name."""
    taken = {upload.filename.casefold() for upload in uploads}
    name, number = FULL_TEXT_NAME, 1
    while name.casefold() in taken:
        number += 1
        name = f"full-text-{number}.txt"
    return name


def _note(length: int, name: str) -> str:
    # [^name] is Jira's link to an attachment of the issue; the rest needs no escaping.
    return (
        f"----\n_The mail was cut here: its text has {length:,} characters and Jira takes "
        f"{TEXT_LIMIT:,}. The whole text is attached as [^{name}]._"
    )


def _cut_inside(line: str, budget: int) -> str:
    used = 0
    out: list[str] = []
    for char in line:
        escaped = wiki_text(char)
        used += jira_length(escaped)
        if used > budget:
            break
        out.append(escaped)
    return "".join(out)
