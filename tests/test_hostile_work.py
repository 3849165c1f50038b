"""Hostile text where the answer was right but the work grew faster than the input.

A header holding one long run of address characters, a body of millions of short words
quoted in a failed rule's reason: each gave the right answer, after quadratic time or a
Python object per word. These pin the answers; ``benchmarks/hostile.py`` (the
``to-at-run`` and ``cc-at-runs`` shapes) measures the time.
"""

from __future__ import annotations

import random
import re
import tracemalloc

import pytest

from tests.mailfactory import raw_mail
from tests.rulehelpers import config, decision
from tracker_mail_plugin.mail import parse_message
from tracker_mail_plugin.mail.headers import SALVAGED_ADDRESSES, parse_addresses
from tracker_mail_plugin.rules.conditions import Check, Context, SenderFacts, evaluate
from tracker_mail_plugin.rules.model import Conditions

# What the salvage searched for before: right, but it began again at every character of a
# run of local-part characters with no "@" after it, and scanned to the run's end each time.
OLD_ADDR_SPEC = re.compile(r"[^\s<>,;:\"()\[\]@]+@[^\s<>,;:\"()@]+")


def test_a_header_of_one_long_run_before_an_address_salvages_that_address():
    run = "@a/" + "." * 60_000  # within the 64 KiB a header is cut to
    defects: list[str] = []

    found = parse_addresses(f"{run} bob@example.net, x".encode(), defects)

    assert [a.address for a in found] == ["bob@example.net"]
    assert defects[0].startswith(SALVAGED_ADDRESSES)


def test_a_message_with_long_runs_in_every_address_header_is_read():
    run = b"@a/" + b"." * 60_000
    headers = b"".join(
        name + b": " + run + b" " + name.lower() + b"@example.net\r\n"
        for name in (b"To", b"Cc", b"Reply-To")
    )
    raw = b"From: Alice <alice@example.com>\r\n" + headers + b"Subject: s\r\n\r\nhello\r\n"

    message = parse_message(raw)

    assert [a.address for a in message.to] == ["to@example.net"]
    assert [a.address for a in message.cc] == ["cc@example.net"]
    assert [a.address for a in message.reply_to] == ["reply-to@example.net"]
    assert message.body == "hello"


def test_salvaged_addresses_are_those_the_old_search_found():
    """The same addresses, in the same order, for text made of the characters that matter."""
    chars = 'ab.@<>,;: "()[]\t/'
    pick = random.Random(7)  # noqa: S311 - reproducible test data, not a secret
    for _ in range(20_000):
        text = "".join(pick.choice(chars) for _ in range(pick.randint(1, 24)))
        if "@" not in text:
            continue
        defects: list[str] = []
        got = [a.address for a in parse_addresses(text.encode(), defects)]
        if defects:  # the salvage ran: it must agree with the old search
            assert got == [_address(found) for found in OLD_ADDR_SPEC.findall(text)], text


def _address(spec: str) -> str:
    local, _, domain = spec.rpartition("@")
    return f"{local.lower()}@{domain.rstrip('.').lower()}"


def _failed_body_check(body: str) -> Check:
    message = parse_message(raw_mail({"Subject": "s"}, body))
    context = Context(message, SenderFacts(True, None), {})
    [check] = evaluate(Conditions(body_contains=["zzz"]), context).checks
    return check


def test_a_failed_check_quotes_the_start_of_the_body_on_one_line():
    check = _failed_body_check("first   line\n\n\tsecond " + "word " * 50)

    assert not check.held
    assert check.reason == 'none found as a word in "first line second' + " word" * 8 + ' wo…"'


def test_quoting_a_body_of_millions_of_words_costs_no_memory_per_word():
    """The reason needs the first words: splitting them all cost 50 bytes a word and more."""
    body = "ab " * 1_000_000
    message = parse_message(raw_mail({"Subject": "s"}, body))
    context = Context(message, SenderFacts(True, None), {})
    tracemalloc.start()
    try:
        [check] = evaluate(Conditions(body_contains=["zzz"]), context).checks
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert check.reason == 'none found as a word in "' + ("ab " * 20)[:60] + '…"'
    # The search takes two copies (case folded, then as UTF-8); a list of words was 20 more.
    assert peak < 4 * len(body)


@pytest.mark.parametrize("body", ["", " \n\t ", "x" * 100_000, " " * 100_000 + "end"])
def test_quoting_edges(body):
    flat = " ".join(body.split())
    expected = f'"{flat[:60]}…"' if len(flat) > 60 else f'"{flat}"'

    assert _failed_body_check(body or "-").reason.endswith(expected if body else '"-"')


RULES = """\
version: 1
trackers:
  rm: {adapter: redmine, url: "https://redmine.example.com", api_key: {env: K}}
mailboxes:
  inbox:
    protocol: maildir
    path: /mail
    tracker: rm
    rules:
      - when: {body_contains: zzz}
        then: [{create_issue: {project: a}}]
      - then: [{create_issue: {project: rest}}]
"""


def test_rules_over_a_body_of_millions_of_words_fall_through_with_their_reasons():
    result = decision(config(RULES), raw_mail({"Subject": "s"}, "ab " * 1_000_000))

    assert result.matched_rule == "rule 2"
    assert result.trace[0].checks[0].reason.startswith('none found as a word in "ab ab ab')
