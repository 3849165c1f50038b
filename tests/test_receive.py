"""Pipe mode: `tracker-mail receive` as a mail server's alias would run it."""

import stat
import subprocess
import sys

import pytest

from tests.mailfactory import raw_mail
from tracker_mail_plugin.adapter import Permission
from tracker_mail_plugin.testing import FaultKind, RecordingAdapter, RecordingConfig

CONFIG = """\
version: 1
journal: journal.sqlite3
trackers:
  rec: {{adapter: recording, state_file: {state}}}
mailboxes:
  alias:
    protocol: pipe
    path: {spool}
    tracker: rec
    rules:
      - when subject contains 'printer' then create bug in project it
"""


@pytest.fixture
def setup(tmp_path):
    state, spool = tmp_path / "tracker.json", tmp_path / "spool"
    tracker = RecordingAdapter(RecordingConfig(state_file=state))
    tracker.add_project("it")
    alice = tracker.add_user("alice@example.com", "Alice")
    tracker.grant(alice, "it", Permission.CREATE_ISSUE)
    config = tmp_path / "rules.yaml"
    config.write_text(CONFIG.format(state=state, spool=spool))
    return config, tracker, spool


def receive(config, raw, cwd=None):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tracker_mail_plugin.cli",
            "receive",
            "-c",
            str(config),
            "--mailbox",
            "alias",
        ],
        input=raw,
        capture_output=True,
        check=False,
        cwd=cwd,
    )


def test_a_piped_message_becomes_an_issue_once(setup):
    config, tracker, spool = setup
    raw = raw_mail({"From": "alice@example.com", "Subject": "printer jammed"})
    first = receive(config, raw)
    assert first.returncode == 0, first.stderr
    again = receive(config, raw)  # the mail server delivered it twice
    assert again.returncode == 0
    assert [i.title for i in tracker.issues().values()] == ["printer jammed"]
    assert not spool.exists()  # processed mail is not kept


def test_unprocessed_mail_is_kept_in_the_spool(setup):
    config, tracker, spool = setup
    raw = raw_mail({"From": "alice@example.com", "Subject": "lunch?"})
    result = receive(config, raw)
    assert result.returncode == 0
    (kept,) = (spool / "Unprocessed").iterdir()
    assert kept.read_bytes() == raw
    assert tracker.issues() == {}


def test_tracker_failure_is_a_temporary_failure_and_nothing_is_kept(setup):
    config, tracker, spool = setup
    tracker.fail("create_issue", FaultKind.SERVER_ERROR)
    raw = raw_mail({"From": "alice@example.com", "Subject": "printer jammed"})
    result = receive(config, raw)
    assert result.returncode == 75
    assert not spool.exists()
    assert receive(config, raw).returncode == 0  # the mail server's next delivery works
    assert len(tracker.issues()) == 1


def test_configuration_error_defers_instead_of_bouncing(tmp_path):
    config = tmp_path / "rules.yaml"
    config.write_text("version: 1\n")
    result = receive(config, raw_mail({}))
    assert result.returncode == 75
    assert b"trackers: required, but missing" in result.stderr


def test_a_spool_that_cannot_be_written_defers_and_the_next_delivery_keeps_it(setup):
    config, tracker, spool = setup
    spool.write_text("a file where the spool directory should be")
    raw = raw_mail({"From": "alice@example.com", "Subject": "lunch?"})
    result = receive(config, raw)
    assert result.returncode == 75, result.stderr  # kept by the mail server, not bounced
    assert b"Traceback" not in result.stderr
    assert b"cannot keep the message in the spool" in result.stderr
    spool.unlink()
    assert receive(config, raw).returncode == 0
    (kept,) = (spool / "Unprocessed").iterdir()
    assert kept.read_bytes() == raw
    assert tracker.issues() == {}


def test_spool_files_and_folders_are_private(setup):
    config, _, spool = setup
    assert (
        receive(config, raw_mail({"From": "alice@example.com", "Subject": "lunch?"})).returncode
        == 0
    )
    (kept,) = (spool / "Unprocessed").iterdir()
    modes = [stat.S_IMODE(p.stat().st_mode) for p in (spool, spool / "Unprocessed", kept)]
    assert modes == [0o700, 0o700, 0o600]


def test_a_relative_spool_path_is_relative_to_the_configuration_file(tmp_path):
    state = tmp_path / "tracker.json"
    RecordingAdapter(RecordingConfig(state_file=state)).add_project("it")
    config = tmp_path / "etc" / "rules.yaml"
    config.parent.mkdir()
    config.write_text(CONFIG.format(state=state, spool="spool"))
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    raw = raw_mail({"From": "alice@example.com", "Subject": "lunch?"})
    result = receive(config, raw, cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in (tmp_path / "etc" / "spool").iterdir()] == ["Unprocessed"]
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"", b"standard input is empty"),
        (b"\r\n  \n", b"standard input is empty"),
        (b"just some text, no header\nat all\n", b"does not start with a mail header"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", b"does not start with a mail header"),
    ],
)
def test_empty_input_or_no_mail_at_all_makes_no_issue_and_defers(setup, raw, why):
    config, tracker, spool = setup
    config.write_text(config.read_text().replace("when subject contains 'printer' then", "then"))
    result = receive(config, raw)
    assert result.returncode == 75
    assert why in result.stderr
    assert tracker.issues() == {}
    assert not spool.exists()


def test_a_from_line_in_front_of_the_headers_is_still_mail(setup):
    config, tracker, _ = setup
    raw = b"From alice@example.com Mon Nov  2 10:00:00 2026\n" + raw_mail(
        {"From": "alice@example.com", "Subject": "printer jammed"}
    )
    assert receive(config, raw).returncode == 0
    assert [i.title for i in tracker.issues().values()] == ["printer jammed"]
