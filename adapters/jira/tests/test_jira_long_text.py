"""Texts over Jira's limits: cut on a line, said so, and the whole text attached as a file.

Jira refuses a text field over 32,767 characters and a summary over 255 with a 400; the
limits are documented in prose only (Atlassian: "Jira Cloud platform limits", "Character
limit for text fields"), so these tests pin what the adapter sends, not a schema.
"""

from __future__ import annotations

from tracker_mail_plugin_jira.longtext import TEXT_LIMIT, cut_lines, jira_length

from tracker_mail_plugin import IssueRef, NewComment, NewIssue, Upload, UserRef

# 400 lines of 99 characters that escaping makes 100: 39,600 in the mail, 40,000 as wiki text.
LINE = "[x] " + "b" * 94 + "\n"
ESCAPED = "\\[x\\] " + "b" * 94 + "\n"
LONG = LINE * 400


def note(length: int, name: str = "full-text.txt") -> str:
    return (
        f"----\n_The mail was cut here: its text has {length:,} characters and Jira takes "
        f"32,767. The whole text is attached as [^{name}]._"
    )


def cut_text(prefix_escaped: str = "", name: str = "full-text.txt", length: int = len(LONG)):
    """The text the adapter must send for ``LONG`` (after an escaped prefix, if any)."""
    tail = note(length, name)
    budget = TEXT_LIMIT - len(tail) - 2 - len(prefix_escaped)
    lines = budget // len(ESCAPED)
    return prefix_escaped + (ESCAPED * lines).rstrip("\n") + "\n\n" + tail


def full_text_part(sent, text: str = LONG, name: str = "full-text.txt"):
    [part] = sent.body
    assert (part.name, part.filename, part.content_type) == (
        "file",
        name,
        "text/plain; charset=utf-8",
    )
    assert part.content.decode() == text


def test_a_long_description_is_cut_on_a_line_and_attached_whole(jira, key):
    jira.answer("POST", "/rest/api/2/issue", "issue_create", status=201)
    jira.answer("POST", "/rest/api/2/issue/ED-24/attachments", "issue_attachments")
    jira.adapter().create_issue(NewIssue("ED", "Log", LONG, key))
    description = cut_text()
    assert jira_length(description) <= TEXT_LIMIT
    assert [line[:3] for line in jira.lines] == [
        ("POST", "/rest/api/2/issue", {}),
        ("POST", "/rest/api/2/issue/ED-24/attachments", {}),
    ]
    assert jira.lines[0][3] == {
        "fields": {
            "project": {"key": "ED"},
            "issuetype": {"name": "Task"},
            "summary": "Log",
            "description": description,
        },
        "properties": [{"key": "tracker-mail", "value": {"key": key}}],
    }
    full_text_part(jira.sent[1])


def test_a_long_comment_is_cut_and_its_whole_text_attached(jira, key):
    jira.answer("POST", "/rest/api/2/issue/ED-1/comment", "issue_comment_create", status=201)
    jira.answer("POST", "/rest/api/2/issue/ED-1/attachments", "issue_attachments")
    mine = Upload.from_bytes("full-text.txt", b"the sender's own file", "text/plain")
    new = NewComment(LONG, key, attachments=(mine,))
    jira.adapter(service_desks={"SD": 10}).add_comment(IssueRef("jira", "ED-1"), new)
    assert jira.lines[0] == (
        "POST",
        "/rest/api/2/issue/ED-1/comment",
        {},
        {
            "body": cut_text(name="full-text-2.txt"),
            "properties": [{"key": "tracker-mail", "value": {"key": key}}],
        },
    )
    assert [line[:2] for line in jira.lines[1:]] == [
        ("POST", "/rest/api/2/issue/ED-1/attachments")
    ] * 2
    assert [p.filename for p in jira.sent[1].body] == ["full-text.txt"]
    full_text_part(jira.sent[2], name="full-text-2.txt")


