"""``tracker-mail watch`` as a separate process against a real Dovecot, with real signals.

The rig (rules.yaml, the recording tracker in a state file, Dovecot accounts) is the one of
test_sync_dovecot.py. Watch writes its log to a file the test reads while it runs; with
``-v`` it says when it idles, which is when a test appends mail.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.servers.dovecot import Dovecot, free_ports
from tests.test_sync_dovecot import (
    CLI,
    HOLD_SECONDS,
    MAILBOX,
    Rig,
    SmtpSink,
    mail,
    rig,
    smtp,
    wait_for,
)
from tracker_mail_plugin.pipeline.checkpoints import KILL_AT_ENV, Checkpoint
from tracker_mail_plugin.testing import FaultKind
from tracker_mail_plugin.watch.mailbox import IDLE_RENEW_ENV

__all__ = ["rig", "smtp"]  # fixtures, imported so that pytest sees them here

pytestmark = pytest.mark.servers

IDLING = "waiting for new mail (IDLE)"
STOP_TIMEOUT = 60


class Watching:
    """A running ``tracker-mail watch``; its stdout and stderr go to files."""

    def __init__(self, rig: Rig, *args: str, env: dict[str, str] | None = None, tag: str = "1"):
        self.err = rig.tmp / f"watch-{tag}.err"
        self.out = rig.tmp / f"watch-{tag}.out"
        environment = rig.environment(None) | (env or {})
        with self.err.open("wb") as err, self.out.open("wb") as out:
            self.process = subprocess.Popen(
                [*CLI, "watch", "-c", str(rig.config), "-v", *args],
                stdout=out,
                stderr=err,
                env=environment,
                cwd=rig.tmp,
            )

    @property
    def log(self) -> str:
        return self.err.read_text(errors="replace")

    def wait_log(self, text: str, count: int = 1, timeout: float = 90.0) -> None:
        wait_for(
            lambda: self.log.count(text) >= count, f"{text!r} x{count} in:\n{self.log}", timeout
        )

    def stop(self, signum: int = signal.SIGTERM) -> int:
        self.process.send_signal(signum)
        return self.wait()

    def wait(self) -> int:
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"watch did not stop:\n{self.log}") from None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def watching() -> Iterator[list[Watching]]:
    """Watch processes a test starts; any still running at the end are killed."""
    started: list[Watching] = []
    yield started
    for watch in started:
        watch.kill()


def start(rig: Rig, watching: list[Watching], *args: str, **kw: Any) -> Watching:
    watch = Watching(rig, *args, tag=str(len(watching) + 1), **kw)
    watching.append(watch)
    return watch


def logins(dovecot: Dovecot, user: str) -> int:
    """IMAP logins of ``user`` so far, from Dovecot's log."""
    return sum(
        1
        for line in dovecot.log().splitlines()
        if "imap-login: Info: Login:" in line and f"user=<{user}>" in line
    )


def refused_logins(dovecot: Dovecot, user: str) -> int:
    """IMAP logins of ``user`` refused so far, from Dovecot's log."""
    return sum(
        1
        for line in dovecot.log().splitlines()
        if "imap-login:" in line and "(auth failed" in line and f"user=<{user}>" in line
    )


def titles(rig: Rig) -> list[str]:
    return sorted(issue.title for issue in rig.issues())


# --- IDLE ---------------------------------------------------------------------------------


def test_mail_appended_while_idling_becomes_an_issue_without_a_new_login(
    rig: Rig, watching: list[Watching]
) -> None:
    rig.append(mail("Printer waiting before start"))
    watch = start(rig, watching)
    watch.wait_log(IDLING)
    # mail that came while watch was down is processed at start
    assert titles(rig) == ["Printer waiting before start"]
    before = logins(rig.dovecot, rig.account.user)

    rig.append(mail("Printer on fire"))  # the test's own APPEND is one login
    wait_for(lambda: len(rig.issues()) == 2, "the appended mail to become an issue")

    assert titles(rig) == ["Printer on fire", "Printer waiting before start"]
    assert logins(rig.dovecot, rig.account.user) == before + 1
    assert len(rig.folder("Processed")) == 2
    assert watch.stop() == 0
    assert rig.status()[0] == {"disposed": 2}


def test_mail_arriving_during_a_run_is_not_left_for_the_next_idle_renewal(
    rig: Rig, watching: list[Watching]
) -> None:
    watch = start(rig, watching)
    watch.wait_log(IDLING)
    rig.tracker.fail("create_issue", FaultKind.HANG, times=1, seconds=HOLD_SECONDS)
    rig.append(mail("Printer first"))
    wait_for(lambda: rig.tracker.calls("create_issue"), "the run to reach the tracker")
    # announced while the run works (not idling): the server says so in a command's answer
    rig.append(mail("Printer during the run"))
    rig.tracker.release_hangs()

    wait_for(
        lambda: len(rig.issues()) == 2, f"the second mail, long before IDLE renews:\n{watch.log}"
    )
    assert watch.stop() == 0


