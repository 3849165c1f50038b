"""The TrackStudio scenario (rows S2, S5-S13): keyword rules per project, in sequence."""

import pytest

from tests.mailfactory import raw_mail
from tests.rulehelpers import config, decision, planned

BASE = """
version: 1
trackers:
  redmine: {{adapter: recording}}
mailboxes:
  inbox:
    protocol: maildir
    path: /tmp/nowhere
    tracker: redmine
    unknown_user: {policy}
    rules:
      - name: printers
        when: {{subject_contains: printer}}
        then: [{{create_issue: {{project: helpdesk, type: Bug}}}}]
      - name: invoices in the body
        when: {{body_contains: "invoice number"}}
        then: [{{create_issue: {{project: billing, type: Task}}}}]
      - name: from the shop system
        when: {{headers_contains: {{X-Shop-Order: ["order"]}}}}
        then: [{{create_issue: {{project: billing, type: Order}}}}]
      - name: partners only
        when: {{contains: "api key", from_domain: [partner.example, "*.partner.example"]}}
        then: [{{create_issue: {{project: integrations, type: Support}}}}]
"""


def loaded(policy="reject"):
    return config(BASE.format(policy=policy))


def test_keyword_in_the_subject():
    result = decision(loaded(), raw_mail({"Subject": "Printer jammed"}))
    assert (result.matched_rule, planned(result)) == ("printers", [("create_issue", "helpdesk")])
    assert result.actions[0].action.type == "Bug"


def test_keyword_phrase_in_the_body():
    result = decision(
        loaded(), raw_mail({"Subject": "Question"}, "Our invoice  number\nis 2026-11-7")
    )
    assert (result.matched_rule, planned(result)) == (
        "invoices in the body",
        [("create_issue", "billing")],
    )


def test_keyword_in_a_named_header():
    result = decision(
        loaded(), raw_mail({"Subject": "Automatic notice", "X-Shop-Order": "Order 5521 paid"})
    )
    assert result.matched_rule == "from the shop system"
    assert result.actions[0].action.type == "Order"


def test_rules_apply_in_sequence_first_match_wins():
    # Both the printer rule and the invoice rule hold; the earlier one wins.
    result = decision(loaded(), raw_mail({"Subject": "printer"}, "invoice number 5"))
    assert result.matched_rule == "printers"
    assert [t.held for t in result.trace] == [True]


def test_domain_filter_admits_the_domain_and_its_subdomains():
    for sender in ("dev@partner.example", "dev@eu.partner.example"):
        result = decision(loaded(), raw_mail({"From": sender, "Subject": "Where is my API key?"}))
        assert result.matched_rule == "partners only", sender


def test_domain_filter_keeps_others_out():
    result = decision(loaded(), raw_mail({"From": "x@notpartner.example", "Subject": "api key"}))
    assert result.outcome == "unprocessed"
    assert result.skipped_reason == "no rule matched"
    check = result.trace[-1].checks[-1]
    assert (check.held, check.reason) == (False, "sender domain notpartner.example is not listed")


@pytest.mark.parametrize(
    ("policy", "outcome", "author"),
    [
        ("reject", "unprocessed", "sender"),
        ("as_rule_owner", "act", "rule_owner"),
        ("create_user", "act", "new_user"),
    ],
)
def test_unknown_sender_under_each_policy(policy, outcome, author):
    result = decision(loaded(policy), raw_mail({"Subject": "printer broken"}), known=False)
    assert result.outcome == outcome
    if outcome == "act":
        assert result.author == author
        assert planned(result) == [("create_issue", "helpdesk")]
        assert f"unknown sender; policy unknown_user: {policy}" in result.notes
    else:
        assert result.skipped_reason == "unknown sender; policy unknown_user: reject"


def test_known_sender_acts_as_themselves():
    assert (
        decision(loaded("as_rule_owner"), raw_mail({"Subject": "printer"}), known=True).author
        == "sender"
    )


def test_reply_with_issue_number_becomes_a_comment():
    raw = raw_mail(
        {"Subject": "Re: printer jammed #123"},
        "It works again.\n\nOn Mon, 2 Nov 2026 at 10:00, Helpdesk <help@example.com> wrote:\n> Try again",
    )
    result = decision(loaded(), raw, reply_to="123")
    assert result.outcome == "act"
    assert [(p.action.action, p.reply_to) for p in result.actions] == [("comment", "123")]
    assert result.actions[0].text == "It works again."
    assert result.matched_rule is None
