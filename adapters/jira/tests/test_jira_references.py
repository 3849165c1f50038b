"""Replies: keys in subjects, Jira's notification Message-IDs, and whether the issue exists."""

from __future__ import annotations

from tracker_mail_plugin import IssueRef, IssueState, ReferenceCandidate, RefKind, parse_message

# The fixture issue ED-1 (id 10002) was created at 2023-11-03T08:26:40.000+0000.
CREATED_MILLIS = 1699000000000
PROJECT_FIELDS = {"fields": "project,status,created"}


def candidates(subject, in_reply_to=None):
    head = f"From: a@example.com\r\nSubject: {subject}\r\nMessage-ID: <m@example.com>\r\n"
    if in_reply_to:
        head += f"In-Reply-To: <{in_reply_to}>\r\n"
    return parse_message((head + "\r\nText\r\n").encode()).reference_candidates


def test_subject_keys_are_parsed_without_a_request(jira):
    adapter = jira.adapter()
    parsed = [
        adapter.parse_reference(c) for c in candidates("Re: [JIRA] (ED-1) Printer, see ABC-12")
    ]
    assert parsed == [IssueRef("jira", "ED-1"), IssueRef("jira", "ABC-12")]
    assert jira.sent == []


def test_reply_projects_ignore_key_shaped_words(jira):
    adapter = jira.adapter(reply_projects=["ED"])
    parsed = [adapter.parse_reference(c) for c in candidates("UTF-8 trouble in ED-1 (ISO-9001)")]
    assert parsed == [None, IssueRef("jira", "ED-1"), None]
    assert jira.sent == []


def test_other_reference_kinds_are_not_jiras(jira):
    adapter = jira.adapter()
    number = ReferenceCandidate(kind=RefKind.NUMBER, source="subject", text="#12", number=12)
    foreign = ReferenceCandidate(
        kind=RefKind.MESSAGE_ID, source="in_reply_to", text="abc@mail.example.org"
    )
    assert adapter.parse_reference(number) is None
    assert adapter.parse_reference(foreign) is None
    assert jira.sent == []


def test_a_notification_message_id_names_the_issue_by_id(jira):
    jira.answer("GET", "/rest/api/2/issue/10002", "issue_get")
    adapter = jira.adapter()
    reply = f"JIRA.10002.{CREATED_MILLIS}.123.1699000000999@Atlassian.JIRA"
    [candidate] = candidates("Re: something", in_reply_to=reply)
    ref = adapter.parse_reference(candidate)
    assert ref == IssueRef("jira", "10002")
    state = adapter.get_issue(ref)
    assert state == IssueState(IssueRef("jira", "ED-1"), "ED", closed=False)
    assert state.ref.url == f"{jira.base}/browse/ED-1"
    assert jira.lines == [("GET", "/rest/api/2/issue/10002", PROJECT_FIELDS, None)]


def test_a_notification_from_another_jira_does_not_thread_here(jira):
    jira.answer("GET", "/rest/api/2/issue/10002", "issue_get")
    adapter = jira.adapter()
    other = ReferenceCandidate(
        kind=RefKind.MESSAGE_ID, source="references", text="JIRA.10002.1500000000000@jira.other.org"
    )
    ref = adapter.parse_reference(other)
    assert ref == IssueRef("jira", "10002")
    assert adapter.get_issue(ref) is None  # same id, different creation time
    assert jira.lines == [("GET", "/rest/api/2/issue/10002", PROJECT_FIELDS, None)]


def test_a_notification_id_with_a_host_and_no_sequence(jira):
    adapter = jira.adapter()
    text = f"<JIRA.10002.{CREATED_MILLIS}@jira.example.com>"
    candidate = ReferenceCandidate(kind=RefKind.MESSAGE_ID, source="references", text=text)
    assert adapter.parse_reference(candidate) == IssueRef("jira", "10002")


def test_a_done_issue_is_closed(jira):
    jira.answer("GET", "/rest/api/2/issue/ED-1", "issue_get_done")
    state = jira.adapter().get_issue(IssueRef("jira", "ED-1"))
    assert state is not None
    assert state.closed is True
    assert jira.lines == [("GET", "/rest/api/2/issue/ED-1", PROJECT_FIELDS, None)]


def test_a_key_that_does_not_exist_is_no_issue(jira):
    jira.answer("GET", "/rest/api/2/issue/ABC-12", "error_404_issue", status=404)
    assert jira.adapter().get_issue(IssueRef("jira", "ABC-12")) is None
    assert jira.lines == [("GET", "/rest/api/2/issue/ABC-12", PROJECT_FIELDS, None)]
