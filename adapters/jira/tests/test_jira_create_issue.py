"""``create_issue`` for plain issues: the body, reporter, watchers, files, key property."""

from __future__ import annotations

import pytest

from tracker_mail_plugin import (
    IssueRef,
    NewComment,
    NewIssue,
    PermanentError,
    UnknownOutcome,
    UnsupportedAction,
    Upload,
    UserRef,
)

MIA_CLOUD = UserRef("5b10a2844c20165700ede21g", None, "Mia Krystof", "mia@example.com")
MIA_DC = UserRef("mia", "mia", "Mia Krystof", "mia@example.com")
BOB = UserRef("bob-id", "bob", "Bob", "bob@example.com")


def mia(jira):
    return MIA_CLOUD if jira.cloud else MIA_DC


def user_field(jira, user):
    return {"accountId": user.id} if jira.cloud else {"name": user.id}


SCREEN_PAGE = {"startAt": "0", "maxResults": "50"}
SCREEN_TASK = ("GET", "/rest/api/2/issue/createmeta/ED/issuetypes/10001", SCREEN_PAGE, None)
SCREEN_BUG = ("GET", "/rest/api/2/issue/createmeta/ED/issuetypes/10004", SCREEN_PAGE, None)


def prime_screen(jira, answer="issue_createmeta_fields"):
    jira.answer("GET", "/rest/api/2/project/ED", "project")
    for type_id in ("10001", "10004"):
        path = f"/rest/api/2/issue/createmeta/ED/issuetypes/{type_id}"
        jira.answer("GET", path, answer)


def key_property(key):
    return [{"key": "tracker-mail", "value": {"key": key}}]


def test_a_minimal_issue_is_one_request_with_its_key(jira, key):
    jira.answer("POST", "/rest/api/2/issue", "issue_create", status=201)
    new = NewIssue(
        project="ED", title="Printer  jams\n again", text="It jams.", idempotency_key=key
    )
    ref = jira.adapter().create_issue(new)
    assert ref == IssueRef("jira", "ED-24")
    assert (ref.url, ref.project) == (f"{jira.base}/browse/ED-24", "ED")
    assert jira.lines == [
        (
            "POST",
            "/rest/api/2/issue",
            {},
            {
                "fields": {
                    "project": {"key": "ED"},
                    "issuetype": {"name": "Task"},
                    "summary": "Printer jams again",
                    "description": "It jams.",
                },
                "properties": key_property(key),
            },
        )
    ]
    assert jira.sent[0].headers["Content-Type"] == "application/json"


