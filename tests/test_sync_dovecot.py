"""``tracker-mail sync`` as a separate process against a real Dovecot (tests/servers).

Each test writes a rules.yaml into its tmp_path (journal there too), a recording tracker
kept in a JSON state file (so that a sync killed with SIGKILL leaves its writes visible, and
the test can break the tracker of the child process), and reads the mailbox back with its
own IMAP/POP3 client. Forwarded mail goes to an aiosmtpd server on 127.0.0.1.

The same flows in-process against a FakeMailbox, every branch, are in test_sync.py.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import os
import poplib
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller

from tests.mailfactory import multipart, part, raw_mail
from tests.servers.dovecot import Account, Dovecot, free_ports
from tests.servers.helpers import other_ca
from tracker_mail_plugin.adapter import Permission
from tracker_mail_plugin.mail.classify import LOOP_HEADER
from tracker_mail_plugin.pipeline.checkpoints import KILL_AT_ENV
from tracker_mail_plugin.testing import FaultKind, RecordingAdapter, RecordingConfig, StoredIssue

pytestmark = pytest.mark.servers

ALICE = "Alice Example <alice@example.com>"
MAILBOX = "support"
RUN_TIMEOUT = 120  # bounds a hung run; a run on a loaded machine can take a minute
# A tracker call held while the test acts; the test ends it with release_hangs() as soon as
# it has acted (a hang of fixed length is a race the test loses when the machine stalls).
HOLD_SECONDS = 300.0
CLI = (sys.executable, "-m", "tracker_mail_plugin.cli")
PRINTERS = [
    {
        "name": "printers",
        "when": {"subject_contains": "printer"},
        "then": [{"create_issue": {"project": "it", "type": "Bug"}}],
    }
]
SUMMARY = re.compile(
    rf"^{MAILBOX}: fetched (?P<fetched>\d+), created (?P<created>\d+), "
    r"commented (?P<commented>\d+), attached (?P<attached>\d+), forwarded (?P<forwarded>\d+), "
    r"unprocessed (?P<unprocessed>\d+), dropped (?P<dropped>\d+), failed (?P<failed>\d+), "
    r"quarantined (?P<quarantined>\d+) in \d+\.\ds$",
    re.MULTILINE,
)


def mail(
    subject: str, body: bytes | str = "Hello\r\n", sender: str = ALICE, **headers: str
) -> bytes:
    """A CRLF message whose Message-ID is made from its subject."""
    message_id = "<" + re.sub(r"\W+", "-", subject).strip("-").lower() + "@example.com>"
    fields = {"From": sender, "Subject": subject, "Message-ID": message_id}
    return raw_mail(fields | headers, body)


# --- SMTP --------------------------------------------------------------------------------


@dataclass
class Received:
    """One mail the SMTP server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class SmtpSink:
    """An aiosmtpd handler that keeps what it receives."""

    port: int = 0
    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
        )
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A receiving SMTP server on 127.0.0.1 for forwarded mail."""
    sink = SmtpSink(port=free_ports(1)[0])
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


# --- the rig: a configuration, the tracker, the mailbox, running sync ---------------------


@dataclass
class Run:
    """A finished ``tracker-mail`` process."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def summary(self) -> dict[str, int]:
        """The counts of the mailbox's summary line (exactly one is expected)."""
        if not self.stdout:  # a run where nothing happened prints nothing
            return dict.fromkeys(SUMMARY.groupindex, 0)
        found = [m.groupdict() for m in SUMMARY.finditer(self.stdout)]
        assert len(found) == 1, f"no single summary line in:\n{self.output}"
        return {name: int(value) for name, value in found[0].items()}


