"""Every IMAP, POP3 and SMTP command has an overall deadline, not only a per-read timeout.

The servers here trickle one byte every 50 ms: a per-read timeout of 30 s never fires, so
without a deadline each test would wait for the server to give up (20 s) and then fail with
another error. The deadlines are short so that the tests are quick; only outcomes are
asserted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mailfactory import raw_mail
from tests.trickle import Trickler
from tracker_mail_plugin.commands.sync import SyncOptions, sync
from tracker_mail_plugin.config.loader import load_config_text
from tracker_mail_plugin.config.model import Smtp
from tracker_mail_plugin.config.secrets import Secret
from tracker_mail_plugin.errors import ExitCode, RetryLater, Unreachable
from tracker_mail_plugin.forward import SmtpForwarder
from tracker_mail_plugin.mail import parse_message
from tracker_mail_plugin.sources.imap import ImapSource
from tracker_mail_plugin.sources.pop3 import Pop3Source

ACCOUNT = {
    "host": "127.0.0.1",
    "username": "alice",
    "password": "secret",
    "security": "none",
    "timeout": 30.0,
    "command_timeout": 0.5,
}


def test_imap_greeting_trickled_byte_by_byte_is_cut_off() -> None:
    with Trickler(greeting=b"", slow=b"* OK still coming") as server:
        source = ImapSource(port=server.port, **ACCOUNT)
        with pytest.raises(Unreachable, match=r"did not answer within 0\.5 s \(greeting\)"):
            source.open()


def test_imap_greeting_then_a_trickled_answer_is_cut_off() -> None:
    # imaplib asks CAPABILITY right after the greeting: that answer trickles.
    greeting = b"* OK ready\r\n"
    with Trickler(greeting=greeting, slow=b"* CAPABILITY IMAP4rev1") as server:
        source = ImapSource(port=server.port, **ACCOUNT)
        with pytest.raises(Unreachable, match=r"did not answer within 0\.5 s"):
            source.open()


def test_pop3_greeting_trickled_byte_by_byte_is_cut_off() -> None:
    with Trickler(greeting=b"", slow=b"+OK still coming") as server:
        source = Pop3Source(port=server.port, **ACCOUNT)
        with pytest.raises(Unreachable, match=r"POP3 server 127\.0\.0\.1:\d+ did not answer"):
            source.open()


def test_pop3_download_trickled_is_cut_off_after_a_quick_login() -> None:
    class Scripted(Trickler):
        """Answers USER and PASS at once (in the greeting), then trickles everything."""

    greeting = b"+OK ready\r\n+OK user\r\n+OK logged in\r\n"
    with Scripted(greeting=greeting, slow=b"+OK 1 message") as server:
        source = Pop3Source(port=server.port, **ACCOUNT)
        source.open()
        try:
            with pytest.raises(Unreachable, match=r"did not answer .*\(listing messages\)"):
                source.pending(lambda id: False)
        finally:
            source.close()


SYNC_CONFIG = """\
version: 1
journal: journal.sqlite3
trackers:
  rec: {{adapter: recording, state_file: {tmp}/tracker.json}}
mailboxes:
  slow:
    protocol: imap
    host: 127.0.0.1
    port: {port}
    security: none
    username: alice
    password: {{env: TM_TEST_PASSWORD}}
    timeout: 30
    command_timeout: 0.5
    tracker: rec
    rules: ["then ignore"]
  local:
    protocol: directory
    path: {tmp}/local
    tracker: rec
    unknown_user: as_rule_owner
    on_unprocessed: leave
    rules: ["then ignore"]
"""


def test_a_trickling_imap_server_ends_its_mailbox_with_exit_3_and_the_others_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TM_TEST_PASSWORD", "secret")
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "a.eml").write_bytes(raw_mail({"Subject": "hello"}))
    with Trickler(slow=b"* OK") as server:
        text = SYNC_CONFIG.format(tmp=tmp_path, port=server.port)
        loaded = load_config_text(text, str(tmp_path / "rules.yaml"))
        (slow, local), code = sync(loaded, ["slow", "local"], SyncOptions())
    assert code == ExitCode.UNREACHABLE
    assert slow.exit_code == ExitCode.UNREACHABLE
    assert "did not answer within 0.5 s" in slow.error
    assert (local.exit_code, local.fetched) == (ExitCode.OK, 1)
    # The lock was let go: the next run is not "another sync running".
    with Trickler(slow=b"* OK") as server:
        text = SYNC_CONFIG.format(tmp=tmp_path, port=server.port)
        loaded = load_config_text(text, str(tmp_path / "rules.yaml"))
        (again,), _ = sync(loaded, ["slow"], SyncOptions())
    assert not again.busy


def smtp(port: int, **more: object) -> Smtp:
    settings = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": "tracker@example.com",
        "timeout": 30,
        "command_timeout": 0.5,
    }
    return Smtp.model_validate(settings | more)


def test_an_smtp_server_trickling_its_greeting_fails_only_that_forward() -> None:
    raw = raw_mail({"Subject": "hello"})
    with Trickler(slow=b"220 still coming") as server:
        forward = SmtpForwarder(smtp(server.port), "inbox")
        with pytest.raises(RetryLater, match=r"did not answer within 0\.5 s") as caught:
            forward(parse_message(raw), raw, "admin@example.com", "no rule matched")
    assert not isinstance(caught.value, Unreachable)  # the mailbox goes on


def test_an_smtp_server_trickling_after_ehlo_is_cut_off_too() -> None:
    raw = raw_mail({"Subject": "hello"})
    greeting = b"220 ready\r\n250-hello\r\n250 AUTH PLAIN\r\n"
    with Trickler(greeting=greeting, slow=b"235 ok") as server:
        settings = smtp(server.port, username="u", password=Secret(value="p"))
        forward = SmtpForwarder(settings, "inbox")
        with pytest.raises(RetryLater, match="did not answer"):
            forward(parse_message(raw), raw, "admin@example.com", "no rule matched")