def test_a_long_request_is_cut_and_its_whole_text_attached_publicly(jira, key):
    jira.answer("POST", "/rest/servicedeskapi/request", "servicedeskapi_request", status=201)
    jira.answer("PUT", "/rest/api/2/issue/SD-7/properties/tracker-mail", None, status=201)
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
    jira.answer(
        "GET", "/rest/servicedeskapi/servicedesk/10/requesttype", "servicedeskapi_requesttype"
    )
    new = NewIssue("SD", "Log", LONG, key, request=True, request_type="Request new hardware")
    jira.adapter(service_desks={"SD": 10}).create_issue(new)
    assert [line[:2] for line in jira.lines] == [
        ("GET", "/rest/servicedeskapi/servicedesk/10/requesttype"),
        ("POST", "/rest/servicedeskapi/request"),
        ("PUT", "/rest/api/2/issue/SD-7/properties/tracker-mail"),
        ("POST", "/rest/servicedeskapi/servicedesk/10/attachTemporaryFile"),
        ("POST", "/rest/servicedeskapi/request/SD-7/attachment"),
    ]
    assert jira.lines[1][3] == {
        "serviceDeskId": "10",
        "requestTypeId": "26",
        "requestFieldValues": {"summary": "Log", "description": cut_text()},
    }
    full_text_part(jira.sent[3])
    temporary = jira.fixture("servicedeskapi_attachTemporaryFile")["temporaryAttachments"]
    assert jira.lines[4][3] == {
        "temporaryAttachmentIds": [temporary[0]["temporaryAttachmentId"]],
        "public": True,
    }


def test_the_sender_line_counts_and_stays(jira, key):
    denied = jira.fixture("mypermissions")
    denied["permissions"]["MODIFY_REPORTER"]["havePermission"] = False
    jira.answer("GET", "/rest/api/2/mypermissions", denied)
    jira.answer("POST", "/rest/api/2/issue", "issue_create", status=201)
    jira.answer("POST", "/rest/api/2/issue/ED-24/attachments", "issue_attachments")
    bob = UserRef("bob-id", "bob", "Bob", "bob@example.com")
    jira.adapter().create_issue(NewIssue("ED", "Log", LONG, key, reporter=bob))
    head = "From: Bob <bob@example.com>\n\n"
    expected = cut_text(prefix_escaped=head, length=len(head + LONG))
    assert jira.lines[1][3]["fields"]["description"] == expected
    full_text_part(jira.sent[2], text=head + LONG)


def test_a_text_at_the_limit_is_sent_whole(jira, key):
    text = "a" * (TEXT_LIMIT - 2) + "[]"[:1]  # one escape: 32,767 characters as wiki text
    jira.answer("POST", "/rest/api/2/issue", "issue_create", status=201)
    jira.adapter().create_issue(NewIssue("ED", "s", text, key))
    assert jira.lines[0][3]["fields"]["description"] == "a" * (TEXT_LIMIT - 2) + "\\["
    assert len(jira.sent) == 1


def test_a_summary_is_measured_as_jira_counts(jira, key):
    # Jira counts UTF-16 code units: each of these emoji is two of its 255.
    jira.answer("POST", "/rest/api/2/issue", "issue_create", status=201)
    jira.adapter().create_issue(NewIssue("ED", "\U0001f600" * 200, "t", key))
    assert jira.lines[0][3]["fields"]["summary"] == "\U0001f600" * 127 + "…"


def test_a_single_line_over_the_limit_is_cut_inside_without_a_lone_backslash():
    assert cut_lines("ab[cd", 4) == "ab\\["
    assert cut_lines("ab[cd", 3) == "ab"
    assert cut_lines("one\ntwo[\nthree", 10) == "one\ntwo\\["
    assert cut_lines("one\ntwo[\nthree", 9) == "one"


class CountedUploads(list):
    """The mail's files, counting how often the adapter walks through them."""

    walks = 0

    def __iter__(self):
        self.walks += 1
        return super().__iter__()


def test_cutting_a_long_text_with_many_inline_images_walks_the_files_a_few_times():
    """Each inline image still shows where the mail had it, and the files are indexed once.

    Escaping line by line indexed every file again for each line: 2,000 pasted images and
    16,000 lines took half a minute.
    """
    images = CountedUploads(
        Upload(f"image{i}.png", "image/png", 1, "0" * 64, b"x", content_id=f"img{i}@mail")
        for i in range(200)
    )
    text = "see [cid:img7@mail] {here}\n" * 3_000

    cut = cut_lines(text, TEXT_LIMIT, images)

    assert cut.startswith("see !image7.png|thumbnail! \\{here\\}\nsee !image7.png|thumbnail!")
    assert jira_length(cut) <= TEXT_LIMIT
    assert images.walks <= 2
