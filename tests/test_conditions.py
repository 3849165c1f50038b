"""Each condition and policy of the rules, on real parsed messages."""

import pytest

from tests.mailfactory import multipart, part, raw_mail
from tests.rulehelpers import config, decision, planned

HEAD = """
version: 1
trackers:
  t: {{adapter: recording}}
smtp: {{host: 127.0.0.1, sender: tracker@example.com}}
mailboxes:
  inbox:
    protocol: maildir
    path: /tmp/x
    tracker: t
{policies}
    rules:
      - name: hit
        when: {when}
        then: {then}
"""


def rule(when, then="[{create_issue: {project: p}}]", policies=""):
    return config(HEAD.format(when=when, then=then, policies=policies))


def holds(when, raw, **kwargs):
    return decision(rule(when), raw, **kwargs).matched_rule == "hit"


@pytest.mark.parametrize(
    ("when", "headers", "expected"),
    [
        ("{from: alice@example.com}", {"From": "Alice <ALICE@Example.com>"}, True),
        ("{from: '*@example.com'}", {"From": "bob@example.com"}, True),
        ("{from: alice@example.com}", {"From": "mallory@example.com"}, False),
        ("{to: support@example.com}", {"To": "Support <support+billing@example.com>"}, True),
        ("{cc: boss@example.com}", {"Cc": "x@example.com, Boss <boss@example.com>"}, True),
        ("{cc: boss@example.com}", {}, False),
        (
            "{delivered_to: support@example.com}",
            {"Delivered-To": "support+billing@example.com"},
            True,
        ),
        ("{plus: billing}", {"Delivered-To": "support+billing@example.com"}, True),
        ("{plus: billing}", {"To": "support+Billing@example.com"}, True),
        (
            "{plus: billing}",
            {"Delivered-To": "support+sales@example.com", "To": "support+billing@example.com"},
            False,
        ),
        ("{from_domain: münchen.example}", {"From": "a@xn--mnchen-3ya.example"}, True),
        ("{from_domain: xn--mnchen-3ya.example}", {"From": "a@münchen.example"}, True),
        ("{from_domain: '*.example.com'}", {"From": "a@example.com"}, False),
        ("{automated: any}", {"Precedence": "bulk"}, True),
        ("{automated: [bounce]}", {"Precedence": "bulk"}, False),
    ],
)
def test_address_and_header_conditions(when, headers, expected):
    policies = "    automated: {bulk: process}"
    assert (
        decision(rule(when, policies=policies), raw_mail(headers)).matched_rule == "hit"
    ) is expected


def test_unicode_case_folding():
    assert holds("{subject_contains: straße}", raw_mail({"Subject": "STRASSE gesperrt"}))
    assert holds("{subject_contains: ΣΟΦΙΑ}", raw_mail({"Subject": "σοφια"}))


def test_whole_words_by_default_substring_on_request():
    assert not holds("{subject_contains: tp}", raw_mail({"Subject": "https link"}))
    assert holds("{subject_contains: tp, match: substring}", raw_mail({"Subject": "https link"}))


def test_any_all_not():
    when = "{any: [{subject_contains: urgent}, {body_contains: asap}], not: {from_domain: spam.example}}"
    assert holds(when, raw_mail({"Subject": "hello"}, "please asap"))
    assert not holds(when, raw_mail({"Subject": "urgent", "From": "x@spam.example"}))
    assert not holds(when, raw_mail({"Subject": "hello"}, "whenever"))
    assert holds(
        "{all: [{subject_contains: a}, {subject_contains: b}]}", raw_mail({"Subject": "a b"})
    )


def test_has_attachments_ignores_inline_images():
    ctype, body = multipart(
        "mixed",
        [
            part("Content-Type: text/plain", "see file"),
            part(
                'Content-Type: application/pdf; name="x.pdf"\nContent-Transfer-Encoding: base64',
                "JVBERg==",
            ),
        ],
    )
    assert holds("{has_attachments: true}", raw_mail({"Content-Type": ctype}, body))
    assert holds("{has_attachments: false}", raw_mail({}, "no files"))


def test_sender_known_needs_facts():
    result = decision(rule("{sender: known}"), raw_mail({}), known=None)
    assert result.matched_rule is None
    assert (
        result.trace[0].checks[0].reason
        == "not known here (offline: pass --sender-known or --sender-unknown)"
    )
    assert decision(rule("{sender: known}"), raw_mail({}), known=True).matched_rule == "hit"


