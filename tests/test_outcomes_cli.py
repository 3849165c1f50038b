"""What a run did, seen from the command line: sync -v, exit codes, status, retry, dry run."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.mailfactory import raw_mail
from tracker_mail_plugin.cli import main
from tracker_mail_plugin.errors import ExitCode
from tracker_mail_plugin.testing import RecordingAdapter
from tracker_mail_plugin.testing.recording import RecordingConfig

RULES = """\
version: 1
journal: {tmp}/state/journal.sqlite3
trackers:
  rec: {{adapter: recording, state_file: {tmp}/tracker.json, projects: [it]{extra}}}
mailboxes:
  support:
    protocol: directory
    path: {tmp}/inbox
    tracker: rec
    unknown_user: {unknown_user}
    on_success: {{move: Processed}}
    max_attempts: 1
    rules:
{rules}
"""
PRINTERS = """\
- when: {subject_contains: printer}
  then: [{create_issue: {project: it}}]
- when: {subject_contains: broken}
  then: [{create_issue: {project: nowhere}}]
"""
LOG_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", re.M)


def configure(
    tmp: Path, rules: str = PRINTERS, unknown_user: str = "as_rule_owner", extra: str = ""
) -> str:
    (tmp / "inbox").mkdir(exist_ok=True)
    text = RULES.format(
        tmp=tmp, rules=textwrap.indent(rules, "      "), unknown_user=unknown_user, extra=extra
    )
    (tmp / "rules.yaml").write_text(text)
    return str(tmp / "rules.yaml")


def deliver(tmp: Path, name: str, subject: str, sender: str = "alice@example.com") -> None:
    raw = raw_mail({"Subject": subject, "From": f"Alice <{sender}>", "Message-ID": f"<{name}@x>"})
    (tmp / "inbox" / f"{name}.eml").write_bytes(raw)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, LOG_TIME.sub("", err)


def tracker(tmp: Path) -> RecordingAdapter:
    return RecordingAdapter(RecordingConfig(state_file=tmp / "tracker.json"))


def summary_of(out: str) -> str:
    return re.sub(r" in \d+\.\ds", " in Xs", out)


# -- sync: a line per message, exit codes, silence -----------------------------------------


def test_verbose_prints_a_line_per_message_with_its_outcome_and_issue(tmp_path, capsys):
    config = configure(tmp_path)
    deliver(tmp_path, "a", "Printer on fire")
    deliver(tmp_path, "b", "Lunch?")
    deliver(tmp_path, "c", "broken \x1b[31mred\u202e\x07 " + "x" * 300)

    code, out, err = run(capsys, "sync", "-v", "-c", config)

    assert code == ExitCode.QUARANTINED == 4
    lines = sorted(err.splitlines())
    subject = "broken [31mred " + "x" * 84 + "…"
    assert lines == sorted(
        [
            'INFO support #1 alice@example.com "Printer on fire": created 1 recording://issues/1',
            'INFO support #2 alice@example.com "Lunch?": unprocessed (no rule matched)',
            f'WARNING support #3 alice@example.com "{subject}": quarantined (failed 1 times:'
            " recording tracker: there is no project 'nowhere')",
        ]
    )
    assert summary_of(out) == (
        "support: fetched 3, created 1, commented 0, attached 0, forwarded 0, unprocessed 1,"
        " dropped 0, failed 0, quarantined 1 in Xs\n"
    )


def test_json_logs_carry_the_outcome_as_fields(tmp_path, capsys):
    config = configure(tmp_path)
    deliver(tmp_path, "a", "Printer on fire")

    code, _, err = run(capsys, "sync", "-v", "--log-format", "json", "-c", config)

    assert code == 0
    (entry,) = [json.loads(line) for line in err.splitlines()]
    assert {k: v for k, v in entry.items() if k != "time"} == {
        "level": "info",
        "logger": "tracker_mail",
        "message": 'support #1 alice@example.com "Printer on fire": created 1 recording://issues/1',
        "mailbox": "support",
        "id": 1,
        "sender": "alice@example.com",
        "subject": "Printer on fire",
        "outcome": "created",
        "issue": "1",
        "url": "recording://issues/1",
        "reason": None,
    }
    deliver(tmp_path, "b", "see https://admin:hunter2@example.com/x")
    _, _, err = run(capsys, "sync", "-v", "--log-format", "json", "-c", config)
    (entry,) = [json.loads(line) for line in err.splitlines()]
    assert entry["subject"] == "see https://***@example.com/x"
    assert "hunter2" not in err


def test_a_run_that_fetched_nothing_prints_nothing_unless_verbose(tmp_path, capsys):
    config = configure(tmp_path)
    assert run(capsys, "sync", "-c", config) == (0, "", "")
    code, out, _ = run(capsys, "sync", "-v", "-c", config)
    assert (code, summary_of(out)) == (
        0,
        "support: fetched 0, created 0, commented 0, attached 0, forwarded 0, unprocessed 0,"
        " dropped 0, failed 0, quarantined 0 in Xs\n",
    )
    deliver(tmp_path, "a", "Printer on fire")
    code, out, err = run(capsys, "sync", "-c", config)
    assert (code, err) == (0, "")
    assert out.startswith("support: fetched 1, created 1,")


def test_the_most_serious_outcome_decides_the_exit_code():
    worst = ExitCode.worst
    assert worst([ExitCode.SOME_FAILED, ExitCode.QUARANTINED]) == ExitCode.QUARANTINED
    assert worst([ExitCode.QUARANTINED, ExitCode.UNREACHABLE]) == ExitCode.UNREACHABLE
    assert worst([ExitCode.QUARANTINED, ExitCode.CONFIGURATION]) == ExitCode.CONFIGURATION
    assert worst([ExitCode.OK, ExitCode.SOME_FAILED]) == ExitCode.SOME_FAILED


def test_help_shows_the_exit_codes(capsys):
    for argv in (["--help"], ["sync", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        out = capsys.readouterr().out
        assert "4  messages were quarantined" in out
        assert "in this order: 2, 3, 4, 1, 0" in out


# -- status --------------------------------------------------------------------------------


def three_messages(tmp_path, capsys) -> str:
    config = configure(tmp_path)
    deliver(tmp_path, "a", "Printer on fire")
    deliver(tmp_path, "b", "Lunch?")
    deliver(tmp_path, "c", "broken thing")
    run(capsys, "sync", "-c", config)
    db = sqlite3.connect(tmp_path / "state" / "journal.sqlite3")
    with db:  # fixed dates, so that the table can be compared whole
        db.execute("UPDATE messages SET updated_at = 1796529600 + id * 60")
    db.close()
    return config


def test_status_is_a_table_of_every_message_newest_first(tmp_path, capsys):
    config = three_messages(tmp_path, capsys)

    code, out, _ = run(capsys, "status", "-c", config)

    assert code == 0
    assert out == (
        f"journal {tmp_path}/state/journal.sqlite3: disposed 1, quarantined 1, unprocessed 1\n"
        + textwrap.dedent(
            """\
            ID  MAILBOX  STATE         ATTEMPTS  DATE (UTC)        SENDER             SUBJECT          RULE    RESULT
            3   support  quarantined   1/1       2026-12-06 04:03  alice@example.com  broken thing     rule 2  PermanentError: recording tracker: there is no project 'nowhere'
            2   support  not imported  0/1       2026-12-06 04:02  alice@example.com  Lunch?           -       no rule matched
            1   support  done          0/1       2026-12-06 04:01  alice@example.com  Printer on fire  rule 1  1 recording://issues/1
            """
        )
    )


def test_status_before_any_run_creates_no_journal(tmp_path, capsys):
    config = configure(tmp_path)
    code, out, _ = run(capsys, "status", "-c", config)
    assert (code, out) == (
        0,
        f"journal {tmp_path}/state/journal.sqlite3: empty (no sync has run yet)\n",
    )
    assert not (tmp_path / "state").exists()
    assert run(capsys, "status", "-c", config, "--format", "json")[:2] == (0, "")


def test_status_filters_by_state_and_mailbox(tmp_path, capsys):
    config = three_messages(tmp_path, capsys)
    _, out, _ = run(capsys, "status", "-c", config, "--state", "quarantined", "--state", "failed")
    assert [line.split()[0] for line in out.splitlines()[2:]] == ["3"]
    _, out, _ = run(capsys, "status", "-c", config, "--mailbox", "support", "--limit", "2")
    assert [line.split()[0] for line in out.splitlines()[2:]] == ["3", "2", "(the"]
    code, _, err = run(capsys, "status", "-c", config, "--mailbox", "nope")
    assert (code, err) == (2, "tracker-mail status: no mailbox 'nope'; the file has: support\n")


def test_status_finds_mail_by_sender_subject_or_message_id(tmp_path, capsys):
    config = configure(tmp_path)
    deliver(tmp_path, "a", "Printer on fire")
    deliver(tmp_path, "b", "100% Lunch?", sender="bob@example.com")
    deliver(tmp_path, "c", "Lunch_break")
    run(capsys, "sync", "-c", config)

    def found(text: str) -> list[str]:
        _, out, _ = run(capsys, "status", "-c", config, "--search", text, "--format", "json")
        return [json.loads(line)["message_id"] for line in out.splitlines()]

    assert found("PRINTER") == ["a@x"]  # any case
    assert found("Bob@") == ["b@x"]  # the sender
    assert found("c@X") == ["c@x"]  # the Message-ID
    assert found("%") == ["b@x"]  # % and _ are the operator's text, not wildcards
    assert found("_") == ["c@x"]
    assert found("nobody") == []


def test_status_as_json_has_one_object_per_message(tmp_path, capsys):
    config = three_messages(tmp_path, capsys)
    _, out, _ = run(capsys, "status", "-c", config, "--format", "json", "--state", "disposed")
    (entry,) = [json.loads(line) for line in out.splitlines()]
    assert entry == {
        "id": 1,
        "mailbox": "support",
        "state": "disposed",
        "state_text": "done",
        "attempts": 0,
        "max_attempts": 1,
        "date": "2026-12-06T04:01:00+00:00",
        "sender": "alice@example.com",
        "subject": "Printer on fire",
        "message_id": "a@x",
        "issues": [{"key": "1", "url": "recording://issues/1", "comment": False}],
        "rule": "rule 1",
        "reply_to": None,
        "author": "rule_owner",
        "location": "a.eml",
        "reason": None,
        "last_error": None,
    }


def test_a_narrow_terminal_cuts_the_subject_not_the_ids(tmp_path, capsys):
    from tracker_mail_plugin.commands.status import show_status
    from tracker_mail_plugin.config.loader import load_config

    config = three_messages(tmp_path, capsys)
    out = _Out()
    show_status(load_config(Path(config)), out, width=120)
    lines = out.text.splitlines()[1:]
    assert all(len(line) <= 120 for line in lines)
    assert [line.split()[0] for line in lines] == ["ID", "3", "2", "1"]
    assert "  Printer o…  rule 1  1 recording://issues/1" in lines[3]  # the subject gave way first…
    assert "alice@example.com" in lines[3]  # …the sender fits
    assert "there is no project 'nowhere'" not in lines[1]  # …then the result

    out = _Out()
    show_status(load_config(Path(config)), out, width=40)  # far too narrow: ids stay whole
    assert [line.split()[:3] for line in out.text.splitlines()[2:]] == [
        ["3", "support", "quarantined"],
        ["2", "support", "not"],
        ["1", "support", "done"],
    ]


class _Out:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)


def test_status_into_a_closed_pipe_ends_quietly(tmp_path, capsys):
    # `tracker-mail status | head -1`: the reader is gone before status writes its rows.
    config = three_messages(tmp_path, capsys)
    command = [sys.executable, "-m", "tracker_mail_plugin.cli", "status", "-c", config]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None
    assert child.stderr is not None
    child.stdout.close()
    err = child.stderr.read()
    child.stderr.close()
    assert (child.wait(), err) == (0, b"")


# -- retry ---------------------------------------------------------------------------------


def test_retry_takes_several_ids_and_says_what_happens(tmp_path, capsys):
    config = three_messages(tmp_path, capsys)
    code, out, err = run(capsys, "retry", "-c", config, "2", "3", "9")
    assert code == 2
    assert err == "tracker-mail retry: no message #9 in the journal\n"
    assert out == (
        '#2 support "Lunch?": queued\n'
        "#3 support \"broken thing\": queued; it was moved (move to 'Quarantine'): move it back"
        " to the mailbox's folder for the sync to find it (in the mailbox it was c.eml)\n"
        "2 message(s) will be processed by the next sync (tracker-mail sync, or cron's);"
        " writes the tracker already confirmed are not repeated.\n"
    )
    _, out, _ = run(capsys, "status", "-c", config, "--state", "fetched")
    assert [line.split()[:3] for line in out.splitlines()[2:]] == [
        ["3", "support", "waiting"],
        ["2", "support", "waiting"],
    ]


def test_retry_needs_ids_or_a_state(tmp_path, capsys):
    config = configure(tmp_path)
    code, _, err = run(capsys, "retry", "-c", config)
    assert code == 2
    assert "name the messages" in err
    assert run(capsys, "retry", "-c", config, "1", "--state", "failed")[0] == 2
    assert run(capsys, "retry", "-c", config, "--state", "failed")[:2] == (0, "nothing to retry\n")


def test_mail_left_unprocessed_by_a_wrong_rule_is_imported_once_after_the_fix(tmp_path, capsys):
    wrong = "- when: {subject_contains: printr}\n  then: [{create_issue: {project: it}}]\n"
    config = configure(tmp_path, rules=wrong)
    deliver(tmp_path, "a", "Printer on fire")
    deliver(tmp_path, "b", "Printer out of paper")
    code, out, _ = run(capsys, "sync", "-c", config)
    assert (code, out.split(", ")[5]) == (0, "unprocessed 2")
    configure(tmp_path, rules=wrong.replace("printr", "printer"))  # the fix

    code, out, _ = run(capsys, "retry", "-c", config, "--state", "unprocessed")
    assert code == 0
    assert out.startswith('#1 support "Printer on fire": queued\n#2 support')
    code, out, _ = run(capsys, "sync", "-c", config)

    assert (code, out.split(", ")[1]) == (0, "created 2")
    titles = sorted(issue.title for issue in tracker(tmp_path).issues().values())
    assert titles == ["Printer on fire", "Printer out of paper"]
    assert run(capsys, "retry", "-c", config, "--state", "unprocessed")[1] == "nothing to retry\n"
    assert run(capsys, "sync", "-c", config) == (0, "", "")
    assert len(tracker(tmp_path).issues()) == 2


def test_retry_narrowed_to_a_mailbox(tmp_path, capsys):
    config = three_messages(tmp_path, capsys)
    assert run(capsys, "retry", "-c", config, "--state", "failed", "--mailbox", "support")[1] == (
        "nothing to retry\n"
    )
    _, out, _ = run(capsys, "retry", "-c", config, "--state", "quarantined", "--mailbox", "support")
    assert out.startswith('#3 support "broken thing": queued')
    assert run(capsys, "retry", "-c", config, "1", "--mailbox", "other")[0] == 2


# -- dry run -------------------------------------------------------------------------------


def folder_state(tmp: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(tmp)): path.read_bytes()
        for path in sorted(tmp.rglob("*"))
        # the recording tracker's log of calls, and its lock
        if path.is_file() and path.name not in ("tracker.json.calls", "tracker.json.lock")
    }


def test_a_dry_run_without_a_journal_creates_none(tmp_path, capsys):
    config = configure(tmp_path)
    deliver(tmp_path, "a", "Printer on fire")
    before = folder_state(tmp_path)

    code, out, _ = run(capsys, "sync", "--dry-run", "-c", config)

    assert code == 0
    assert not (tmp_path / "state").exists()
    assert folder_state(tmp_path) == before
    assert summary_of(out) == (
        "support: would 'Printer on fire' from Alice <alice@example.com>: act: create_issue in"
        " project it\n"
        "support: fetched 1, would create 1, would comment 0, would attach 0, would forward 0,"
        " would leave unprocessed 0, would drop 0, would fail 0, would quarantine 0 in Xs (dry run: nothing"
        " written)\n"
    )
    assert tracker(tmp_path).issues() == {}


def test_a_dry_run_leaves_the_journal_byte_for_byte_and_asks_the_tracker(tmp_path, capsys):
    config = three_messages(tmp_path, capsys)
    run(capsys, "retry", "-c", config, "2")  # "Lunch?" waits in the inbox for the next sync
    deliver(tmp_path, "d", "Printer jammed")
    deliver(tmp_path, "e", "broken again")
    before = folder_state(tmp_path)
    assert "state/journal.sqlite3" in before

    code, out, _ = run(capsys, "sync", "--dry-run", "-c", config)

    assert folder_state(tmp_path) == before
    assert code == 1  # a write would fail
    assert summary_of(out).splitlines() == [
        "support: would 'Lunch?' from Alice <alice@example.com>: unprocessed: no rule matched",
        "support: would 'Printer jammed' from Alice <alice@example.com>: act: create_issue in"
        " project it",
        "support: would 'broken again' from Alice <alice@example.com>: fails: create_issue in"
        " project nowhere: there is no project 'nowhere'",
        "support: fetched 3, would create 1, would comment 0, would attach 0, would forward 0,"
        " would leave unprocessed 1, would drop 0, would fail 1, would quarantine 0 in Xs (dry run: nothing"
        " written)",
    ]
    asked = [call.method for call in tracker(tmp_path).calls()]
    assert "create_issue" not in asked[asked.index("check") :]
    assert asked.count("check") == 3  # reachable at all; project it; project nowhere


def test_a_dry_run_asks_whether_the_sender_may_act(tmp_path, capsys):
    rules = "- then: [{create_issue: {project: it}}]\n"
    config = configure(tmp_path, rules=rules, unknown_user="reject")
    rec = tracker(tmp_path)
    rec.add_project("it")
    rec.add_user("alice@example.com", "Alice")
    deliver(tmp_path, "a", "Printer on fire")

    code, out, _ = run(capsys, "sync", "--dry-run", "-c", config)

    assert code == 0
    assert out.splitlines()[0] == (
        "support: would 'Printer on fire' from Alice <alice@example.com>: unprocessed: the"
        " sender may not create issues in project it"
    )
    assert [c.method for c in rec.calls()][-1] == "can"


def test_a_dry_run_fails_when_the_tracker_cannot_be_reached(tmp_path, capsys):
    fault = ", faults: [{method: check, kind: unreachable, times: null}]"
    config = configure(tmp_path, extra=fault)
    deliver(tmp_path, "a", "Printer on fire")
    before = folder_state(tmp_path)

    code, out, _ = run(capsys, "sync", "--dry-run", "-c", config)

    assert code == ExitCode.UNREACHABLE
    assert "stopped:" in out
    assert "would 'Printer" not in out
    assert folder_state(tmp_path) == before


def test_a_dry_run_against_a_redmine_that_does_not_answer(tmp_path, capsys, monkeypatch):
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("REDMINE_KEY", "0123456789abcdef")
    config = configure(tmp_path)
    text = Path(config).read_text()
    text = re.sub(
        r"  rec: .*\n",
        f"  rec: {{adapter: redmine, url: 'http://127.0.0.1:{port}', api_key: {{env: REDMINE_KEY}},"
        " timeout: 2}\n",
        text,
    )
    Path(config).write_text(text)
    deliver(tmp_path, "a", "Printer on fire")

    code, out, _ = run(capsys, "sync", "--dry-run", "-c", config)

    assert code == ExitCode.UNREACHABLE
    assert not (tmp_path / "state").exists()
    assert "0123456789abcdef" not in out