@dataclass
class Rig:
    """One test's world: a Dovecot account, a tracker state file, a rules.yaml, the journal."""

    tmp: Path
    dovecot: Dovecot
    account: Account
    smtp_port: int
    config: Path = field(init=False)

    def __post_init__(self) -> None:
        self.config = self.tmp / "rules.yaml"
        (self.tmp / "mail-password").write_text(self.account.password)
        self.tracker = RecordingAdapter(RecordingConfig(state_file=self.tmp / "tracker.json"))
        self.tracker.add_project("it")
        self.alice = self.tracker.add_user("alice@example.com", "Alice Example")
        self.tracker.grant(self.alice, "it", Permission.CREATE_ISSUE, Permission.COMMENT)
        self.configure()

    def configure(
        self,
        protocol: str = "imap",
        security: str = "none",
        ca_file: Path | None = None,
        rules: Sequence[dict[str, Any]] = PRINTERS,
        **options: Any,
    ) -> None:
        """Write rules.yaml: one mailbox ``support`` on the test Dovecot."""
        tls = security != "none"
        ports = self.dovecot.ports
        port = {
            "imap": ports.imaps if security == "ssl" else ports.imap,
            "pop3": ports.pop3s if security == "ssl" else ports.pop3,
        }[protocol]
        mailbox: dict[str, Any] = {
            "protocol": protocol,
            "host": "127.0.0.1",
            "port": port,
            "security": security,
            "username": self.account.user,
            "password": {"file": str(self.tmp / "mail-password")},
            "timeout": 20,
            "tracker": "rec",
            "rules": list(rules),
        }
        if tls:
            mailbox["ca_file"] = str(ca_file or self.dovecot.ca_file)
        if protocol == "imap":
            options.setdefault("on_success", {"move": "Processed"})
        mailbox |= options
        document = {
            "version": 1,
            "journal": "journal.sqlite3",
            "trackers": {
                "rec": {"adapter": "recording", "state_file": str(self.tmp / "tracker.json")}
            },
            "smtp": {
                "host": "127.0.0.1",
                "port": self.smtp_port,
                "security": "none",
                "sender": "tracker@example.com",
            },
            "mailboxes": {MAILBOX: mailbox},
        }
        self.config.write_text(yaml.safe_dump(document, sort_keys=False))

    # -- running ---------------------------------------------------------------------------

    def command(self, *args: str) -> list[str]:
        name, *rest = args
        return [*CLI, name, "-c", str(self.config), *rest]

    def environment(self, kill_at: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != KILL_AT_ENV}
        if kill_at is not None:
            env[KILL_AT_ENV] = kill_at
        return env

    def start(self, *args: str, kill_at: str | None = None) -> subprocess.Popen[str]:
        """Start ``tracker-mail sync`` (or the command given) without waiting."""
        return subprocess.Popen(
            self.command(*(args or ("sync",))),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.environment(kill_at),
            cwd=self.tmp,
        )

    def run(self, *args: str, kill_at: str | None = None) -> Run:
        """Run ``tracker-mail sync`` (or the command given) to its end."""
        return finish(self.start(*args, kill_at=kill_at))

    def sync(self, *args: str) -> Run:
        """A normal sync that must succeed."""
        result = self.run("sync", *args)
        assert result.returncode == 0, result.output
        return result

    def killed_at(self, point: str) -> Run:
        """A sync that kills itself with SIGKILL at ``point``."""
        result = self.run("sync", kill_at=point)
        assert result.returncode == -signal.SIGKILL, f"not killed at {point}:\n{result.output}"
        return result

    def status(self) -> tuple[dict[str, int], str]:
        """``tracker-mail status``: the journal's counts by state, and the whole text."""
        result = self.run("status")
        assert result.returncode == 0, result.output
        head = result.stdout.splitlines()[0]
        counts = head.partition(": ")[2]
        if counts.startswith("empty"):  # "empty (no sync has run yet)" without a journal
            return {}, result.stdout
        pairs = (item.rsplit(" ", 1) for item in counts.split(", "))
        return {state: int(number) for state, number in pairs}, result.stdout

    # -- looking at the mailbox and the tracker --------------------------------------------

    def append(self, *messages: bytes, folder: str = "INBOX") -> list[int]:
        return self.dovecot.append(self.account, messages, folder=folder)

    def folder(self, name: str = "INBOX") -> list[bytes]:
        """The messages in a folder, oldest first ([] when it does not exist)."""
        client = self.dovecot.imap(self.account)
        try:
            if not client.folder_exists(name):
                return []
            client.select_folder(name, readonly=True)
            found = client.fetch(client.search("ALL"), ["BODY.PEEK[]"])
            return [bytes(found[uid][b"BODY[]"]) for uid in sorted(found)]
        finally:
            client.logout()

    def issues(self) -> list[StoredIssue]:
        return sorted(self.tracker.issues().values(), key=lambda issue: int(issue.key))


