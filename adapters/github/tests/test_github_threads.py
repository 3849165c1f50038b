"""One adapter called from several threads at once (a mailbox's ``workers``)."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tracker_mail_plugin_github import GitHubAdapter

from tracker_mail_plugin import Permission, UserRef
from tracker_mail_plugin.needs import workers_problem
from tracker_mail_plugin.testing import CrashHarness
from tracker_mail_plugin.testing.mailfactory import raw_mail

API = "https://api.github.com"
REPO = "/repos/example-org/webshop"
ALICE = UserRef("583231", "alice", "Alice Example", "alice@example.com")


class InFlight:
    """A fake endpoint that counts how many of its requests were being answered at once."""

    def __init__(self, status: int, body: Any):
        self.status, self.body = status, json.dumps(body)
        self.now = self.most = 0
        self.lock = threading.Lock()

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.01)  # leaves room for another thread's request, if one may go now
        with self.lock:
            self.now -= 1
        return self.status, {"Content-Type": "application/json"}, self.body


def test_github_declares_it_may_be_called_from_several_threads(github):
    adapter = github.adapter()

    assert GitHubAdapter.thread_safe is True
    assert workers_problem("inbox", 4, adapter) is None
    assert github.sent() == []


def test_four_workers_create_every_issue_once_with_writes_one_at_a_time(github, tmp_path):
    creates = InFlight(201, github.load("issue"))
    github.mock.add_callback("POST", f"{API}{REPO}/issues", callback=creates)
    harness = CrashHarness(github.adapter(), github.rules(workers=4), tmp_path / "journal.sqlite3")
    subjects = [f"Printer {n} on fire" for n in range(8)]
    for n, subject in enumerate(subjects):
        harness.mailbox.add(raw_mail({"Subject": subject, "Message-ID": f"<m{n}@example.com>"}))

    summary = harness.sync()

    assert summary.created == 8
    assert summary.failed == 0
    sent = github.sent()
    assert {s.line for s in sent} == {("POST", f"{REPO}/issues")}
    assert sorted(s.body["title"] for s in sent) == sorted(subjects)
    assert len({s.body["body"].rpartition("tracker-mail:")[2] for s in sent}) == 8  # 8 keys
    assert creates.most == 1  # GitHub asks for writes one at a time
    assert github.clock.slept == [1.0] * 7  # and every write a second after the last


def test_concurrent_questions_are_asked_of_github_once(github):
    permission = InFlight(200, github.load("collaborator_permission"))
    github.mock.add_callback(
        "GET", f"{API}{REPO}/collaborators/alice/permission", callback=permission
    )
    me = InFlight(200, github.load("user"))
    github.mock.add_callback("GET", f"{API}/user", callback=me)
    adapter = github.adapter()
    start = threading.Barrier(8)

    def ask(_: int) -> tuple[bool, str]:
        start.wait()
        return adapter.can(ALICE, Permission.COMMENT, "example-org/webshop"), adapter.identity()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(8)))

    assert answers == [(True, "tracker-bot")] * 8
    assert sorted(github.lines()) == [
        ("GET", f"{REPO}/collaborators/alice/permission"),
        ("GET", "/user"),
    ]
