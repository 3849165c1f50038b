"""The parts of ``watch`` that need no server: back-off, health, systemd notify, the CLI."""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.mailfactory import raw_mail
from tracker_mail_plugin.adapter import Permission
from tracker_mail_plugin.cli import main
from tracker_mail_plugin.commands.watch import metrics_address
from tracker_mail_plugin.pipeline.summary import Summary
from tracker_mail_plugin.testing import RecordingAdapter, RecordingConfig
from tracker_mail_plugin.watch.health import Health
from tracker_mail_plugin.watch.mailbox import BACKOFF_MAX, BUSY_RETRY, _next_look, backoff
from tracker_mail_plugin.watch.notify import Notifier


def test_backoff_doubles_with_jitter_and_is_bounded() -> None:
    assert [backoff(n, rng=lambda: 1.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff(3, rng=lambda: 0.0) == 2.0  # jitter takes off up to half
    assert backoff(100, rng=lambda: 1.0) == BACKOFF_MAX
    assert backoff(10_000, rng=lambda: 0.0) == BACKOFF_MAX / 2


def test_next_look_sooner_when_busy_later_when_the_tracker_asks() -> None:
    assert _next_look(Summary("a"), 60.0) == 60.0
    assert _next_look(Summary("a", busy=True), 60.0) == BUSY_RETRY
    assert _next_look(Summary("a", waiting=120.0), 60.0) == 120.0  # Retry-After wins
    assert _next_look(Summary("a", waiting=0.0), 60.0) == 1.0


def test_health_ready_when_idling_or_polled_recently() -> None:
    health = Health()
    health.watch("imap", "idle", 60)
    health.watch("maildir", "poll", 60)
    assert not health.ready()  # nothing looked at yet

    health.connection("imap", connected=True, idling=True)
    health.ran("imap", None, tracker_ok=True)
    health.ran("maildir", None, tracker_ok=None)
    now = health.snapshot()["maildir"].last_success or 0.0
    assert health.ready(now + 1)
    assert not health.ready(now + 121)  # the polled one is overdue (twice its interval)

    health.ran("imap", "tracker down", tracker_ok=False)
    snapshot = health.snapshot()["imap"]
    assert snapshot.last_error == "tracker down"
    assert snapshot.tracker_ok is False
    assert snapshot.last_tracker_success is not None  # the earlier success is kept
    assert not health.ready(now + 1)


def test_health_passes_each_run_summary_to_its_listeners() -> None:
    health = Health()
    seen: list[Summary] = []
    health.subscribe(seen.append)
    done = Summary("support", fetched=2, created=2)
    health.summary(done)
    assert seen == [done]


def test_health_readiness_says_which_mailbox_is_not_ready_and_why() -> None:
    health = Health()
    assert health.readiness() == (False, {})  # nothing watched yet
    health.watch("good", "idle", 60)
    health.watch("bad", "idle", 60)
    health.connection("good", connected=True, idling=True)
    health.ran("good", None, tracker_ok=True)
    health.ran("bad", "login refused", tracker_ok=None)
    assert health.readiness() == (False, {"bad": "login refused"})
    health.ran("bad", None, tracker_ok=None)
    health.connection("bad", connected=True, idling=True)
    assert health.readiness() == (True, {})


def test_health_forgets_mailboxes_a_reload_removed() -> None:
    health = Health()
    health.watch("a", "poll", 60)
    health.watch("b", "poll", 60)
    health.forget_others({"a"})
    assert list(health.snapshot()) == ["a"]


def test_notifier_sends_datagrams_to_notify_socket(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        server.settimeout(5)
        notifier = Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "2000000"})
        assert notifier.watchdog_interval == 1.0
        notifier.ready()
        notifier.alive()
        notifier.alive()  # within the half interval: not sent again
        notifier.stopping()
        received = [server.recv(256) for _ in range(3)]
    assert received == [b"READY=1", b"WATCHDOG=1", b"STOPPING=1"]


def test_notifier_outside_systemd_does_nothing() -> None:
    notifier = Notifier({})
    assert notifier.watchdog_interval is None
    notifier.ready()  # no socket: nothing to send, no error


def test_watchdog_meant_for_another_process_is_ignored() -> None:
    notifier = Notifier({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"})
    assert notifier.watchdog_interval is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:9100", "127.0.0.1:9100"), ("[::1]:9100", "[::1]:9100"),
     ("localhost:1", "localhost:1")],
)  # fmt: skip
def test_metrics_address_accepts_host_port(text: str, expected: str) -> None:
    assert metrics_address(text) == expected


@pytest.mark.parametrize("text", ["9100", ":9100", "host:", "host:0", "host:70000", "::1:9100"])
def test_metrics_address_refuses_the_rest(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        metrics_address(text)


def test_cli_reports_a_bad_metrics_address(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["watch", "--metrics-address", "nowhere"])
    assert exited.value.code == 2
    assert "is not HOST:PORT" in capsys.readouterr().err


def test_cli_refuses_a_pipe_mailbox(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "rules.yaml"
    config.write_text(
        "version: 1\n"
        "trackers: {rec: {adapter: recording}}\n"
        "mailboxes:\n"
        "  incoming:\n"
        "    protocol: pipe\n"
        "    tracker: rec\n"
        "    rules: [{name: all, when: {subject_contains: x}, then: [ignore]}]\n"
    )
    assert main(["watch", "-c", str(config), "--mailbox", "incoming"]) == 2
    assert "tracker-mail receive" in capsys.readouterr().err


def test_a_maildir_is_polled(tmp_path: Path) -> None:
    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    tracker = RecordingAdapter(RecordingConfig(state_file=tmp_path / "tracker.json"))
    tracker.add_project("it")
    tracker.grant(tracker.add_user("a@example.com"), "it", Permission.CREATE_ISSUE)
    config = tmp_path / "rules.yaml"
    config.write_text(
        "version: 1\n"
        "journal: journal.sqlite3\n"
        f"trackers: {{rec: {{adapter: recording, state_file: {tmp_path / 'tracker.json'}}}}}\n"
        "mailboxes:\n"
        "  local:\n"
        "    protocol: maildir\n"
        f"    path: {maildir}\n"
        "    tracker: rec\n"
        "    poll_interval: 0.3\n"
        "    rules:\n"
        "      - {name: all, when: {subject_contains: Printer}, "
        "then: [{create_issue: {project: it}}]}\n"
    )
    watch = subprocess.Popen(
        [sys.executable, "-m", "tracker_mail_plugin.cli", "watch", "-c", str(config)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1)  # a first empty look, then polling
        raw = raw_mail({"From": "a@example.com", "Subject": "Printer", "Message-ID": "<p@x>"}, "hi")
        (maildir / "new" / "1.eml").write_bytes(raw)
        deadline = time.monotonic() + 90
        while not tracker.issues() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        watch.send_signal(signal.SIGTERM)
        _, err = watch.communicate(timeout=60)
    assert watch.returncode == 0, err
    assert [issue.title for issue in tracker.issues().values()] == ["Printer"], err
