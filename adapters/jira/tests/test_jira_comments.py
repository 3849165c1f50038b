"""``add_comment``: key property on the comment, service-desk visibility, files, the sender."""

from __future__ import annotations

import logging

import pytest

from tracker_mail_plugin import (
    CommentRef,
    IssueRef,
    NewComment,
    UnknownOutcome,
    UnsupportedAction,
    Upload,
    UserRef,
)

DESKS = ("GET", "/rest/servicedeskapi/servicedesk", {"start": "0", "limit": "50"}, None)
BOB = UserRef("bob-id", "bob", "Bob", "bob@example.com")


def tracker_mail(key):
    return {"key": "tracker-mail", "value": {"key": key}}


def test_a_comment_on_an_issue_carries_its_key(jira, key):
    jira.answer("GET", "/rest/servicedeskapi/servicedesk", "servicedeskapi_servicedesk")
    jira.answer("POST", "/rest/api/2/issue/ED-1/comment", "issue_comment_create", status=201)
    issue = IssueRef("jira", "ED-1", project="ED")
    ref = jira.adapter().add_comment(issue, NewComment("Works [again]!", key, author=BOB))
    assert ref == CommentRef(issue, "10000")
    assert jira.lines == [
        DESKS,
        (
            "POST",
            "/rest/api/2/issue/ED-1/comment",
            {},
            {
                "body": "From: Bob <bob@example.com>\n\nWorks \\[again\\]\\!",
                "properties": [tracker_mail(key)],
            },
        ),
    ]


def test_files_on_a_plain_issue_become_issue_attachments(jira, key):
    jira.answer("POST", "/rest/api/2/issue/ED-1/comment", "issue_comment_create", status=201)
    jira.answer("POST", "/rest/api/2/issue/ED-1/attachments", "issue_attachments")
    new = NewComment("See log", key, attachments=(Upload.from_bytes("x.log", b"x", "text/plain"),))
    jira.adapter(service_desks={"SD": 10}).add_comment(IssueRef("jira", "ED-1"), new)
    assert [line[:2] for line in jira.lines] == [
        ("POST", "/rest/api/2/issue/ED-1/comment"),
        ("POST", "/rest/api/2/issue/ED-1/attachments"),
    ]
    [part] = jira.sent[1].body
    assert (part.name, part.filename, part.content_type, part.content) == (
        "file",
        "x.log",
        "text/plain",
        b"x",
    )


def test_a_reply_on_a_request_is_public_by_default_with_public_files(jira, key):
    jira.answer("POST", "/rest/api/2/issue/SD-7/comment", "issue_comment_create", status=201)
    jira.answer(
        "POST",
        "/rest/servicedeskapi/servicedesk/10/attachTemporaryFile",
        "servicedeskapi_attachTemporaryFile",
        status=201,
    )
    jira.answer(
        "POST",
        "/rest/servicedeskapi/request/SD-7/attachment",
        "servicedeskapi_request_attachment",
        status=201,
    )
    new = NewComment("Thanks", key, attachments=(Upload.from_bytes("picture.jpg", b"j"),))
    ref = jira.adapter(service_desks={"SD": 10}).add_comment(IssueRef("jira", "SD-7"), new)
    assert ref.id == "10000"
    assert jira.lines[0] == (
        "POST",
        "/rest/api/2/issue/SD-7/comment",
        {},
        {
            "body": "Thanks",
            "properties": [
                tracker_mail(key),
                {"key": "sd.public.comment", "value": {"internal": False}},
            ],
        },
    )
    assert [line[:2] for line in jira.lines[1:]] == [
        ("POST", "/rest/servicedeskapi/servicedesk/10/attachTemporaryFile"),
        ("POST", "/rest/servicedeskapi/request/SD-7/attachment"),
    ]
    assert jira.lines[2][3] == {
        "temporaryAttachmentIds": ["temp8186986881024837861"],
        "public": True,
    }


