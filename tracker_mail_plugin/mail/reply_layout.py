"""Where a reply's own text is: above, below and between the history it quotes.

People answer above the quote (top-posting), below it (bottom-posting) or between its
lines (interleaving). In all three the new text is every line that is not quoted, so the
reading is the same: ``>`` lines go, and with them the attribution above each quote
("On … wrote:"); every other line stays, in order. History that is not marked with ``>``
(Outlook's header block, "-----Original Message-----", an attribution followed by plain
text) has nothing after it that belongs to the reply: it is cut from there to the end.

A forwarded message is the substance of the mail, not history: from its marker on,
nothing is cut (a forward below a reply's history was forwarded earlier, and goes with it).
Every test reads a line or two, bounded, so this is linear in the length of the text.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker_mail_plugin.mail.reply_markers import (
    attribution_lines,
    header_block_at,
    is_forward,
    is_quoted,
    is_rule,
    is_separator,
    wrapped_into_quote,
)

# A rule line may stand one or two lines above the header block it introduces.
_RULE_REACH = 3


@dataclass(frozen=True)
class Layout:
    """A reply split into the sender's new text and a forwarded message kept whole."""

    new_text: str
    forward: str = ""


def split_reply(text: str) -> Layout:
    """The new text of a reply (quotes and history removed) and any forward it carries."""
    lines = text.split("\n")
    end, forward_at = _end_of_new_text(lines)
    forward = "\n".join(lines[forward_at:]).strip("\n") if forward_at is not None else ""
    return Layout(_without_quotes(lines[:end]), forward)


def _end_of_new_text(lines: list[str]) -> tuple[int, int | None]:
    """Where unmarked history starts (or the text ends), and where a forward starts."""
    for index, line in enumerate(lines):
        if not line.strip() or is_quoted(line):
            continue
        if is_forward(line):
            return index, index
        start = _history_start(lines, index)
        if start is not None and _has_text(lines[:start]):
            return start, None
    return len(lines), None


def _history_start(lines: list[str], index: int) -> int | None:
    """The first line of unmarked history starting at ``lines[index]``, if one does."""
    line = lines[index]
    if is_separator(line):
        return index
    if is_rule(line):
        reach = lines[index + 1 : index + _RULE_REACH]
        if any(header_block_at(lines, index + 1 + at) for at, _ in enumerate(reach)):
            return index
        return None
    if header_block_at(lines, index):
        return index
    taken = attribution_lines(lines, index)
    if taken and not _quote_follows(lines, index):
        return index - taken + 1
    return None


def _quote_follows(lines: list[str], index: int) -> bool:
    for line in lines[index + 1 :]:
        if line.strip():
            return is_quoted(line)
    return False


def _has_text(lines: list[str]) -> bool:
    return any(line.strip() for line in lines)


def _without_quotes(lines: list[str]) -> str:
    """The lines without ``>`` quotes and the attribution above each quoted block."""
    kept: list[int] = []  # indices into ``lines``
    removed_since_kept = False
    for index, line in enumerate(lines):
        if is_quoted(line):
            if not removed_since_kept:
                _drop_attribution_above(lines, kept, line)
            removed_since_kept = True
            continue
        if not line.strip() and removed_since_kept and kept and not lines[kept[-1]].strip():
            continue  # one blank line stands where a quote was
        if line.strip():
            removed_since_kept = False
        kept.append(index)
    return "\n".join(lines[index] for index in kept).strip("\n")


def _drop_attribution_above(lines: list[str], kept: list[int], quoted: str) -> None:
    """Remove the attribution line(s) just above a quote (blank lines may come between)."""
    last = len(kept) - 1
    while last >= 0 and not lines[kept[last]].strip():
        last -= 1
    if last < 0:
        return
    taken = attribution_lines(lines, kept[last], above_quote=True)
    if not taken and wrapped_into_quote(lines[kept[last]], quoted):
        taken = 1
    if taken == 2 and last >= 1 and kept[last - 1] == kept[last] - 1:
        del kept[last - 1 :]
    elif taken:
        del kept[last:]
