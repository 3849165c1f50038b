"""``attach_to_project`` on an inbox issue (once per key) and ``reopen_issue``."""

from __future__ import annotations

import copy

import pytest
from tracker_mail_plugin_jira.inbox import keyed_filename
from tracker_mail_plugin_jira.workflow import reopening

from tracker_mail_plugin import IssueRef, PermanentError, UnsupportedAction, Upload

READ = {"fields": "attachment", "properties": "tracker-mail-inbox"}
EML = Upload.from_bytes("Printer jams.eml", b"From: a@example.com\r\n\r\nHi\r\n", "message/rfc822")


def test_the_message_is_attached_to_the_inbox_issue_with_its_key(jira, key):
    jira.answer("GET", "/rest/api/2/issue/ED-5", "issue_fields_attachment")
    jira.answer("POST", "/rest/api/2/issue/ED-5/attachments", "issue_attachments")
    found = jira.adapter(inbox_issues={"ED": "ED-5"}).attach_to_project("ED", EML, key)
    assert found == "10001"
    assert [s.line[:3] for s in jira.sent] == [
        ("GET", "/rest/api/2/issue/ED-5", READ),
        ("POST", "/rest/api/2/issue/ED-5/attachments", {}),
    ]
    [part] = jira.sent[1].body
    assert (part.filename, part.content_type, part.content) == (
        f"Printer jams [{key}].eml",
        "message/rfc822",
        b"From: a@example.com\r\n\r\nHi\r\n",
    )


def test_a_file_already_carrying_the_key_is_not_uploaded_again(jira, key):
    answer = copy.deepcopy(jira.fixture("issue_fields_attachment"))
    answer["fields"]["attachment"][0] |= {"id": "10077", "filename": f"Printer jams [{key}].eml"}
    jira.answer("GET", "/rest/api/2/issue/ED-5", answer)
    assert jira.adapter(inbox_issues={"ED": "ED-5"}).attach_to_project("ED", EML, key) == "10077"
    assert jira.lines == [("GET", "/rest/api/2/issue/ED-5", READ, None)]


def inbox(jira, key: str, *, files: bool = True, following: str | None = None) -> dict:
    """ED-5's answer with (or without) its file, and the property naming the next inbox."""
    answer = copy.deepcopy(jira.fixture("issue_fields_attachment"))
    answer |= {"key": key, "self": f"{jira.base}/rest/api/2/issue/{key}"}
    if not files:
        answer["fields"]["attachment"] = []
    if following:
        answer["properties"] = {"tracker-mail-inbox": {"next": following}}
    return answer


def test_a_full_inbox_issue_rolls_over_to_a_new_one_that_later_runs_follow(jira, key):
    jira.answer("GET", "/rest/api/2/issue/ED-5", inbox(jira, "ED-5"))
    jira.answer("POST", "/rest/api/2/issue/ED-5/attachments", {"errorMessages": []}, status=413)
    jira.answer(
        "GET", "/rest/api/2/issue/ED-5/properties/tracker-mail-inbox", "error_404_issue", status=404
    )
    jira.answer("POST", "/rest/api/2/issue", "issue_create", status=201)
    jira.answer("PUT", "/rest/api/2/issue/ED-5/properties/tracker-mail-inbox", None, status=201)
    jira.answer("POST", "/rest/api/2/issue/ED-24/attachments", "issue_attachments")
    found = jira.adapter(inbox_issues={"ED": "ED-5"}).attach_to_project("ED", EML, key)
    assert found == "10001"
    assert [line[:2] for line in jira.lines] == [
        ("GET", "/rest/api/2/issue/ED-5"),
        ("POST", "/rest/api/2/issue/ED-5/attachments"),
        ("GET", "/rest/api/2/issue/ED-5/properties/tracker-mail-inbox"),
        ("POST", "/rest/api/2/issue"),
        ("PUT", "/rest/api/2/issue/ED-5/properties/tracker-mail-inbox"),
        ("POST", "/rest/api/2/issue/ED-24/attachments"),
    ]
    assert jira.lines[3][2:] == (
        {},
        {
            "fields": {
                "project": {"key": "ED"},
                "issuetype": {"name": "Task"},
                "summary": "Mail filed by tracker-mail (continued from ED-5)",
                "description": "ED-5 takes no more attachments; messages are filed here now.",
            },
            "properties": [{"key": "tracker-mail-inbox", "value": {"previous": "ED-5"}}],
        },
    )
    assert jira.lines[4][3] == {"next": "ED-24"}
    [part] = jira.sent[5].body
    assert part.filename == f"Printer jams [{key}].eml"