def test_idle_is_renewed_on_the_same_connection(rig: Rig, watching: list[Watching]) -> None:
    watch = start(rig, watching, env={IDLE_RENEW_ENV: "0.5"})
    watch.wait_log(IDLING)
    before = logins(rig.dovecot, rig.account.user)
    time.sleep(2)  # several renewals (IDLE ended, NOOP, folder selected again, IDLE)
    rig.append(mail("Printer after renewals"))
    wait_for(lambda: len(rig.issues()) == 1, "the mail to become an issue")
    assert logins(rig.dovecot, rig.account.user) == before + 1
    assert watch.stop() == 0


def test_a_restarted_dovecot_is_reconnected_and_nothing_is_lost(
    tmp_path: Path, smtp: SmtpSink, watching: list[Watching]
) -> None:
    with Dovecot() as private:
        rig = Rig(tmp_path, private, private.add_account(), smtp.port)
        watch = start(rig, watching)
        watch.wait_log(IDLING)

        private.restart()
        rig.append(mail("Printer after the restart"))

        wait_for(lambda: len(rig.issues()) == 1, f"the mail after the restart:\n{watch.log}")
        assert titles(rig) == ["Printer after the restart"]
        watch.wait_log(IDLING, count=2)  # a fresh connection, idling again
        assert "working again" in watch.log
        rig.append(mail("Printer on the new connection"))
        wait_for(lambda: len(rig.issues()) == 2, f"mail on the new connection:\n{watch.log}")
        assert watch.stop() == 0
        assert titles(rig) == ["Printer after the restart", "Printer on the new connection"]
        assert rig.status()[0] == {"disposed": 2}


# --- signals ------------------------------------------------------------------------------


def test_sigterm_mid_message_finishes_it_exits_0_and_a_restart_does_the_rest_once(
    rig: Rig, watching: list[Watching]
) -> None:
    rig.append(mail("Printer one"), mail("Printer two"), mail("Printer three"))
    rig.tracker.fail("create_issue", FaultKind.HANG, times=1, seconds=HOLD_SECONDS)
    watch = start(rig, watching)
    wait_for(lambda: rig.tracker.calls("create_issue"), "watch to reach the tracker")

    watch.process.send_signal(signal.SIGTERM)
    watch.wait_log("stopping after the message in hand")  # heard while the message hangs
    rig.tracker.release_hangs()
    assert watch.wait() == 0

    assert titles(rig) == ["Printer one"]  # the message in hand was finished ...
    assert len(rig.folder("Processed")) == 1  # ... and disposed of
    assert rig.status()[0] == {"disposed": 1}
    second = start(rig, watching)
    wait_for(lambda: len(rig.issues()) == 3, "the restart to do the rest")
    second.wait_log(IDLING)
    assert second.stop(signal.SIGINT) == 0
    assert titles(rig) == ["Printer one", "Printer three", "Printer two"]
    assert len(rig.tracker.calls("create_issue")) == 3
    assert rig.folder("INBOX") == []


def _write_rules(rig: Rig, rules: list[dict[str, Any]]) -> None:
    document = yaml.safe_load(rig.config.read_text())
    document["mailboxes"][MAILBOX]["rules"] = rules
    rig.config.write_text(yaml.safe_dump(document, sort_keys=False))


SCANNERS = [
    {
        "name": "scanners",
        "when": {"subject_contains": "scanner"},
        "then": [{"create_issue": {"project": "it", "type": "Bug"}}],
    }
]


def test_sighup_with_a_broken_file_keeps_the_old_rules_and_a_good_one_applies(
    rig: Rig, watching: list[Watching]
) -> None:
    watch = start(rig, watching)
    watch.wait_log(IDLING)
    good = rig.config.read_text()
    rig.config.write_text(good + "  nonsense: [\n")

    watch.process.send_signal(signal.SIGHUP)
    watch.wait_log("the old rules keep running")
    rig.append(mail("Printer still matched"))
    wait_for(lambda: len(rig.issues()) == 1, "the old rules to keep working")
    # the problem is reported with its place in the file, as `check` does
    assert re.search(r"rules\.yaml:\d+:\d+: not valid YAML", watch.log), watch.log

    rig.config.write_text(good)
    _write_rules(rig, SCANNERS)
    watch.process.send_signal(signal.SIGHUP)
    watch.wait_log("reloaded")
    rig.append(mail("Scanner jammed"), mail("Printer no longer matched"))
    wait_for(lambda: len(rig.issues()) == 2, "the new rules to apply")

    def settled() -> bool:  # every message at an end: a wrong match would show by then
        counts = rig.status()[0]
        return sum(counts.values()) == 3 and not {"fetched", "decided", "acted"} & set(counts)

    wait_for(settled, f"the unmatched mail to be decided:\n{watch.log}")

    assert titles(rig) == ["Printer still matched", "Scanner jammed"]
    assert watch.stop() == 0


