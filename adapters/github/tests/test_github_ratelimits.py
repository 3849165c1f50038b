"""Pacing (a second between writes, 80 a minute, 500 an hour) and rate limits -> retry later."""

from __future__ import annotations

import pytest
from tracker_mail_plugin_github.pacing import WriteBudget

from tracker_mail_plugin import IssueRef, NewComment, NewIssue, RetryLater
from tracker_mail_plugin.http.retry import RateLimited
from tracker_mail_plugin.testing import CrashHarness
from tracker_mail_plugin.testing.mailfactory import raw_mail

REPO = "/repos/example-org/webshop"
ISSUE = IssueRef("github", "example-org/webshop#42")


def issue(key="tm-1"):
    return NewIssue("example-org/webshop", "Crash", "It crashed.", key)


def test_writes_are_paced_at_least_one_second_apart(github):
    for _ in range(3):
        github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)
    adapter = github.adapter()

    adapter.create_issue(issue("tm-1"))
    adapter.create_issue(issue("tm-2"))
    github.clock.advance(0.25)
    adapter.create_issue(issue("tm-3"))

    assert github.lines() == [("POST", f"{REPO}/issues")] * 3
    assert github.clock.slept == [1.0, 0.75]


def test_reads_are_not_paced_and_a_configured_interval_is_honoured(github):
    github.reply("GET", f"{REPO}/issues/42", github.load("issue"))
    github.reply("POST", f"{REPO}/issues/42/comments", github.load("issue_comment"), status=201)
    github.reply("GET", f"{REPO}/issues/42", github.load("issue"))
    github.reply("POST", f"{REPO}/issues/42/comments", github.load("issue_comment"), status=201)
    adapter = github.adapter(write_interval=2.5)

    for key in ("tm-1", "tm-2"):
        adapter.get_issue(ISSUE)
        adapter.add_comment(ISSUE, NewComment("More.", key))

    assert [m for m, _ in github.lines()] == ["GET", "POST", "GET", "POST"]
    assert github.clock.slept == [2.5]


def test_a_write_interval_under_one_second_is_refused(github):
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        github.adapter(write_interval=0.2)
    assert github.sent() == []


def test_primary_limit_waits_until_the_reset_and_stops_sending(github):
    reset = int(github.clock.now) + 1200
    limited = {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-used": "5000",
        "x-ratelimit-reset": str(reset),
        "x-ratelimit-resource": "core",
    }
    github.reply("POST", f"{REPO}/issues", github.load("error_primary_rate_limit"), 403, limited)
    adapter = github.adapter()

    with pytest.raises(RetryLater) as first:
        adapter.create_issue(issue("tm-1"))
    github.clock.advance(200)
    with pytest.raises(RetryLater) as second:
        adapter.get_issue(ISSUE)

    assert first.value.retry_after == 1200
    assert second.value.retry_after == 1000
    assert github.lines() == [("POST", f"{REPO}/issues")]  # nothing sent while limited


def test_an_exhausted_budget_on_a_success_closes_the_gate_before_the_next_request(github):
    reset = int(github.clock.now) + 90
    last = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)}
    github.reply("POST", f"{REPO}/issues", github.load("issue"), 201, last)
    github.reply("POST", f"{REPO}/issues", github.load("issue"), 201)
    adapter = github.adapter()

    adapter.create_issue(issue("tm-1"))
    with pytest.raises(RetryLater) as caught:
        adapter.create_issue(issue("tm-2"))
    github.clock.advance(90)
    adapter.create_issue(issue("tm-3"))

    assert caught.value.retry_after == 90
    assert github.lines() == [("POST", f"{REPO}/issues")] * 2
    assert [s.body["body"].endswith("tm-3 -->") for s in github.sent()] == [False, True]