@pytest.fixture
def rig(tmp_path: Path, dovecot: Dovecot, account: Account, smtp: SmtpSink) -> Rig:
    return Rig(tmp_path, dovecot, account, smtp.port)


def finish(process: subprocess.Popen[str]) -> Run:
    try:
        stdout, stderr = process.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        raise AssertionError(f"tracker-mail did not finish:\n{stdout}{stderr}") from None
    return Run(process.returncode, stdout, stderr)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def subjects(messages: Sequence[bytes]) -> list[str]:
    return [email.message_from_bytes(raw)["Subject"] for raw in messages]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pop3_uidls(dovecot: Dovecot, account: Account) -> list[str]:
    """What a POP3 client sees in the maildrop now."""
    client = poplib.POP3("127.0.0.1", dovecot.ports.pop3, timeout=10)
    try:
        client.user(account.user)
        client.pass_(account.password)
        return [line.split()[1].decode() for line in client.uidl()[1]]
    finally:
        client.quit()


def attachment_part(filename: str, content_type: str, data: bytes) -> bytes:
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    headers = (
        f"Content-Type: {content_type}; name={filename}\n"
        f"Content-Disposition: attachment; filename={filename}\n"
        "Content-Transfer-Encoding: base64"
    )
    return part(headers, encoded)


def with_attachments(subject: str, text: str, files: dict[str, tuple[str, bytes]]) -> bytes:
    parts = [part("Content-Type: text/plain; charset=utf-8", text)]
    parts += [attachment_part(name, kind, data) for name, (kind, data) in files.items()]
    content_type, body = multipart("mixed", parts)
    return mail(subject, body, **{"MIME-Version": "1.0", "Content-Type": content_type})


def forwarded_original(content: bytes) -> tuple[str, bytes]:
    """The Content-Transfer-Encoding and the decoded body of the message/rfc822 part.

    Read by hand from the raw bytes, not through a MIME parser, so that the bytes compared
    are exactly those sent, whatever encoding the part was given.
    """
    top = email.message_from_bytes(content)
    boundary = top.get_boundary()
    assert boundary, "the forwarded mail is not multipart"
    for chunk in content.split(b"--" + boundary.encode())[1:-1]:
        head, _, body = chunk.lstrip(b"\r\n").partition(b"\r\n\r\n")
        headers = email.message_from_bytes(head + b"\r\n\r\n")
        if headers.get_content_type() == "message/rfc822":
            encoding = (headers["Content-Transfer-Encoding"] or "7bit").lower()
            body = body.removesuffix(b"\r\n")
            return encoding, base64.b64decode(body) if encoding == "base64" else body
    raise AssertionError("no message/rfc822 part in the forwarded mail")


# --- IMAP end to end ---------------------------------------------------------------------


def test_imap_new_issue_reply_comment_unprocessed_forward_and_moves(
    rig: Rig, smtp: SmtpSink
) -> None:
    pdf = os.urandom(48_000)
    png = bytes(range(256)) * 40
    first = with_attachments(
        "Printer on fire",
        "The printer on floor 2 smokes.\r\n",
        {"report.pdf": ("application/pdf", pdf), "photo.png": ("image/png", png)},
    )
    reply = mail(
        "Re: Printer on fire",
        "Fixed now.\r\n\r\nOn Mon, 2 Nov 2026, Alice <alice@example.com> wrote:\r\n> smokes\r\n",
        **{"In-Reply-To": "<printer-on-fire@example.com>"},
    )
    lunch = mail("Lunch on Friday?", "Pizza?\r\n")
    rig.configure(on_unprocessed={"forward": "admin@example.com"})
    rig.append(first, reply, lunch)

    result = rig.sync()

    assert result.summary == {
        "fetched": 3, "created": 1, "commented": 1, "attached": 0, "forwarded": 1,
        "unprocessed": 1, "dropped": 0, "failed": 0, "quarantined": 0,
    }  # fmt: skip
    (issue,) = rig.issues()
    assert (issue.project, issue.issue_type, issue.title) == ("it", "Bug", "Printer on fire")
    assert issue.text.startswith("The printer on floor 2 smokes.")
    assert issue.reporter == rig.alice.id
    assert sorted((f.filename, f.content_type, f.size, f.sha256) for f in issue.attachments) == [
        ("photo.png", "image/png", len(png), sha(png)),
        ("report.pdf", "application/pdf", len(pdf), sha(pdf)),
    ]
    assert [(c.text, c.author) for c in issue.comments] == [("Fixed now.", rig.alice.id)]

    (forwarded,) = smtp.received
    assert (forwarded.mail_from, forwarded.rcpt_tos) == (
        "tracker@example.com",
        ["admin@example.com"],
    )
    sent = email.message_from_bytes(forwarded.content, policy=email.policy.default)
    assert sent["Auto-Submitted"] == "auto-replied"
    assert sent[LOOP_HEADER] == MAILBOX
    assert "Lunch on Friday?" in sent["Subject"]
    text = sent.get_body(("plain",))
    assert text is not None
    assert "no rule matched" in text.get_content()
    assert forwarded_original(forwarded.content)[1] == lunch

    # Processed mail moved; the forwarded one is left (on_unprocessed forward leaves it).
    assert rig.folder("Processed") == [first, reply]
    assert rig.folder("INBOX") == [lunch]
    counts, _ = rig.status()
    assert counts == {"disposed": 2, "unprocessed": 1}

    again = rig.sync()  # the left message is journalled as done: not forwarded twice
    assert again.summary["fetched"] == 0
    assert len(smtp.received) == 1
    assert len(rig.issues()) == 1


