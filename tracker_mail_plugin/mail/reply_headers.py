"""The reply library's header expression, searched one alternative at a time.

mail-parser-reply finds the reply headers in a text with one expression: every language's
"On … wrote:" and "From:/Sent:/To:" patterns and a separator joined by ``|``, read with
``findall``. Python's regex engine skips ahead only to a literal an expression must start
with; the joined one has none, so all its alternatives are tried at every position of the
text, about 1 µs per character. Here each alternative is searched on its own (several
start with a literal, or are cheap where they cannot match), and the header-block ones
("From: … To: …", in 12 languages) only when some line starts with one of their labels
followed by a colon: a single search over the text that jumps from line break to line break.

``findall`` gives what the library reads from the joined expression's ``findall``: for
each match, leftmost first and, at one position, the first alternative that matches, the
groups of that alternative (unset ones as ""); the library keeps only the non-empty ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# A header-block alternative as the library writes it: at least one line of a line start,
# a line break or quote markers, bold or spaces, one of its labels and a colon, the rest of
# the line; then maybe one more line. So some line must hold a label and a colon.
_HEADER_BLOCK = re.compile(
    r"\(\(\?:\(\?:\^\|\\n\|\\n\(\?:> \?\)\*\)\[\* \]\*\(\?:(?P<labels>[^()]*)\):"
    r"\[ \*\]\*\(\?:\\s\{,2\}\)\.\*\)\{[1-9],\}\(\?:\\n\.\*\)\{,1\}\)"
)
# A backreference counts groups across the joined expression: such alternatives must not
# be searched apart.
_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=")


class HeaderSearch:
    """A drop-in for the library's joined header expression (only ``findall`` is used)."""

    def __init__(self, alternatives: Sequence[str], flags: int) -> None:
        """Compile each alternative, and the label check of the header-block ones.

        Args:
            alternatives: The patterns that the library joins with ``|``, in its order.
            flags: The library's flags for the joined expression.
        """
        self.patterns = [re.compile(pattern, flags) for pattern in alternatives]
        openings = [_HEADER_BLOCK.fullmatch(pattern) for pattern in alternatives]
        self.gated = frozenset(index for index, found in enumerate(openings) if found)
        labels = "|".join(f"(?:{found.group('labels')})" for found in openings if found)
        label_line = rf"(?:> ?)*[* ]*(?:{labels}):"
        # The first line is tried apart so that the search can start with a literal "\n".
        self.first_label_line = re.compile(label_line, flags)
        self.later_label_line = re.compile(rf"\n{label_line}", flags)

    def findall(self, text: str) -> list[tuple[str, ...]]:
        """The groups of each match of the joined expression, leftmost first."""
        if self.gated and not self._has_label_line(text):
            patterns = [p for index, p in enumerate(self.patterns) if index not in self.gated]
        else:
            patterns = self.patterns
        return _leftmost_matches(patterns, text)

    def _has_label_line(self, text: str) -> bool:
        return bool(self.first_label_line.match(text) or self.later_label_line.search(text))


def _leftmost_matches(patterns: list[re.Pattern[str]], text: str) -> list[tuple[str, ...]]:
    """Non-overlapping matches of ``p1|p2|…``: the earliest start, then the first pattern.

    Each pattern's next match is kept until the scan passes its start: a match found from
    an earlier position is still the first one at or after a later position before it.
    """
    found: list[tuple[str, ...]] = []
    upcoming = [pattern.search(text) for pattern in patterns]
    while True:
        first: re.Match[str] | None = None
        for match in upcoming:
            if match is not None and (first is None or match.start() < first.start()):
                first = match
        if first is None:
            return found
        found.append(tuple(group or "" for group in first.groups()))
        # None of the library's alternatives can match an empty string (each needs a label,
        # a verb or dashes): the step of at least one character only rules out a loop.
        position = max(first.end(), first.start() + 1)
        for index, match in enumerate(upcoming):
            if match is not None and match.start() < position:
                upcoming[index] = patterns[index].search(text, position)


def can_search_apart(alternatives: Sequence[str], joined: str) -> bool:
    """Whether ``alternatives`` are exactly the joined expression's, with no backreference."""
    return "|".join(alternatives) == joined and not any(
        _BACKREFERENCE.search(pattern) for pattern in alternatives
    )
