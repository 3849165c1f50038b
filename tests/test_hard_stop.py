"""A message stuck inside a C call past its budget ends the process; the next runs count it.

The time budget's timer cannot interrupt one long call into a C library. These tests stand
such a call in with a sleep during which the timer's signal is blocked, in a real
``tracker-mail`` process (a ``sitecustomize`` on its path installs the stuck parser).
"""

from __future__ import annotations

import json
import mailbox
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.mailfactory import raw_mail
from tests.trialbox import RULES as TRIAL_RULES

STUCK = textwrap.dedent(
    """
    import signal, time
    from tracker_mail_plugin.pipeline import budget, run

    budget.HARD_STOP_GRACE = 0.5
    real = run.parse_message

    def parse_message(raw, sha256=None):
        if b"X-Stuck: yes" in raw:
            # A C call that never returns to Python: the timer's signal cannot get in.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(120)
        return real(raw, sha256)

    run.parse_message = parse_message
    """
)

# The trial mailbox's configuration, with a short budget and two attempts. A second: the
# fine message needs milliseconds, but the first one a fresh process reads also loads code,
# and a loaded machine can stall the process meanwhile.
RULES = TRIAL_RULES.replace(
    "    unknown_user: as_rule_owner\n",
    "    unknown_user: as_rule_owner\n    max_processing_seconds: 1\n    max_attempts: 2\n",
)


def _mail(subject: str, stuck: bool = False) -> bytes:
    fields = {"From": "Alice <alice@example.com>", "Subject": subject}
    fields["Message-ID"] = f"<{subject.replace(' ', '.')}@example.com>"
    if stuck:
        fields["X-Stuck"] = "yes"
    return raw_mail(fields, "The printer smokes.")


def _setup(tmp_path: Path, *messages: bytes) -> Path:
    (tmp_path / "rules.yaml").write_text(RULES)
    box = mailbox.Maildir(tmp_path / "mail", create=True)
    for raw in messages:
        box.add(raw)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(STUCK)
    return site


def _env(site: Path) -> dict[str, str]:
    """This environment, with ``site`` (the stuck parser) first on Python's path."""
    return dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])
    )


def _tracker_mail(tmp_path: Path, site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracker_mail_plugin", *args],
        cwd=tmp_path,
        env=_env(site),
        capture_output=True,
        text=True,
        timeout=100,  # far below the stuck call's 120 s: only the watchdog ends it in time
    )


def test_sync_ends_on_a_stuck_message_then_counts_it_and_quarantines_it_unread(
    tmp_path: Path,
) -> None:
    site = _setup(tmp_path, _mail("stuck printer", stuck=True), _mail("fine printer"))

    first = _tracker_mail(tmp_path, site, "sync")
    assert first.returncode == 1, first.stderr
    assert "did not finish 0.5s past its time budget" in first.stderr
    assert "reading message" in first.stderr
    assert "of mailbox support" in first.stderr

    runs = [_tracker_mail(tmp_path, site, "sync") for _ in range(2)]
    # The second run dies on it again (attempt 2 of 2); the third quarantines it unread
    # and imports the other message.
    assert runs[0].returncode == 1
    assert runs[1].returncode == 4, runs[1].stdout + runs[1].stderr
    issues = json.loads((tmp_path / "tracker.json").read_text())["issues"]
    assert [issue["title"] for issue in issues.values()] == ["fine printer"]
    status = _tracker_mail(tmp_path, site, "status", "--format", "json")
    rows = [json.loads(line) for line in status.stdout.splitlines()]
    (unread,) = [row for row in rows if row["subject"] == "stuck printer"]
    assert unread["sender"] == "alice@example.com"  # peeked at, though never parsed
    assert unread["state"] == "quarantined"
    assert unread["reason"] == "reading it did not finish 2 times"
    assert (unread["attempts"], unread["max_attempts"]) == (2, 2)  # as the reason says


def test_a_dry_run_skips_and_shows_what_the_real_run_would_quarantine_unread(
    tmp_path: Path,
) -> None:
    site = _setup(tmp_path, _mail("stuck printer", stuck=True), _mail("fine printer"))
    for _ in range(2):  # two real runs die on it: both attempts used
        assert _tracker_mail(tmp_path, site, "sync").returncode == 1
    journal = (tmp_path / "journal.sqlite3").read_bytes()

    # The next real run would quarantine it without reading it: so does the dry run, which
    # therefore is not stopped by it (the stuck parser would hang for 120 s) and goes on.
    dry = _tracker_mail(tmp_path, site, "sync", "--dry-run")
    assert dry.returncode == 4, dry.stdout + dry.stderr  # what the real run would exit with
    assert "past its time budget" not in dry.stderr
    assert (
        "'stuck printer' from Alice <alice@example.com>: quarantine unread: "
        "reading it did not finish 2 times"
    ) in dry.stdout
    assert "'fine printer' from Alice <alice@example.com>: act: create_issue" in dry.stdout
    assert "would create 1" in dry.stdout
    assert "would quarantine 1" in dry.stdout
    # Nothing was written: the journal is as the real runs left it, no issue exists.
    assert (tmp_path / "journal.sqlite3").read_bytes() == journal
    assert (
        not (tmp_path / "tracker.json").exists()
        or not json.loads((tmp_path / "tracker.json").read_text())["issues"]
    )


def test_receive_exits_with_a_temporary_failure_so_the_mail_server_keeps_the_message(
    tmp_path: Path,
) -> None:
    site = _setup(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "tracker_mail_plugin", "receive", "--mailbox", "support"],
        cwd=tmp_path,
        env=_env(site),
        input=_mail("stuck printer", stuck=True),
        capture_output=True,
        timeout=100,
    )
    assert done.returncode == 75
    assert b"did not finish 0.5s past its time budget" in done.stderr