def test_every_field_a_rule_can_set(jira, key):
    jira.answer("GET", "/rest/api/2/field", "field")
    jira.answer("GET", "/rest/api/2/mypermissions", "mypermissions")
    jira.answer("GET", "/rest/api/2/user/search", "user_search")
    prime_screen(jira)
    jira.answer("POST", "/rest/api/2/issue", "issue_create", status=201)
    jira.answer("POST", "/rest/api/2/issue/ED-24/watchers", None, status=204)
    jira.answer("POST", "/rest/api/2/issue/ED-24/attachments", "issue_attachments")
    components = "Components" if jira.cloud else "Component/s"
    new = NewIssue(
        project="ED",
        title="Toner low",
        text="Please order [toner] {soon}!",
        idempotency_key=key,
        issue_type="bug",
        priority="High",
        labels=("email", "printer", " needs  triage "),
        assignee="mia@example.com",
        custom_fields={
            "Order": "ORD-12",
            "Impact": "Minor",
            "Story Points": "3",
            components: "Mail, Print",
        },
        watchers=(mia(jira), BOB),
        reporter=BOB,
        attachments=(
            Upload.from_bytes("log.txt", b"line 1\n", "text/plain"),
            Upload.from_bytes("shot.png", b"\x89PNG", "image/png"),
        ),
    )
    ref = jira.adapter(issue_types={"bug": "Bug"}).create_issue(new)
    assert ref.key == "ED-24"
    search_key = "query" if jira.cloud else "username"
    assert jira.lines[:8] == [
        ("GET", "/rest/api/2/field", {}, None),
        (
            "GET",
            "/rest/api/2/user/search",
            {search_key: "mia@example.com", "maxResults": "10"},
            None,
        ),
        ("GET", "/rest/api/2/project/ED", {}, None),
        SCREEN_BUG,
        (
            "GET",
            "/rest/api/2/mypermissions",
            {"projectKey": "ED", "permissions": "MODIFY_REPORTER"},
            None,
        ),
        (
            "POST",
            "/rest/api/2/issue",
            {},
            {
                "fields": {
                    "project": {"key": "ED"},
                    "issuetype": {"name": "Bug"},
                    "summary": "Toner low",
                    "customfield_10050": "ORD-12",
                    "customfield_10060": {"value": "Minor"},
                    "customfield_10070": 3,
                    "components": [{"name": "Mail"}, {"name": "Print"}],
                    "reporter": user_field(jira, BOB),
                    "description": "Please order \\[toner\\] \\{soon\\}\\!",
                    "priority": {"name": "High"},
                    "labels": ["email", "printer", "needs-triage"],
                    "assignee": user_field(jira, mia(jira)),
                },
                "properties": key_property(key),
            },
        ),
        # the reporter (Bob) is not added again as a watcher
        ("POST", "/rest/api/2/issue/ED-24/watchers", {}, mia(jira).id),
        ("POST", "/rest/api/2/issue/ED-24/attachments", {}, jira.sent[7].body),
    ]
    files = [(p.name, p.filename, p.content_type, p.content) for s in jira.sent[7:] for p in s.body]
    assert files == [
        ("file", "log.txt", "text/plain", b"line 1\n"),
        ("file", "shot.png", "image/png", b"\x89PNG"),
    ]
    assert [s.line[:2] for s in jira.sent[7:]] == [
        ("POST", "/rest/api/2/issue/ED-24/attachments")
    ] * 2
    assert all(s.headers["X-Atlassian-Token"] == "no-check" for s in jira.sent[7:])


def test_without_modify_reporter_the_text_names_the_sender(jira, key):
    denied = jira.fixture("mypermissions")
    denied["permissions"]["MODIFY_REPORTER"]["havePermission"] = False
    jira.answer("GET", "/rest/api/2/mypermissions", denied)
    jira.answer("POST", "/rest/api/2/issue", "issue_create", status=201)
    new = NewIssue(project="ED", title="Hi", text="Body", idempotency_key=key, reporter=BOB)
    jira.adapter().create_issue(new)
    assert jira.lines[1][3]["fields"] == {
        "project": {"key": "ED"},
        "issuetype": {"name": "Task"},
        "summary": "Hi",
        "description": "From: Bob <bob@example.com>\n\nBody",
    }
    assert len(jira.sent) == 2


def test_a_long_subject_is_cut_to_jiras_limit(jira, key):
    jira.answer("POST", "/rest/api/2/issue", "issue_create", status=201)
    jira.adapter().create_issue(NewIssue("ED", "x" * 300, "t", key))
    summary = jira.lines[0][3]["fields"]["summary"]
    assert len(summary) == 255
    assert summary.endswith("…")


def test_private_issues_get_the_configured_security_level(jira, key):
    jira.answer("POST", "/rest/api/2/issue", "issue_create", status=201)
    jira.adapter(security_level="Staff only").create_issue(
        NewIssue("ED", "s", "t", key, private=True)
    )
    assert jira.lines[0][3]["fields"]["security"] == {"name": "Staff only"}


def test_private_issues_without_a_security_level_are_refused_before_writing(jira, key):
    with pytest.raises(UnsupportedAction, match="needs security_level") as caught:
        jira.adapter().create_issue(NewIssue("ED", "s", "t", key, private=True))
    assert caught.value.capability == "private_issues"
    assert jira.sent == []


