"""``thread_safe``: one adapter called from the core's ``workers`` and from bare threads."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from email.message import EmailMessage

from tracker_mail_plugin_jira import JiraAdapter

from tracker_mail_plugin import UserRef
from tracker_mail_plugin.testing import CrashHarness, FakeMailbox

SENDERS = [f"person{n}@example.com" for n in range(4)]
RULES = """
version: 1
trackers:
  jira: {{adapter: jira, url: "{url}", email: automation@example.com, api_token: {{env: X}}}}
smtp: {{host: 127.0.0.1, port: 2525, security: none, sender: tracker@example.com}}
mailboxes:
  inbox:
    protocol: maildir
    path: /unused
    tracker: jira
    on_success: {{move: Processed}}
    workers: 4
    rules:
      - name: printers
        when: {{subject_contains: printer}}
        then: [{{create_issue: {{project: ED, type: Bug}}}}]
"""


def person(cloud, address: str) -> dict[str, object]:
    entry = dict(cloud.fixture("user_search")[0])
    account = "acc-" + address.split("@")[0]
    return entry | {
        "self": f"{cloud.base}/rest/api/2/user?accountId={account}",
        "accountId": account,
        "emailAddress": address,
        "displayName": address,
    }


def slowly(answer):
    """The answer after a pause, so that the other workers ask for the same thing meanwhile."""

    def callback(request):
        time.sleep(0.05)
        return answer(request)

    return callback


def prime(cloud) -> None:
    def search(request):
        address = dict(request.params)["query"]
        return 200, {}, json.dumps([person(cloud, address)])

    def permitted(request):
        account = dict(request.params)["accountId"]
        return 200, {}, json.dumps([{"accountId": account, "accountType": "atlassian"}])

    def created(request):
        number = json.loads(request.body)["fields"]["summary"].rsplit(" ", 1)[1]
        answer = dict(cloud.fixture("issue_create"), key=f"ED-{100 + int(number)}")
        return 201, {}, json.dumps(answer)

    base = cloud.base

    def add(method, url, callback):
        cloud.mock.add_callback(method, url, callback=callback, content_type="application/json")

    add("GET", f"{base}/rest/api/2/user/search", callback=slowly(search))
    add("GET", f"{base}/rest/api/2/user/permission/search", callback=slowly(permitted))
    add("GET", f"{base}/rest/api/2/project/ED", callback=slowly(
        lambda request: (200, {}, json.dumps(cloud.fixture("project")))))  # fmt: skip
    add("GET", f"{base}/rest/api/2/mypermissions", callback=slowly(
        lambda request: (200, {}, json.dumps(cloud.fixture("mypermissions")))))  # fmt: skip
    add("POST", f"{base}/rest/api/2/issue", callback=created)


def printer_mail(n: int) -> bytes:
    message = EmailMessage()
    message["From"] = SENDERS[n % len(SENDERS)]
    message["To"] = "help@example.com"
    message["Subject"] = f"printer {n}"
    message["Message-ID"] = f"<m{n}@example.com>"
    message.set_content(f"Printer {n} jams.")
    return message.as_bytes()


def test_workers_share_one_adapter_and_each_message_makes_its_own_issue(
    cloud, tmp_path, monkeypatch
):
    monkeypatch.setenv("X", "token")
    prime(cloud)
    adapter = cloud.adapter()
    assert JiraAdapter.thread_safe
    harness = CrashHarness(adapter, RULES.format(url=cloud.base), tmp_path / "journal.sqlite3",
                           mailbox=FakeMailbox())  # fmt: skip
    for n in range(12):
        harness.mailbox.add(printer_mail(n))
    summary = harness.sync()
    assert (summary.fetched, summary.created, summary.failed) == (12, 12, 0)
    creates = [s.body for s in cloud.sent if s.line[:2] == ("POST", "/rest/api/2/issue")]
    reporters = {b["fields"]["summary"]: b["fields"]["reporter"]["accountId"] for b in creates}
    assert reporters == {f"printer {n}": f"acc-person{n % 4}" for n in range(12)}
    assert sorted(b["fields"]["description"] for b in creates) == sorted(
        f"Printer {n} jams." for n in range(12)
    )
    # Each shared answer was read once, however many workers asked for it at the same time.
    reads = Counter((s.method, s.path, tuple(sorted(s.query.items()))) for s in cloud.sent)
    assert {line: count for line, count in reads.items() if line[0] == "GET"} == {
        ("GET", "/rest/api/2/user/search", (("maxResults", "10"), ("query", address))): 1
        for address in SENDERS
    } | {
        (
            "GET",
            "/rest/api/2/user/permission/search",
            (
                ("accountId", f"acc-person{n}"),
                ("maxResults", "50"),
                ("permissions", "CREATE_ISSUES"),
                ("projectKey", "ED"),
            ),
        ): 1
        for n in range(4)
    } | {
        ("GET", "/rest/api/2/project/ED", ()): 1,
        (
            "GET",
            "/rest/api/2/mypermissions",
            (("permissions", "MODIFY_REPORTER"), ("projectKey", "ED")),
        ): 1,
    }
    assert len(cloud.sent) == 12 + 4 + 4 + 1 + 1


def test_threads_asking_together_read_each_answer_once(cloud):
    prime(cloud)
    adapter = cloud.adapter()
    start = threading.Barrier(8)
    found: dict[int, UserRef | None] = {}

    def look_up(n: int) -> None:
        start.wait()
        found[n] = adapter.find_user(SENDERS[n % 2])

    threads = [threading.Thread(target=look_up, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {n: user.id if user else None for n, user in found.items()} == {
        n: f"acc-person{n % 2}" for n in range(8)
    }
    assert sorted((s.line for s in cloud.sent), key=lambda line: line[2]["query"]) == [
        ("GET", "/rest/api/2/user/search", {"query": SENDERS[n], "maxResults": "10"}, None)
        for n in range(2)
    ]
