"""Mail text in which GitHub finds no reference to an issue, pull request or commit.

In issue and comment bodies GitHub links ``#12``, ``GH-12``, ``owner/repo#12`` (and a
fork's ``owner#12``) and the URL of an issue or pull request. Such a reference also adds
"mentioned this" to that issue's timeline, in whatever repository it lives, for
everyone watching it: a customer's "our ticket #4521", or an old thread quoted, must not do
that to issue 4521. Unless ``allow_references: true``, each is kept readable and made inert
with the invisible word joiner that keeps ``@name`` from notifying:

- ``#12`` and ``GH-12``: a joiner between the prefix and the number. Backslashes and
  character references do not stop GitHub (github/cmark-gfm#181, github/markup#303); an
  invisible character there does: U+2060 itself in joncampbell123/dosbox-x#5668 (a pull
  request template's "#1234"), U+200B in renovatebot/renovate#602 and pyenv/pyenv#2282.
  And whatever GitHub's exact pattern, one that wants a digit right after ``#`` or
  ``GH-`` cannot match a joiner there. ``&#35;12`` and ``&num;12`` are ``#12``
  to GitHub, and get the joiner after the reference.
- An issue, pull request or discussion URL on github.com or the configured server:
  a joiner after ``https:`` (so it is no longer a link, which would still reference the
  issue) and one before the number.

Left exactly as written, because GitHub links nothing there and a joiner would break the
text for whoever copies it: code spans, fenced code blocks, the ``[cid:…]`` and
``[image: …]`` references the inline images replace, and other URLs and mail addresses
(GitHub makes them links, and finds no reference inside a link). A stretch is left alone
only where it is certain GitHub reads it so (see :func:`_code`): anything doubtful is
made inert, which costs only an invisible character.

Commits (a SHA of 7 to 40 hex digits, ``owner/repo@SHA``, a commit URL) are left as
written: GitHub links them but adds nothing to any timeline, and a joiner inside every run
of seven digits would alter order and telephone numbers for whoever copies them.

The title is not this module's: GitHub makes no reference from an issue's title
(isaacs/github#568).

Bounded: one pass of one expression whose branches are bounded or possessive runs of
character classes (nothing to backtrack over), plus one pass over the lines for code. No
branch crosses a line end or a backtick, so what is code and what is not never splits a
match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

_JOINER = "\u2060"  # the same invisible joiner as for mentions (text.neutralise_mentions)
_PIECES = 4096  # joined every so many, so a text of many matches holds few small strings

# What is kept: the inline-image references, the same shapes as the core's inline_images
# (minus backticks, so none reaches into code), other URLs and mail addresses. A URL
# counts only as GitHub autolinks one: after a space, "(", "*", "_", "~" or "<", with a
# domain of at least two labels; anything else is made inert, to be sure. It is kept up to
# the first character that may end it sooner in Markdown than in a bare autolink (a link's
# ")" or "]", an emphasis, a table cell's "|", a quote closing a title).
_IMAGE_SHAPES = (
    r"\[cid:[^\]\s`]{1,500}\]"
    r"|\[image: [^\]\n`]{1,500}\]"
    r"|(?<![\w/.-])cid:[^\s<>()\[\]\"'`]{1,500}"
)
_DOMAIN = r"[A-Za-z0-9-]{1,63}+(?:\.[A-Za-z0-9-]{1,63}+){1,20}+(?<!-)(?![\w-]|\.[A-Za-z0-9])"
_KEEP = (
    rf"(?P<keep>{_IMAGE_SHAPES}"
    rf"|(?<![^\s(*_~<])(?i:https?://|www\.){_DOMAIN}[^\s<>`()\[\]*_~|\\\"']*+"
    rf"|(?<![^\s(<\[{{\"'])[A-Za-z0-9.+-]{{1,64}}+@{_DOMAIN})"
)
_IMAGES = re.compile(_IMAGE_SHAPES)
_PAGES = r"(?:issues|pull|pulls|discussions)"
# "#" itself, unless it is the "#" of a character reference ("&#49;" is "1"), or a
# reference that stands for "#"; before a digit or a reference that may stand for one.
_HASH = (
    r"(?P<hash>(?:(?<!&)#|(?<=&)#(?![0-9]{1,7};)|&#0{0,8}35;|&#[xX]0{0,8}23;|&num;)"
    r"(?=[0-9]|&#))"
)
_GH = r"(?P<gh>(?<![A-Za-z0-9_])[Gg][Hh]-(?=[0-9]))"

# Code, by lines: a fence opening at the start of a line, and backtick runs.
_FENCE = re.compile(r"(`{3,}+|~{3,}+)")
_FENCE_END = re.compile(r" {0,3}(`{3,}+|~{3,}+)[ \t\r]*+$")
_TICKS = re.compile(r"`++")
_BLANK = re.compile(r"[ \t\r]*+$")
# A line that may open an HTML block, behind any quote or list markers: GitHub passes
# such a block through as HTML, where backticks make no code.
_HTMLISH = re.compile(r"[ \t>*+\-0-9.)]*+<")


def reference_hosts(web_url: str) -> tuple[str, ...]:
    """The hosts whose issue URLs GitHub turns into references: github.com and ours."""
    host = re.sub(r"^[a-z]+://", "", web_url.lower()).split("/", 1)[0]
    return tuple(dict.fromkeys(("github.com", host)))


def neutralise_references(text: str, hosts: Iterable[str] = ("github.com",)) -> str:
    """``text`` as it reads, but with no reference GitHub would link or cross-reference.

    Args:
        text: mail text, before its inline images are put in place (their references are
            kept as written so that they are still found).
        hosts: the web hosts whose issue URLs count (see :func:`reference_hosts`).
    """
    return _substitute(_pattern(tuple(hosts), keep=True), text, _code(text))


def neutralise_image_references(text: str, hosts: Iterable[str] = ("github.com",)) -> str:
    """References inside the ``[cid:…]`` and ``[image: …]`` left in ``text`` made inert.

    :func:`neutralise_references` keeps them so that the inline images find theirs; those
    that named no attachment stay in the text, and are mail text like any other.
    """
    inner = _pattern(tuple(hosts), keep=False)
    return _IMAGES.sub(lambda found: _substitute(inner, found.group(0), None), text)


@lru_cache(maxsize=8)
def _pattern(hosts: tuple[str, ...], keep: bool) -> re.Pattern[str]:
    names = "|".join(re.escape(host) for host in hosts)
    url = (
        r"(?P<url>(?:(?P<scheme>(?i:https?):)//|(?<![\w.-]))(?:(?P<www>(?i:www))\.)?"
        rf"(?i:{names})/[A-Za-z0-9-]{{1,39}}/[A-Za-z0-9._-]{{1,100}}/(?i:{_PAGES})/"
        r"(?=[0-9A-Za-z]))"
    )
    branches = [url, _KEEP] if keep else [url]
    return re.compile("|".join([*branches, _HASH, _GH]))


def _inert(found: re.Match[str]) -> str | None:
    """The match made inert; ``None`` to keep it as written."""
    kind, value = found.lastgroup, found.group(0)
    if kind == "url":
        if found.group("scheme"):
            value = value.replace(":", ":" + _JOINER, 1)
        elif found.group("www"):
            value = value.replace(".", _JOINER + ".", 1)
        return value + _JOINER
    if kind in ("hash", "gh"):
        return value + _JOINER
    return None


def _substitute(pattern: re.Pattern[str], text: str, code: bytearray | None) -> str:
    """``text`` with every match outside ``code`` made inert, in one pass."""
    done: list[str] = []
    pieces: list[str] = []
    end = 0
    for found in pattern.finditer(text):
        if code is not None and code[found.start()]:
            continue
        shown = _inert(found)
        if shown is None:
            continue
        pieces += (text[end : found.start()], shown)
        end = found.end()
        if len(pieces) >= _PIECES:
            done.append("".join(pieces))
            pieces.clear()
    if not done and not pieces:
        return text
    pieces.append(text[end:])
    return "".join(done + pieces)


def _code(text: str) -> bytearray | None:
    """Which characters of ``text`` GitHub certainly shows as code (1), if any are.

    Only what is certain counts; where it is not, the text is treated as prose and made
    inert, which is harmless in code. Certain:

    - a fenced block that opens at the very start of a line (indented, it may belong to a
      list item that ends before the fence would) and is closed;
    - a code span on one line, in a paragraph with no backtick on the lines before it (a
      backtick there could have opened a span that this line's first backtick closes), on
      a line without ``|`` (a table cell ends there), not after a backslash, and holding
      no ``<`` or ``>`` (the opening backtick may sit in an HTML tag or ``<…>`` link);
    - and none of this after a line that may open an HTML block (one starting with
      ``<``): GitHub keeps such a block as HTML, where backticks are just text, and some
      end only at a closing tag, past blank lines.
    """
    if "`" not in text and "~~~" not in text:
        return None
    marks = _Marks(len(text))
    lines = _Lines(text)
    html = fences = False
    ticks = False  # a backtick on an earlier line of this paragraph
    while lines.next():
        start, end = lines.start, lines.end
        if not html and _HTMLISH.match(text, start, end):
            html = True
        if html:
            continue
        if _BLANK.match(text, start, end):
            ticks = False
            continue
        if not fences:
            opened = _FENCE.match(text, start, end)
            if opened and _fence_opens(text, opened, end):
                closed = _fence_end(text, lines, opened.group(1))
                if closed is not None:
                    marks.set(start, closed)
                    ticks = False
                    continue
                fences = True  # never closed: everything after is code to GitHub anyway
                lines.rewind(end)
        if text.find("`", start, end) >= 0:
            if not ticks and text.find("|", start, end) < 0:
                _spans(text, start, end, marks)
            ticks = True
    return marks.bits


def _fence_opens(text: str, opened: re.Match[str], end: int) -> bool:
    # A backtick fence's info string may hold no backtick, or it is no fence.
    return opened.group(1)[0] == "~" or text.find("`", opened.end(), end) < 0


def _fence_end(text: str, lines: _Lines, opening: str) -> int | None:
    """The end of the line closing the fence ``opening`` began, or ``None``."""
    while lines.next():
        closing = _FENCE_END.match(text, lines.start, lines.end)
        if closing is not None:
            run = closing.group(1)
            if run[0] == opening[0] and len(run) >= len(opening):
                return lines.end
    return None


def _spans(text: str, start: int, end: int, marks: _Marks) -> None:
    """Mark the code spans of one line, pairing backtick runs as CommonMark does.

    A run opens a span that the next run of the same length closes. An opening run with
    no closing one on the line ends the marking: its span may close on a later line.
    """
    opening: re.Match[str] | None = None
    for run in _TICKS.finditer(text, start, end):
        if opening is None:
            if text[run.start() - 1 : run.start()] == "\\":
                return
            opening = run
        elif len(run.group(0)) == len(opening.group(0)):
            inside = (opening.end(), run.start())
            if text.find("<", *inside) >= 0 or text.find(">", *inside) >= 0:
                return
            marks.set(opening.start(), run.end())
            opening = None


class _Lines:
    """The lines of a text as (start, end) offsets, without copying them."""

    def __init__(self, text: str):
        self._text = text
        self.start = self.end = -1
        self._next = 0

    def next(self) -> bool:
        if self._next > len(self._text):
            return False
        self.start = self._next
        newline = self._text.find("\n", self.start)
        self.end = len(self._text) if newline < 0 else newline
        self._next = self.end + 1
        return True

    def rewind(self, end: int) -> None:
        """Go on from the line after the one ending at ``end``."""
        self._next = end + 1


class _Marks:
    """One byte per character, allocated on the first mark."""

    def __init__(self, size: int):
        self._size = size
        self.bits: bytearray | None = None

    def set(self, start: int, end: int) -> None:
        if self.bits is None:
            self.bits = bytearray(self._size)
        self.bits[start:end] = b"\x01" * (end - start)