def test_a_field_that_cannot_be_set_from_text_is_refused_before_writing(jira, key):
    jira.answer("GET", "/rest/api/2/field", "field")
    new = NewIssue("ED", "s", "t", key, custom_fields={"Approvers": "mia"})
    with pytest.raises(PermanentError, match=r"field Approvers \(user\) cannot be set"):
        jira.adapter().create_issue(new)
    assert jira.lines == [("GET", "/rest/api/2/field", {}, None)]


def test_an_unknown_field_is_refused_before_writing(jira, key):
    jira.answer("GET", "/rest/api/2/field", "field")
    new = NewIssue("ED", "s", "t", key, custom_fields={"Nope": "1"})
    with pytest.raises(PermanentError, match="no single field called 'Nope'"):
        jira.adapter().create_issue(new)
    assert jira.lines == [("GET", "/rest/api/2/field", {}, None)]


def test_a_number_field_needs_a_number(jira, key):
    jira.answer("GET", "/rest/api/2/field", "field")
    new = NewIssue("ED", "s", "t", key, custom_fields={"customfield_10070": "three"})
    with pytest.raises(PermanentError, match="'three' is not a number"):
        jira.adapter().create_issue(new)
    assert len(jira.sent) == 1


def test_an_assignee_without_an_account_is_refused_before_writing(jira, key):
    jira.answer("GET", "/rest/api/2/user/search", [])
    with pytest.raises(UnsupportedAction, match=r"assignee ghost@example\.com has no Jira account"):
        jira.adapter().create_issue(NewIssue("ED", "s", "t", key, assignee="ghost@example.com"))
    assert [line[:2] for line in jira.lines] == [("GET", "/rest/api/2/user/search")]


def test_an_assignee_named_by_id_is_sent_as_is(jira, key):
    prime_screen(jira)
    jira.answer("POST", "/rest/api/2/issue", "issue_create", status=201)
    jira.adapter().create_issue(NewIssue("ED", "s", "t", key, assignee="mia"))
    expected = {"accountId": "mia"} if jira.cloud else {"name": "mia"}
    assert jira.lines[2][3]["fields"]["assignee"] == expected


def test_a_failed_attachment_after_the_create_is_an_unknown_outcome(jira, key):
    jira.answer("POST", "/rest/api/2/issue", "issue_create", status=201)
    jira.answer("POST", "/rest/api/2/issue/ED-24/attachments", "error_500", status=500)
    new = NewIssue("ED", "s", "t", key, attachments=(Upload.from_bytes("a.txt", b"a"),))
    with pytest.raises(UnknownOutcome, match="ED-24 was created, but then Jira answered 500"):
        jira.adapter().create_issue(new)
    assert [line[:2] for line in jira.lines] == [
        ("POST", "/rest/api/2/issue"),
        ("POST", "/rest/api/2/issue/ED-24/attachments"),
    ]


def test_a_refused_watcher_after_the_create_is_an_unknown_outcome(jira, key):
    jira.answer("POST", "/rest/api/2/issue", "issue_create", status=201)
    jira.answer(
        "POST",
        "/rest/api/2/issue/ED-24/watchers",
        {
            "errorMessages": ['The user "x" does not have permission to view this issue.'],
            "errors": {},
        },
        status=400,
    )
    with pytest.raises(UnknownOutcome, match="does not have permission to view this issue"):
        jira.adapter().create_issue(NewIssue("ED", "s", "t", key, watchers=(BOB,)))
    assert jira.lines[1] == ("POST", "/rest/api/2/issue/ED-24/watchers", {}, "bob-id")