# --- several mailboxes --------------------------------------------------------------------


def test_a_broken_mailbox_never_stops_the_others(rig: Rig, watching: list[Watching]) -> None:
    document = yaml.safe_load(rig.config.read_text())
    broken = dict(document["mailboxes"][MAILBOX])
    broken["port"] = rig.dovecot.ports.imap
    (rig.tmp / "wrong-password").write_text("not-the-password")
    broken["password"] = {"file": str(rig.tmp / "wrong-password")}
    document["mailboxes"]["broken"] = broken
    rig.config.write_text(yaml.safe_dump(document, sort_keys=False))

    port = free_ports(1)[0]
    watch = start(rig, watching, "--metrics-address", f"127.0.0.1:{port}")
    watch.wait_log(IDLING)
    rig.append(mail("Printer one"))
    wait_for(lambda: len(rig.issues()) == 1, "the good mailbox to keep flowing")
    # A few back-off retries of the broken one (counted, not slept for: a slow machine
    # may make fewer in a given time).
    wait_for(lambda: refused_logins(rig.dovecot, rig.account.user) >= 3, "three refused logins")
    rig.append(mail("Printer two"))
    wait_for(lambda: len(rig.issues()) == 2, "the good mailbox to keep flowing")

    # the metrics endpoint, scraped over HTTP, shows what happened and who is not ready
    def scraped() -> str:
        return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text

    # counted once the tracker answered, a moment after the issue exists
    created = 'tracker_mail_messages_total{mailbox="support",outcome="created"} 2.0'
    wait_for(lambda: created in scraped(), f"{created} in the metrics")
    assert 'tracker_mail_messages_total{mailbox="broken",outcome="created"} 0.0' in scraped()
    ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
    assert ready.status_code == 503
    assert "broken: " in ready.text
    assert "support" not in ready.text
    assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200

    assert watch.stop() == 0
    errors = [line for line in watch.log.splitlines() if "broken:" in line and "ERROR" in line]
    assert len(errors) == 1, watch.log  # said once, not at every retry


def test_watch_and_sync_side_by_side_never_duplicate(rig: Rig, watching: list[Watching]) -> None:
    watch = start(rig, watching)
    watch.wait_log(IDLING)
    for round_ in range(5):
        rig.append(*(mail(f"Printer {round_}-{n}") for n in range(4)))
        rig.run("sync")
    wait_for(lambda: len(rig.issues()) == 20, "every message to become an issue")

    assert watch.stop() == 0  # once it ended, whatever it might do twice is done
    assert len(rig.tracker.calls("create_issue")) == 20
    assert len({issue.title for issue in rig.issues()}) == 20
    assert rig.folder("INBOX") == []
    assert rig.status()[0] == {"disposed": 20}


def test_unknown_mailbox_is_a_configuration_error(rig: Rig) -> None:
    done = subprocess.run(
        [*CLI, "watch", "-c", str(rig.config), "--mailbox", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
        env=rig.environment(None),
    )
    assert done.returncode == 2
    assert "no mailbox 'nope'" in done.stderr


# --- polling ------------------------------------------------------------------------------


def test_pop3_is_polled_every_poll_interval(rig: Rig, watching: list[Watching]) -> None:
    rig.configure(protocol="pop3", poll_interval=0.5, on_success="delete")
    watch = start(rig, watching)
    rig.append(mail("Printer polled"))
    wait_for(lambda: len(rig.issues()) == 1, f"the POP3 mailbox to be polled:\n{watch.log}")
    rig.append(mail("Printer polled again"))
    wait_for(lambda: len(rig.issues()) == 2, f"a second poll:\n{watch.log}")
    assert watch.stop() == 0
    assert IDLING not in watch.log
    assert rig.folder("INBOX") == []


# --- killed at any point ------------------------------------------------------------------


@pytest.mark.parametrize("point", [c.value for c in Checkpoint])
def test_watch_killed_at_any_checkpoint_and_restarted_does_each_message_once(
    rig: Rig, watching: list[Watching], point: str
) -> None:
    rig.append(mail("Printer one"), mail("Printer two"))
    killed = start(rig, watching, env={KILL_AT_ENV: point})
    assert killed.process.wait(timeout=60) == -signal.SIGKILL, killed.log

    again = start(rig, watching)
    again.wait_log(IDLING)
    assert again.stop() == 0

    assert titles(rig) == ["Printer one", "Printer two"]
    assert len(rig.folder("Processed")) == 2
    assert rig.folder("INBOX") == []
    assert rig.status()[0] == {"disposed": 2}
