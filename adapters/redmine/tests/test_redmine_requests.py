"""The exact requests the adapter sends, faked with ``responses`` (no server needed).

Canned answers are shaped like Redmine 5.0's (taken from the test rig's real answers, cut
down). Each test asserts method, path, query, JSON body and headers, including the API
key and X-Redmine-Switch-User, and that every request carries the configured timeout.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers
from tracker_mail_plugin_redmine import RedmineAdapter, RedmineConfig
from tracker_mail_plugin_redmine.client import Refused

from tracker_mail_plugin import (
    ConfigurationError,
    IssueRef,
    NewComment,
    NewIssue,
    PermanentError,
    RetryLater,
    Secret,
    UnknownOutcome,
    Upload,
    UserRef,
)

URL = "https://redmine.example.com"
KEY = "5f3a0c1d2e4b6a7980c1d2e3f4a5b6c7d8e9f001"
ADMIN = {
    "id": 1,
    "login": "admin",
    "admin": True,
    "firstname": "Redmine",
    "lastname": "Admin",
    "mail": "admin@example.com",
    "memberships": [],
}
ALICE = {
    "id": 5, "login": "alice", "admin": False, "firstname": "Alice", "lastname": "Example",
    "mail": "alice@example.com", "status": 1,
    "memberships": [{"id": 9, "project": {"id": 2, "name": "Support Desk"}, "roles": [{"id": 6, "name": "Mail user"}]}],
}  # fmt: skip
PROJECT = {
    "id": 2, "name": "Support Desk", "identifier": "support", "status": 1, "is_public": True,
    "inherit_members": False,
    "trackers": [{"id": 1, "name": "Bug"}, {"id": 2, "name": "Feature"}, {"id": 3, "name": "Support"}],
    "issue_categories": [{"id": 1, "name": "Hardware"}],
    "enabled_modules": [{"id": 1, "name": "issue_tracking"}, {"id": 2, "name": "files"}],
    "issue_custom_fields": [],
}  # fmt: skip
PROJECT_INCLUDES = {"include": "trackers,issue_categories,enabled_modules,issue_custom_fields"}
MAIL_USER = {
    "id": 6,
    "name": "Mail user",
    "permissions": [
        "view_issues",
        "add_issues",
        "add_issue_notes",
        "add_issue_watchers",
        "set_own_issues_private",
        "set_notes_private",
    ],
}
PRIORITIES = [
    {"id": 2, "name": "Normal", "is_default": True, "active": True},
    {"id": 3, "name": "High", "is_default": False, "active": True},
]


def adapter(**options: Any) -> RedmineAdapter:
    values = {"url": URL, "api_key": Secret(value=KEY), "timeout": 7.5} | options
    return RedmineAdapter(RedmineConfig.model_validate(values))


def key_header(login: str | None = None) -> Any:
    wanted = {"X-Redmine-API-Key": KEY} | ({"X-Redmine-Switch-User": login} if login else {})
    return matchers.header_matcher(wanted)


def calls() -> list[tuple[str, str]]:
    return [(c.request.method, c.request.path_url) for c in responses.calls]


def prime_issue_42() -> dict[str, Any]:
    """Issue #42 in the support project, as the administrator reads it; returns it."""
    issue = {
        "id": 42,
        "project": {"id": 2, "name": "Support Desk"},
        "tracker": {"id": 1, "name": "Bug"},
        "status": {"id": 1, "name": "New", "is_closed": False},
    }
    responses.get(
        f"{URL}/issues/42.json", json={"issue": issue}, match=[matchers.query_param_matcher({})]
    )
    responses.get(f"{URL}/projects/2.json", json={"project": PROJECT})
    responses.get(f"{URL}/users/current.json", json={"user": ADMIN})
    return issue


ALICE_REF = UserRef("5", "alice", "Alice Example", "alice@example.com")


def prime_sender() -> None:
    responses.get(
        f"{URL}/users/current.json",
        json={"user": ADMIN},
        match=[matchers.query_param_matcher({"include": "memberships"}), key_header()],
    )
    responses.get(
        f"{URL}/projects/support.json",
        json={"project": PROJECT},
        match=[matchers.query_param_matcher(PROJECT_INCLUDES)],
    )
    responses.get(
        f"{URL}/users/5.json",
        json={"user": ALICE},
        match=[matchers.query_param_matcher({"include": "memberships"})],
    )
    responses.get(f"{URL}/roles/6.json", json={"role": MAIL_USER})


