"""``check``: identity, repositories and access, rate-limit budget, users map, labels."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tracker_mail_plugin import ConfigurationError, Requirements, RetryLater, Secret
from tracker_mail_plugin.config.loader import load_config_text
from tracker_mail_plugin.needs import capability_problems

REPO = "/repos/example-org/webshop"


def prime_token_check(github, **changes):
    github.reply("GET", "/user", github.load("user"))
    github.reply("GET", REPO, github.load("repository", **changes))
    github.reply("GET", "/rate_limit", github.load("rate_limit"))


def test_a_working_token_setup(github):
    prime_token_check(github)
    github.reply("GET", "/users/alice", github.load("user_alice"))
    github.reply("GET", f"{REPO}/labels/request", github.load("label", name="request"))
    adapter = github.adapter(users={"alice@example.com": "alice"}, request_labels=["request"])

    report = adapter.check()

    assert report.ok, report.problems
    assert dict(report.facts) == {
        "identity": "tracker-bot (personal access token)",
        "access to example-org/webshop": "push (public)",
        "rate limit": "core 4990/5000 until 11:20 UTC; search 30/30 until 10:21 UTC",
        "senders recognised": "1 of 1 in the users map (GitHub cannot look up other mail addresses)",
        "attachments": "list",
    }
    assert github.lines() == [
        ("GET", "/user"),
        ("GET", REPO),
        ("GET", "/rate_limit"),
        ("GET", "/users/alice"),
        ("GET", f"{REPO}/labels/request"),
    ]


def test_everything_that_would_fail_a_run_is_a_problem(github):
    github.reply("GET", "/user", github.load("user"))
    github.reply(
        "GET",
        REPO,
        github.load(
            "repository",
            has_issues=False,
            permissions={"admin": False, "push": False, "pull": True},
        ),
    )
    github.reply("GET", "/repos/example-org/gone", github.load("error_not_found"), status=404)
    github.reply(
        "GET", f"{REPO}/branches/tracker-mail-files", github.load("error_not_found"), status=404
    )
    github.reply("GET", "/rate_limit", github.load("error_not_found"), status=404)
    github.reply("GET", "/users/ghost", github.load("error_not_found"), status=404)
    github.reply("GET", f"{REPO}/labels/request", github.load("error_not_found"), status=404)
    github.reply(
        "GET", "/repos/example-org/gone/labels/request", github.load("error_not_found"), status=404
    )
    adapter = github.adapter(
        repository={"web": "example-org/webshop", "old": "example-org/gone"},
        attachments="commit",
        attachments_branch="tracker-mail-files",
        users={"gone@example.com": "ghost"},
        request_labels=["request"],
    )

    report = adapter.check()

    assert report.problems == (
        "repository example-org/webshop has issues turned off",
        "attachments: commit needs push access to example-org/webshop; the token has pull",
        "attachments_branch 'tracker-mail-files' does not exist in example-org/webshop; create it first",
        "repository example-org/gone does not exist or the credentials cannot see it",
        "users: gone@example.com is mapped to ghost, unknown to GitHub",
        "label 'request' does not exist in example-org/webshop (GitHub would create it on first use with push access, or drop it without)",
        "labels are dropped in example-org/webshop: GitHub keeps the labels, assignees and milestone of a new issue only from someone with push access",
        "label 'request' does not exist in example-org/gone (GitHub would create it on first use with push access, or drop it without)",
        "labels are dropped in example-org/gone: GitHub keeps the labels, assignees and milestone of a new issue only from someone with push access",
    )
    assert report.facts["rate limit"] == "not enabled on this server"
    assert len(github.sent()) == 8


def test_labels_the_rules_use(github):
    prime_token_check(github)
    github.reply("GET", f"{REPO}/labels/bug", github.load("label"))
    github.reply("GET", f"{REPO}/labels/from-email", github.load("error_not_found"), status=404)
    needs = Requirements(
        labels={
            "example-org/webshop": frozenset({"bug", "from-email"}),
            "nowhere": frozenset({"x"}),
        }
    )

    report = github.adapter().check(needs)

    assert report.problems == (
        "label 'from-email' does not exist in example-org/webshop (GitHub would create it on first use with push access, or drop it without)",
        "project 'nowhere' is not among this tracker's",
    )
    lines = github.lines()
    assert lines[:3] == [("GET", "/user"), ("GET", REPO), ("GET", "/rate_limit")]
    assert sorted(lines[3:]) == [
        ("GET", f"{REPO}/labels/bug"),
        ("GET", f"{REPO}/labels/from-email"),
    ]  # the rules' labels are a set: any order


def test_refused_credentials_fail_check_as_configuration(github):
    github.reply("GET", "/user", github.load("error_bad_credentials"), status=401)

    with pytest.raises(ConfigurationError):
        github.adapter().check()
    assert github.lines() == [("GET", "/user")]


def test_an_unreachable_github_fails_check_as_retry_later(github):
    github.reply("GET", "/user", github.load("error_server"), status=502)

    with pytest.raises(RetryLater):
        github.adapter().check()
    assert github.lines() == [("GET", "/user")] * 3  # a read: tried three times


def test_an_app_reports_its_bot_and_installation_permissions(github):
    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    github.reply("GET", "/app", github.load("app"))
    answer = github.load(
        "installation_token",
        expires_at="2026-05-04T11:20:00Z",
        permissions={"issues": "read", "metadata": "read"},
    )
    github.reply("POST", "/app/installations/77/access_tokens", answer, status=201)
    github.reply("GET", REPO, github.load("repository"))
    github.reply("GET", "/rate_limit", github.load("rate_limit"))
    adapter = github.adapter(
        app={"app_id": 5, "private_key": Secret(value=pem), "installation_id": 77}
    )

    report = adapter.check()

    assert report.facts["identity"] == "tracker-mail[bot] (GitHub App 5, installation 77)"
    assert report.facts["access to example-org/webshop"] == "App issues read, contents none"
    assert report.problems == ("the App has issues: read; it needs issues: write",)
    assert github.lines() == [
        ("GET", "/app"),
        ("POST", "/app/installations/77/access_tokens"),
        ("GET", REPO),
        ("GET", "/rate_limit"),
    ]
    assert github.sent()[2].headers["Authorization"] == (
        "Bearer ghs_16C7e42F292c6912E7710c838347Ae178B4a"
    )


def test_rules_asking_for_what_github_cannot_do_fail_the_cores_check(github):
    loaded = load_config_text(
        """
