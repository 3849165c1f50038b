"""Translation into the core's error tree, and never a second POST."""

from __future__ import annotations

import socket

import pytest
import requests
from urllib3.exceptions import ProtocolError

from tracker_mail_plugin import (
    ConfigurationError,
    IssueRef,
    NewComment,
    NewIssue,
    PermanentError,
    RetryLater,
    UnknownOutcome,
    Unreachable,
)

REPO = "/repos/example-org/webshop"
ISSUE = IssueRef("github", "example-org/webshop#42")


def issue():
    return NewIssue("example-org/webshop", "Crash", "It crashed.", "tm-1")


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_error_on_create_is_an_unknown_outcome_and_never_retried(github, status):
    github.reply("POST", f"{REPO}/issues", github.load("error_server"), status=status)
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)  # a retry would get it

    with pytest.raises(UnknownOutcome, match=f"GitHub answered {status} to creating an issue"):
        github.adapter().create_issue(issue())

    assert github.lines() == [("POST", f"{REPO}/issues")]
    github.mock.assert_all_requests_are_fired = False


def test_server_error_on_a_read_is_retry_later(github):
    github.reply("GET", f"{REPO}/issues/42", github.load("error_server"), status=503)

    with pytest.raises(RetryLater) as caught:
        github.adapter().get_issue(ISSUE)

    assert type(caught.value) is RetryLater
    # A read changes nothing: asked three times, 1 s and 3 s apart, before giving up.
    assert github.lines() == [("GET", f"{REPO}/issues/42")] * 3
    assert github.clock.slept == [1.0, 3.0]


def test_a_read_that_fails_once_is_answered_by_the_next_try(github):
    github.reply("GET", f"{REPO}/issues/42", github.load("error_server"), status=502)
    github.reply("GET", f"{REPO}/issues/42", github.load("issue"))

    state = github.adapter().get_issue(ISSUE)

    assert state is not None
    assert state.closed is False
    assert github.lines() == [("GET", f"{REPO}/issues/42")] * 2
    assert github.clock.slept == [1.0]


def test_bad_credentials_are_a_configuration_error_without_the_token(github):
    github.reply("GET", f"{REPO}/issues/42", github.load("error_bad_credentials"), status=401)

    with pytest.raises(ConfigurationError) as caught:
        github.adapter().get_issue(ISSUE)

    assert "GitHub refused the credentials (401 Bad credentials)" in str(caught.value)
    assert github.token not in repr(caught.value)
    assert github.lines() == [("GET", f"{REPO}/issues/42")]


def test_validation_failure_is_permanent_with_githubs_message(github):
    github.reply("POST", f"{REPO}/issues", github.load("error_validation"), status=422)

    with pytest.raises(PermanentError) as caught:
        github.adapter().create_issue(issue())

    assert str(caught.value) == (
        "GitHub answered 422 to creating an issue in example-org/webshop: Validation Failed "
        "(body is too long (maximum is 65536 characters))"
    )
    assert github.lines() == [("POST", f"{REPO}/issues")]


def test_missing_permission_is_a_configuration_error(github):
    github.reply("POST", f"{REPO}/issues", github.load("error_not_accessible"), status=403)

    with pytest.raises(ConfigurationError, match="Resource not accessible by personal access"):
        github.adapter().create_issue(issue())
    assert github.lines() == [("POST", f"{REPO}/issues")]


def test_a_403_names_the_permission_github_says_the_route_needs(github):
    # Apps and fine-grained tokens get x-accepted-github-permissions: sets split by ";".
    needs = {"x-accepted-github-permissions": "issues=write; pull_requests=write"}
    github.reply("POST", f"{REPO}/issues", github.load("error_not_accessible"), 403, needs)

    with pytest.raises(ConfigurationError) as caught:
        github.adapter().create_issue(issue())

    assert str(caught.value) == (
        "GitHub answered 403 to creating an issue in example-org/webshop: Resource not "
        "accessible by personal access token (the token or App lacks a permission: this "
        "needs issues=write or pull_requests=write)"
    )
    assert github.lines() == [("POST", f"{REPO}/issues")]


def test_a_403_to_a_classic_token_names_the_scope_it_lacks(github):
    scopes = {"x-accepted-oauth-scopes": "repo", "x-oauth-scopes": "read:user, gist"}
    github.reply("POST", f"{REPO}/issues/42/comments", github.load("error_not_accessible"), 403,
                 scopes)  # fmt: skip

    with pytest.raises(ConfigurationError) as caught:
        github.adapter().add_comment(ISSUE, NewComment("Hi", "tm-1"))

    assert "(the token lacks a scope: this needs repo; it has read:user, gist)" in str(caught.value)
    assert github.lines() == [("POST", f"{REPO}/issues/42/comments")]