@responses.activate
def test_create_issue_as_the_sender() -> None:
    prime_sender()
    responses.get(
        f"{URL}/enumerations/issue_priorities.json", json={"issue_priorities": PRIORITIES}
    )
    responses.post(
        f"{URL}/uploads.json",
        json={"upload": {"id": 11, "token": "11.abcdef"}},
        status=201,
        match=[
            matchers.query_param_matcher({"filename": "log.txt"}),
            key_header("alice"),
            matchers.header_matcher({"Content-Type": "application/octet-stream"}),
        ],
    )
    expected_issue = {
        "project_id": 2, "tracker_id": 1, "priority_id": 3, "category_id": 1,
        "subject": "Printer on fire", "is_private": True, "watcher_user_ids": [7],
        "uploads": [{"token": "11.abcdef", "filename": "log.txt", "content_type": "text/plain"}],
        "description": "It smokes.\n\n<!-- tracker-mail tm-aaaaaaaaaaaaaaaaaaaa -->",
    }  # fmt: skip
    created = {
        "id": 42,
        "tracker": {"id": 1, "name": "Bug"},
        "is_private": True,
        "custom_fields": [],
    }
    responses.post(
        f"{URL}/issues.json",
        json={"issue": created},
        status=201,
        match=[matchers.json_params_matcher({"issue": expected_issue}), key_header("alice")],
    )
    new = NewIssue(
        "support", "Printer on fire", "It smokes.", "tm-aaaaaaaaaaaaaaaaaaaa", issue_type="Bug",
        priority="High", labels=("Hardware",), private=True,
        watchers=(UserRef("7", "manny", "Manny", "manny@example.com"),),
        reporter=UserRef("5", "alice", "Alice Example", "alice@example.com"),
        attachments=(Upload.from_bytes("log.txt", b"line 1\n", "text/plain"),),
    )  # fmt: skip
    ref = adapter().create_issue(new)
    assert ref == IssueRef("redmine", "42")
    assert (ref.url, ref.project) == (f"{URL}/issues/42", "support")
    assert calls() == [
        (
            "GET",
            "/projects/support.json?include=trackers%2Cissue_categories%2Cenabled_modules%2Cissue_custom_fields",
        ),
        ("GET", "/users/current.json?include=memberships"),
        ("GET", "/users/5.json?include=memberships"),
        ("GET", "/roles/6.json"),
        ("GET", "/enumerations/issue_priorities.json"),
        ("POST", "/uploads.json?filename=log.txt"),
        ("POST", "/issues.json"),
    ]
    upload = responses.calls[5].request
    body = upload.body.read() if hasattr(upload.body, "read") else upload.body
    assert body == b"line 1\n"  # the bytes as they are, streamed from the Upload
    assert {c.request.req_kwargs["timeout"] for c in responses.calls} == {7.5}
    # verify=True lets requests use the system bundle (or REQUESTS_CA_BUNDLE): never off
    assert all(c.request.req_kwargs["verify"] not in (False, None) for c in responses.calls)


@responses.activate
def test_note_without_an_author_sends_no_switch_user_header() -> None:
    issue = prime_issue_42()
    notes = "Thanks.\n\n<!-- tracker-mail tm-bbbbbbbbbbbbbbbbbbbb -->"
    body = {"issue": {"notes": notes, "private_notes": False, "uploads": []}}
    responses.put(
        f"{URL}/issues/42.json",
        status=204,
        match=[matchers.json_params_matcher(body), key_header()],
    )
    journals = issue | {
        "journals": [{"id": 3, "notes": "older"}, {"id": 8, "notes": notes, "private_notes": False}]
    }
    responses.get(
        f"{URL}/issues/42.json",
        json={"issue": journals},
        match=[matchers.query_param_matcher({"include": "journals"})],
    )
    made = adapter().add_comment(
        IssueRef("redmine", "42"), NewComment("Thanks.", "tm-bbbbbbbbbbbbbbbbbbbb")
    )
    assert made.id == "8"
    put = next(c.request for c in responses.calls if c.request.method == "PUT")
    assert "X-Redmine-Switch-User" not in put.headers


