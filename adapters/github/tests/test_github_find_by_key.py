"""``find_by_key``: the hidden marker, found in the newest listings, then by search."""

from __future__ import annotations

import pytest

from tracker_mail_plugin import CommentRef, IssueRef, PermanentError

REPO = "/repos/example-org/webshop"
KEY = "tm-abcdefghijklmnopqrst"
MARKER = f"<!-- tracker-mail:{KEY} -->"
EMPTY = {"total_count": 0, "incomplete_results": False, "items": [], "search_type": "lexical"}
LISTING = {"state": "all", "sort": "created", "direction": "desc", "per_page": "100"}
NEWEST_COMMENTS = {"sort": "created", "direction": "desc", "per_page": "100"}


def stranger(github):
    return github.load("user_alice")


def test_found_among_the_newest_issues(github):
    github.reply("GET", "/user", github.load("user"))
    github.reply(
        "GET",
        f"{REPO}/issues",
        [
            github.load("issue", number=43, body="other"),
            github.load("issue", body=f"x\n\n{MARKER}"),
        ],
    )

    found = github.adapter().find_by_key(KEY)

    assert found == IssueRef("github", "example-org/webshop#42")
    assert found.url == "https://github.com/example-org/webshop/issues/42"
    user, listing = github.sent()
    assert user.line == ("GET", "/user")
    assert (listing.line, listing.query) == (("GET", f"{REPO}/issues"), LISTING)


def test_found_among_the_newest_comments(github):
    github.reply("GET", "/user", github.load("user"))
    github.reply("GET", f"{REPO}/issues", [github.load("issue")])
    github.reply("GET", f"{REPO}/issues/comments", [github.load("issue_comment", body=MARKER)])

    found = github.adapter().find_by_key(KEY)

    assert found == CommentRef(IssueRef("github", "example-org/webshop#42"), "1146825476")
    assert github.sent()[2].query == NEWEST_COMMENTS
    assert github.lines()[2] == ("GET", f"{REPO}/issues/comments")


def test_a_marker_copied_by_someone_else_does_not_count(github):
    github.reply("GET", "/user", github.load("user"))
    github.reply(
        "GET", f"{REPO}/issues", [github.load("issue", body=MARKER, user=stranger(github))]
    )
    github.reply(
        "GET",
        f"{REPO}/issues/comments",
        [github.load("issue_comment", body=MARKER, user=stranger(github))],
    )
    github.reply("GET", "/search/issues", EMPTY)
    github.reply("GET", "/search/issues", EMPTY)

    assert github.adapter().find_by_key(KEY) is None

    assert github.lines() == [
        ("GET", "/user"),
        ("GET", f"{REPO}/issues"),
        ("GET", f"{REPO}/issues/comments"),
        ("GET", "/search/issues"),
        ("GET", "/search/issues"),
    ]


def test_an_older_issue_is_found_by_search(github):
    github.reply("GET", "/user", github.load("user"))
    github.reply("GET", f"{REPO}/issues", [])
    github.reply("GET", f"{REPO}/issues/comments", [])
    hit = github.load("issue", number=7, body=f"old\n\n{MARKER}") | {"score": 1.0}
    github.reply("GET", "/search/issues", github.load("search_issues", items=[hit]))

    found = github.adapter().find_by_key(KEY)

    assert found == IssueRef("github", "example-org/webshop#7")
    search = github.sent()[3]
    assert search.line == ("GET", "/search/issues")
    assert search.query == {"q": f'"{KEY}" repo:example-org/webshop is:issue', "per_page": "20"}


def test_an_older_comment_is_found_through_its_issue_page_by_page(github):
    github.reply("GET", "/user", github.load("user"))
    github.reply("GET", f"{REPO}/issues", [])
    github.reply("GET", f"{REPO}/issues/comments", [])
    github.reply("GET", "/search/issues", EMPTY)
    pull = github.load("issue", number=12, body="a pull request") | {"score": 1.0}
    github.reply("GET", "/search/issues", github.load("search_issues", items=[pull]))
    page2 = f"{github.api}{REPO}/issues/12/comments?per_page=100&page=2"
    github.reply(
        "GET",
        f"{REPO}/issues/12/comments",
        [github.load("issue_comment", id=1, body="first")],
        headers={"Link": f'<{page2}>; rel="next", <{page2}>; rel="last"'},
    )
    github.reply(
        "GET", f"{REPO}/issues/12/comments", [github.load("issue_comment", id=2, body=MARKER)]
    )

    found = github.adapter().find_by_key(KEY)

    assert found == CommentRef(IssueRef("github", "example-org/webshop#12"), "2")
    sent = github.sent()
    assert sent[4].query["q"] == f'"{KEY}" repo:example-org/webshop is:pull-request'
    assert [(s.path, s.query) for s in sent[5:]] == [
        (f"{REPO}/issues/12/comments", {"per_page": "100"}),
        (f"{REPO}/issues/12/comments", {"per_page": "100", "page": "2"}),
    ]


def test_every_repository_is_listed_and_searched(github):
    adapter = github.adapter(repository={"web": "example-org/webshop", "api": "example-org/api"})
    github.reply("GET", "/user", github.load("user"))
    for repo in (REPO, "/repos/example-org/api"):
        github.reply("GET", f"{repo}/issues", [])
        github.reply("GET", f"{repo}/issues/comments", [])
    for _ in range(4):
        github.reply("GET", "/search/issues", EMPTY)

    assert adapter.find_by_key(KEY) is None

    assert (
        github.lines()
        == [
            ("GET", "/user"),
            ("GET", f"{REPO}/issues"),
            ("GET", f"{REPO}/issues/comments"),
            ("GET", "/repos/example-org/api/issues"),
            ("GET", "/repos/example-org/api/issues/comments"),
        ]
        + [("GET", "/search/issues")] * 4
    )
    # One repository per query: several repo: qualifiers are ORed by GitHub's legacy search
    # syntax but ANDed by its advanced syntax, the REST default now, which finds nothing.
    assert [sent.query["q"] for sent in github.sent()[5:]] == [
        f'"{KEY}" repo:example-org/webshop is:issue',
        f'"{KEY}" repo:example-org/webshop is:pull-request',
        f'"{KEY}" repo:example-org/api is:issue',
        f'"{KEY}" repo:example-org/api is:pull-request',
    ]
    assert github.clock.slept == [2.0, 2.0, 2.0]  # the search API's 30 a minute


def test_a_page_link_to_another_host_is_not_followed_with_our_token(github):
    github.reply("GET", "/user", github.load("user"))
    github.reply("GET", f"{REPO}/issues", [])
    github.reply("GET", f"{REPO}/issues/comments", [])
    hit = github.load("issue", number=12, body="no marker") | {"score": 1.0}
    github.reply("GET", "/search/issues", github.load("search_issues", items=[hit]))
    elsewhere = "https://attacker.example/comments?page=2"
    github.reply(
        "GET",
        f"{REPO}/issues/12/comments",
        [github.load("issue_comment", body="first")],
        headers={"Link": f'<{elsewhere}>; rel="next"'},
    )

    with pytest.raises(PermanentError, match="outside api_url"):
        github.adapter().find_by_key(KEY)

    # responses records unmatched requests too: the other host was never asked.
    assert github.lines()[-1] == ("GET", f"{REPO}/issues/12/comments")
