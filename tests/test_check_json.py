"""``tracker-mail check --log-format json``: one object per finding, the verdict last.

The text output is pinned here too, line for line: the JSON form must not change it.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.mailfactory import raw_mail
from tests.trialbox import trial_mailbox
from tracker_mail_plugin.cli import main


def _objects(text: str) -> list[dict[str, Any]]:
    """Every line of ``text`` as a JSON object; fails on a line that is not one."""
    return [json.loads(line) for line in text.splitlines()]


def _trial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    new = trial_mailbox(tmp_path, monkeypatch)
    (new / "a.eml").write_bytes(raw_mail({"Subject": "Printer on fire"}))


FORGE_WARNING = (
    "rules.yaml:6:3: warning: mailbox 'support' writes issues and comments as the account of "
    "the address in From, which anyone can forge; with trust: require: none nothing checks "
    "it. Set e.g. trust: {authserv_id: [your.mx.host], require: dmarc}\n"
)


def test_text_output_is_unchanged(tmp_path, monkeypatch, capsys) -> None:
    _trial(tmp_path, monkeypatch)

    assert main(["check", "-c", "rules.yaml"]) == 0

    captured = capsys.readouterr()
    mail = tmp_path / "mail"
    assert captured.out == (
        "Trackers (1):\n"
        "  trial: adapter recording\n"
        "Mailboxes (1):\n"
        f"  support: maildir {mail} -> trial; 1 own rule(s); unknown senders: as_rule_owner; "
        "senders not authenticated (trust: require: none)\n"
        "tracker trial (recording): ok; version recording-1, identity tracker-mail, issues 0\n"
        f"mailbox support: ok; {mail}: 1 message(s); capabilities maildir\n"
        "rules.yaml: valid; every tracker and mailbox answered\n"
    )
    assert captured.err == FORGE_WARNING


def test_each_finding_and_the_verdict_are_objects(tmp_path, monkeypatch, capsys) -> None:
    _trial(tmp_path, monkeypatch)

    assert main(["check", "-c", "rules.yaml", "--log-format", "json"]) == 0

    captured = capsys.readouterr()
    tracker, mailbox, verdict = _objects(captured.out)
    assert (tracker["event"], tracker["checked"], tracker["ok"]) == ("check", "tracker", True)
    assert (tracker["tracker"], tracker["adapter"]) == ("trial", "recording")
    assert tracker["facts"] == {"version": "recording-1", "identity": "tracker-mail", "issues": "0"}
    assert tracker["message"].startswith("tracker trial (recording): ok;")
    assert (mailbox["checked"], mailbox["mailbox"], mailbox["ok"]) == ("mailbox", "support", True)
    assert (mailbox["protocol"], mailbox["messages"]) == ("maildir", 1)
    assert mailbox["folder"] == str(tmp_path / "mail")
    assert verdict["event"] == "verdict"
    assert (verdict["valid"], verdict["exit_code"], verdict["level"]) == (True, 0, "info")
    assert (verdict["errors"], verdict["warnings"], verdict["offline"]) == (0, 1, False)
    assert verdict["trackers"] == {"trial": "recording"}
    assert list(verdict["mailboxes"]) == ["support"]
    assert verdict["message"] == "rules.yaml: valid; every tracker and mailbox answered"
    [warning] = _objects(captured.err)
    assert (warning["checked"], warning["ok"], warning["level"]) == (
        "configuration",
        False,
        "warning",
    )
    assert (warning["file"], warning["line"], warning["column"]) == ("rules.yaml", 6, 3)
    assert warning["mailbox"] == "support"
    assert warning["message"] == FORGE_WARNING.rstrip("\n")


BROKEN = """\
version: 1
journal: ./journal.sqlite3
trackers:
  trial: {adapter: recording, state_file: ./tracker.json}
mailboxes:
  support:
    protocol: maildir
    path: ./nowhere
    password: {env: TRACKER_MAIL_TEST_UNSET}
    tracker: trial
    unknown_user: as_rule_owner
    rules:
      - then: [{create_issue: {project: support}}]