@responses.activate
def test_find_user_asks_for_active_users_and_takes_only_the_exact_address() -> None:
    responses.get(f"{URL}/users/current.json", json={"user": ADMIN})
    similar = [ALICE | {"id": 6, "login": "xalice", "mail": "xalice@example.com"}, ALICE]
    more = [
        ALICE | {"id": 100 + n, "login": f"u{n}", "mail": f"u{n}@example.com"} for n in range(98)
    ]
    # Over a page of active accounts: each sender is looked up by address.
    responses.get(
        f"{URL}/users.json",
        json={"users": similar + more, "total_count": 101},
        match=[matchers.query_param_matcher({"status": "1", "limit": "100"})],
    )
    responses.get(
        f"{URL}/users.json",
        json={"users": similar, "total_count": 2},
        match=[
            matchers.query_param_matcher(
                {"name": "alice@example.com", "status": "1", "limit": "100"}
            )
        ],
    )
    tracker = adapter()
    assert tracker.find_user("ALICE@example.com") == UserRef(
        "5", "alice", "Alice Example", "alice@example.com"
    )
    assert [c for c in calls() if c[1].startswith("/users.json")] == [
        ("GET", "/users.json?status=1&limit=100"),  # the whole list, once: too long
        ("GET", "/users.json?name=alice%40example.com&status=1&limit=100"),
    ]


@responses.activate
def test_a_short_list_of_accounts_is_read_once_and_senders_found_in_it() -> None:
    responses.get(f"{URL}/users/current.json", json={"user": ADMIN})
    similar = [ALICE | {"id": 6, "login": "xalice", "mail": "xalice@example.com"}, ALICE]
    responses.get(f"{URL}/users.json", json={"users": similar, "total_count": 2})
    tracker = adapter()
    assert tracker.find_user("ALICE@example.com") == UserRef(
        "5", "alice", "Alice Example", "alice@example.com"
    )
    assert tracker.find_user("xalice@example.com") == UserRef(
        "6", "xalice", "Alice Example", "xalice@example.com"
    )
    assert tracker.find_user("lice@example.com") is None  # a substring is no match
    assert calls() == [
        ("GET", "/users/current.json?include=memberships"),
        ("GET", "/users.json?status=1&limit=100"),
    ]


@responses.activate
def test_find_by_key_searches_then_confirms() -> None:
    key = "tm-cccccccccccccccccccc"
    responses.get(
        f"{URL}/search.json",
        json={
            "results": [{"id": 3, "type": "issue"}, {"id": 4, "type": "issue-closed"}],
            "total_count": 2,
        },
        match=[matchers.query_param_matcher({"q": key, "issues": "1", "limit": "25"})],
    )
    responses.get(
        f"{URL}/issues/3.json",
        json={"issue": {"id": 3, "description": f"quoted {key}", "journals": []}},
    )
    responses.get(
        f"{URL}/issues/4.json",
        json={
            "issue": {
                "id": 4,
                "description": "x",
                "journals": [{"id": 12, "notes": f"y\n\n<!-- tracker-mail {key} -->"}],
            }
        },
    )
    found = adapter().find_by_key(key)
    assert (found.issue.key, found.id) == ("4", "12")


@responses.activate
def test_find_by_key_with_the_custom_field_checks_the_value() -> None:
    key = "tm-dddddddddddddddddddd"
    fields = [{"id": 2, "name": "Mail key", "customized_type": "issue", "trackers": []}]
    responses.get(f"{URL}/custom_fields.json", json={"custom_fields": fields})
    # Redmine ignores a filter on a field not "used as a filter" and lists everything:
    listed = [
        {"id": 1, "custom_fields": [{"id": 2, "value": "tm-other"}]},
        {"id": 2, "custom_fields": [{"id": 2, "value": key}]},
    ]
    responses.get(
        f"{URL}/issues.json",
        json={"issues": listed},
        match=[matchers.query_param_matcher({"status_id": "*", "cf_2": key, "limit": "5"})],
    )
    assert adapter(idempotency_field="Mail key").find_by_key(key) == IssueRef("redmine", "2")


