"""The core's conformance suite (AdapterContract) against the faked GitHub."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from tracker_mail_plugin_github import GitHubAdapter, GitHubConfig

from tracker_mail_plugin import (
    CommentRef,
    IssueRef,
    NewComment,
    NewIssue,
    Secret,
    TrackerAdapter,
    UserRef,
)
from tracker_mail_plugin.testing import TrackerFailure
from tracker_mail_plugin.testing.contract import AdapterContract

REPO = "/repos/example-org/webshop"


class TestGitHubContract(AdapterContract):
    adapter_class = GitHubAdapter
    project = "example-org/webshop"

    @pytest.fixture(autouse=True)
    def _fake_github(self, github: Any) -> None:
        self.github = github

    def valid_config(self) -> dict[str, Any]:
        return {
            "repository": "example-org/webshop",
            "token": Secret(value=self.github.token),
            "users": {"alice@example.com": "alice"},
            "request_labels": ["request"],
        }

    def secret_values(self) -> list[str]:
        return [self.github.token]

    def make_adapter(self) -> TrackerAdapter:
        config = GitHubConfig.model_validate(self.valid_config())
        return GitHubAdapter(config, clock=self.github.clock)

    def prime_check(self, adapter: TrackerAdapter) -> None:
        load = self.github.load
        self.github.reply("GET", "/user", load("user"))
        self.github.reply("GET", REPO, load("repository"))
        self.github.reply("GET", "/rate_limit", load("rate_limit"))
        self.github.reply("GET", "/users/alice", load("user_alice"))
        self.github.reply("GET", f"{REPO}/labels/request", load("label", name="request"))

    def prime_create(self, adapter: TrackerAdapter, new: NewIssue) -> None:
        self.github.reply("POST", f"{REPO}/issues", self.github.load("issue"), status=201)

    def prime_find(self, adapter: TrackerAdapter, key: str, found: IssueRef | None) -> None:
        load = self.github.load
        self.github.reply("GET", "/user", load("user"))
        created = [p for p in self.github.sent() if p.line == ("POST", f"{REPO}/issues")]
        body = created[-1].body["body"] if created and found is not None else "unrelated"
        self.github.reply("GET", f"{REPO}/issues", [load("issue", body=body)])
        if found is None:
            self.github.reply("GET", f"{REPO}/issues/comments", [load("issue_comment")])
            empty = {
                "total_count": 0,
                "incomplete_results": False,
                "items": [],
                "search_type": "lexical",
            }
            self.github.reply("GET", "/search/issues", empty)
            self.github.reply("GET", "/search/issues", empty)

    def prime_comment(self, adapter: TrackerAdapter, issue: IssueRef, new: NewComment) -> None:
        comment = self.github.load("issue_comment")
        self.github.reply("POST", f"{REPO}/issues/42/comments", comment, status=201)

    def prime_find_comment(self, adapter: TrackerAdapter, key: str, found: CommentRef) -> None:
        load = self.github.load
        [*_, posted] = (s for s in self.github.sent() if s.path.endswith("/comments"))
        self.github.reply("GET", "/user", load("user"))
        self.github.reply("GET", f"{REPO}/issues", [load("issue")])
        comment = load("issue_comment", body=posted.body["body"])
        self.github.reply("GET", f"{REPO}/issues/comments", [comment])

    def project_member(self, adapter: TrackerAdapter) -> UserRef | None:
        return UserRef("1001", "alice", "Alice", "alice@example.com")

    def prime_member(self, adapter: TrackerAdapter, member: UserRef) -> None:
        permission = self.github.load("collaborator_permission")
        self.github.reply("GET", f"{REPO}/collaborators/alice/permission", permission)

    def prime_get_issue(self, adapter: TrackerAdapter, ref: IssueRef) -> None:
        self.github.reply("GET", f"{REPO}/issues/42", self.github.load("issue"))

    @contextmanager
    def lose_answer(self, adapter: TrackerAdapter, new: NewIssue) -> Iterator[TrackerAdapter]:
        self.github.reply("POST", f"{REPO}/issues", self.github.load("error_server"), status=502)
        yield adapter
        self.prime_find(adapter, new.idempotency_key, IssueRef(adapter.name, f"{self.project}#42"))

    @contextmanager
    def failing(self, failure: TrackerFailure) -> Iterator[TrackerAdapter]:
        answers: dict[TrackerFailure, Any] = {
            TrackerFailure.SERVER_ERROR: (500, self.github.load("error_server")),
            TrackerFailure.UNAUTHORIZED: (401, self.github.load("error_bad_credentials")),
        }
        for method, path in (("GET", "/users/contract-nobody"), ("POST", f"{REPO}/issues")):
            if failure == TrackerFailure.TIMEOUT:
                self.github.fail(method, path, requests.ReadTimeout("read timed out"))
            else:
                status, body = answers[failure]
                self.github.reply(method, path, body, status=status)
        # find_user asks GitHub only about mapped addresses: map the contract's sender.
        options = self.valid_config() | {
            "users": {"contract-nobody@example.com": "contract-nobody"}
        }
        yield GitHubAdapter(GitHubConfig.model_validate(options), clock=self.github.clock)
        self.github.mock.assert_all_requests_are_fired = False
