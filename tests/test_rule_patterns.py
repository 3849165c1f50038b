"""Rule patterns run on RE2 and mean what they meant with Python's re; RE2-less constructs are refused."""

import re
import textwrap

import pytest

from tracker_mail_plugin.config.loader import ConfigFileError, load_config_text
from tracker_mail_plugin.rules.conditions import find_keyword
from tracker_mail_plugin.rules.patterns import (
    RULE_FLAGS,
    PatternError,
    compile_pattern,
)

# The patterns of the README, rules.yaml.example and the tests, and the Unicode cases that
# RE2's own \w, \d, \s and \b (ASCII-only) would get wrong.
PATTERNS = [
    r"(?P<order>ORD-\d+)",
    r"(?P<id>INC\d+)",
    r"(?P<ticket>INC-\d+)",
    r"INV-(\d+)",
    r"\bfoo\b",
    r"\büber\b",
    r"\bfung\b",
    r"\b(?P<id>INC-\d+)\b",
    r"\bfoo\b|\bbar\b",
    r"#\d+\b",
    r"^re:\s*\bstatus\b",
    r"\Bung\b",
    r"\bStraße\b",
    r"^\s*urgent\s*$",
    r"(?i:ABC)(?-i:def)",
    r"[\w.+-]+@[\w-]+\.[\w.]+",
    r"[^\W\d]+\d",
    r"\S+\s\S+",
    r"a.c",
    r"(?s)a.c",
    r"x{2,3}?y",
    r"(?x) order \s* (?P<n> \d+ )",
    r"\AHello",
    r"end\Z",
    r"[\b]",
    r"\u00e9t\u00e9",
    r"(?P<k>K)elvin",
]
TEXTS = [
    "see ORD-123 now",
    "see ord-١٢٣ now",
    "INC42 and INC-7 and inc-٣",
    "xINC-1 INC-22!",
    "INV-99",
    "Ist ÜBER das über",
    "Prüfung",
    "Rechnungsprüfung fung",
    "foo",
    "food barfoo bar.",
    "issue #12x #13",
    "Re:   status update",
    "Re: statusbericht",
    "Zahlung und ung",
    "STRASSE straße Straße",
    "line1\n  URGENT  \nline3",
    "abcdef ABCDEF ABCdef",
    "mail jörg.müller+x@bücher-shop.de today",
    "abc1 ää2 __3",
    "two\u00a0words and\u2003more",
    "a\nc abc",
    "xxxy xxy xy",
    "order 12 Order\t٣٤",
    "Hello\nworld",
    "the end\nthe end",
    "back\bspace",
    "été ÉTÉ",
    "\u212aelvin kelvin",
    "",
    "_foo_ foo_ é foo",
]


def python_result(pattern, text):
    found = re.search(pattern, text, RULE_FLAGS)
    if found is None:
        return None
    return found.group(0), found.start(), {k: v for k, v in found.groupdict().items() if v}


def re2_result(pattern, text):
    found = compile_pattern(pattern).search(text)
    if found is None:
        return None
    return found.text, found.start, found.groups


@pytest.mark.parametrize("pattern", PATTERNS)
def test_same_first_match_as_python_re(pattern):
    for text in TEXTS:
        assert re2_result(pattern, text) == python_result(pattern, text), text


def all_code_points(piece=0x8000):
    """Every code point but the surrogates, in pieces (short texts keep the scan quick)."""
    points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for start in range(0, len(points), piece):
        yield "".join(map(chr, points[start : start + piece]))


def re2_runs(pattern, text):
    found, position = [], 0
    while (match := pattern.search(text[position:])) is not None:
        start = position + match.start
        found.append((start, start + len(match.text)))
        position = start + len(match.text)
    return found


@pytest.mark.parametrize("klass", [r"\w", r"\W", r"\d", r"\D", r"\s", r"\S", r"[\w-]", r"[^\d\s]"])
@pytest.mark.parametrize("flags", [0, re.IGNORECASE])
def test_character_classes_accept_exactly_what_python_accepts(klass, flags):
    """Every code point: the runs of class members are the same in both engines."""
    pattern = compile_pattern(klass + "+", flags)
    for text in all_code_points():
        expected = [m.span() for m in re.finditer(klass + "+", text, flags)]
        assert re2_runs(pattern, text) == expected


def test_catastrophic_pattern_answers_at_once():
    """``(a+)+$`` on 30 a's and a b took 130 s with Python's re."""
    assert compile_pattern(r"(a+)+$").search("a" * 30 + "b") is None
    assert compile_pattern(r"(a+)+$").search("a" * 30).text == "a" * 30


