"""Senders through the users map, and their permission on a repository (seeds S8, S10)."""

from __future__ import annotations

import logging

import pytest

from tracker_mail_plugin import Permission, UserRef

REPO = "/repos/example-org/webshop"
ALICE = UserRef("1001", "alice", "Alice Example", "alice@example.com")
USERS = {"users": {"Alice@Example.com": "alice", "gone@example.com": "ghost"}}


def test_a_mapped_sender_is_looked_up_once(github):
    github.reply("GET", "/users/alice", github.load("user_alice"))
    adapter = github.adapter(**USERS)

    first = adapter.find_user("alice@example.com")
    again = adapter.find_user("ALICE@example.com")

    assert first == again == ALICE
    assert github.lines() == [("GET", "/users/alice")]


def test_an_unmapped_sender_is_unknown_without_asking(github):
    assert github.adapter(**USERS).find_user("carol@example.com") is None
    assert github.sent() == []


def test_a_mapping_to_a_missing_account_is_unknown_and_logged(github, caplog):
    github.reply("GET", "/users/ghost", github.load("error_not_found"), status=404)

    with caplog.at_level(logging.WARNING, logger="tracker_mail.github"):
        assert github.adapter(**USERS).find_user("gone@example.com") is None

    assert github.lines() == [("GET", "/users/ghost")]
    assert "gone@example.com is mapped to ghost, unknown to GitHub" in caplog.text


@pytest.mark.parametrize(
    ("permission", "allowed"),
    [("admin", True), ("write", True), ("read", True), ("none", False)],
)
def test_permission_comes_from_the_collaborator_role(github, permission, allowed):
    github.reply(
        "GET",
        f"{REPO}/collaborators/alice/permission",
        github.load("collaborator_permission", permission=permission),
    )
    adapter = github.adapter()

    assert adapter.can(ALICE, Permission.CREATE_ISSUE, "example-org/webshop", "Bug") is allowed
    assert adapter.can(ALICE, Permission.COMMENT, "example-org/webshop") is allowed

    assert github.lines() == [("GET", f"{REPO}/collaborators/alice/permission")]


def test_someone_github_does_not_know_on_the_repository_may_not(github):
    github.reply(
        "GET", f"{REPO}/collaborators/alice/permission", github.load("error_not_found"), status=404
    )

    assert github.adapter().can(ALICE, Permission.CREATE_REQUEST, "example-org/webshop") is False
    assert github.lines() == [("GET", f"{REPO}/collaborators/alice/permission")]


def test_answers_that_need_no_question(github):
    adapter = github.adapter()

    assert adapter.can(ALICE, Permission.ATTACH_TO_PROJECT, "example-org/webshop") is False
    assert adapter.can(ALICE, Permission.CREATE_ISSUE, "someone/else") is False
    assert adapter.can(None, Permission.CREATE_ISSUE, "example-org/webshop") is False
    assert github.sent() == []


def test_anyone_may_post_in_a_public_repository_when_allowed(github):
    github.reply("GET", REPO, github.load("repository", private=False))
    adapter = github.adapter(public_repositories_open=True)

    assert adapter.can(None, Permission.CREATE_ISSUE, "example-org/webshop") is True
    assert adapter.can(ALICE, Permission.COMMENT, "example-org/webshop") is True

    assert github.lines() == [("GET", REPO)]


def test_a_private_repository_still_asks_for_the_senders_role(github):
    github.reply("GET", REPO, github.load("repository", private=True))
    github.reply(
        "GET",
        f"{REPO}/collaborators/alice/permission",
        github.load("collaborator_permission", permission="read"),
    )
    adapter = github.adapter(public_repositories_open=True)

    assert adapter.can(None, Permission.CREATE_ISSUE, "example-org/webshop") is False
    assert adapter.can(ALICE, Permission.CREATE_ISSUE, "example-org/webshop") is True

    assert github.lines() == [("GET", REPO), ("GET", f"{REPO}/collaborators/alice/permission")]
