"""References GitHub would link (and cross-reference) made inert in mail text, readably."""

from __future__ import annotations

import pytest
from tracker_mail_plugin_github.autolinks import (
    neutralise_image_references,
    neutralise_references,
    reference_hosts,
)
from tracker_mail_plugin_github.text import cut_at_paragraph, escape

J = "\u2060"  # the invisible word joiner
SHA = "a5c3785ed8d6a35868bc169f07e40e889087fd2e"


@pytest.mark.parametrize(
    ("text", "inert"),
    [
        ("our ticket #4521.", f"our ticket #{J}4521."),
        ("(#1) [#22]", f"(#{J}1) [#{J}22]"),
        ("GH-26 and gh-7", f"GH-{J}26 and gh-{J}7"),
        ("jlord/sheetsee.js#26", f"jlord/sheetsee.js#{J}26"),
        ("github-linguist/linguist#4039", f"github-linguist/linguist#{J}4039"),
        ("a fork's octocat#9", f"a fork's octocat#{J}9"),
        ("C#7 is a fork's issue too", f"C#{J}7 is a fork's issue too"),
        ("&#35;181 &#x23;5 &num;3", f"&#35;{J}181 &#x23;{J}5 &num;{J}3"),
        ("#&#49;", f"#{J}&#49;"),
        (
            "https://github.com/jlord/sheetsee.js/issues/26",
            f"https:{J}//github.com/jlord/sheetsee.js/issues/{J}26",
        ),
        (
            "see <https://github.com/o/r/pull/3#issuecomment-1>",
            f"see <https:{J}//github.com/o/r/pull/{J}3#issuecomment-1>",
        ),
        (
            "[the bug](HTTPS://GitHub.com/o/r/issues/4)",
            f"[the bug](HTTPS:{J}//GitHub.com/o/r/issues/{J}4)",
        ),
        ("www.github.com/o/r/discussions/5", f"www{J}.github.com/o/r/discussions/{J}5"),
        ("github.com/o/r/issues/6", f"github.com/o/r/issues/{J}6"),
    ],
)
def test_each_reference_github_links_is_made_inert(text, inert):
    assert neutralise_references(text) == inert


@pytest.mark.parametrize(
    "text",
    [
        "C# and F#, #hashtag, issue#, issue#tracker, #, ##, # 12 (a heading), #L12",
        "GH- 12, GH-x, UGH-1, a-gh-",
        "short a5c378, long " + "a" * 41 + ", in words x1234567 and 1234567y and abc_1234567",
        # Commits reference no issue: SHAs, their URLs and order or phone numbers stay.
        f"fixed in {SHA}, a5c3785...e1aa9f6, jlord/sheetsee.js@{SHA}, jlord@a5c3785",
        f"https://github.com/jlord/sheetsee.js/commit/{SHA} and order 12345678, +4930123456789",
        "code `#12 https://github.com/o/r/issues/1 a5c3785` and ``a`b #3 GH-4``",
        "```\n#12 a5c3785 https://github.com/o/r/issues/1\n```",
        "~~~ text\n#12\n~~~~\n",
        "https://example.com/page#123 and https://jira.example.com/browse/GH-12",
        "(https://files.example.com/550e8400-e29b-41d4-a716-446655440000/a5c3785ed.pdf).",
        "https://github.com/o/r/blob/main/a.py#L12 and https://github.com/o/r/wiki/1",
        "mail 1234567@qq.com. or gh-12@example.org",
        "[cid:image001.png@01DA1234.56789AB0] and [image: #12.png] and cid:a@0123456789",
        "the &#49; entity",
        "",
    ],
)
def test_what_github_does_not_link_is_left_as_written(text):
    assert neutralise_references(text) == text