@pytest.mark.parametrize(
    ("status", "headers", "expected", "message"),
    [
        (503, {"Retry-After": "30"}, RetryLater, "answered 503"),
        (429, {"Retry-After": "5"}, RetryLater, "slow down"),
        (401, {}, ConfigurationError, "refused the API key"),
        (403, {}, ConfigurationError, "may not look up users"),
        (412, {}, PermanentError, "412"),
    ],
)
@responses.activate
def test_answers_to_a_read(
    status: int, headers: dict[str, str], expected: type[Exception], message: str
) -> None:
    responses.get(f"{URL}/users/current.json", json={"user": ADMIN})
    responses.get(f"{URL}/users.json", status=status, headers=headers, json={})
    with pytest.raises(expected, match=message) as caught:
        adapter().find_user("a@example.com")
    if status in (503, 429):
        assert caught.value.retry_after == float(headers["Retry-After"])


@responses.activate
def test_a_write_answered_by_a_gateway_error_is_unknown() -> None:
    prime_sender()
    responses.post(f"{URL}/issues.json", status=502, body="Bad Gateway")
    with pytest.raises(UnknownOutcome, match="answered 502 to: create an issue in project support"):
        adapter().create_issue(NewIssue("support", "t", "x", "tm-eeeeeeeeeeeeeeeeeeee"))


@responses.activate
def test_a_page_that_is_not_the_api_is_a_configuration_error() -> None:
    responses.get(
        f"{URL}/users/current.json", body="<html>Sign in</html>", content_type="text/html"
    )
    with pytest.raises(ConfigurationError, match="does not answer like Redmine's REST API"):
        adapter().find_user("a@example.com")


@responses.activate
def test_validation_messages_are_kept() -> None:
    prime_sender()
    errors = {"errors": ["Subject cannot be blank", "Tracker is not included in the list"]}
    responses.post(f"{URL}/issues.json", status=422, json=errors)
    with pytest.raises(
        PermanentError, match="Subject cannot be blank, Tracker is not included in the list"
    ):
        adapter().create_issue(NewIssue("support", "t", "x", "tm-ffffffffffffffffffff"))


@responses.activate
def test_secrets_stay_out_of_requests_urls_and_errors() -> None:
    responses.get(f"{URL}/users/current.json", status=500, body=json.dumps({"key": KEY}))
    with pytest.raises(RetryLater) as caught:
        adapter().check()
    assert KEY not in str(caught.value)
    assert KEY not in responses.calls[0].request.url


@responses.activate
def test_a_sender_is_looked_up_once_per_run_found_or_not() -> None:
    responses.get(f"{URL}/users/current.json", json={"user": ADMIN})
    responses.get(f"{URL}/users.json", json={"users": [ALICE], "total_count": 1})
    tracker = adapter()
    for _ in range(3):
        assert tracker.find_user("alice@example.com") == UserRef(
            "5", "alice", "Alice Example", "alice@example.com"
        )
        assert tracker.find_user("Stranger@Example.org") is None
    assert calls() == [
        ("GET", "/users/current.json?include=memberships"),
        ("GET", "/users.json?status=1&limit=100"),  # all active accounts: one page
    ]


@responses.activate
def test_an_account_made_for_a_sender_is_known_without_asking_again() -> None:
    responses.get(f"{URL}/users/current.json", json={"user": ADMIN})
    responses.get(f"{URL}/projects/support.json", json={"project": PROJECT})
    responses.get(f"{URL}/roles.json", json={"roles": [{"id": 6, "name": "Reporter"}]})
    responses.get(f"{URL}/users.json", json={"users": [], "total_count": 0})
    sam = {"id": 12, "login": "sam@stranger.example", "firstname": "Sam", "lastname": "Stranger",
           "mail": "sam@stranger.example", "status": 1, "memberships": []}  # fmt: skip
    responses.post(f"{URL}/users.json", json={"user": sam}, status=201)
    responses.get(f"{URL}/users/12.json", json={"user": sam})
    responses.post(f"{URL}/projects/2/memberships.json", json={"membership": {}}, status=201)
    tracker = adapter()
    assert tracker.find_user("sam@stranger.example") is None
    made = tracker.create_user("sam@stranger.example", "Sam Stranger", "support")
    looked_up = len(responses.calls)
    assert tracker.find_user("sam@stranger.example") == made
    assert len(responses.calls) == looked_up  # the new account came from memory


