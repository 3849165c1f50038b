"""The reply library's header expression searched per alternative finds what it finds."""

from __future__ import annotations

import itertools
import random
import re

from mailparser_reply import EmailMessage

from tracker_mail_plugin.mail import quotes
from tracker_mail_plugin.mail.reply_headers import HeaderSearch, can_search_apart

LINES = (
    "On Mon, 1 Jan 2024 at 10:00, Jane Doe <jane@example.com> wrote:",
    "> On Tue, 2 Jan 2024, Bob wrote:",
    "From: Jane Doe",
    "> From: quoted",
    "**From:** bold",
    "Sent: Monday",
    "To: support@example.com",
    "Subject: printer",
    "Von: Jürgen",
    "Gesendet: Montag",
    "Am 01.01.2024 um 10:00 schrieb Jürgen Müller:",
    "De : Chloé",
    "Envoyé : lundi",
    "Le 1 janv. 2024 à 10:00, Chloé a écrit :",
    "-----Original Message-----",
    "-----Oprindelig meddelelse-----",
    "Fra: Søren",
    "Sendt: mandag",
    "发件人: 山田",
    "发送时间: 2024年1月1日",
    "2024年1月1日(月) 10:00 山田 <y@example.jp>:",
    "Thanks, the printer works again.",
    "Best regards",
    "",
    "   ",
    "the invoice export fails: error 42",
)


def _joined_findall(pattern: re.Pattern[str], text: str) -> list[str]:
    return [group for group in itertools.chain.from_iterable(pattern.findall(text)) if group]


def _search_findall(search: HeaderSearch, text: str) -> list[str]:
    return [group for group in itertools.chain.from_iterable(search.findall(text)) if group]


def test_searching_apart_finds_what_the_joined_expression_finds() -> None:
    joined = quotes._compiled()["_header_regex"]
    search = quotes._library_expressions()["_header_regex"]
    assert isinstance(search, HeaderSearch)
    rng = random.Random(5)  # noqa: S311 - reproducible test texts, not secrets
    texts = ["\n".join(rng.choices(LINES, k=rng.randint(1, 10))) for _ in range(1500)]
    for text in texts:
        for seen in (text, EmailMessage(text=text, languages=["en"]).text):
            assert _search_findall(search, seen) == _joined_findall(joined, seen), seen


def test_header_blocks_are_searched_only_below_a_label_line() -> None:
    search = quotes._library_expressions()["_header_regex"]
    assert isinstance(search, HeaderSearch)
    assert len(search.gated) >= 10  # the header-block alternatives of most languages
    assert not search._has_label_line("Thanks for the update\nOn Mon, Jane wrote:")
    assert search._has_label_line("Thanks\n\n> **From:** Jane\n> Sent: today")
    assert search._has_label_line("Von: Jürgen\nAn: support")
    # Without a label line, the "wrote:" header is still found.
    found = _search_findall(search, "Thanks\nOn Mon, 1 Jan 2024, Jane wrote:\n> old")
    assert found == ["On Mon, 1 Jan 2024, Jane wrote:"]


def test_leftmost_match_wins_then_the_earlier_alternative() -> None:
    search = HeaderSearch(["(b+)", "(a+)b", "(ab+)"], re.MULTILINE)
    assert search.findall("xaabb ab b") == [("aa",), ("b",), ("a",), ("b",)]
    joined = re.compile("(b+)|(a+)b|(ab+)", re.MULTILINE)
    assert _search_findall(search, "xaabb ab b") == _joined_findall(joined, "xaabb ab b")


def test_searched_apart_only_when_the_alternatives_are_the_joined_ones() -> None:
    assert can_search_apart(["a", "b(c)"], "a|b(c)")
    assert not can_search_apart(["a", "b"], "a|b|c")  # a library version joining others
    assert not can_search_apart(["(a)", r"\1b"], r"(a)|\1b")  # group numbers would shift


def test_the_reply_is_cut_at_a_header_block_as_before() -> None:
    text = "Yes, it prints again.\n\nFrom: Jane Doe\nSent: Monday\nTo: support\n\nold text"
    assert quotes.strip_quotes(text) == "Yes, it prints again."
