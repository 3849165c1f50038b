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
    Shape,
    attribution_lines,
    header_block_at,
    is_forward,
    is_quoted,
    is_rule,
    is_separator,
    shape_of,
    wrapped_into_quote,
)

# A rule line may stand one or two lines above the header block it introduces.
_RULE_REACH = 3
# "Anfang der weitergeleiteten Nachricht:", the longest forward marker ending in a colon.
_LONGEST_COLON_FORWARD = 48


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
    if end == len(lines) and ">" not in text:
        return Layout(text.strip("\n"), forward)  # nothing marked, nothing quoted
    return Layout(_without_quotes(lines[:end]), forward)


def _end_of_new_text(lines: list[str]) -> tuple[int, int | None]:
    """Where unmarked history starts (or the text ends), and where a forward starts."""
    labels: dict[int, str | None] = {}
    for index, line in enumerate(lines):
        shape = shape_of(line)
        if shape is None:
            continue
        if (shape.dashed or _short_colon_ended(line, shape)) and is_forward(line):
            return index, index
        start = _history_start(lines, index, shape, labels)
        if start is not None and _text_before(lines, start):
            return start, None
    return len(lines), None


def _text_before(lines: list[str], end: int) -> bool:
    # Stops at the first line of text, nearly always the first line: constant time.
    return any(lines[at].strip() for at in range(end))


def _history_start(
    lines: list[str], index: int, shape: Shape, labels: dict[int, str | None]
) -> int | None:
    """The first line of unmarked history starting at ``lines[index]``, if one does."""
    line = lines[index]
    if shape.dashed and is_separator(line):
        return index
    if shape.dashed and is_rule(line):
        below = range(index + 1, min(index + _RULE_REACH, len(lines)))
        return index if any(header_block_at(lines, at, labels) for at in below) else None
    if shape.labelled and header_block_at(lines, index, labels):
        return index
    # An attribution above a quote is not unmarked history: ``_without_quotes`` takes it
    # away with its quote, and the text below the quote stays.
    if not shape.colon_ended or _quote_follows(lines, index):
        return None
    taken = attribution_lines(lines, index)
    return index - taken + 1 if taken else None


def _short_colon_ended(line: str, shape: Shape) -> bool:
    """A line that could be "Begin forwarded message:" (attributions are mostly longer)."""
    return shape.colon_ended and len(line.strip()) <= _LONGEST_COLON_FORWARD


def _quote_follows(lines: list[str], index: int) -> bool:
    for at in range(index + 1, len(lines)):
        if lines[at].strip():
            return is_quoted(lines[at])
    return False


def _without_quotes(lines: list[str]) -> str:
    """The lines without ``>`` quotes and the attribution above each quoted block."""
    first_quote = _top_posted_quote(lines)
    if first_quote is not None:
        kept = list(range(first_quote))
        _drop_attribution_above(lines, kept, lines[first_quote])
        return "\n".join(lines[index] for index in kept).strip("\n")
    return _between_quotes(lines)


def _top_posted_quote(lines: list[str]) -> int | None:
    """Where the quote starts when nothing but quotes and blank lines come after it.

    The common case (a reply above its quote) then costs a look at the quote's lines from
    the end, instead of the line-by-line bookkeeping of interleaved text.
    """
    end = len(lines)
    while end > 0 and (not lines[end - 1].strip() or is_quoted(lines[end - 1])):
        end -= 1
    if end == len(lines) or not any(is_quoted(line) for line in lines[end:]):
        return None
    return end + next(at for at, line in enumerate(lines[end:]) if is_quoted(line))


def _between_quotes(lines: list[str]) -> str:
    """The lines around and between quotes, for bottom-posted and interleaved replies."""
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