def test_the_next_run_follows_the_chain_and_finds_a_lost_answer_on_the_way(jira, key):
    jira.answer("GET", "/rest/api/2/issue/ED-5", inbox(jira, "ED-5", following="ED-24"))
    jira.answer("GET", "/rest/api/2/issue/ED-24", inbox(jira, "ED-24", files=False))
    jira.answer("POST", "/rest/api/2/issue/ED-24/attachments", "issue_attachments")
    adapter = jira.adapter(inbox_issues={"ED": "ED-5"})
    assert adapter.attach_to_project("ED", EML, key) == "10001"
    assert jira.lines == [
        ("GET", "/rest/api/2/issue/ED-5", READ, None),
        ("GET", "/rest/api/2/issue/ED-24", READ, None),
        ("POST", "/rest/api/2/issue/ED-24/attachments", {}, jira.sent[2].body),
    ]


def test_a_file_too_large_for_an_empty_inbox_is_permanent_without_a_new_issue(jira, key):
    jira.answer("GET", "/rest/api/2/issue/ED-5", inbox(jira, "ED-5", files=False))
    jira.answer("POST", "/rest/api/2/issue/ED-5/attachments", {"errorMessages": []}, status=413)
    adapter = jira.adapter(inbox_issues={"ED": "ED-5"})
    with pytest.raises(PermanentError, match="over its attachment size limit"):
        adapter.attach_to_project("ED", EML, key)
    assert [line[:2] for line in jira.lines] == [
        ("GET", "/rest/api/2/issue/ED-5"),
        ("POST", "/rest/api/2/issue/ED-5/attachments"),
    ]


def test_a_project_without_an_inbox_issue_is_unsupported(jira, key):
    with pytest.raises(UnsupportedAction, match="no inbox issue is configured for OPS") as caught:
        jira.adapter(inbox_issues={"ED": "ED-5"}).attach_to_project("OPS", EML, key)
    assert caught.value.capability == "attach_to_project"
    assert jira.sent == []


def test_keyed_file_names():
    assert keyed_filename("a.b.eml", "tm-x") == "a.b [tm-x].eml"
    assert keyed_filename("noext", "tm-x") == "noext [tm-x]"


def test_reopen_takes_the_transition_out_of_done(jira):
    jira.answer("GET", "/rest/api/2/issue/ED-1/transitions", "issue_transitions")
    jira.answer("POST", "/rest/api/2/issue/ED-1/transitions", None, status=204)
    jira.adapter().reopen_issue(IssueRef("jira", "ED-1"))
    assert jira.lines == [
        ("GET", "/rest/api/2/issue/ED-1/transitions", {}, None),
        ("POST", "/rest/api/2/issue/ED-1/transitions", {}, {"transition": {"id": "41"}}),
    ]


def test_reopen_without_a_way_back_is_permanent(jira):
    answer = copy.deepcopy(jira.fixture("issue_transitions"))
    answer["transitions"] = answer["transitions"][:1]  # only "Done"
    jira.answer("GET", "/rest/api/2/issue/ED-1/transitions", answer)
    with pytest.raises(PermanentError, match="no transition out of done"):
        jira.adapter().reopen_issue(IssueRef("jira", "ED-1"))
    assert jira.lines == [("GET", "/rest/api/2/issue/ED-1/transitions", {}, None)]


def test_reopening_prefers_a_reopen_name_then_any_open_target():
    to = {"done": {"statusCategory": {"key": "done"}}, "open": {"statusCategory": {"key": "new"}}}
    offered = [
        {"id": "1", "name": "Close", "to": to["done"]},
        {"id": "2", "name": "Start progress", "to": to["open"]},
        {"id": "3", "name": "Re-open / Reopen", "to": to["open"]},
    ]
    assert reopening(offered)["id"] == "3"
    assert reopening(offered[:2])["id"] == "2"
    assert reopening(offered[:1]) is None
