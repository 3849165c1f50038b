r"""What the reply library is shown: a bounded stand-in for the text, and the way back.

mail-parser-reply's expressions backtrack. Its "On … wrote:" header is ``On\s(?:.+?\s?.+?)
\s?wrote:$``, quadratic in the length of a line starting with "On" (and of the next line);
its signature expression starts with ``\s*^`` at every position, quadratic in a run of
whitespace, cubic in practice on thousands of blank lines. A 42 KB mail of "On Mon wrote:"
and spaces took 100 s. So before it runs, the text it sees is bounded:

- at most ``MAX_EXAMINED`` characters (64 KiB, cut at a line end) are examined; when the
  library cut nothing in them (no reply header, quote or signature), the text after them is
  kept as it is, unexamined;
- a line longer than ``MAX_LINE`` characters (256), or holding a run of ``MAX_SPACE_RUN``
  (16) or more spaces, is shown as its first 256 characters with whitespace runs collapsed,
  followed by an invisible marker; the whole line is put back afterwards. A reply header
  ("On … wrote:", "From: …") is never that long, so only text lines are stood in for, and
  a header-like line longer than 256 characters is taken for text;
- a run of more than ``MAX_BLANK_LINES`` (20) blank lines is shown as 20 blank lines, and the
  body keeps 20 of them (``full_body`` keeps them all).

The library's work is then bounded by a constant, and everything around it is linear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_EXAMINED = 64 * 1024
MAX_LINE = 256
MAX_SPACE_RUN = 16
MAX_BLANK_LINES = 20

# U+2064 INVISIBLE PLUS never occurs in mail text; any the mail does carry is removed from
# the stand-ins, so every marker the library gives back is one of ours.
_MARK = "\u2064"
_MARKED = re.compile(f"[^\n{_MARK}]*{_MARK}(\\d+){_MARK}")
_SPACE_RUN = re.compile(r"\s+")
_LONG_SPACE_RUN = re.compile(rf"\s{{{MAX_SPACE_RUN}}}")


@dataclass
class Bounded:
    """The text as the library sees it, and what is needed to undo the stand-ins."""

    text: str
    originals: list[str] = field(default_factory=list)
    rest: str = ""
    last_line: str = ""

    def restore(self, answer: str) -> str:
        """Put the original lines back in place of their stand-ins."""
        if not self.originals:
            return answer
        restored = _MARKED.sub(lambda found: self.originals[int(found.group(1))], answer)
        # A marker the library cut in two (a disclaimer removed mid-line) must not remain.
        return restored.replace(_MARK, "")

    def complete(self, answer: str) -> str:
        """Add the unexamined rest when the library kept the examined text to its end."""
        if not self.rest:
            return answer
        kept = answer.rstrip().rsplit("\n", 1)[-1].strip()
        return answer.rstrip("\n") + self.rest if kept == self.last_line else answer


def bound(text: str) -> Bounded:
    """The stand-in for ``text`` that the reply library can read in bounded time."""
    examined, rest = _split_examined(text)
    bounded = Bounded("", rest=rest)
    out: list[str] = []
    blank_run = 0
    for line in examined.split("\n"):
        stripped = line.strip()
        if not stripped:
            blank_run += 1
            if blank_run <= MAX_BLANK_LINES:
                out.append("")
            continue
        blank_run = 0
        bounded.last_line = stripped
        if len(stripped) > MAX_LINE or _MARK in stripped or _LONG_SPACE_RUN.search(stripped):
            short = _SPACE_RUN.sub(" ", stripped.replace(_MARK, ""))[:MAX_LINE]
            out.append(f"{short}{_MARK}{len(bounded.originals)}{_MARK}")
            bounded.originals.append(stripped)
        else:
            out.append(line)
    bounded.text = "\n".join(out)
    return bounded


def _split_examined(text: str) -> tuple[str, str]:
    """The first ``MAX_EXAMINED`` characters, cut at a line end, and the rest."""
    if len(text) <= MAX_EXAMINED:
        return text, ""
    cut = text.rfind("\n", 0, MAX_EXAMINED)
    if cut <= 0:
        cut = text.find("\n", MAX_EXAMINED)
    if cut < 0:
        return text, ""
    return text[:cut], text[cut:]
