"""Pipe mode: `tracker-mail receive` as a mail server's alias would run it."""

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


def receive(config, raw):
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