def test_a_401_says_what_to_renew(github):
    github.reply("GET", f"{REPO}/issues/42", github.load("error_bad_credentials"), status=401)

    with pytest.raises(ConfigurationError, match="the token is wrong, expired or revoked"):
        github.adapter().get_issue(ISSUE)
    assert github.lines() == [("GET", f"{REPO}/issues/42")]


def test_issues_turned_off_fail_the_message_with_githubs_reason(github):
    gone = {"message": "Issues are disabled for this repo", "status": "410",
            "documentation_url": "https://docs.github.com/rest/issues/issues#create-an-issue"}  # fmt: skip
    github.reply("POST", f"{REPO}/issues", gone, status=410)

    with pytest.raises(PermanentError) as caught:
        github.adapter().create_issue(issue())

    assert type(caught.value) is PermanentError  # nothing was created: not an unknown outcome
    assert str(caught.value) == (
        "GitHub answered 410 to creating an issue in example-org/webshop: "
        "Issues are disabled for this repo"
    )
    assert github.lines() == [("POST", f"{REPO}/issues")]


def test_a_404_on_create_says_the_repository_may_be_hidden_from_the_token(github):
    github.reply("POST", f"{REPO}/issues", github.load("error_not_found"), status=404)

    with pytest.raises(PermanentError) as caught:
        github.adapter().create_issue(issue())

    assert "Not Found (it does not exist, or the credentials cannot see it" in str(caught.value)
    assert github.lines() == [("POST", f"{REPO}/issues")]


def test_a_locked_issue_is_this_messages_problem(github):
    locked = {"message": "Unable to create comment because issue is locked.", "status": "403"}
    github.reply("POST", f"{REPO}/issues/42/comments", locked, status=403)

    with pytest.raises(PermanentError, match="issue is locked"):
        github.adapter().add_comment(ISSUE, NewComment("Hi", "tm-1"))
    assert github.lines() == [("POST", f"{REPO}/issues/42/comments")]


def test_a_redirected_post_is_not_replayed_as_a_get(github):
    moved = {"message": "Moved Permanently", "url": "https://api.github.com/repositories/1/issues"}
    github.reply(
        "POST",
        f"{REPO}/issues",
        moved,
        301,
        {"Location": "https://api.github.com/repositories/1/issues"},
    )

    with pytest.raises(PermanentError, match="301"):
        github.adapter().create_issue(issue())
    assert github.lines() == [("POST", f"{REPO}/issues")]


@pytest.mark.parametrize(
    ("exception", "error"),
    [
        (requests.ReadTimeout("read timed out"), UnknownOutcome),
        (requests.ConnectionError(ProtocolError("Connection aborted.")), UnknownOutcome),
        (requests.ConnectTimeout("connect timed out"), Unreachable),
        # A certificate problem is the operator's to fix (exit 2), as for every adapter.
        (requests.exceptions.SSLError("certificate verify failed"), ConfigurationError),
    ],
)
def test_no_answer_to_a_write(github, exception, error):
    github.fail("POST", f"{REPO}/issues", exception)

    with pytest.raises(error) as caught:
        github.adapter().create_issue(issue())

    assert type(caught.value) is error
    assert github.lines() == [("POST", f"{REPO}/issues")]


def test_no_answer_to_a_read_is_retry_later(github):
    github.fail("GET", f"{REPO}/issues/42", requests.ReadTimeout("read timed out"))

    with pytest.raises(RetryLater) as caught:
        github.adapter().get_issue(ISSUE)

    assert type(caught.value) is RetryLater
    assert github.lines() == [("GET", f"{REPO}/issues/42")] * 3


def test_connection_refused_is_unreachable_for_reads_and_writes(github):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = f"http://127.0.0.1:{port}"
    github.mock.add_passthru(api)
    adapter = github.adapter(api_url=api, timeout=5)

    with pytest.raises(Unreachable, match="cannot reach GitHub while reading"):
        adapter.get_issue(ISSUE)
    with pytest.raises(Unreachable, match="cannot reach GitHub while creating an issue"):
        adapter.create_issue(issue())

    assert github.sent() == []  # nothing was delivered: both went to a closed port


@pytest.mark.off_spec_answers("a proxy's HTML page where GitHub's JSON should be")
def test_an_answer_that_is_not_json_after_a_write_is_an_unknown_outcome(github):
    github.mock.add("POST", f"{github.api}{REPO}/issues", body="<html>oops</html>", status=201)

    with pytest.raises(UnknownOutcome, match="not JSON"):
        github.adapter().create_issue(issue())
    assert github.lines() == [("POST", f"{REPO}/issues")]
