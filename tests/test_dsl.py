"""The when/then rule language: every form it accepts, its errors, and its properties."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker_mail_plugin.rules.dsl import (
    RuleSyntaxError,
    parse_actions,
    parse_conditions,
    parse_rule_line,
)
from tracker_mail_plugin.rules.model import Rule
from tracker_mail_plugin.rules.normal import rule_to_yaml


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("then ignore", {"then": ["ignore"]}),
        (
            "WHEN Subject CONTAINS 'a, b' THEN Comment",
            {"when": {"subject_contains": ["a", "b"]}, "then": ["comment"]},
        ),
        (
            'when body contains "net weight" then add as comment',
            {"when": {"body_contains": ["net weight"]}, "then": ["comment"]},
        ),
        (
            "when headers contains 'x-mailer' then ignore",
            {"when": {"headers_contains": ["x-mailer"]}, "then": ["ignore"]},
        ),
        (
            "when header X-Prio contains 'high' then ignore",
            {"when": {"headers_contains": {"X-Prio": ["high"]}}, "then": ["ignore"]},
        ),
        (
            "when message contains 'urgent' then ignore",
            {"when": {"contains": ["urgent"]}, "then": ["ignore"]},
        ),
        (
            "when subject matches '(?P<id>INC\\d+)' then ignore",
            {"when": {"subject_matches": "(?P<id>INC\\d+)"}, "then": ["ignore"]},
        ),
        (
            "when from 'a@example.com' then ignore",
            {"when": {"from": ["a@example.com"]}, "then": ["ignore"]},
        ),
        (
            "when from domain 'example.com, *.example.org' then ignore",
            {"when": {"from_domain": ["example.com", "*.example.org"]}, "then": ["ignore"]},
        ),
        (
            "when to 'x@example.com' and cc 'y@example.com' then ignore",
            {"when": {"to": ["x@example.com"], "cc": ["y@example.com"]}, "then": ["ignore"]},
        ),
        (
            "when delivered to 'support@example.com' and plus is billing then ignore",
            {
                "when": {"delivered_to": ["support@example.com"], "plus": ["billing"]},
                "then": ["ignore"],
            },
        ),
        ("when sender is unknown then ignore", {"when": {"sender": "unknown"}, "then": ["ignore"]}),
        (
            "when company matches project 7 then ignore",
            {"when": {"company_matches_project": "7"}, "then": ["ignore"]},
        ),
        (
            "when has attachments then ignore",
            {"when": {"has_attachments": True}, "then": ["ignore"]},
        ),
        (
            "when automated is bounce then ignore",
            {"when": {"automated": ["bounce"]}, "then": ["ignore"]},
        ),
        (
            "when not subject contains 'x' then ignore",
            {"when": {"not": {"subject_contains": ["x"]}}, "then": ["ignore"]},
        ),
        (
            "when subject contains 'a' and subject contains 'b' then ignore",
            {
                "when": {"all": [{"subject_contains": ["a"]}, {"subject_contains": ["b"]}]},
                "then": ["ignore"],
            },
        ),
        (
            "then create issue in project web as Incident",
            {"then": [{"create_issue": {"project": "web", "type": "Incident"}}]},
        ),
        (
            "then create bugs in project 3",
            {"then": [{"create_issue": {"project": "3", "type": "Bug"}}]},
        ),
        (
            "then create user story in project 'Mobile App'",
            {"then": [{"create_issue": {"project": "Mobile App", "type": "User Story"}}]},
        ),
        (
            "then create request in project 2 as 'Get IT help'",
            {"then": [{"create_request": {"project": "2", "request_type": "Get IT help"}}]},
        ),
        (
            "then forward to boss@example.com and ignore",
            {"then": [{"forward": {"to": "boss@example.com"}}, "ignore"]},
        ),
    ],
)
def test_forms(line, expected):
    assert parse_rule_line(line) == expected
    Rule.model_validate(expected)  # every form is a valid rule


@pytest.mark.parametrize(
    ("line", "column", "message"),
    [
        (
            "when subject contians 'x' then ignore",
            14,
            "expected 'contains', 'contain', 'matches' or 'match', found 'contians'; did you mean 'contains'?",
        ),
        (
            "when subject contains 'x then ignore",
            23,
            "a quoted value is not closed; add the closing quote",
        ),
        ("when subject contains 'x'", 26, "expected 'then' and the actions"),
        (
            "when subject contains 'x' than ignore",
            27,
            "expected 'and' or 'then', found 'than'; did you mean 'then'?",
        ),
        (
            "then frobnicate",
            6,
            "expected 'attach', 'create', 'comment', 'add', 'forward' or 'ignore', found 'frobnicate'",
        ),
        (
            "when colour is red then ignore",
            6,
            "expected 'subject', 'body', 'headers', 'header', 'message', 'mail', 'from', 'to', 'cc', 'delivered', 'plus', 'sender', 'company', 'has', 'automated' or 'not', found 'colour'",
        ),
        ("then attach to project", 23, "expected a project id, found the end of the line"),
        ("when sender is maybe then ignore", 16, "expected 'known' or 'unknown', found 'maybe'"),
        (
            "then create in project 2",
            13,
            "expected what to create: issue, request, bug, task, story…",
        ),
        (
            "when headers matches 'x' then ignore",
            14,
            "only subject and body can be matched with a regular expression",
        ),
        ("then ignore and", 16, "expected an action, found the end of the line"),
        ("then ignore comment", 13, "expected 'and', found 'comment'"),
        (
            "subject contains 'x' then ignore",
            1,
            "expected 'when', 'then' or 'and', found 'subject'",
        ),
    ],
)
def test_syntax_errors_name_the_column_and_what_was_expected(line, column, message):
    with pytest.raises(RuleSyntaxError) as exc:
        parse_rule_line(line)
    assert (exc.value.column, exc.value.message) == (column, message)
    assert line[column - 1 :].startswith(
        line[column - 1 : column]
    )  # the column is inside the line or just past it


def test_split_forms():
    assert parse_conditions("subject contains 'x' and has attachments") == {
        "subject_contains": ["x"],
        "has_attachments": True,
    }
    assert parse_actions("attach to project 2 and comment") == [
        {"attach_to_project": {"project": "2"}},
        "comment",
    ]


WORDS = st.sampled_from(
    [
        "when",
        "then",
        "and",
        "not",
        "subject",
        "body",
        "contains",
        "matches",
        "'tp, x'",
        '"a b"',
        "from",
        "domain",
        "company",
        "matched",
        "to",
        "project",
        "2",
        "attach",
        "create",
        "request",
        "issue",
        "bug",
        "in",
        "as",
        "comment",
        "forward",
        "a@example.com",
        "ignore",
        "sender",
        "is",
        "known",
        "has",
        "attachments",
        "automated",
        "'",
        '"',
        "#",
        "delivered",
        "plus",
        "header",
        "X-Y",
        "'(?P<n>x)'",
        "",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(WORDS, max_size=14) | st.text(max_size=60))
def test_parser_raises_only_its_own_syntax_error(words):
    line = " ".join(words) if isinstance(words, list) else words
    column = None
    try:
        parse_rule_line(line)
    except RuleSyntaxError as exc:
        column = exc.column
    assert column is None or 1 <= column <= len(line) + 1


@settings(max_examples=500, deadline=None)
@given(st.lists(WORDS, max_size=14))
def test_parse_normalise_parse_is_stable(words):
    line = " ".join(words)
    try:
        data = parse_rule_line(line)
        rule = Rule.model_validate(data)
    except (RuleSyntaxError, ValueError):
        return
    normal = rule_to_yaml(rule)
    again = Rule.model_validate(normal)
    assert again == rule
    assert rule_to_yaml(again) == normal


@pytest.mark.parametrize(
    ("line", "typed", "meant"),
    [
        ("then create requst in project SD", "requst", "request"),
        ("then create isue in project SD", "isue", "issue"),
        ("then create Isssues in project SD", "Isssues", "issue"),
        ("then create comentt in project SD", "comentt", "comment"),
        ("then create bgu report in project SD", None, None),
    ],
)
def test_a_near_miss_after_create_is_an_error_not_a_new_issue_type(line, typed, meant):
    if typed is None:  # three letters: too short to call a near miss
        assert parse_rule_line(line)["then"][0]["create_issue"]["type"] == "Bgu Report"
        return
    with pytest.raises(RuleSyntaxError) as caught:
        parse_rule_line(line)
    assert caught.value.column == 13
    assert caught.value.message == (
        f"'{typed}' is not a word of the rule language; did you mean '{meant}'? (for an issue "
        f"type with that name, quote it: create '{typed[0].upper() + typed[1:].rstrip('s')}' "
        "in project …)"
    )


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("then create Incident in project SD", "Incident"),
        ("then create 'Requst' in project SD", "Requst"),
        ("then create issue in project SD as Requst", "Requst"),
        ("then create tests in project SD", "Test"),
        ("then create user stories in project SD", "User Story"),
    ],
)
def test_new_issue_types_are_still_allowed_where_the_grammar_allows_them(line, kind):
    assert parse_rule_line(line)["then"][0]["create_issue"]["type"] == kind


def test_a_near_miss_in_rules_yaml_is_reported_at_its_column(tmp_path, capsys):
    from tracker_mail_plugin.cli import main

    path = tmp_path / "rules.yaml"
    path.write_text(
        "version: 1\ntrackers: {t: {adapter: recording}}\nmailboxes:\n"
        "  m: {protocol: maildir, path: mail, tracker: t}\n"
        "rules:\n  - then create requst in project SD\n"
    )
    assert main(["check", "--offline", "-c", str(path)]) == 2
    assert (
        f"{path}:6:17: rules[0]: 'requst' is not a word of the rule language; did you mean "
        "'request'?" in capsys.readouterr().err
    )