def test_forwarded_original_is_a_message_rfc822_part_mail_readers_can_open(
    rig: Rig, smtp: SmtpSink
) -> None:
    """RFC 2046 5.2.1: a message/rfc822 body may only be 7bit, 8bit or binary.

    And RFC 5321 2.3.8: every line sent over SMTP ends with CRLF, never a bare LF.
    """
    lunch = mail("Lunch on Friday?", "Pizza?\r\n")
    rig.configure(on_unprocessed={"forward": "admin@example.com"})
    rig.append(lunch)
    rig.sync()

    (forwarded,) = smtp.received
    encoding, _ = forwarded_original(forwarded.content)
    sent = email.message_from_bytes(forwarded.content, policy=email.policy.default)
    (attached,) = [p for p in sent.walk() if p.get_content_type() == "message/rfc822"]
    inner = attached.get_payload(0)
    assert encoding in ("7bit", "8bit", "binary")
    assert b"\n" not in forwarded.content.replace(b"\r\n", b""), "bare LF sent over SMTP"
    assert (inner["Subject"], inner["Message-ID"]) == (
        "Lunch on Friday?",
        "<lunch-on-friday@example.com>",
    )


def test_an_8bit_message_is_forwarded_byte_for_byte(rig: Rig, smtp: SmtpSink) -> None:
    """Much real mail is 8bit (UTF-8 bodies sent as is); forwarding must not choke on it."""
    lunch = mail(
        "Mittagessen am Freitag?",
        "Grüße aus Köln, wer kommt mit?\r\n".encode(),
        **{"Content-Type": "text/plain; charset=utf-8", "Content-Transfer-Encoding": "8bit"},
    )
    rig.configure(on_unprocessed={"forward": "admin@example.com"})
    rig.append(lunch)

    result = rig.run("sync")

    assert result.returncode == 0, result.output
    assert result.summary["forwarded"] == 1
    (forwarded,) = smtp.received
    encoding, original = forwarded_original(forwarded.content)
    assert original == lunch
    assert encoding in ("8bit", "binary")
    sent = email.message_from_bytes(forwarded.content, policy=email.policy.default)
    (attached,) = [p for p in sent.walk() if p.get_content_type() == "message/rfc822"]
    assert attached.get_payload(0).get_content().splitlines() == ["Grüße aus Köln, wer kommt mit?"]


# --- POP3 end to end ---------------------------------------------------------------------


@pytest.mark.parametrize("on_success", ["delete", None])
def test_pop3_new_issue_then_deleted_or_left(rig: Rig, on_success: str | None) -> None:
    policies = {"on_success": on_success} if on_success else {}
    rig.configure(protocol="pop3", **policies)
    raw = mail("Printer on fire", "It smokes.\r\n")
    rig.append(raw)

    first = rig.sync()
    second = rig.sync()

    (issue,) = rig.issues()
    assert (issue.project, issue.title) == ("it", "Printer on fire")
    assert issue.text.startswith("It smokes.")
    assert (first.summary["fetched"], first.summary["created"]) == (1, 1)
    assert (second.summary["fetched"], second.summary["created"]) == (0, 0)
    assert len(rig.tracker.calls("create_issue")) == 1
    if on_success == "delete":
        assert pop3_uidls(rig.dovecot, rig.account) == []
    else:  # the POP3 default leaves it; the journal remembers it is done
        assert rig.folder("INBOX") == [raw]
    assert rig.status()[0] == {"disposed": 1}


