"""RE2 expressions searched in the UTF-8 bytes of a line of text.

RE2 reads UTF-8. Handed a ``str``, the google-re2 wrapper encodes it and then maps the
offsets of a match back from bytes to characters, in Python: on a line of mail that costs
about twice the search itself. Where only whether something matched is needed, or the text
of a group, the wrapper is handed the bytes and the mapping is skipped. The answers are
the same (the wrapper encodes a ``str`` the same way); a text that cannot be encoded (a
lone surrogate) raises here as it does there.
"""

from __future__ import annotations

import re2


class Utf8Pattern:
    """An RE2 expression compiled once, searched in a text's UTF-8 bytes."""

    def __init__(self, pattern: str, options: re2.Options) -> None:
        """Compile ``pattern`` with ``options``."""
        self.regexp = re2.compile(pattern, options)

    def found(self, text: str) -> bool:
        """Whether the expression matches somewhere in ``text``."""
        return self.regexp.search(text.encode("utf-8")) is not None

    def first_group(self, text: str) -> str | None:
        """The text of group 1 of the first match, ``None`` without a match."""
        match = self.regexp.search(text.encode("utf-8"))
        if match is None:
            return None
        group = match.group(1)
        return None if group is None else bytes(group).decode("utf-8")