@pytest.mark.parametrize(
    ("status", "headers", "wait"),
    [
        (403, {"retry-after": "30"}, 30),
        (429, {"retry-after": "5"}, 5),
        (403, {}, 60),  # no header: GitHub says wait at least a minute
        (429, {}, 60),
    ],
)
def test_secondary_limit_on_create_is_retry_later_never_a_duplicate(github, status, headers, wait):
    github.reply(
        "POST", f"{REPO}/issues", github.load("error_secondary_rate_limit"), status, headers
    )
    adapter = github.adapter()

    with pytest.raises(RetryLater) as caught:
        adapter.create_issue(issue())
    with pytest.raises(RetryLater):  # the next message is not even sent
        adapter.add_comment(ISSUE, NewComment("x", "tm-2"))

    assert type(caught.value) is RateLimited  # a RetryLater, neither unknown nor retried
    assert caught.value.retry_after == wait
    assert "rate limited while creating an issue in example-org/webshop" in str(caught.value)
    assert github.lines() == [("POST", f"{REPO}/issues")]


def test_the_older_abuse_detection_wording_is_a_secondary_limit_too(github):
    abuse = {
        "message": "You have triggered an abuse detection mechanism. Please wait a few "
        "minutes before you try again.",
        "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api"
        "#abuse-rate-limits",
    }
    github.reply("POST", f"{REPO}/issues", abuse, 403)

    with pytest.raises(RateLimited) as caught:
        github.adapter().create_issue(issue())

    assert caught.value.retry_after == 60  # no header: at least a minute, as GitHub asks
    assert github.lines() == [("POST", f"{REPO}/issues")]


def test_search_budget_is_separate_from_the_core_budget(github):
    reset = int(github.clock.now) + 40
    github.reply("GET", "/user", github.load("user"))
    github.reply("GET", f"{REPO}/issues", [])
    github.reply("GET", f"{REPO}/issues/comments", [])
    github.reply(
        "GET",
        "/search/issues",
        {"total_count": 0, "incomplete_results": False, "items": [], "search_type": "lexical"},
        headers={
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(reset),
            "x-ratelimit-resource": "search",
        },
    )
    github.reply("GET", f"{REPO}/issues/42", github.load("issue"))
    adapter = github.adapter()

    with pytest.raises(RetryLater) as caught:
        adapter.find_by_key("tm-abc")  # the second search (pull requests) waits for the reset
    assert adapter.get_issue(ISSUE) is not None  # the core budget is untouched

    assert caught.value.retry_after == 40
    assert github.lines() == [
        ("GET", "/user"),
        ("GET", f"{REPO}/issues"),
        ("GET", f"{REPO}/issues/comments"),
        ("GET", "/search/issues"),
        ("GET", f"{REPO}/issues/42"),
    ]


def test_searches_are_paced_two_seconds_apart(github):
    github.reply("GET", "/user", github.load("user"))
    github.reply("GET", f"{REPO}/issues", [])
    github.reply("GET", f"{REPO}/issues/comments", [])
    empty = {"total_count": 0, "incomplete_results": False, "items": [], "search_type": "lexical"}
    github.reply("GET", "/search/issues", empty)
    github.reply("GET", "/search/issues", empty)

    assert github.adapter().find_by_key("tm-abc") is None

    assert github.clock.slept == [2.0]
    assert [s.query["q"] for s in github.sent() if s.path == "/search/issues"] == [
        '"tm-abc" repo:example-org/webshop is:issue',
        '"tm-abc" repo:example-org/webshop is:pull-request',
    ]


def test_a_refused_search_does_not_stop_the_core_budget(github):
    reset = int(github.clock.now) + 30
    github.reply("GET", "/user", github.load("user"))
    github.reply("GET", f"{REPO}/issues", [])
    github.reply("GET", f"{REPO}/issues/comments", [])
    limited = {
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(reset),
        "x-ratelimit-resource": "search",
    }
    github.reply("GET", "/search/issues", github.load("error_primary_rate_limit"), 403, limited)
    github.reply("GET", f"{REPO}/issues/42", github.load("issue"))
    adapter = github.adapter()

    with pytest.raises(RetryLater) as caught:
        adapter.find_by_key("tm-abc")
    assert adapter.get_issue(ISSUE) is not None

    assert caught.value.retry_after == 30
    assert github.lines()[-2:] == [("GET", "/search/issues"), ("GET", f"{REPO}/issues/42")]