"""


def test_problems_in_the_file_keep_their_place(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRACKER_MAIL_TEST_UNSET", raising=False)
    (tmp_path / "rules.yaml").write_text(BROKEN)

    assert main(["check", "--offline", "--log-format", "json", "-c", "rules.yaml"]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""  # nothing was fine enough to say on standard output
    *findings, verdict = _objects(captured.err)
    problems = [f for f in findings if f["level"] == "error"]
    assert {(p["line"], p["mailbox"]) for p in problems} == {(8, "support"), (9, "support")}
    assert all(p["checked"] == "configuration" and p["ok"] is False for p in problems)
    unset = next(p for p in problems if p["line"] == 9)
    assert "TRACKER_MAIL_TEST_UNSET is not set" in unset["message"]
    assert (verdict["valid"], verdict["exit_code"], verdict["offline"]) == (False, 2, True)
    assert verdict["errors"] == 2
    assert verdict["message"] == "rules.yaml: 2 errors; nothing was touched"


def test_a_file_that_cannot_be_read_is_one_problem_and_a_verdict(tmp_path, capsys) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("version: 1\ntrackers: [\n")

    assert main(["check", "--log-format", "json", "-c", str(path)]) == 2

    problem, verdict = _objects(capsys.readouterr().err)
    assert (problem["checked"], problem["file"], problem["line"]) == ("configuration", str(path), 3)
    assert "not valid YAML" in problem["message"]
    assert (verdict["event"], verdict["errors"], verdict["exit_code"]) == ("verdict", 1, 2)
    assert "trackers" not in verdict  # the file said nothing that could be read


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_tracker_that_cannot_be_reached_says_so(tmp_path, monkeypatch, capsys) -> None:
    _trial(tmp_path, monkeypatch)
    monkeypatch.setenv("TRACKER_MAIL_TEST_KEY", "k" * 40)
    redmine = (
        f"trial: {{adapter: redmine, url: 'http://127.0.0.1:{_closed_port()}', "
        "api_key: {env: TRACKER_MAIL_TEST_KEY}, timeout: 5}"
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        rules.read_text().replace(
            "trial: {adapter: recording, state_file: ./tracker.json}", redmine
        )
    )

    assert main(["check", "--log-format", "json"]) == 3

    captured = capsys.readouterr()
    [mailbox] = _objects(captured.out)
    assert (mailbox["mailbox"], mailbox["ok"]) == ("support", True)
    _warning, tracker, verdict = _objects(captured.err)
    assert (tracker["tracker"], tracker["adapter"], tracker["ok"]) == ("trial", "redmine", False)
    assert tracker["reached"] is False
    assert tracker["message"].startswith("tracker trial: cannot be reached:")
    assert "k" * 40 not in captured.err
    assert (verdict["valid"], verdict["exit_code"], verdict["level"]) == (False, 3, "error")
    assert verdict["message"] == (
        "rules.yaml: not ready: cannot reach tracker trial (above); nothing was touched"
    )


def test_a_missing_project_is_a_problem_of_its_tracker(tmp_path, monkeypatch, capsys) -> None:
    _trial(tmp_path, monkeypatch)
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        rules.read_text().replace(
            "state_file: ./tracker.json", "state_file: ./t.json, projects: [ops]"
        )
    )

    assert main(["check", "--log-format", "json"]) == 2

    *_, tracker, verdict = _objects(capsys.readouterr().err)
    assert (tracker["checked"], tracker["tracker"], tracker["ok"]) == ("tracker", "trial", False)
    assert tracker["message"] == "tracker trial: there is no project 'support'"
    assert tracker["facts"]["version"] == "recording-1"
    assert (verdict["errors"], verdict["exit_code"]) == (1, 2)


def test_show_puts_the_rules_in_the_verdict(tmp_path, monkeypatch, capsys) -> None:
    _trial(tmp_path, monkeypatch)

    assert main(["check", "--offline", "--show", "--log-format", "json"]) == 0

    [verdict] = _objects(capsys.readouterr().out)
    assert verdict["rules"] == {"support": [{"then": [{"create_issue": {"project": "support"}}]}]}
    assert verdict["offline"] is True
    assert verdict["message"].startswith("rules.yaml: valid (offline:")
