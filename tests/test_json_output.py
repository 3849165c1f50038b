"""``--log-format json``: every line sync, receive, status and watch print is a JSON object."""

from __future__ import annotations

import io
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.mailfactory import raw_mail
from tests.trialbox import trial_mailbox
from tracker_mail_plugin.cli import main
from tracker_mail_plugin.testing import RecordingAdapter, RecordingConfig


def _deliver(new: Path, name: str, subject: str) -> None:
    headers = {"From": "Alice <alice@example.com>", "Subject": subject, "Message-ID": f"<{name}@x>"}
    (new / f"{name}.eml").write_bytes(raw_mail(headers, "hello"))


def _objects(text: str) -> list[dict[str, Any]]:
    """Every line of ``text`` as a JSON object; fails on a line that is not one."""
    return [json.loads(line) for line in text.splitlines()]


def test_sync_prints_its_summary_as_one_json_object(tmp_path, monkeypatch, capsys) -> None:
    new = trial_mailbox(tmp_path, monkeypatch)
    _deliver(new, "a", "Printer on fire")
    _deliver(new, "b", "Scanner jammed")

    code = main(["--log-format", "json", "sync"])

    out = capsys.readouterr().out
    assert code == 0
    [summary] = _objects(out)
    assert summary["event"] == "summary"
    assert summary["mailbox"] == "support"
    assert (summary["fetched"], summary["created"], summary["failed"]) == (2, 2, 0)
    assert summary["dry_run"] is False
    assert summary["error"] is None
    assert summary["exit_code"] == 0
    assert summary["level"] == "info"
    assert summary["message"].startswith("support: fetched 2, created 2,")


def test_text_stays_the_default(tmp_path, monkeypatch, capsys) -> None:
    new = trial_mailbox(tmp_path, monkeypatch)
    _deliver(new, "a", "Printer on fire")

    assert main(["sync"]) == 0

    out = capsys.readouterr().out
    assert out.startswith("support: fetched 1, created 1, commented 0")
    assert "{" not in out


def test_dry_run_lines_are_json_too(tmp_path, monkeypatch, capsys) -> None:
    new = trial_mailbox(tmp_path, monkeypatch)
    _deliver(new, "a", "Printer on fire")

    assert main(["sync", "--dry-run", "--log-format", "json"]) == 0

    would, summary = _objects(capsys.readouterr().out)
    assert would["event"] == "would"
    assert would["mailbox"] == "support"
    assert "'Printer on fire'" in would["message"]
    assert "create_issue in project support" in would["message"]
    assert (would["subject"], would["outcome"]) == ("Printer on fire", "act")
    assert would["what"].startswith("create_issue in project support")
    assert summary["event"] == "summary"
    assert (summary["dry_run"], summary["fetched"], summary["created"]) == (True, 1, 1)


def test_a_stopped_mailbox_says_why_in_its_fields(tmp_path, monkeypatch, capsys) -> None:
    trial_mailbox(tmp_path, monkeypatch)
    shutil.rmtree(tmp_path / "mail" / "tmp")  # no longer a Maildir

    code = main(["sync", "--log-format", "json"])

    [summary] = _objects(capsys.readouterr().out)
    assert code == 2
    assert summary["level"] == "error"
    assert summary["exit_code"] == 2
    assert "not a Maildir" in summary["error"]


def test_status_follows_the_log_format_unless_told(tmp_path, monkeypatch, capsys) -> None:
    new = trial_mailbox(tmp_path, monkeypatch)
    _deliver(new, "a", "Printer on fire")
    assert main(["sync"]) == 0
    capsys.readouterr()

    assert main(["status", "--log-format", "json"]) == 0
    [row] = _objects(capsys.readouterr().out)
    assert (row["subject"], row["state_text"]) == ("Printer on fire", "done")

    assert main(["status", "--log-format", "json", "--format", "text"]) == 0
    assert capsys.readouterr().out.startswith("journal ")


