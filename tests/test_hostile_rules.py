"""Hostile rules and bodies: the classic ReDoS patterns and long lines give the right answer.

Generated: every catastrophic-backtracking family against inputs that make Python's re take
exponential (or quadratic) time, at sizes from 30 to 100,000 characters. The assertions are on
results; how the time grows is measured by benchmarks/hostile_rules.py, not here.
"""

import itertools
import re

import pytest

from tests.mailfactory import raw_mail
from tests.rulehelpers import config, decision
from tracker_mail_plugin.rules.patterns import RULE_FLAGS, compile_pattern
from tracker_mail_plugin.rules.text import MAX_FIELD_LINE, take_fields

# (pattern, an input it matches, an input it does not match): adversarial at any length n.
FAMILIES = [
    (r"(a+)+$", lambda n: "a" * n, lambda n: "a" * n + "!"),
    (r"^(a|a)*$", lambda n: "a" * n, lambda n: "a" * n + "!"),
    (r"(a|aa)+$", lambda n: "a" * n, lambda n: "a" * n + "!"),
    (r"^(a*)*b", lambda n: "a" * n + "b", lambda n: "a" * n),
    (r"(x+x+)+y", lambda n: "x" * n + "y", lambda n: "x" * n),
    (r"^(\w+\s?)+$", lambda n: "word " * n, lambda n: "word " * n + "!"),
    (r"(\d+)*x", lambda n: "1" * n + "x", lambda n: "1" * n),
    (r"(.*a){12}", lambda n: "a" * (n + 12), lambda n: "a" * 11 + "b" * n),
    (r"^(\w+[.-]?)+@example\.com$", lambda n: "ab." * n + "x@example.com", lambda n: "ab." * n),
    (r"^(([a-z])+.)+[0-9]([a-z])+$", lambda n: "ab" * n + "1ab", lambda n: "ab" * n + "1"),
    (r"(?P<id>(?:\s*,?\s*)+)TICKET", lambda n: " ," * n + "TICKET", lambda n: " ," * n),
    (r"\b(\w+\s*,?\s*)+STOP\b", lambda n: "go, " * n + "STOP", lambda n: "go, " * n + "STOPPED"),
]
SIZES = [30, 1_000, 100_000]


@pytest.mark.parametrize(("pattern", "good", "bad"), FAMILIES)
def test_the_expectations_hold_in_python_at_a_small_size(pattern, good, bad):
    """The cases are right: Python's re agrees where it still finishes quickly."""
    assert re.search(pattern, good(8), RULE_FLAGS) is not None
    assert re.search(pattern, bad(8), RULE_FLAGS) is None


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("pattern", "good", "bad"), FAMILIES)
def test_catastrophic_families_answer_at_every_size(pattern, good, bad, size):
    compiled = compile_pattern(pattern)
    assert compiled.search(bad(size)) is None
    assert compiled.search(good(size)) is not None


@pytest.mark.parametrize("n", [10, 25])
def test_thompson_pattern(n):
    """``a?{n}a{n}`` on ``a{n}``: 2^n paths for a backtracking engine."""
    compiled = compile_pattern(rf"^(a?){{{n}}}a{{{n}}}$")
    assert compiled.search("a" * n).text == "a" * n
    assert compiled.search("a" * (n - 1)) is None


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
      - when: {subject_matches: '(a+)+$'}
        then: [{create_issue: {project: hostile}}]
      - when: {body_matches: '^(\\w+\\s?)+$'}
        then: [{create_issue: {project: hostile}}]
      - when: {subject_contains: 'a a'}
        then: [{create_issue: {project: hostile}}]
      - then: [{create_issue: {project: rest, fields_from_body: [priority]}}]
"""


def test_a_hostile_message_against_hostile_rules_falls_through_to_the_last_rule():
    subject = "a" * 30 + "b"
    body = "word " * 20_000 + "!\n" + "Priority: " + "a " * 20_000 + "\n"
    result = decision(config(RULES), raw_mail({"Subject": subject}, body))
    (action,) = result.actions
    assert (result.matched_rule, action.action.project) == ("rule 4", "rest")
    assert action.fields == {}  # the 40 KB "Priority:" line is text, not a field


# --- fields_from_body ------------------------------------------------------------------------


def take_fields_before(text, allowed):
    """The regular expression fields_from_body used before (quadratic on long lines)."""
    from tracker_mail_plugin.rules.text import FIELD_ALIASES

    fields = {}
    for field_name in allowed:
        aliases = "|".join(re.escape(a) for a in FIELD_ALIASES.get(field_name, (field_name,)))
        pattern = re.compile(
            rf"^[ \t]*(?:{aliases})[ \t]*:[ \t]*(\S.*?)[ \t]*\n*(?:\n|\Z)", re.I | re.M
        )
        found = pattern.search(text)
        if found:
            fields[field_name] = found.group(1)
            text = text[: found.start()] + text[found.end() :]
    return text.strip("\n"), fields


LINES = [
    "Priority: High",
    "  priority :  Low  ",
    "Assigned To: bob",
    "Tracker:\tBug",
    "Priority:",
    "Priority: \u00a0x",
    "text: with colon",
    "",
    "Due date: 2026-12-01\r",
    "LABELS: a, b",
]


@pytest.mark.parametrize("lines", list(itertools.product(LINES, repeat=3)))
def test_fields_from_body_means_what_it_meant(lines):
    text = "\n".join(lines)
    allowed = ["priority", "assignee", "type", "labels", "due_date"]
    assert take_fields(text, allowed) == take_fields_before(text, allowed)


@pytest.mark.parametrize(
    "line",
    [
        "Priority: " + "a " * 20_000,
        "Priority: x" + " " * 40_000 + "y",
        "Priority:" + " \t" * 20_000,
        " " * 40_000 + "Priority: High",
    ],
)
def test_a_long_line_is_text_not_a_field(line):
    text = f"Hello\n{line}\nPriority: Normal\n"
    assert take_fields(text, ["priority"]) == (f"Hello\n{line}", {"priority": "Normal"})


def test_a_field_line_up_to_the_bound_is_taken():
    value = "x" * (MAX_FIELD_LINE - len("Labels: "))
    assert take_fields(f"Labels: {value}\nbody", ["labels"]) == ("body", {"labels": value})


def test_many_field_lines_take_the_first_and_keep_the_rest():
    text = "Priority: High\n" * 20_000
    rest, fields = take_fields(text, ["priority"])
    assert fields == {"priority": "High"}
    assert rest.count("Priority: High") == 19_999