def test_keywords_as_words_use_unicode_word_boundaries():
    assert find_keyword(["über"], "Überweisung", whole_words=True) is None
    assert find_keyword(["über"], "Es geht ÜBER alles", whole_words=True) == "über"
    assert find_keyword(["c++"], "we use C++.", whole_words=True) == "c++"
    assert find_keyword(["c++"], "we use c++x", whole_words=True) is None
    assert find_keyword(["printer jam"], "PRINTER\n  JAM today", whole_words=True) == "printer jam"
    assert find_keyword(["jam"], "pyjamas", whole_words=False) == "jam"


def test_text_with_a_lone_surrogate_is_still_searched():
    found = compile_pattern(r"(?P<id>INC-\d+)").search("bad \udce4 byte INC-5")
    assert (found.text, found.start) == ("INC-5", 11)


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        (r"(a)\1", "uses a backreference (\\1, (?P=name)) at position 3"),
        (r"(?P<x>a)(?P=x)", "uses a backreference (\\1, (?P=name)) at position 8"),
        (r"foo(?=bar)", "uses a lookahead (?=…) or (?!…) at position 3"),
        (r"foo(?!bar)", "uses a lookahead (?=…) or (?!…) at position 3"),
        (r"(?<=x)y", "uses a lookbehind (?<=…) or (?<!…) at position 0"),
        (r"(?<!x)y", "uses a lookbehind (?<=…) or (?<!…) at position 0"),
        (r"(a)?(?(1)b|c)", "uses a conditional group (?(1)…) at position 4"),
        (r"(?>a+)b", "uses an atomic group (?>…) at position 0"),
        (r"a++b", "uses a possessive quantifier (*+, ++, ?+) at position 1"),
        (r"x\b.y", "uses \\b or \\B between two parts that may be either letters or not"),
        (
            r"\b(\w+\W*)+\bSTOP",
            "uses \\b or \\B between two parts that may be either letters or not at position 11",
        ),
        (r"a{1001}", "is refused by the matching engine (RE2): invalid repetition size"),
        (r"(?a)\w+", "uses the ASCII flag (?a) at position 0"),
    ],
)
def test_constructs_without_a_linear_time_form_are_refused_by_name(pattern, says):
    with pytest.raises(PatternError) as caught:
        compile_pattern(pattern)
    assert str(caught.value).startswith(f"'{pattern}' {says}")


CONFIG = """\
version: 1
trackers:
  rm: {adapter: redmine, url: "https://redmine.example.com", api_key: {env: K}}
mailboxes:
  support:
    protocol: maildir
    path: /mail
    tracker: rm
    rules:
      - when: {subject_matches: 'ok-\\d+'}
        then: ignore
      - when: {body_matches: '(?P<w>\\w+) (?P=w)'}
        then: ignore
      - when subject matches '(?<=re:)x' then ignore
"""


def test_config_load_names_each_refused_pattern_with_its_place():
    with pytest.raises(ConfigFileError) as caught:
        load_config_text(textwrap.dedent(CONFIG), "rules.yaml")
    problems = [str(p) for p in caught.value.problems]
    assert problems == [
        "rules.yaml:12:30: mailboxes.support.rules[1].when.body_matches: '(?P<w>\\w+) "
        "(?P=w)' uses a backreference (\\1, (?P=name)) at position 11, which rules cannot "
        "use: they are matched by RE2, in time linear in the mail's length, and RE2 has no "
        "backreferences, lookaround, conditionals, atomic groups or possessive quantifiers",
        "rules.yaml:14:9: mailboxes.support.rules[2].when.subject_matches: '(?<=re:)x' uses "
        "a lookbehind (?<=…) or (?<!…) at position 0, which rules cannot use: they are "
        "matched by RE2, in time linear in the mail's length, and RE2 has no "
        "backreferences, lookaround, conditionals, atomic groups or possessive quantifiers",
    ]


def test_named_groups_still_fill_match_placeholders():
    head = CONFIG.split("    rules:")[0]
    rule = """\
    rules:
      - when: {body_matches: '(?P<order>ORD-\\d+)', subject_matches: '^\\s*(?P<kind>\\w+)'}
        then: [{create_issue: {project: shop, title: '{match.kind} {match.order}'}}]
"""
    loaded = load_config_text(head + rule, "rules.yaml")
    (only,) = loaded.config.rules_for("support")
    assert only.when.named_groups() == {"order", "kind"}