@responses.activate
def test_a_reply_reuses_the_issue_read_to_find_it() -> None:
    issue = prime_issue_42()
    responses.put(f"{URL}/issues/42.json", status=204)
    notes = "Thanks.\n\n<!-- tracker-mail tm-cccccccccccccccccccc -->"
    journals = issue | {"journals": [{"id": 8, "notes": notes, "private_notes": False}]}
    responses.get(
        f"{URL}/issues/42.json",
        json={"issue": journals},
        match=[matchers.query_param_matcher({"include": "journals"})],
    )
    tracker = adapter()
    state = tracker.get_issue(IssueRef("redmine", "42"))
    assert state is not None
    tracker.add_comment(state.ref, NewComment("Thanks.", "tm-cccccccccccccccccccc"))
    assert [c for c in calls() if c[1].startswith("/issues/")] == [
        ("GET", "/issues/42.json"),  # get_issue; add_comment did not read it again
        ("PUT", "/issues/42.json"),
        ("GET", "/issues/42.json?include=journals"),  # the note read back, for its id
    ]


def test_proxy_settings_are_read_once_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    bundle = tmp_path / "company-ca.pem"
    bundle.write_text("x")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    session = adapter()._client._connect()
    assert session.trust_env is False  # requests no longer walks os.environ per request
    assert session.proxies["https"] == "http://proxy.example:3128"
    assert session.verify == str(bundle)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # honoured as requests would
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    local = adapter(url="http://127.0.0.1:3000")._client._connect()
    assert "http" not in local.proxies


def test_the_session_never_retries_and_carries_the_key() -> None:
    session = adapter()._client._connect()
    assert session.get_adapter(URL).max_retries.total == 0  # a retried POST is a duplicate
    assert session.headers["X-Redmine-API-Key"] == KEY


@pytest.mark.parametrize(
    ("status", "expected", "message"),
    [
        (413, PermanentError, r"too large for Redmine or its proxy \(413\)"),
        (403, Refused, r"Redmine does not let alice create an issue in project support \(403\)"),
        (412, PermanentError, r"no active account 'alice' to act as \(412\)"),
        (301, ConfigurationError, "redirects"),
    ],
)
@responses.activate
def test_redmine_hooks_for_a_write_as_a_sender(
    status: int, expected: type[Exception], message: str
) -> None:
    prime_sender()
    responses.post(f"{URL}/issues.json", status=status, headers={"Location": f"{URL}/x"})
    with pytest.raises(expected, match=message) as caught:
        adapter().create_issue(
            NewIssue("support", "t", "x", "tm-gggggggggggggggggggg", reporter=ALICE_REF)
        )
    assert type(caught.value) is expected


@responses.activate
def test_threads_starting_together_read_the_api_account_once() -> None:
    def slow_answer(request: Any) -> tuple[int, dict[str, str], str]:
        time.sleep(0.05)  # the others ask meanwhile
        return 200, {}, json.dumps({"user": ADMIN})

    responses.add_callback(responses.GET, f"{URL}/users/current.json", callback=slow_answer)
    responses.get(f"{URL}/users.json", json={"users": [], "total_count": 0})
    tracker = adapter()
    start = threading.Barrier(4)

    def look_up(n: int) -> None:
        start.wait()
        tracker.find_user(f"sender{n}@example.org")

    threads = [threading.Thread(target=look_up, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [c for c in calls() if c[1].startswith("/users/current")] == [
        ("GET", "/users/current.json?include=memberships")
    ]
    assert len([c for c in calls() if c[1].startswith("/users.json")]) == 1


@responses.activate
def test_a_conflict_is_worth_retrying() -> None:
    responses.get(f"{URL}/issues/42.json", status=409)
    with pytest.raises(RetryLater, match=r"conflict \(409\) on: read issue #42"):
        adapter()._client.get("/issues/42.json", what="read issue #42")