@pytest.mark.parametrize(
    ("options", "private"), [({"service_desk_comments": "internal"}, False), ({}, True)]
)
def test_internal_replies_on_cloud_requests_use_the_service_desk_endpoint(
    cloud, key, options, private
):
    # Atlassian's Cloud description: an internal comment is POST .../request/{key}/comment
    # with public: false; that endpoint takes no properties, so the key follows at once.
    cloud.answer(
        "POST",
        "/rest/servicedeskapi/request/SD-7/comment",
        "servicedeskapi_request_comment",
        status=201,
    )
    cloud.answer("PUT", "/rest/api/2/comment/10010/properties/tracker-mail", None, status=201)
    adapter = cloud.adapter(service_desks={"SD": 10}, **options)
    issue = IssueRef("jira", "SD-7", project="SD")
    ref = adapter.add_comment(issue, NewComment("Note [1]", key, author=BOB, private=private))
    assert ref == CommentRef(issue, "10010")
    assert cloud.lines == [
        (
            "POST",
            "/rest/servicedeskapi/request/SD-7/comment",
            {},
            {"body": "From: Bob <bob@example.com>\n\nNote \\[1\\]", "public": False},
        ),
        ("PUT", "/rest/api/2/comment/10010/properties/tracker-mail", {}, {"key": key}),
    ]


def test_a_lost_key_property_does_not_lose_the_internal_note(cloud, key, caplog):
    cloud.answer(
        "POST",
        "/rest/servicedeskapi/request/SD-7/comment",
        "servicedeskapi_request_comment",
        status=201,
    )
    cloud.answer(
        "PUT", "/rest/api/2/comment/10010/properties/tracker-mail", "error_500", status=500
    )
    adapter = cloud.adapter(service_desks={"SD": 10})
    with caplog.at_level(logging.WARNING, logger="tracker_mail.jira"):
        ref = adapter.add_comment(IssueRef("jira", "SD-7"), NewComment("x", key, private=True))
    assert ref.id == "10010"
    assert "comment 10010 on SD-7 was added but its idempotency key was not stored" in caplog.text
    assert [line[:2] for line in cloud.lines] == [
        ("POST", "/rest/servicedeskapi/request/SD-7/comment"),
        ("PUT", "/rest/api/2/comment/10010/properties/tracker-mail"),
    ]


@pytest.mark.parametrize(
    ("options", "private"), [({"service_desk_comments": "internal"}, False), ({}, True)]
)
def test_internal_replies_on_datacenter_requests_carry_the_property(
    datacenter, key, options, private
):
    jira = datacenter
    jira.answer("POST", "/rest/api/2/issue/SD-7/comment", "issue_comment_create", status=201)
    adapter = jira.adapter(service_desks={"SD": 10}, **options)
    adapter.add_comment(
        IssueRef("jira", "SD-7", project="SD"), NewComment("Note", key, private=private)
    )
    assert jira.lines == [
        (
            "POST",
            "/rest/api/2/issue/SD-7/comment",
            {},
            {
                "body": "Note",
                "properties": [
                    tracker_mail(key),
                    {"key": "sd.public.comment", "value": {"internal": True}},
                ],
            },
        )
    ]


def test_private_comments_elsewhere_are_restricted_to_the_role(jira, key):
    jira.answer("POST", "/rest/api/2/issue/ED-1/comment", "issue_comment_create", status=201)
    adapter = jira.adapter(service_desks={"SD": 10}, private_comment_role="Developers")
    adapter.add_comment(IssueRef("jira", "ED-1"), NewComment("Secret", key, private=True))
    assert jira.lines == [
        (
            "POST",
            "/rest/api/2/issue/ED-1/comment",
            {},
            {
                "body": "Secret",
                "visibility": {"type": "role", "value": "Developers"},
                "properties": [tracker_mail(key)],
            },
        )
    ]


def test_private_comments_without_a_role_are_refused_before_writing(jira, key):
    adapter = jira.adapter(service_desks={"SD": 10})
    with pytest.raises(UnsupportedAction, match="needs private_comment_role") as caught:
        adapter.add_comment(IssueRef("jira", "ED-1"), NewComment("Secret", key, private=True))
    assert caught.value.capability == "private_comments"
    assert jira.sent == []


def test_a_failed_file_after_the_comment_is_an_unknown_outcome(jira, key):
    jira.answer("POST", "/rest/api/2/issue/ED-1/comment", "issue_comment_create", status=201)
    jira.answer("POST", "/rest/api/2/issue/ED-1/attachments", None, status=503)
    new = NewComment("x", key, attachments=(Upload.from_bytes("a", b"a"),))
    with pytest.raises(UnknownOutcome, match="comment 10000 was added to ED-1, but then"):
        jira.adapter(service_desks={"SD": 10}).add_comment(IssueRef("jira", "ED-1"), new)
    assert len(jira.sent) == 2