# --- exactly once under kill -9 ----------------------------------------------------------


@pytest.mark.parametrize("point", ["after_fetch", "after_write", "after_record", "before_commit"])
def test_killed_at_a_checkpoint_then_rerun_gives_exactly_one_issue_each(
    rig: Rig, point: str
) -> None:
    messages = [mail("Printer on fire"), mail("Printer out of paper")]
    rig.append(*messages)

    rig.killed_at(point)
    rig.sync()

    assert sorted(issue.title for issue in rig.issues()) == [
        "Printer on fire",
        "Printer out of paper",
    ]
    assert len(rig.tracker.calls("create_issue")) == 2
    assert rig.folder("INBOX") == []
    assert rig.folder("Processed") == messages
    counts, text = rig.status()
    assert counts == {"disposed": 2}, text
    assert rig.sync().summary["fetched"] == 0


@pytest.mark.parametrize("point", ["before_dispose", "after_dispose"])
def test_killed_around_the_batch_move_then_rerun_gives_exactly_one_issue_each(
    rig: Rig, point: str
) -> None:
    # before_dispose: confirmations fsynced, nothing moved; after_dispose: one UID MOVE moved
    # the whole batch, and the journal does not know.
    messages = [mail(f"Printer {n} broken") for n in range(3)]
    rig.append(*messages)

    killed = rig.killed_at(point)
    assert killed.returncode == -signal.SIGKILL
    moved = rig.folder("Processed")
    assert moved == (messages if point == "after_dispose" else [])
    rerun = rig.sync()

    assert len(rig.issues()) == 3
    assert len(rig.tracker.calls("create_issue")) == 3
    assert rerun.summary["created"] == 0
    assert rig.folder("INBOX") == []
    assert rig.folder("Processed") == messages
    counts, text = rig.status()
    assert counts == {"disposed": 3}, text


@pytest.mark.parametrize("point", ["after_fetch", "after_write", "after_record", "before_commit"])
def test_with_workers_killed_at_a_checkpoint_then_rerun_gives_exactly_one_issue_each(
    rig: Rig, point: str
) -> None:
    # Four messages in flight when the process dies: each must still end up exactly once.
    rig.configure(workers=4)
    messages = [mail(f"Printer {n} broken") for n in range(8)]
    rig.append(*messages)

    rig.killed_at(point)
    rig.sync()

    assert sorted(issue.title for issue in rig.issues()) == sorted(
        f"Printer {n} broken" for n in range(8)
    )
    assert len(rig.issues()) == 8  # never twice, whatever was in flight
    # A write the killed run may have sent is looked up by its key before it is sent again
    # (with several in flight, some were cut off before the tracker stored them).
    asked: set[str] = set()
    created: set[str] = set()
    for call in rig.tracker.calls():
        key = call.args.get("key", "")
        if call.method == "find_by_key":
            asked.add(key)
        elif call.method == "create_issue":
            assert key not in created or key in asked, f"{key} sent twice without a look-up"
            created.add(key)
    assert rig.folder("INBOX") == []
    assert sorted(rig.folder("Processed")) == sorted(messages)
    counts, text = rig.status()
    assert counts == {"disposed": 8}, text
    assert rig.sync().summary["fetched"] == 0


def test_killed_after_the_write_the_rerun_asks_the_tracker_by_key(rig: Rig) -> None:
    rig.append(mail("Printer on fire"))
    rig.killed_at("after_write")
    assert len(rig.issues()) == 1  # the tracker has it, the journal does not know
    rig.sync()
    assert len(rig.issues()) == 1
    assert len(rig.tracker.calls("create_issue")) == 1
    assert len(rig.tracker.calls("find_by_key")) == 1
    assert rig.folder("INBOX") == []