version: 1
trackers:
  gh: {adapter: github, repository: example-org/webshop, token: {env: GITHUB_TOKEN}}
mailboxes:
  shop:
    protocol: maildir
    path: /unused
    tracker: gh
    unknown_user: create_user
    replies: {closed_issue: reopen}
    rules:
      - then: "attach to project example-org/webshop and create request in project example-org/webshop"
""",
        "rules.yaml",
    )

    found = [p.message for p in capability_problems(loaded, {"gh": github.adapter()})]

    assert found == [
        "rule 1: attach_to_project is not supported by the github adapter of tracker 'gh'",
        "mailbox 'shop': unknown_user needs create_user, which the github adapter does not support",
    ]
    assert github.sent() == []


def test_a_branch_with_slashes_is_asked_for_segment_by_segment(github):
    prime_token_check(github)
    github.reply("GET", f"{REPO}/branches/support/mail-files", github.load("branch"))
    adapter = github.adapter(attachments="commit", attachments_branch="support/mail-files")

    report = adapter.check()

    assert report.ok, report.problems
    assert github.lines() == [
        ("GET", "/user"),
        ("GET", REPO),
        ("GET", f"{REPO}/branches/support/mail-files"),
        ("GET", "/rate_limit"),
    ]


def test_issue_types_rules_set_are_checked_against_the_repositorys(github):
    prime_token_check(github, permissions={"admin": False, "push": False, "pull": True})
    github.reply("GET", f"{REPO}/issue-types", github.load("issue_types"))
    wanted = Requirements(
        issues=frozenset({("example-org/webshop", "bug"), ("example-org/webshop", "Epic")})
        | frozenset({("example-org/webshop", None)})
    )

    report = github.adapter().check(wanted)

    assert report.problems == (
        "issue type 'Epic' is not one of example-org/webshop's (GitHub would drop it); "
        "it has: Task, Bug",
        "issue types are dropped in example-org/webshop: GitHub keeps the type of a new "
        "issue only from someone with push access",
    )
    assert github.lines() == [
        ("GET", "/user"),
        ("GET", REPO),
        ("GET", "/rate_limit"),
        ("GET", f"{REPO}/issue-types"),
    ]


def test_a_repository_without_issue_types_is_a_problem_only_when_rules_set_one(github):
    prime_token_check(github)
    github.reply("GET", f"{REPO}/issue-types", github.load("error_not_found"), status=404)

    report = github.adapter().check(
        Requirements(issues=frozenset({("example-org/webshop", "Bug")}))
    )

    assert report.problems == (
        "example-org/webshop has no issue types (an organisation feature): GitHub would drop "
        "the type 'Bug' of every new issue",
    )
    assert github.lines()[-1] == ("GET", f"{REPO}/issue-types")
