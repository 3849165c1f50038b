"""Idempotency against the real Redmine: find_by_key, hidden markers, the custom-field mode."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import pytest
from tracker_mail_plugin_redmine import RedmineAdapter

from tests.servers.redmine import Redmine
from tracker_mail_plugin import CommentRef, IssueRef, NewComment, NewIssue

pytestmark = pytest.mark.servers


def new(key: str, **fields: Any) -> NewIssue:
    values = {
        "project": "support",
        "title": "Lost answer",
        "text": "Body *text*.",
        "idempotency_key": key,
    }
    return NewIssue(**(values | fields))


def shown(redmine: Redmine, ref: IssueRef) -> str:
    """The issue page's description and notes as a person sees them (tags stripped)."""
    page = redmine.browser().get(f"{redmine.url}/issues/{ref.key}", timeout=30).text
    parts = re.findall(r'<div[^>]*class="wiki"[^>]*>(.*?)</div>', page, re.S)
    text = re.sub(r"<!--.*?-->", "", " ".join(parts), flags=re.S)  # comments are not shown
    return re.sub(r"<[^>]+>", " ", text)


def test_issue_and_note_are_found_by_their_keys(adapter: RedmineAdapter) -> None:
    ref = adapter.create_issue(new("tm-keys00000000000000a1"))
    comment = adapter.add_comment(ref, NewComment("A reply.", "tm-keys00000000000000a2"))
    assert adapter.find_by_key("tm-keys00000000000000a1") == ref
    assert adapter.find_by_key("tm-keys00000000000000a2") == comment
    assert adapter.find_by_key("tm-keys00000000000000a3") is None


def test_a_fresh_adapter_finds_what_a_crashed_run_wrote(
    redmine: Redmine, make_adapter: Any
) -> None:
    ref = make_adapter().create_issue(new("tm-keys00000000000000b1"))
    assert make_adapter().find_by_key("tm-keys00000000000000b1") == ref


def test_a_search_hit_without_the_marker_is_not_taken(
    redmine: Redmine, adapter: RedmineAdapter
) -> None:
    # Someone quoting the key in an issue of their own must not make it "found".
    redmine.api(
        "POST",
        "/issues.json",
        json={
            "issue": {
                "project_id": "support",
                "subject": "tm-keys00000000000000c1",
                "description": "see tm-keys00000000000000c1",
            }
        },
    )
    assert adapter.find_by_key("tm-keys00000000000000c1") is None


def test_private_notes_are_found_too(redmine: Redmine, adapter: RedmineAdapter) -> None:
    ref = adapter.create_issue(new("tm-keys00000000000000d1"))
    alice = adapter.find_user("alice@example.com")
    comment = adapter.add_comment(
        ref, NewComment("Secret.", "tm-keys00000000000000d2", author=alice, private=True)
    )
    assert adapter.find_by_key("tm-keys00000000000000d2") == comment


@pytest.mark.parametrize("formatting", ["textile", "markdown", "common_mark"])
def test_the_marker_is_hidden_in_each_text_formatting(
    redmine: Redmine, make_adapter: Any, formatting: str
) -> None:
    redmine.set_text_formatting(formatting)
    adapter = make_adapter(text_formatting=formatting)
    ref = adapter.create_issue(new("tm-keys00000000000000e1"))
    adapter.add_comment(ref, NewComment("A reply.", "tm-keys00000000000000e2"))
    page = shown(redmine, ref)
    assert "Body" in page
    assert "A reply." in page
    assert "tm-keys" not in page
    assert "tracker-mail" not in page
    assert adapter.find_by_key("tm-keys00000000000000e2") is not None


def test_without_formatting_the_marker_is_one_short_line(
    redmine: Redmine, make_adapter: Any
) -> None:
    redmine.set_text_formatting("")
    adapter = make_adapter(text_formatting="plain")
    ref = adapter.create_issue(new("tm-keys00000000000000f1"))
    assert "(tracker-mail tm-keys00000000000000f1)" in shown(redmine, ref)
    assert adapter.find_by_key("tm-keys00000000000000f1") == ref


def test_idempotency_field_holds_the_key_instead_of_the_text(
    redmine: Redmine, make_adapter: Any
) -> None:
    adapter = make_adapter(idempotency_field="mail key")
    ref = adapter.create_issue(new("tm-keys00000000000000g1"))
    data = redmine.api("GET", f"/issues/{ref.key}.json")["issue"]
    assert data["description"] == "Body *text*."
    assert {f["name"]: f["value"] for f in data["custom_fields"]}[
        "Mail key"
    ] == "tm-keys00000000000000g1"
    assert adapter.find_by_key("tm-keys00000000000000g1") == ref
    # notes belong to no custom field: they carry the marker
    comment = adapter.add_comment(ref, NewComment("Reply.", "tm-keys00000000000000g2"))
    assert adapter.find_by_key("tm-keys00000000000000g2") == comment


def test_idempotency_field_not_enabled_for_the_tracker_falls_back_to_the_marker(
    redmine: Redmine, make_adapter: Any
) -> None:
    # The operator enabled the key field for Bugs only: Redmine drops its value on a Feature.
    field_id = redmine.setup["fields"]["mail_key"]
    with sqlite3.connect(redmine.database) as db:  # no REST API edits custom fields
        db.execute(
            "DELETE FROM custom_fields_trackers WHERE custom_field_id = ? AND tracker_id <> ?",
            (field_id, redmine.setup["trackers"]["bug"]),
        )
    adapter = make_adapter(idempotency_field="Mail key")
    ref = adapter.create_issue(new("tm-keys00000000000000h1", issue_type="Feature"))
    data = redmine.api("GET", f"/issues/{ref.key}.json")["issue"]
    assert "tracker-mail tm-keys00000000000000h1" in data["description"]
    assert adapter.find_by_key("tm-keys00000000000000h1") == ref


def test_found_references_carry_links(redmine: Redmine, adapter: RedmineAdapter) -> None:
    ref = adapter.create_issue(new("tm-keys00000000000000i1"))
    found = adapter.find_by_key("tm-keys00000000000000i1")
    assert isinstance(found, IssueRef)
    assert found.url == f"{redmine.url}/issues/{ref.key}"
    comment = adapter.add_comment(ref, NewComment("x", "tm-keys00000000000000i2"))
    assert isinstance(comment, CommentRef)
    assert comment.issue.url == found.url