def test_regex_groups_fill_placeholders():
    loaded = rule(
        "{subject_matches: '(?P<ticket>INC-\\d+)'}",
        '[{create_issue: {project: "ops-{match.ticket}", title: "[{match.ticket}] {subject} from {from.address}", labels: ["{from.domain}"]}}]',
    )
    result = decision(
        loaded, raw_mail({"Subject": "Re: inc-42 outage", "From": "Ann <ann@example.com>"})
    )
    action = result.actions[0].action
    assert action.project == "ops-inc-42"
    assert action.title == "[inc-42] Re: inc-42 outage from ann@example.com"
    assert action.labels == ["example.com"]


def test_fields_from_body_are_taken_and_removed():
    loaded = rule(
        "{}",
        "[{create_issue: {project: p, priority: Normal, fields_from_body: [priority, type, assignee]}}]",
    )
    body = "Printer broken.\n\nPriority: High\nAssigned to: alice\nCategory: Hardware\n"
    result = decision(loaded, raw_mail({}, body))
    planned_action = result.actions[0]
    assert planned_action.fields == {"priority": "High", "assignee": "alice"}
    assert (planned_action.action.priority, planned_action.action.assignee) == ("High", "alice")
    assert (
        planned_action.text == "Printer broken.\n\nCategory: Hardware"
    )  # category was not allowed


def test_body_delimiters_cut_the_text():
    loaded = rule("{}", policies="    body_delimiters: ['--- Reply above this line ---']")
    result = decision(
        loaded, raw_mail({}, "New text\n> --- Reply above this line ---\nold notification")
    )
    assert result.actions[0].text == "New text"


@pytest.mark.parametrize(
    ("policy", "outcome"), [("drop", "drop"), ("unprocessed", "unprocessed"), ("process", "act")]
)
def test_automated_policy(policy, outcome):
    loaded = rule("{}", policies=f"    automated: {{auto_replied: {policy}}}")
    result = decision(loaded, raw_mail({"Auto-Submitted": "auto-replied"}))
    assert result.outcome == outcome


def test_allowed_domains_policy():
    loaded = rule("{}", policies="    allowed_domains: [example.com]")
    assert decision(loaded, raw_mail({"From": "a@example.com"})).outcome == "act"
    result = decision(loaded, raw_mail({"From": "a@evil.example"}))
    assert (result.outcome, result.skipped_reason) == (
        "unprocessed",
        "sender domain evil.example is not in allowed_domains",
    )


def test_replies_can_go_through_the_rules():
    loaded = rule("{subject_contains: done}", "[comment]", policies="    replies: {action: rules}")
    result = decision(
        loaded,
        raw_mail(
            {"Subject": "Re: #5 done"}, "Done.\n\nOn Mon, 2 Nov 2026, X <x@example.com> wrote:\n> q"
        ),
        reply_to="5",
    )
    assert (
        result.matched_rule,
        [(p.action.action, p.reply_to, p.text) for p in result.actions],
    ) == ("hit", [("comment", "5", "Done.")])


def test_comment_without_a_reply_target_is_unprocessed():
    result = decision(rule("{}", "[comment]"), raw_mail({}))
    assert (result.outcome, result.skipped_reason) == (
        "unprocessed",
        "rule 'hit' adds a comment, but the message replies to no known issue",
    )


def test_ignore_and_continue():
    text = HEAD.format(when="{subject_contains: x}", then="[ignore]", policies="")
    assert (
        decision(config(text), raw_mail({"Subject": "x"})).skipped_reason == "ignored by rule 'hit'"
    )
    chained = text + "        continue: true\n      - then: [{create_issue: {project: q}}]\n"
    result = decision(config(chained), raw_mail({"Subject": "x"}))
    assert (result.outcome, planned(result)) == ("act", [("create_issue", "q")])


def test_new_issue_keeps_forwarded_text_comment_strips_quotes():
    body = "FYI\n\n-----Original Message-----\nFrom: Carol\nSent: Monday\nTo: Bob\nSubject: Broken\n\nThe printer is broken."
    result = decision(rule("{}"), raw_mail({}, body))
    assert "The printer is broken." in result.actions[0].text