def test_the_hours_budget_of_500_content_creating_requests_pauses_instead_of_sending(github):
    for _ in range(501):
        github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)
    adapter = github.adapter()
    for n in range(500):  # a second apart: 500 writes in 500 s, within the minute's 80 each
        adapter.create_issue(issue(f"tm-{n}"))

    with pytest.raises(RetryLater) as caught:
        adapter.create_issue(issue("tm-500"))
    sent_while_full = len(github.sent())
    github.clock.advance(caught.value.retry_after)
    adapter.create_issue(issue("tm-501"))

    # The 501st write would be 500 s after the first: it waits for that one to be an hour old.
    assert caught.value.retry_after == 3600 - 500
    assert "budget of 500 content-creating requests in an hour is used up" in str(caught.value)
    assert sent_while_full == 500
    assert github.lines() == [("POST", f"{REPO}/issues")] * 501
    assert github.sent()[-1].body["body"].endswith("<!-- tracker-mail:tm-501 -->")


def test_the_minutes_budget_of_80_writes_is_waited_for_not_exceeded(clock):
    budget = WriteBudget(clock)
    start = clock.now
    for _ in range(81):  # faster than the adapter ever writes: 0.5 s apart
        budget.take()
        clock.advance(0.5)

    # The 81st had to wait until the first was a minute old; nothing else waited.
    assert clock.slept == [60 - 80 * 0.5]
    assert clock.now == start + 60 + 0.5


@pytest.mark.parametrize("status", [403, 429])
def test_repeated_secondary_limits_back_off_exponentially_until_a_write_goes_through(
    github, status
):
    for _ in range(3):
        github.reply("POST", f"{REPO}/issues", github.load("error_secondary_rate_limit"), status)
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)
    github.reply("POST", f"{REPO}/issues", github.load("error_secondary_rate_limit"), status)
    adapter = github.adapter()

    waits = []
    for key in ("tm-1", "tm-2", "tm-3"):
        with pytest.raises(RetryLater) as caught:
            adapter.create_issue(issue(key))
        waits.append(caught.value.retry_after)
        github.clock.advance(caught.value.retry_after)
    adapter.create_issue(issue("tm-4"))
    with pytest.raises(RetryLater) as again:
        adapter.create_issue(issue("tm-5"))

    assert waits == [60, 120, 240]  # GitHub: at least a minute, then exponentially longer
    assert again.value.retry_after == 60  # a write got through: the back-off starts afresh
    assert github.lines() == [("POST", f"{REPO}/issues")] * 5


def test_a_read_getting_through_does_not_reset_the_back_off_of_writes(github):
    limited = github.load("error_secondary_rate_limit")
    github.reply("POST", f"{REPO}/issues", limited, 403)
    github.reply("GET", f"{REPO}/issues/42", github.load("issue"))
    github.reply("POST", f"{REPO}/issues", limited, 403)
    adapter = github.adapter()

    with pytest.raises(RetryLater):
        adapter.create_issue(issue("tm-1"))
    github.clock.advance(60)
    adapter.get_issue(ISSUE)
    with pytest.raises(RetryLater) as caught:
        adapter.create_issue(issue("tm-2"))

    assert caught.value.retry_after == 120
    assert github.lines() == [
        ("POST", f"{REPO}/issues"),
        ("GET", f"{REPO}/issues/42"),
        ("POST", f"{REPO}/issues"),
    ]


def test_a_run_that_meets_the_hours_budget_says_it_paused(github, tmp_path):
    for _ in range(500):
        github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)
    adapter = github.adapter()
    for n in range(500):
        adapter.create_issue(issue(f"tm-{n}"))
    harness = CrashHarness(adapter, github.rules(), tmp_path / "journal.sqlite3")
    harness.mailbox.add(raw_mail({"Subject": "One", "Message-ID": "<one@example.com>"}))
    harness.mailbox.add(raw_mail({"Subject": "Two", "Message-ID": "<two@example.com>"}))

    summary = harness.sync()

    assert summary.waiting is not None
    assert summary.waiting > 3000
    assert "the tracker asked to wait" in summary.line()
    assert summary.failed == 1  # the first mail waits; the second was not even tried
    assert len(github.sent()) == 500  # neither mail's issue was sent into the budget
    assert list(harness.mailbox.folders) == []