def test_receive_says_its_summary_as_json(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules.yaml").write_text(
        "version: 1\n"
        "journal: ./journal.sqlite3\n"
        "trackers: {trial: {adapter: recording, state_file: ./tracker.json}}\n"
        "mailboxes:\n"
        "  alias: {protocol: pipe, tracker: trial, unknown_user: as_rule_owner,\n"
        "          rules: [{then: [{create_issue: {project: support}}]}]}\n"
    )
    raw = raw_mail({"From": "a@example.com", "Subject": "Piped", "Message-ID": "<p@x>"}, "hi")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))

    assert main(["receive", "--mailbox", "alias", "--log-format", "json"]) == 0

    captured = capsys.readouterr()
    assert captured.out == ""  # a mail server may read stdout: it stays empty
    [summary] = _objects(captured.err)
    assert (summary["mailbox"], summary["fetched"], summary["created"]) == ("alias", 1, 1)


def test_watch_logs_each_run_with_its_counts(tmp_path: Path) -> None:
    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    _deliver(maildir / "new", "w", "Printer")
    tracker = RecordingAdapter(RecordingConfig(state_file=tmp_path / "tracker.json"))
    config = tmp_path / "rules.yaml"
    config.write_text(
        "version: 1\n"
        "journal: journal.sqlite3\n"
        f"trackers: {{rec: {{adapter: recording, state_file: {tmp_path / 'tracker.json'}}}}}\n"
        "mailboxes:\n"
        f"  local: {{protocol: maildir, path: {maildir}, tracker: rec,\n"
        "          unknown_user: as_rule_owner, poll_interval: 30,\n"
        "          rules: [{then: [{create_issue: {project: it}}]}]}\n"
    )
    command = ["watch", "-c", str(config), "-v", "--log-format", "json"]
    watch = subprocess.Popen(
        [sys.executable, "-m", "tracker_mail_plugin", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not tracker.issues() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        watch.send_signal(signal.SIGTERM)
        out, err = watch.communicate(timeout=60)
    assert watch.returncode == 0, err
    records = _objects(err)
    assert (records[0]["event"], records[0]["mailboxes"]) == ("watching", ["local"])
    [summary] = [r for r in records if r.get("event") == "summary"]
    assert (summary["mailbox"], summary["fetched"], summary["created"]) == ("local", 1, 1)
    assert summary["message"].startswith("local: fetched 1, created 1")
    assert out == ""


def test_a_broken_file_is_said_in_json_with_its_place(tmp_path, monkeypatch, capsys) -> None:
    trial_mailbox(tmp_path, monkeypatch)
    text = (tmp_path / "rules.yaml").read_text().replace("unknown_user:", "unknwon_user:")
    (tmp_path / "rules.yaml").write_text(text)

    assert main(["sync", "--log-format", "json"]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    [problem] = _objects(captured.err)
    assert problem["level"] == "error"
    assert problem["event"] == "configuration"
    assert (problem["file"], problem["line"], problem["column"]) == ("rules.yaml", 10, 5)
    assert "did you mean 'unknown_user'?" in problem["message"]


def test_unset_variables_and_unknown_mailboxes_are_json_too(tmp_path, monkeypatch, capsys) -> None:
    trial_mailbox(tmp_path, monkeypatch)
    assert main(["sync", "--log-format", "json", "--mailbox", "sales"]) == 2
    [unknown] = _objects(capsys.readouterr().err)
    assert unknown["message"] == "tracker-mail sync: no mailbox 'sales'; the file has: support"

    monkeypatch.delenv("TM_TEST_UNSET_KEY", raising=False)
    text = (tmp_path / "rules.yaml").read_text()
    text = text.replace("state_file: ./tracker.json}", "state_file: ./tracker.json}\n  other: "
                        "{adapter: recording, identity: {env: TM_TEST_UNSET_KEY}}")  # fmt: skip
    (tmp_path / "rules.yaml").write_text(text.replace("tracker: trial", "tracker: other"))
    assert main(["sync", "--log-format", "json"]) == 2
    [unset] = _objects(capsys.readouterr().err)
    assert "TM_TEST_UNSET_KEY is not set" in unset["message"]
    assert unset["line"] == 5
