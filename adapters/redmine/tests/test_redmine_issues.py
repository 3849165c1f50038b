"""create_issue against the real Redmine: every field, as the sender, and every refusal."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from typing import Any

import pytest
import requests
from tracker_mail_plugin_redmine import RedmineAdapter

from tests.servers.redmine import Redmine
from tracker_mail_plugin import (
    ConfigurationError,
    IssueRef,
    NewComment,
    NewIssue,
    PermanentError,
    Secret,
    Upload,
    UserRef,
)

pytestmark = pytest.mark.servers


def sender(redmine: Redmine, login: str) -> UserRef:
    return UserRef(str(redmine.setup["users"][login]), login, login.title(), f"{login}@example.com")


def issue(redmine: Redmine, ref: IssueRef) -> dict[str, Any]:
    params = {"include": "attachments,watchers,journals"}
    return redmine.api("GET", f"/issues/{ref.key}.json", params=params)["issue"]


def issue_count(redmine: Redmine) -> int:
    return redmine.api("GET", "/issues.json", params={"status_id": "*"})["total_count"]


def download(redmine: Redmine, url: str) -> bytes:
    answer = requests.get(url, headers={"X-Redmine-API-Key": redmine.admin_key}, timeout=30)
    answer.raise_for_status()
    return answer.content


def new(**fields: Any) -> NewIssue:
    values = {
        "project": "support",
        "title": "Printer on fire",
        "text": "It smokes.",
        "idempotency_key": "tm-issue000000000000001",
    }
    return NewIssue(**(values | fields))


def test_issue_with_every_field_as_the_sender(redmine: Redmine, adapter: RedmineAdapter) -> None:
    photo = bytes(range(256)) * 3000  # 768 kB of every byte value
    ref = adapter.create_issue(
        new(
            issue_type="Bug",
            priority="high",  # names are matched without regard to case
            labels=("email", "Hardware"),  # Redmine has no labels: Hardware is a category
            assignee="Manny Manager",
            custom_fields={"Order": "ORD-17"},
            private=True,
            watchers=(sender(redmine, "manny"), sender(redmine, "carol")),
            reporter=sender(redmine, "alice"),
            attachments=(
                Upload.from_bytes("photo.bin", photo, "application/octet-stream"),
                Upload.from_bytes("notes ü.txt", "grüße\n".encode(), "text/plain"),
            ),
        )
    )
    assert (ref.adapter, ref.project, ref.url) == (
        "redmine",
        "support",
        f"{redmine.url}/issues/{ref.key}",
    )
    data = issue(redmine, ref)
    assert data["subject"] == "Printer on fire"
    assert data["description"].startswith("It smokes.")
    assert (data["tracker"]["name"], data["priority"]["name"], data["category"]["name"]) == (
        "Bug",
        "High",
        "Hardware",
    )
    assert (data["author"]["name"], data["assigned_to"]["name"]) == (
        "Alice Example",
        "Manny Manager",
    )
    assert data["is_private"] is True
    assert {f["name"]: f["value"] for f in data["custom_fields"]}["Order"] == "ORD-17"
    assert sorted(w["name"] for w in data["watchers"]) == ["Carol Commenter", "Manny Manager"]
    files = {a["filename"]: a for a in data["attachments"]}
    assert sorted(files) == ["notes ü.txt", "photo.bin"]
    assert (
        hashlib.sha256(download(redmine, files["photo.bin"]["content_url"])).digest()
        == hashlib.sha256(photo).digest()
    )
    assert download(redmine, files["notes ü.txt"]["content_url"]) == "grüße\n".encode()
    assert {a["author"]["name"] for a in data["attachments"]} == {"Alice Example"}


def test_request_goes_into_the_request_tracker(redmine: Redmine, adapter: RedmineAdapter) -> None:
    ref = adapter.create_issue(new(request=True, reporter=sender(redmine, "alice")))
    assert issue(redmine, ref)["tracker"]["name"] == "Support"
    named = adapter.create_issue(
        new(request=True, request_type="Feature", idempotency_key="tm-issue000000000000002")
    )
    assert issue(redmine, named)["tracker"]["name"] == "Feature"


def test_rule_types_map_to_trackers(redmine: Redmine, make_adapter: Any) -> None:
    adapter = make_adapter(tracker_names={"Task": "Feature"}, request_tracker="Bug")
    assert (
        issue(redmine, adapter.create_issue(new(issue_type="Task")))["tracker"]["name"] == "Feature"
    )
    request = adapter.create_issue(new(request=True, idempotency_key="tm-issue000000000000002"))
    assert issue(redmine, request)["tracker"]["name"] == "Bug"


def test_without_a_reporter_the_api_account_is_the_author(
    redmine: Redmine, adapter: RedmineAdapter
) -> None:
    data = issue(redmine, adapter.create_issue(new(text="From: Stranger <s@example.org>\n\nHelp")))
    assert data["author"]["name"] == "Redmine Admin"
    assert data["description"].startswith("From: Stranger <s@example.org>")  # written by the core


def test_project_by_id_and_the_default_tracker(redmine: Redmine, adapter: RedmineAdapter) -> None:
    ref = adapter.create_issue(new(project=str(redmine.setup["projects"]["nofiles"])))
    data = issue(redmine, ref)
    assert (ref.project, data["project"]["name"], data["tracker"]["name"]) == (
        "nofiles",
        "No Files",
        "Bug",
    )


def test_assignee_by_address_or_login(redmine: Redmine, adapter: RedmineAdapter) -> None:
    by_address = adapter.create_issue(new(assignee="erin@example.com"))
    by_login = adapter.create_issue(new(assignee="erin", idempotency_key="tm-issue000000000000002"))
    assert issue(redmine, by_address)["assigned_to"]["name"] == "Erin Reporter"
    assert issue(redmine, by_login)["assigned_to"]["name"] == "Erin Reporter"


def test_without_an_admin_key_the_sender_is_named_in_the_text(
    redmine: Redmine, make_adapter: Any
) -> None:
    adapter = make_adapter(
        api_key=Secret(value=redmine.nora_key), users={"alice@example.com": "alice"}
    )
    alice = adapter.find_user("alice@example.com")
    data = issue(redmine, adapter.create_issue(new(reporter=alice)))
    assert data["author"]["name"] == "Nora Bot"
    assert data["description"].startswith("From: alice <alice@example.com>\r\n\r\nIt smokes.")


def test_sender_without_watcher_permission_still_gets_the_watchers(
    redmine: Redmine, adapter: RedmineAdapter
) -> None:
    # Erin (Reporter) may not add watchers: Redmine would drop them silently, so the
    # adapter adds them afterwards as the API account.
    data = issue(
        redmine,
        adapter.create_issue(
            new(reporter=sender(redmine, "erin"), watchers=(sender(redmine, "manny"),))
        ),
    )
    assert data["author"]["name"] == "Erin Reporter"
    assert [w["name"] for w in data["watchers"]] == ["Manny Manager"]


def test_a_file_redmine_refuses_is_named_in_the_text(
    redmine: Redmine, adapter: RedmineAdapter
) -> None:
    big = Upload.from_bytes("huge.bin", b"\0" * (1024 * 1024 + 1))  # over the 1 MB limit set up
    small = Upload.from_bytes("small.txt", b"ok", "text/plain")
    data = issue(redmine, adapter.create_issue(new(attachments=(big, small))))
    assert [a["filename"] for a in data["attachments"]] == ["small.txt"]
    assert "Not attached: huge.bin (Redmine refused to upload huge.bin" in data["description"]
    assert "exceeds the maximum allowed file size" in data["description"]


# -- refusals: nothing is created -------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"issue_type": "Epic"},
            r"no tracker 'Epic' in project support \(there is: Bug, Feature, Support\)",
        ),
        (
            {"priority": "Hihg"},
            r"no priority 'Hihg' \(there is: Low, Normal, High, Urgent, Immediate\)",
        ),
        ({"custom_fields": {"Colour": "red"}}, r"no issue custom field 'Colour'"),
        (
            {"custom_fields": {"Category": "Plumbing"}},
            r"no issue category 'Plumbing'.*Hardware, Software",
        ),
        (
            {"assignee": "Bob Outsider"},
            r"cannot assign to 'Bob Outsider': no member of project support",
        ),
        (
            {"custom_fields": {"Order": "17"}},
            r"Redmine refused to create an issue in project support: Order is invalid",
        ),
    ],
)
def test_values_redmine_does_not_know_are_refused(
    redmine: Redmine, adapter: RedmineAdapter, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(PermanentError, match=message):
        adapter.create_issue(new(**fields))
    assert issue_count(redmine) == 0


def test_a_tracker_the_senders_role_may_not_use_is_refused_not_swapped(
    redmine: Redmine, adapter: RedmineAdapter
) -> None:
    # Dave may add Bugs only. Redmine would silently file a Feature as a Bug; the adapter
    # notices, deletes what Redmine made and refuses.
    dave = sender(redmine, "dave")
    with pytest.raises(
        PermanentError, match=r"would not file it as tracker 'Feature'.*made it 'Bug'"
    ):
        adapter.create_issue(new(issue_type="Feature", reporter=dave))
    assert issue_count(redmine) == 0
    assert (
        issue(redmine, adapter.create_issue(new(issue_type="Bug", reporter=dave)))["tracker"][
            "name"
        ]
        == "Bug"
    )


def test_private_issue_from_a_sender_who_may_not_make_one_is_refused(
    redmine: Redmine, adapter: RedmineAdapter
) -> None:
    with pytest.raises(PermanentError, match="may not make issues private in support"):
        adapter.create_issue(new(private=True, reporter=sender(redmine, "erin")))
    assert issue_count(redmine) == 0


def test_redmines_own_refusal_is_permanent_with_its_messages(
    redmine: Redmine, adapter: RedmineAdapter
) -> None:
    # The core asks can() first; Redmine's own refusal is the backstop. A closed project
    # is not a target for new issues, so Redmine answers 422 with its validation messages.
    expected = r"refused to create an issue in project closed: Project cannot be blank"
    with pytest.raises(PermanentError, match=expected):
        adapter.create_issue(new(project="closed", reporter=sender(redmine, "alice")))
    assert issue_count(redmine) == 0


def test_unknown_project_is_a_configuration_error(adapter: RedmineAdapter) -> None:
    with pytest.raises(ConfigurationError, match="no project 'nowhere'"):
        adapter.create_issue(new(project="nowhere"))


def test_a_sender_without_an_account_is_refused(adapter: RedmineAdapter) -> None:
    ghost = UserRef("ghost", "ghost", "Ghost", "ghost@example.org")
    with pytest.raises(PermanentError, match="no active account for ghost"):
        adapter.create_issue(new(reporter=ghost))


INLINE_CID = "image001.png@01DA1234.56789AB0"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")


def inline(name: str, content_id: str) -> Upload:
    return dataclasses.replace(Upload.from_bytes(name, PNG, "image/png"), content_id=content_id)


@pytest.mark.parametrize(
    ("formatting", "description", "note"),
    [
        # Textile sees an image only after a space and before a space or punctuation: the
        # adapter adds a space where the mail had none.
        ("textile", "Look: !screen%20shot.png!, there", "Again: !detail.png!"),
        ("markdown", "Look:![](screen%20shot.png), there", "Again: ![](detail.png)"),
        ("common_mark", "Look:![](screen%20shot.png), there", "Again: ![](detail.png)"),
    ],
)
def test_an_inline_image_is_shown_where_the_sender_put_it(
    redmine: Redmine, make_adapter: Any, formatting: str, description: str, note: str
) -> None:
    redmine.set_text_formatting(formatting)
    adapter = make_adapter(text_formatting=formatting)
    shot = inline("screen shot.png", INLINE_CID)
    text = f"Look:[cid:{INLINE_CID}], there"  # as Outlook writes it, no space around
    ref = adapter.create_issue(new(text=text, attachments=(shot,)))
    detail = inline("detail.png", "detail@example.com")
    again = NewComment("Again: [image: detail]", "tm-issue000000000000002", attachments=(detail,))
    adapter.add_comment(ref, again)

    data = issue(redmine, ref)
    assert data["description"].splitlines()[0] == description
    assert data["journals"][-1]["notes"].splitlines()[0] == note
    ids = {a["filename"]: a["id"] for a in data["attachments"]}
    page = redmine.browser().get(f"{redmine.url}/issues/{ref.key}", timeout=30).text
    shown = " ".join(re.findall(r'<img[^>]* src="([^"]*/attachments/download/[^"]*)"', page))
    assert f"/attachments/download/{ids['screen shot.png']}/screen%20shot.png" in shown
    assert f"/attachments/download/{ids['detail.png']}/detail.png" in shown


PIXEL = "http://127.0.0.1:9/pixel.png"  # a server of the sender's: readers must not fetch it


@pytest.mark.parametrize("formatting", ["textile", "markdown", "common_mark"])
def test_a_senders_remote_images_and_mentions_are_not_rendered(
    redmine: Redmine, make_adapter: Any, formatting: str
) -> None:
    redmine.set_text_formatting(formatting)
    adapter = make_adapter(text_formatting=formatting)
    text = f'Look !{PIXEL}! and ![]({PIXEL}) and <img src="{PIXEL}">\n\ncc @manny'
    ref = adapter.create_issue(new(text=text))
    adapter.add_comment(ref, NewComment(text, "tm-issue000000000000002"))

    page = redmine.browser().get(f"{redmine.url}/issues/{ref.key}", timeout=30).text
    assert "127.0.0.1:9/pixel.png" in page  # the text is there, readable
    assert re.findall(r"<img[^>]*127\.0\.0\.1:9[^>]*>", page) == []
    assert "user-mention" not in page  # Redmine 5 links (and notifies) a mentioned user