@pytest.mark.parametrize(
    ("text", "inert"),
    [
        # A line that may open an HTML block: backticks there are text, so nothing after
        # it counts as code.
        ("<div>\n` #1 `\n</div>", f"<div>\n` #{J}1 `\n</div>"),
        ("> <details>\n\n`#2`", f"> <details>\n\n`#{J}2`"),
        # A backtick on an earlier line of the paragraph may have opened a span that the
        # first backtick here closes.
        ("`a\n` #3 `", f"`a\n` #{J}3 `"),
        ("`a\n\n` #3 `", "`a\n\n` #3 `"),
        # A table cell ends at |, whatever the backticks.
        ("| `a | #4 | b` |", f"| `a | #{J}4 | b` |"),
        # An escaped backtick opens nothing.
        ("\\` #5 `", f"\\` #{J}5 `"),
        # The opening backtick may sit in an HTML tag or an autolink.
        ('<a title="`">#6 `', f'<a title="`">#{J}6 `'),
        ("x <a title='`'>#6 `", f"x <a title='`'>#{J}6 `"),
        # An indented fence may belong to a list item that ends before it would; one never
        # closed makes the rest code anyway, and is not trusted either.
        ("- a\n  ```\n#7\n  ```", f"- a\n  ```\n#{J}7\n  ```"),
        ("```\n#8", f"```\n#{J}8"),
        # A backtick fence with a backtick in its info string is no fence.
        ("``` a`b\n#9\n```", f"``` a`b\n#{J}9\n```"),
        # A span with no closing run on its line may close on the next one.
        ("`a` `b\n#10`", f"`a` `b\n#{J}10`"),
        # Code inside a fence is no reason to doubt what follows it.
        ("```\n`\n```\n`#11`", "```\n`\n```\n`#11`"),
    ],
)
def test_code_is_left_as_written_only_where_github_certainly_sees_code(text, inert):
    assert neutralise_references(text) == inert


def test_after_a_link_or_code_span_a_reference_is_still_made_inert():
    text = "`x`#1 https://x.org/a`#2` <https://x.org/b>#3 [a](https://x.org/c)GH-4"
    assert neutralise_references(text) == (
        f"`x`#{J}1 https://x.org/a`#2` <https://x.org/b>#{J}3 [a](https://x.org/c)GH-{J}4"
    )


def test_a_url_github_would_not_link_is_not_trusted():
    # No space before it, a one-label host, an underscore in the host: no autolink.
    text = "x:https://example.com/#1 https://localhost/#2 https://a_b.example/#3"
    assert neutralise_references(text) == text.replace("#", f"#{J}")


def test_enterprise_server_issue_urls_count_too():
    hosts = reference_hosts("https://github.example.com")
    text = "https://github.example.com/o/r/issues/1 https://github.com/o/r/pull/2"

    assert hosts == ("github.com", "github.example.com")
    assert neutralise_references(text, hosts) == (
        f"https:{J}//github.example.com/o/r/issues/{J}1 https:{J}//github.com/o/r/pull/{J}2"
    )
    assert neutralise_references(text) == (
        f"https://github.example.com/o/r/issues/1 https:{J}//github.com/o/r/pull/{J}2"
    )


SAMPLES = [
    "Re: our ticket #4521 (see GH-12, owner/repo#3 and https://github.com/o/r/issues/9)",
    f"fixed by {SHA} in `git show {SHA}` and\n```\n#1\n```\nsee #2 and @octocat",
    "&#35;5 C#7 [cid:x@0123456789] [image: #3] 1234567@qq.com",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_the_text_reads_as_before_and_a_second_pass_changes_nothing(text):
    inert = neutralise_references(text)

    assert inert != text
    assert inert.replace(J, "") == text
    assert neutralise_references(inert) == inert


def test_image_references_left_over_are_made_inert_and_nothing_else():
    text = "[image: #12.png] [cid:x@01D9A1B2] cid:GH-3 and #4 `[image: #5]`"

    assert neutralise_image_references(text) == (
        f"[image: #{J}12.png] [cid:x@01D9A1B2] cid:GH-{J}3 and #4 `[image: #{J}5]`"
    )


def test_a_cut_inside_a_line_ends_before_its_code_span():
    # Cut inside the span, the closing backticks would be lost and "#1", left as written
    # as code, would be read as prose by GitHub.
    text = "first line\n" + "x " * 30 + "`#1 " + "y " * 40 + "`"

    kept = cut_at_paragraph(text, 100)

    assert kept == "first line\n" + ("x " * 30).rstrip()
    assert cut_at_paragraph("a\n" + "b" * 60 + "`#1`" + "c" * 60, 100) == "a\n" + "b" * 60


def test_a_cut_at_a_line_break_keeps_whole_lines_with_their_code():
    text = "`#1` " + "a " * 30 + "\n" + "b " * 60

    assert cut_at_paragraph(text, 100) == "`#1` " + ("a " * 30).rstrip()


def test_names_from_mail_in_the_adapters_own_lines_reference_nothing():
    # Attachment names and sender names are escaped for Markdown; "\#12" alone would
    # still reference issue 12.
    assert escape("GH-7 #2 fix.pdf") == f"GH-{J}7 \\#{J}2 fix.pdf"
    assert escape("report_#1.txt") == f"report\\_\\#{J}1.txt"
    assert escape("plain name.pdf") == "plain name.pdf"
