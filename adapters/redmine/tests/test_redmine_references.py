"""Replies resolved against the real Redmine, including its own notifications (S2, S15).

The pure parsing of subjects and Message-IDs is tested without a server in
test_redmine_parse.py.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import pytest
from tracker_mail_plugin_redmine import RedmineAdapter

from tests.servers.redmine import Redmine
from tracker_mail_plugin import (
    CommentRef,
    IssueRef,
    IssueState,
    NewComment,
    NewIssue,
    ReferenceCandidate,
    parse_message,
)

pytestmark = pytest.mark.servers


def candidates(
    subject: str = "Hello", in_reply_to: str | None = None, references: str | None = None
) -> tuple[ReferenceCandidate, ...]:
    lines = [f"Subject: {subject}", "From: a@example.com", "Message-ID: <m@example.com>"]
    lines += [f"In-Reply-To: {in_reply_to}"] if in_reply_to else []
    lines += [f"References: {references}"] if references else []
    return parse_message(("\r\n".join(lines) + "\r\n\r\nHi\r\n").encode()).reference_candidates


def first(adapter: RedmineAdapter, found: tuple[ReferenceCandidate, ...]) -> IssueRef | None:
    parsed = [adapter.parse_reference(c) for c in found]
    return next((ref for ref in parsed if ref is not None), None)


def test_get_issue(redmine: Redmine, adapter: RedmineAdapter, make_adapter: Any) -> None:
    ref = adapter.create_issue(NewIssue("support", "t", "x", "tm-refs000000000000001"))
    assert adapter.get_issue(IssueRef("redmine", ref.key)) == IssueState(ref, "support", False)
    assert adapter.get_issue(IssueRef("redmine", ref.key)).ref.url == ref.url
    redmine.api("PUT", f"/issues/{ref.key}.json", json={"issue": {"status_id": 6}})  # Rejected
    # The run that created it answers from Redmine's answer to the create for a short
    # while (see the adapter's README); another run asks Redmine.
    assert not adapter.get_issue(ref).closed
    assert make_adapter().get_issue(ref).closed
    assert adapter.get_issue(IssueRef("redmine", "999")) is None
    assert adapter.get_issue(IssueRef("redmine", "ABC-1")) is None


def notification(redmine_mail: Any, issue: str, kind: str) -> EmailMessage:
    def matches(message: EmailMessage) -> bool:
        return f"#{issue}]" in str(message["Subject"]) and f"redmine.{kind}-" in str(
            message["Message-ID"]
        )

    return redmine_mail.wait_for(matches)


def test_replies_to_real_notifications_resolve_to_their_issue(
    redmine: Redmine, redmine_mail: Any, adapter: RedmineAdapter
) -> None:
    # Two issues, each with a note, so that the note's issue has to be told apart.
    other = adapter.create_issue(NewIssue("support", "Other", "x", "tm-refs000000000000002"))
    ref = adapter.create_issue(NewIssue("support", "Printer", "x", "tm-refs000000000000003"))
    adapter.add_comment(other, NewComment("n", "tm-refs000000000000004"))
    adapter.add_comment(ref, NewComment("Any news?", "tm-refs000000000000005"))
    # The adapter read back only the first note (same author, project and tracker): the
    # key finds the second one's id.
    comment = adapter.find_by_key("tm-refs000000000000005", issue=ref)
    assert isinstance(comment, CommentRef)
    new_mail = notification(redmine_mail, ref.key, "issue")
    note_mail = notification(redmine_mail, ref.key, "journal")
    assert new_mail["Subject"] == f"[Support Desk - Bug #{ref.key}] (New) Printer"

    by_issue = first(adapter, candidates(f"Re: {new_mail['Subject']}", new_mail["Message-ID"]))
    assert adapter.get_issue(by_issue).ref == ref

    # A client that keeps only In-Reply-To: the note's Message-ID alone must find the issue.
    pending = first(adapter, candidates("Re: news", note_mail["Message-ID"]))
    assert pending.key == f"journal-{comment.id}.{pending.key.split('.')[1]}"
    state = adapter.get_issue(pending)
    assert (state.ref.key, state.project) == (ref.key, "support")


def test_a_note_that_no_longer_exists_names_no_issue(adapter: RedmineAdapter) -> None:
    adapter.create_issue(NewIssue("support", "t", "x", "tm-refs000000000000006"))
    gone = IssueRef("redmine", "journal-4242.20200101000000")
    assert adapter.get_issue(gone) is None
