"""The TargetProcess worked example, exactly as the seed tells it (rows T1-T8).

Project 1 and project 2; project 2 belongs to the TargetProcess company. Three rules, checked
top to bottom, the first that holds wins. Three messages, three outcomes.
"""

import pytest

from tests.mailfactory import raw_mail
from tests.rulehelpers import config, decision, planned

COMMON = """
version: 1
trackers:
  tp: {adapter: recording}
companies:
  TargetProcess: {domains: [targetprocess.com], projects: [2]}
mailboxes:
  inbox:
    protocol: maildir
    path: /tmp/nowhere
    tracker: tp
"""

DSL_FORM = (
    COMMON
    + """
    rules:
      - when subject contains 'Targetprocess, tp' and company matched to project 2 then attach to project 2 and create request in project 2
      - when company matched to project 2 then attach to project 2
      - then attach to project 1 and create request in project 1
"""
)

YAML_FORM = (
    COMMON
    + """
    rules:
      - when: {subject_contains: [Targetprocess, tp], company_matches_project: 2}
        then: [{attach_to_project: 2}, {create_request: {project: 2}}]
      - when: {company_matches_project: 2}
        then: [{attach_to_project: 2}]
      - then: [{attach_to_project: 1}, {create_request: {project: 1}}]
"""
)

SPLIT_FORM = (
    COMMON
    + """
    rules:
      - when: "subject contains 'Targetprocess, tp' and company matched to project 2"
        then: "attach to project 2 and create request in project 2"
      - when: "company matched to project 2"
        then: "attach to project 2"
      - then: "attach to project 1 and create request in project 1"
"""
)

FROM_TP = "Lena Hoff <lena@targetprocess.com>"
MESSAGES = [
    # 1. a requester of the TargetProcess company with "tp" in the subject
    (
        FROM_TP,
        "TP: export to PDF fails",
        "rule 1",
        [("attach_to_project", "2"), ("create_request", "2")],
    ),
    # 2. the same company, neither "targetprocess" nor "tp" in the subject
    (FROM_TP, "Export to PDF fails", "rule 2", [("attach_to_project", "2")]),
    # 3. anyone else
    (
        "Ann Buyer <ann@customer.example>",
        "TP: export to PDF fails",
        "rule 3",
        [("attach_to_project", "1"), ("create_request", "1")],
    ),
]


@pytest.mark.parametrize(
    "form", [DSL_FORM, YAML_FORM, SPLIT_FORM], ids=["dsl", "yaml", "when-then-strings"]
)
@pytest.mark.parametrize(
    ("sender", "subject", "rule", "expected"),
    MESSAGES,
    ids=["tp-keyword", "tp-company", "anyone-else"],
)
def test_worked_example(form, sender, subject, rule, expected):
    result = decision(config(form), raw_mail({"From": sender, "Subject": subject}))
    assert result.outcome == "act"
    assert result.matched_rule == rule
    assert planned(result) == expected


def test_the_three_forms_are_the_same_rules():
    forms = [config(f).config.rules_for("inbox") for f in (DSL_FORM, YAML_FORM, SPLIT_FORM)]
    assert forms[0] == forms[1] == forms[2]


def test_keyword_is_a_whole_word_not_part_of_http():
    result = decision(
        config(DSL_FORM), raw_mail({"From": FROM_TP, "Subject": "see http://example.com"})
    )
    assert result.matched_rule == "rule 2"
    first = result.trace[0].checks[0]
    assert first.description == "subject contains 'Targetprocess, tp'"
    assert not first.held
    assert first.reason == 'none found as a word in "see http://example.com"'


def test_keywords_are_case_insensitive():
    result = decision(
        config(DSL_FORM), raw_mail({"From": FROM_TP, "Subject": "TARGETPROCESS licence"})
    )
    assert result.matched_rule == "rule 1"


def test_trace_says_why_rule_one_failed_for_anyone_else():
    result = decision(
        config(DSL_FORM), raw_mail({"From": "ann@customer.example", "Subject": "tp question"})
    )
    checks = {c.description: (c.held, c.reason) for c in result.trace[0].checks}
    assert checks["subject contains 'Targetprocess, tp'"] == (True, "'tp' found as a word")
    assert checks["company matched to project 2"] == (
        False,
        "the sender belongs to no known company (project 2 is TargetProcess's)",
    )
    assert [t.held for t in result.trace] == [False, False, True]


def test_company_can_come_from_the_tracker():
    # The tracker says the sender belongs to TargetProcess although the domain is not listed.
    result = decision(
        config(DSL_FORM),
        raw_mail({"From": "lena@gmail.example", "Subject": "tp"}),
        company="TargetProcess",
    )
    assert result.matched_rule == "rule 1"
