"""End to end: a real Dovecot mailbox -> ``tracker-mail sync`` -> the faked GitHub.

``tracker-mail sync`` runs in this process (``cli.main``), so that ``responses`` can stand in
for api.github.com; the mailbox is a private Dovecot over IMAPS (the kit's ``dovecot`` fixture, see conftest.py). Each test
asserts the exact request sequence GitHub received and where the mail ended up.

Without Dovecot these tests are skipped with the install command, unless ``CI`` or
``TRACKER_MAIL_REQUIRE_SERVERS=1`` is set: then a missing server fails the run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tracker_mail_plugin.cli import main
from tracker_mail_plugin.journal import idempotency_key
from tracker_mail_plugin.testing.dovecot import Account, Dovecot
from tracker_mail_plugin.testing.mailfactory import raw_mail

pytestmark = pytest.mark.servers

REPO = "/repos/example-org/webshop"
ALICE = "Alice Example <alice@example.com>"
RULES = [
    {
        "name": "crash reports",
        "when": {"subject_contains": ["crash"]},
        "then": [{"create_issue": {"project": "example-org/webshop", "labels": ["bug"]}}],
    }
]


class Rig:
    """A mailbox, a rules.yaml pointing at it and at GitHub, and a way to run sync."""

    def __init__(self, dovecot: Dovecot, account: Account, github, tmp: Path):
        self.dovecot, self.account, self.github = dovecot, account, github
        self.config = tmp / "rules.yaml"
        self.config.write_text(
            yaml.safe_dump(
                {
                    "version": 1,
                    "journal": str(tmp / "journal.sqlite3"),
                    "trackers": {
                        "github-web": {
                            "adapter": "github",
                            "repository": "example-org/webshop",
                            "token": {"env": "TM_TEST_GITHUB_TOKEN"},
                            "users": {"alice@example.com": "alice"},
                        }
                    },
                    "mailboxes": {
                        "webshop-bugs": {
                            "protocol": "imap",
                            "host": "127.0.0.1",
                            "port": dovecot.ports.imaps,
                            "security": "ssl",
                            "ca_file": str(dovecot.ca_file),
                            "username": account.user,
                            "password": {"env": "TM_TEST_IMAP_PASSWORD"},
                            "tracker": "github-web",
                            "on_success": {"move": "Processed"},
                            "rules": RULES,
                        }
                    },
                }
            )
        )

    def deliver(self, *messages: bytes) -> None:
        self.dovecot.append(self.account, list(messages))

    def sync(self) -> tuple[int, list[tuple[str, str]]]:
        """Run ``tracker-mail sync``; its exit code and the requests it sent GitHub."""
        before = len(self.github.sent())
        code = main(["sync", "-c", str(self.config)])
        return code, [sent.line for sent in self.github.sent()[before:]]

    def subjects(self, folder: str) -> list[str]:
        client = self.dovecot.imap(self.account)
        try:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            fetched = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
            return sorted(
                data[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().strip().removeprefix("Subject: ")
                for data in fetched.values()
            )
        finally:
            client.logout()


@pytest.fixture
def rig(dovecot, github, tmp_path, monkeypatch) -> Rig:
    account = dovecot.add_account()
    monkeypatch.setenv("TM_TEST_GITHUB_TOKEN", github.token)
    monkeypatch.setenv("TM_TEST_IMAP_PASSWORD", account.password)
    return Rig(dovecot, account, github, tmp_path)


def mail(subject: str, message_id: str, body: str = "Hello\r\n", **headers: str) -> bytes:
    fields = {"From": ALICE, "To": "bugs@example.com", "Subject": subject}
    return raw_mail(fields | {"Message-ID": f"<{message_id}>"} | headers, body)


def marker_of(message_id: str) -> str:
    return f"<!-- tracker-mail:{idempotency_key(message_id, 0)} -->"


def prime_sender(github) -> None:
    github.reply("GET", "/users/alice", github.load("user_alice"))
    github.reply(
        "GET", f"{REPO}/collaborators/alice/permission", github.load("collaborator_permission")
    )


def test_new_issue_then_replies_by_number_and_to_a_notification(rig):
    github = rig.github
    rig.deliver(
        mail("Checkout crash", "crash-1@example.com", "The checkout crashes when I pay.\r\n")
    )
    prime_sender(github)
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)

    code, sent = rig.sync()

    assert code == 0
    assert sent == [
        ("GET", "/users/alice"),
        ("GET", f"{REPO}/collaborators/alice/permission"),
        ("POST", f"{REPO}/issues"),
    ]
    assert github.sent()[-1].body == {
        "title": "Checkout crash",
        "labels": ["bug"],
        "body": "From: Alice Example (@alice)\n\nThe checkout crashes when I pay.\n\n"
        + marker_of("crash-1@example.com"),
    }
    assert rig.subjects("INBOX") == []

    rig.deliver(
        mail("Re: Checkout crash #42", "reply-2@example.com", "Still broken today.\r\n"),
        mail(
            "Re: [example-org/webshop] Checkout crash",
            "reply-3@example.com",
            "Same here, with Firefox.\r\n",
            **{
                "In-Reply-To": "<example-org/webshop/issues/42/1146825476@github.com>",
                "References": "<example-org/webshop/issues/42@github.com>",
            },
        ),
    )
    prime_sender(github)
    for _ in range(2):
        github.reply("GET", f"{REPO}/issues/42", github.load("issue"))
        github.reply("POST", f"{REPO}/issues/42/comments", github.load("issue_comment"), status=201)

    code, sent = rig.sync()

    assert code == 0
    assert sent == [
        ("GET", "/users/alice"),
        ("GET", f"{REPO}/issues/42"),
        ("GET", f"{REPO}/collaborators/alice/permission"),
        ("POST", f"{REPO}/issues/42/comments"),
        ("GET", f"{REPO}/issues/42"),
        ("POST", f"{REPO}/issues/42/comments"),
    ]
    bodies = [s.body["body"] for s in github.sent() if s.path.endswith("/comments")]
    assert bodies == [
        "From: Alice Example (@alice)\n\nStill broken today.\n\n"
        + marker_of("reply-2@example.com"),
        "From: Alice Example (@alice)\n\nSame here, with Firefox.\n\n"
        + marker_of("reply-3@example.com"),
    ]
    assert rig.subjects("Processed") == [
        "Checkout crash",
        "Re: Checkout crash #42",
        "Re: [example-org/webshop] Checkout crash",
    ]


def test_rate_limited_create_succeeds_on_the_next_run_without_a_duplicate(rig):
    github = rig.github
    rig.deliver(mail("Payment crash", "crash-4@example.com", "Paying crashes.\r\n"))
    prime_sender(github)
    limited = {"retry-after": "1"}
    github.reply("POST", f"{REPO}/issues", github.load("error_secondary_rate_limit"), 403, limited)

    code, sent = rig.sync()

    assert code == 1  # some messages will be retried
    assert sent[-1] == ("POST", f"{REPO}/issues")
    assert rig.subjects("INBOX") == ["Payment crash"]

    # The adapter refused before writing (RetryLater, not UnknownOutcome), so the core forgot
    # the started write: the next run creates directly, without looking it up first.
    prime_sender(github)
    github.reply("POST", f"{REPO}/issues", github.load("issue", number=43), status=201)

    code, sent = rig.sync()

    assert code == 0
    assert sent == [
        ("GET", "/users/alice"),
        ("GET", f"{REPO}/collaborators/alice/permission"),
        ("POST", f"{REPO}/issues"),
    ]
    first, second = (s.body for s in github.sent() if s.line == ("POST", f"{REPO}/issues"))
    assert first == second  # the same issue, asked for twice, created once
    assert rig.subjects("INBOX") == []
    assert rig.subjects("Processed") == ["Payment crash"]


def test_a_create_whose_answer_was_lost_is_found_not_created_again(rig):
    github = rig.github
    rig.deliver(mail("Login crash", "crash-5@example.com", "Login crashes.\r\n"))
    prime_sender(github)
    github.reply("POST", f"{REPO}/issues", github.load("error_server"), status=502)

    code, sent = rig.sync()

    assert code == 1
    assert sent[-1] == ("POST", f"{REPO}/issues")
    created_body = github.sent()[-1].body["body"]
    assert created_body.endswith(marker_of("crash-5@example.com"))

    # GitHub did create it: the next run finds it by its marker instead of posting again.
    prime_sender(github)
    github.reply("GET", "/user", github.load("user"))
    github.reply("GET", f"{REPO}/issues", [github.load("issue", number=44, body=created_body)])

    code, sent = rig.sync()

    assert code == 0
    assert sent == [
        ("GET", "/users/alice"),
        ("GET", f"{REPO}/collaborators/alice/permission"),
        ("GET", "/user"),
        ("GET", f"{REPO}/issues"),
    ]
    assert rig.subjects("Processed") == ["Login crash"]
