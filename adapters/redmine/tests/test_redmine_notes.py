"""add_comment and reopen_issue against the real Redmine (S2, S13, S14, S15)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from tracker_mail_plugin_redmine import RedmineAdapter

from tests.servers.redmine import Redmine
from tracker_mail_plugin import (
    CommentRef,
    IssueRef,
    NewComment,
    PermanentError,
    Secret,
    Upload,
    UserRef,
)

pytestmark = pytest.mark.servers


def sender(redmine: Redmine, login: str) -> UserRef:
    return UserRef(str(redmine.setup["users"][login]), login, login.title(), f"{login}@example.com")


def an_issue(redmine: Redmine, author: str = "manny", **fields: Any) -> IssueRef:
    """An issue made directly through the API, as ``author``."""
    body = {"issue": {"project_id": "support", "subject": "Broken", "description": "x"} | fields}
    headers = {"X-Redmine-Switch-User": author}
    data = redmine.api("POST", "/issues.json", json=body, headers=headers)["issue"]
    return IssueRef("redmine", str(data["id"]))


def journals(redmine: Redmine, ref: IssueRef) -> list[dict[str, Any]]:
    data = redmine.api("GET", f"/issues/{ref.key}.json", params={"include": "journals,attachments"})
    return data["issue"]["journals"]


def note(key: str = "tm-note0000000000000001", **fields: Any) -> NewComment:
    return NewComment(**({"text": "Still broken.", "idempotency_key": key} | fields))


def test_note_as_its_author_with_files(redmine: Redmine, adapter: RedmineAdapter) -> None:
    ref = an_issue(redmine)
    log = Upload.from_bytes("log.txt", b"line 1\nline 2\n", "text/plain")
    made = adapter.add_comment(ref, note(author=sender(redmine, "alice"), attachments=(log,)))
    [journal] = journals(redmine, ref)
    assert made == CommentRef(IssueRef("redmine", ref.key), str(journal["id"]))
    assert journal["user"]["name"] == "Alice Example"
    assert journal["notes"].startswith("Still broken.")
    assert journal["private_notes"] is False
    [detail] = journal["details"]
    assert (detail["property"], detail["new_value"]) == ("attachment", "log.txt")
    attachment = redmine.api("GET", f"/attachments/{detail['name']}.json")["attachment"]
    content = requests.get(
        attachment["content_url"], headers={"X-Redmine-API-Key": redmine.admin_key}, timeout=30
    )
    assert content.content == b"line 1\nline 2\n"


def test_private_note(redmine: Redmine, adapter: RedmineAdapter) -> None:
    ref = an_issue(redmine)
    adapter.add_comment(ref, note(author=sender(redmine, "alice"), private=True))
    assert journals(redmine, ref)[0]["private_notes"] is True


def test_private_note_from_a_sender_who_may_not_write_one_is_refused(
    redmine: Redmine, adapter: RedmineAdapter
) -> None:
    ref = an_issue(redmine)
    with pytest.raises(PermanentError, match="may not write private notes in support"):
        adapter.add_comment(ref, note(author=sender(redmine, "erin"), private=True))
    assert journals(redmine, ref) == []


def test_a_commenter_may_add_notes(redmine: Redmine, adapter: RedmineAdapter) -> None:
    ref = an_issue(redmine)
    adapter.add_comment(ref, note(author=sender(redmine, "carol")))
    assert journals(redmine, ref)[0]["user"]["name"] == "Carol Commenter"


def test_a_sender_who_cannot_see_the_issue_may_not_answer_it(
    redmine: Redmine, adapter: RedmineAdapter
) -> None:
    # Olga's role shows her own issues only; Redmine 5.0 would still take her note.
    ref = an_issue(redmine, author="manny")
    with pytest.raises(PermanentError, match=f"olga cannot see issue #{ref.key}"):
        adapter.add_comment(ref, note(author=sender(redmine, "olga")))
    assert journals(redmine, ref) == []
    own = an_issue(redmine, author="olga")
    adapter.add_comment(own, note(author=sender(redmine, "olga")))
    assert journals(redmine, own)[0]["user"]["name"] == "Olga Ownview"


def test_note_on_a_missing_issue(adapter: RedmineAdapter) -> None:
    with pytest.raises(PermanentError, match="no issue #999"):
        adapter.add_comment(IssueRef("redmine", "999"), note())


def test_without_an_admin_key_the_note_names_the_sender(
    redmine: Redmine, make_adapter: Any
) -> None:
    adapter = make_adapter(api_key=Secret(value=redmine.nora_key))
    ref = an_issue(redmine)
    adapter.add_comment(
        ref, note(author=UserRef("alice", "alice", "Alice Example", "alice@example.com"))
    )
    [journal] = journals(redmine, ref)
    assert journal["user"]["name"] == "Nora Bot"
    assert journal["notes"].startswith("From: Alice Example <alice@example.com>\n\nStill broken.")


@pytest.mark.parametrize(
    ("option", "status"), [({}, "New"), ({"reopen_status": "In Progress"}, "In Progress")]
)
def test_reopen_a_closed_issue(
    redmine: Redmine, make_adapter: Any, option: dict[str, str], status: str
) -> None:
    adapter = make_adapter(**option)
    ref = an_issue(redmine)
    redmine.api("PUT", f"/issues/{ref.key}.json", json={"issue": {"status_id": 5}})  # Closed
    assert adapter.get_issue(ref).closed
    adapter.reopen_issue(ref)
    state = adapter.get_issue(ref)
    assert not state.closed
    assert redmine.api("GET", f"/issues/{ref.key}.json")["issue"]["status"]["name"] == status
    adapter.reopen_issue(ref)  # an open issue is left alone
    assert len(journals(redmine, ref)) == 2  # closed, reopened
