"""The parser's shortcuts give what the full work gives.

The HTML converter skips work when the markup cannot need it (no attribute that hides,
no nested table, no deep nesting), and ``parse_message`` takes a digest the caller already
has. Each case here is one where the shortcut must not be taken, or must give the same.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tracker_mail_plugin.mail import parse_message
from tracker_mail_plugin.mail.html import html_to_text

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.eml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_a_given_digest_gives_the_same_message(path: Path) -> None:
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    assert parse_message(raw, sha256=digest) == parse_message(raw)
    assert parse_message(raw).sha256 == digest


@pytest.mark.parametrize(
    ("markup", "text", "dropped"),
    [
        # attribute names in any case, spaces around "=": the parser reads them all
        ("<p STYLE = 'color:red'>red</p><p Style='DISPLAY: NONE'>gone</p><P HIDDEN>h</P>t",
         "red\n\nt", 2),
        ("<p>a <span style='visibility:hidden'>x</span> b</p>", "a b", 1),
        # a <style> element is not a style attribute: nothing is hidden
        ("<style>p {display:none}</style><p>shown</p>", "shown", 0),
        # found among non-ASCII text too, with line breaks and tabs around "="
        ("<p>Grüße</p><p STYLE\n=\t'display:none'>weg</p><p>ünd</p>", "Grüße\n\nünd", 1),
        ("<p>Grüße</p><p HIDDEN>weg</p><p>ünd</p>", "Grüße\n\nünd", 1),
    ],
)  # fmt: skip
def test_hidden_elements_are_dropped_whatever_the_spelling(
    markup: str, text: str, dropped: int
) -> None:
    defects: list[str] = []
    assert html_to_text(markup, defects) == text
    assert (f"dropped {dropped} HTML elements hidden from the reader" in defects) == bool(dropped)


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        # a nested table's rows are its own, not its parent's
        ("<table><tr><td>a<table><tr><td>in</td></tr></table></td><td>b</td></tr></table>",
         "a\n\n| in |\n| --- |\n\nb"),
        # two paragraphs in the table but not in one cell: still a data table
        ("<table><caption><p>c1</p><p>c2</p></caption><tr><td><p>x</p></td><td>y</td></tr>"
         "</table>", "| x | y |\n| --- | --- |"),
        # two blocks in one cell: page layout
        ("<table><tr><td><div>x</div><div>y</div></td></tr><tr><th>h</th><td>z</td></tr>"
         "</table>", "x\n\ny\n\nh\n\nz"),
        ("<table><tr><td>1</td><td>2</td></tr><tr><td>3</td><td>4</td></tr></table>",
         "| 1 | 2 |\n| --- | --- |\n| 3 | 4 |"),
    ],
)  # fmt: skip
def test_tables(markup: str, text: str) -> None:
    assert html_to_text(markup) == text


def test_blank_lines_collapse_and_documents_without_elements_are_empty() -> None:
    assert html_to_text("<p>a</p>\n\n\n<p>b</p>\n\n\n\n<p>c</p>") == "a\n\nb\n\nc"
    assert html_to_text("") == ""
    assert html_to_text("<!-- only a comment -->") == ""


def test_nesting_past_the_walker_limit_is_flattened_only_when_present() -> None:
    shallow: list[str] = []
    assert html_to_text("<div>" * 60 + "x" + "</div>" * 60, shallow) == "x"
    assert html_to_text("<div>" * 10 + "<b>y</b>" + "</div>" * 10, shallow) == "**y**"
    assert shallow == []
    deep: list[str] = []
    text = html_to_text("<div>" * 70 + "deep <b>b</b>" + "</div>" * 70, deep)
    assert text == "deep b"
    assert any("nested deeper than 64 levels" in entry for entry in deep)
