"""Replies: ``#12``, ``owner/repo#12`` and GitHub notification Message-IDs (no network)."""

from __future__ import annotations

import pytest

from tracker_mail_plugin import IssueRef, ReferenceCandidate, RefKind, parse_message

WEBSHOP_42 = IssueRef("github", "example-org/webshop#42")


def refs_in(adapter, subject, in_reply_to=None):
    headers = f"From: a@example.com\r\nSubject: {subject}\r\nMessage-ID: <r@example.com>\r\n"
    if in_reply_to:
        headers += f"In-Reply-To: <{in_reply_to}>\r\n"
    message = parse_message((headers + "\r\nreply\r\n").encode())
    return [adapter.parse_reference(c) for c in message.reference_candidates]


@pytest.mark.parametrize(
    "subject",
    ["Re: Checkout crashes #42", "Re: [#42] Checkout", "Re: example-org/WEBSHOP#42 crash"],
)
def test_subject_references(github, subject):
    assert refs_in(github.adapter(), subject) == [WEBSHOP_42]
    assert github.sent() == []


def test_the_configured_project_is_on_the_ref(github):
    [ref] = refs_in(github.adapter(), "Re: #42")
    assert ref.project == "example-org/webshop"


def test_another_repository_is_not_ours(github):
    assert refs_in(github.adapter(), "Re: someone/else#42") == [None]


def test_bare_number_is_ambiguous_with_several_repositories(github):
    adapter = github.adapter(repository={"web": "example-org/webshop", "api": "example-org/api"})
    assert refs_in(adapter, "Re: #42") == [None]
    assert refs_in(adapter, "Re: example-org/api#7") == [IssueRef("github", "example-org/api#7")]


@pytest.mark.parametrize(
    "message_id",
    [
        "example-org/webshop/issues/42@github.com",
        "example-org/webshop/issues/42/1146825476@github.com",
        "example-org/webshop/pull/42@github.com",
        "example-org/webshop/pull/42/review/80@github.com",
        "Example-Org/webshop/issues/42@GitHub.com",
    ],
)
def test_notification_message_ids(github, message_id):
    adapter = github.adapter()
    subject = "Re: [example-org/webshop] Checkout crashes"
    assert refs_in(adapter, subject, in_reply_to=message_id) == [WEBSHOP_42]


@pytest.mark.parametrize(
    "message_id",
    [
        "someone/else/issues/42@github.com",
        "example-org/webshop/issues/42@github.example.com",
        "example-org/webshop/commit/abc@github.com",
        "CAF=x1y2@mail.gmail.com",
    ],
)
def test_message_ids_that_are_not_our_notifications(github, message_id):
    assert refs_in(github.adapter(), "Re: hello", in_reply_to=message_id) == [None]


def test_enterprise_server_notifications_carry_its_host(github):
    adapter = github.adapter(api_url="https://github.example.com/api/v3")
    candidate = ReferenceCandidate(
        RefKind.MESSAGE_ID, "references", "example-org/webshop/issues/42@github.example.com"
    )
    assert adapter.parse_reference(candidate) == WEBSHOP_42
    other = ReferenceCandidate(
        RefKind.MESSAGE_ID, "references", "example-org/webshop/issues/42@github.com"
    )
    assert adapter.parse_reference(other) is None


def test_other_trackers_shapes_are_not_ours(github):
    adapter = github.adapter()
    for kind, text in ((RefKind.JIRA_KEY, "ABC-42"), (RefKind.TRACKER_TAG, "[Shop - Bug #42]")):
        assert adapter.parse_reference(ReferenceCandidate(kind, "subject", text, 42)) is None