def test_files_stream_from_disk_with_their_names(jira, key, tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.7 " * 1000)
    jira.answer("POST", "/rest/api/2/issue", "issue_create", status=201)
    jira.answer("POST", "/rest/api/2/issue/ED-24/attachments", "issue_attachments")
    new = NewIssue("ED", "s", "t", key, attachments=(Upload.from_path(path),))
    jira.adapter().create_issue(new)
    [part] = jira.sent[1].body
    assert (part.filename, part.content_type, part.content) == (
        "report.pdf",
        "application/pdf",
        path.read_bytes(),
    )


SHOT = Upload("image001.png", "image/png", 4, "0", b"\x89PNG", "image001.png@01D9A1B2.C3D4E5F0")


def test_an_inline_image_is_shown_where_the_mail_showed_it(jira, key):
    jira.answer("POST", "/rest/api/2/issue", "issue_create", status=201)
    jira.answer("POST", "/rest/api/2/issue/ED-24/attachments", "issue_attachments")
    text = "Broken [here]!\n[cid:image001.png@01D9A1B2.C3D4E5F0]\n[cid:gone@x]"
    new = NewIssue("ED", "Printer", text, key, attachments=(SHOT,))
    jira.adapter().create_issue(new)
    assert jira.lines[0][3]["fields"]["description"] == (
        "Broken \\[here\\]\\!\n!image001.png|thumbnail!\n\\[cid:gone@x\\]"
    )
    assert jira.lines[1][:2] == ("POST", "/rest/api/2/issue/ED-24/attachments")
    [part] = jira.sent[1].body
    assert (part.filename, part.content_type) == ("image001.png", "image/png")


def test_an_inline_image_in_a_comment_and_a_name_the_markup_cannot_hold(jira, key):
    jira.answer("POST", "/rest/api/2/issue/ED-1/comment", "issue_comment_create", status=201)
    jira.answer("POST", "/rest/api/2/issue/ED-1/attachments", "issue_attachments")
    odd = Upload("a|b.png", "image/png", 4, "0", b"\x89PNG", "odd@x")
    new = NewComment("[image: image001.png] [image: odd]", key, attachments=(SHOT, odd))
    jira.adapter(service_desks={"SD": 10}).add_comment(IssueRef("jira", "ED-1"), new)
    assert jira.lines[0][3]["body"] == "!image001.png|thumbnail! \\[image: odd\\]"


def without_fields(jira, *ids):
    answer = jira.fixture("issue_createmeta_fields")
    listed = "fields" if jira.cloud else "values"
    answer[listed] = [f for f in answer[listed] if f["fieldId"] not in ids]
    answer["total"] = len(answer[listed])
    return answer


def test_fields_the_create_screen_lacks_are_not_sent(jira, key, caplog):
    jira.answer("GET", "/rest/api/2/field", "field")
    prime_screen(jira, without_fields(jira, "priority", "customfield_10050"))
    jira.answer("POST", "/rest/api/2/issue", "issue_create", status=201)
    new = NewIssue(
        "ED", "s", "t", key, priority="High", labels=("a b",), custom_fields={"Order": "O-1"}
    )
    with caplog.at_level("WARNING", logger="tracker_mail.jira"):
        jira.adapter().create_issue(new)
    assert jira.lines == [
        ("GET", "/rest/api/2/field", {}, None),
        ("GET", "/rest/api/2/project/ED", {}, None),
        SCREEN_TASK,
        (
            "POST",
            "/rest/api/2/issue",
            {},
            {
                "fields": {
                    "project": {"key": "ED"},
                    "issuetype": {"name": "Task"},
                    "summary": "s",
                    "labels": ["a-b"],
                    "description": "t",
                },
                "properties": key_property(key),
            },
        ),
    ]
    assert "ED Task: not on the create screen, left out: customfield_10050, priority" in (
        caplog.text
    )


def test_the_create_screen_is_read_once_per_issue_type(jira, key):
    prime_screen(jira)
    jira.answer("POST", "/rest/api/2/issue", "issue_create", status=201)
    jira.answer("POST", "/rest/api/2/issue", "issue_create", status=201)
    adapter = jira.adapter()
    adapter.create_issue(NewIssue("ED", "s", "t", key, labels=("x",)))
    adapter.create_issue(NewIssue("ED", "s", "t", key, labels=("y",)))
    assert [line[:2] for line in jira.lines] == [
        ("GET", "/rest/api/2/project/ED"),
        SCREEN_TASK[:2],
        ("POST", "/rest/api/2/issue"),
        ("POST", "/rest/api/2/issue"),
    ]