def test_pop3_delete_killed_before_quit_is_undone_by_the_server_and_not_duplicated(
    rig: Rig,
) -> None:
    rig.configure(protocol="pop3", on_success="delete")
    raw = mail("Printer on fire")
    rig.append(raw)

    rig.killed_at("before_commit")  # after DELE, before QUIT
    assert len(rig.issues()) == 1
    assert len(pop3_uidls(rig.dovecot, rig.account)) == 1  # the server undid the DELE
    rig.sync()

    assert len(rig.issues()) == 1
    assert len(rig.tracker.calls("create_issue")) == 1
    assert pop3_uidls(rig.dovecot, rig.account) == []
    assert rig.status()[0] == {"disposed": 1}


# --- overlapping runs --------------------------------------------------------------------


def test_two_syncs_at_once_one_runs_the_other_says_so_and_wait_waits(rig: Rig) -> None:
    rig.append(mail("Printer on fire"))
    # Whoever gets the lock holds it until released: its first tracker call hangs.
    rig.tracker.fail("find_user", FaultKind.HANG, times=1, seconds=HOLD_SECONDS)
    first, second = rig.start(), rig.start()
    both_ended = lambda: first.poll() is not None and second.poll() is not None  # noqa: E731
    # Generous: two interpreters start on a loaded machine; ended early, say why.
    wait_for(
        lambda: bool(rig.tracker.calls("find_user")) or both_ended(),
        "a sync to reach the tracker",
        timeout=90.0,
    )
    assert rig.tracker.calls("find_user"), [finish(first).output, finish(second).output]
    rig.append(mail("Printer out of paper"))  # arrives after the running sync listed INBOX
    waiting = rig.start("sync", "--wait")
    assert first.poll() is None or second.poll() is None  # the lock is still held
    # The other one must have met the lock before it is let go (a slow start would find
    # it free), and so it ends by itself.
    wait_for(lambda: first.poll() is not None or second.poll() is not None, "the busy one")
    rig.tracker.release_hangs()

    results = [finish(first), finish(second)]
    waited = finish(waiting)

    busy = [r for r in results if "another sync of this mailbox is running" in r.stdout]
    ran = [r for r in results if r not in busy]
    assert len(busy) == 1, [r.output for r in results]
    assert len(ran) == 1, [r.output for r in results]
    assert busy[0].returncode == 0
    assert "another sync of this mailbox is running" not in waited.stdout
    assert (ran[0].returncode, ran[0].summary["created"]) == (0, 1)
    assert (waited.returncode, waited.summary["created"]) == (0, 1)
    assert sorted(issue.title for issue in rig.issues()) == [
        "Printer on fire",
        "Printer out of paper",
    ]
    assert len(rig.tracker.calls("create_issue")) == 2
    assert rig.folder("INBOX") == []
    assert len(rig.folder("Processed")) == 2


# --- the tracker failing -----------------------------------------------------------------


@pytest.mark.parametrize("kind", [FaultKind.RETRY_LATER, FaultKind.SERVER_ERROR])
def test_tracker_failing_then_recovering_loses_nothing_and_creates_once(
    rig: Rig, kind: FaultKind
) -> None:
    raw = mail("Printer on fire")
    rig.append(raw)
    rig.tracker.fail("create_issue", kind, times=None)

    failed = rig.run("sync")

    assert failed.returncode == 1, failed.output
    assert failed.summary["failed"] == 1
    assert rig.issues() == []
    assert rig.folder("INBOX") == [raw]
    counts, text = rig.status()
    assert counts == {"failed": 1}
    assert "failed, will retry" in text
    assert "recording tracker: create_issue" in text  # the last error

    rig.tracker.clear_faults()
    recovered = rig.sync()

    assert recovered.summary["created"] == 1
    assert len(rig.issues()) == 1
    assert rig.folder("INBOX") == []
    assert rig.folder("Processed") == [raw]
    assert rig.status()[0] == {"disposed": 1}


def test_a_lost_answer_is_found_by_key_on_the_rerun(rig: Rig) -> None:
    raw = mail("Printer on fire")
    rig.append(raw)
    rig.tracker.fail("create_issue", FaultKind.SUCCEED_THEN_UNKNOWN)

    first = rig.run("sync")
    assert first.returncode == 1, first.output
    assert len(rig.issues()) == 1  # done, but we never heard so
    assert rig.folder("INBOX") == [raw]

    second = rig.sync()
    assert len(rig.issues()) == 1
    assert len(rig.tracker.calls("create_issue")) == 1
    assert len(rig.tracker.calls("find_by_key")) == 1
    assert rig.folder("Processed") == [raw]
    assert second.summary["failed"] == 0


def test_a_poison_message_is_quarantined_while_the_one_behind_it_flows(rig: Rig) -> None:
    # Filed as the rule owner (the sender has no account), so nothing refuses it before the
    # tracker does: project "nowhere" does not exist, a permanent error every time.
    rules = [
        {
            "when": {"subject_contains": "broken"},
            "then": [{"create_issue": {"project": "nowhere"}}],
        },
        {"then": [{"create_issue": {"project": "it"}}]},
    ]
    rig.configure(rules=rules, unknown_user="as_rule_owner", max_attempts=2)
    poison = mail("broken one", sender="bob@example.com")
    good = mail("fine one", sender="bob@example.com")
    rig.append(poison, good)

    first = rig.run("sync")

    assert first.returncode == 1, first.output
    assert (first.summary["created"], first.summary["failed"]) == (1, 1)
    assert [issue.title for issue in rig.issues()] == ["fine one"]
    assert rig.folder("Processed") == [good]
    assert rig.folder("INBOX") == [poison]

    second = rig.run("sync")

    assert second.returncode == 4, second.output  # quarantined: someone should look
    assert (second.summary["quarantined"], second.summary["failed"]) == (1, 0)
    assert rig.folder("Quarantine") == [poison]
    assert rig.folder("INBOX") == []
    assert [issue.title for issue in rig.issues()] == ["fine one"]
    counts, text = rig.status()
    assert counts == {"disposed": 1, "quarantined": 1}
    assert "there is no project 'nowhere'" in text
    assert rig.sync().summary["fetched"] == 0


def test_a_quarantined_message_moved_back_and_retried_is_processed_once(rig: Rig) -> None:
    rules = [{"then": [{"create_issue": {"project": "nowhere"}}]}]
    rig.configure(rules=rules, unknown_user="as_rule_owner", max_attempts=1)
    poison = mail("broken one", sender="bob@example.com")
    rig.append(poison)
    quarantined = rig.run("sync")
    assert (quarantined.returncode, quarantined.summary["quarantined"]) == (4, 1)
    _, text = rig.status()
    (row_id,) = set(re.findall(r"^(\d+) +support +quarantined", text, re.M))

    rig.tracker.add_project("nowhere")  # someone fixed the tracker
    retried = rig.run("retry", row_id)
    assert retried.returncode == 0, retried.output
    assert f'#{row_id} support "broken one": queued; it was moved' in retried.stdout
    assert "will be processed by the next sync" in retried.stdout
    client = rig.dovecot.imap(rig.account)
    client.select_folder("Quarantine")
    client.move(client.search("ALL"), "INBOX")
    client.logout()
    again = rig.sync()

    assert again.summary["created"] == 1
    assert [(i.project, i.title) for i in rig.issues()] == [("nowhere", "broken one")]
    assert rig.folder("Processed") == [poison]
    assert rig.folder("INBOX") == rig.folder("Quarantine") == []
    assert rig.status()[0] == {"disposed": 1}


# --- the mailbox failing -----------------------------------------------------------------


def test_an_unreachable_mailbox_exits_3_and_touches_nothing(rig: Rig) -> None:
    rig.configure()
    text = rig.config.read_text().replace(
        f"port: {rig.dovecot.ports.imap}", f"port: {free_ports(1)[0]}"
    )
    rig.config.write_text(text)

    result = rig.run("sync")

    assert result.returncode == 3, result.output
    assert "cannot reach IMAP server 127.0.0.1" in result.output
    assert rig.tracker.calls() == []


def test_imap_connection_dropped_mid_run_loses_nothing_and_duplicates_nothing(rig: Rig) -> None:
    messages = [mail("Printer on fire"), mail("Printer out of paper")]
    rig.append(*messages)
    rig.tracker.fail("find_user", FaultKind.HANG, times=1, seconds=HOLD_SECONDS)
    running = rig.start()
    wait_for(lambda: rig.tracker.calls("find_user"), "the sync to reach the tracker")
    rig.dovecot.kick(rig.account)  # the server drops the session while the tracker works
    rig.tracker.release_hangs()

    cut = finish(running)

    assert cut.returncode == 3, cut.output
    assert "connection to IMAP server 127.0.0.1" in cut.output
    # Both reached the tracker (mail is moved in batches); then the batch's move failed.
    assert len(rig.issues()) == 2
    assert rig.folder("INBOX") == messages

    rig.sync()

    assert sorted(issue.title for issue in rig.issues()) == [
        "Printer on fire",
        "Printer out of paper",
    ]
    assert len(rig.tracker.calls("create_issue")) == 2
    assert rig.folder("Processed") == messages
    assert rig.status()[0] == {"disposed": 2}


# --- UIDVALIDITY -------------------------------------------------------------------------


def test_a_new_uidvalidity_does_not_import_a_left_message_again(rig: Rig) -> None:
    rig.configure(folder="Support", on_success="leave")
    raw = mail("Printer on fire")
    rig.append(raw, folder="Support")
    assert rig.sync().summary["created"] == 1

    client = rig.dovecot.imap(rig.account)
    before = client.folder_status("Support", [b"UIDVALIDITY"])[b"UIDVALIDITY"]
    client.delete_folder("Support")
    client.logout()
    rig.append(raw, folder="Support")  # the same bytes in a renumbered folder
    client = rig.dovecot.imap(rig.account)
    after = client.folder_status("Support", [b"UIDVALIDITY"])[b"UIDVALIDITY"]
    client.logout()
    assert after != before

    again = rig.sync()

    assert (again.summary["fetched"], again.summary["created"]) == (1, 0)
    assert len(rig.issues()) == 1
    assert len(rig.tracker.calls("create_issue")) == 1
    assert rig.folder("Support") == [raw]
    assert rig.sync().summary["fetched"] == 0


# --- TLS ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("protocol", "security"),
    [("imap", "ssl"), ("imap", "starttls"), ("pop3", "ssl"), ("pop3", "starttls")],
)
def test_tls_with_the_test_ca_verifies_and_works(rig: Rig, protocol: str, security: str) -> None:
    rig.configure(protocol=protocol, security=security)
    rig.append(mail("Printer on fire"))
    assert rig.sync().summary["created"] == 1
    assert [issue.title for issue in rig.issues()] == ["Printer on fire"]


@pytest.mark.parametrize(
    ("protocol", "security"), [("imap", "ssl"), ("imap", "starttls"), ("pop3", "ssl")]
)
def test_a_wrong_ca_is_refused_with_exit_2_and_says_why(
    rig: Rig, protocol: str, security: str
) -> None:
    rig.configure(protocol=protocol, security=security, ca_file=other_ca(rig.tmp))
    raw = mail("Printer on fire")
    rig.append(raw)

    result = rig.run("sync")

    assert result.returncode == 2, result.output
    assert "certificate is not trusted" in result.output
    assert "ca_file" in result.output
    assert rig.tracker.calls("create_issue") == []
    assert rig.folder("INBOX") == [raw]
    assert rig.status()[0] == {}


# --- dry run -----------------------------------------------------------------------------


def test_dry_run_says_what_it_would_do_and_changes_nothing(rig: Rig, smtp: SmtpSink) -> None:
    rig.configure(on_unprocessed={"forward": "admin@example.com"})
    messages = [mail("Printer on fire"), mail("Lunch on Friday?")]
    rig.append(*messages)

    result = rig.sync("--dry-run")

    assert (
        f"{MAILBOX}: would 'Printer on fire' from {ALICE}: act: create_issue in project it (type: Bug)"
        in result.stdout
    )
    assert f"{MAILBOX}: would 'Lunch on Friday?' from {ALICE}: unprocessed: no rule matched" in (
        result.stdout
    )
    assert (
        f"{MAILBOX}: fetched 2, would create 1, would comment 0, would attach 0, would forward 0,"
        " would leave unprocessed 1, would drop 0, would fail 0, would quarantine 0 in "
    ) in result.stdout
    assert rig.issues() == []
    assert [call.method for call in rig.tracker.calls() if call.method == "create_issue"] == []
    assert smtp.received == []
    assert rig.folder("INBOX") == messages
    assert rig.folder("Processed") == []
    assert rig.status()[0] == {}
    assert rig.sync().summary["created"] == 1  # and a real run afterwards does it all
