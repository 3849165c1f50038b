"""``explain -c`` threads replies through the journal as ``sync`` does (read, never written)."""

import json

import pytest

from tests.mailfactory import raw_mail
from tests.trialbox import trial_mailbox
from tracker_mail_plugin.cli import main


@pytest.fixture
def synced(tmp_path, monkeypatch, capsys):
    """One message synced into the recording tracker; a reply to it waiting on disk."""
    new = trial_mailbox(tmp_path, monkeypatch)
    first = raw_mail({"Subject": "Printer on fire", "Message-ID": "<first@example.com>"})
    (new / "1.eml").write_bytes(first)
    assert main(["sync", "-c", "rules.yaml"]) == 0
    reply = raw_mail(
        {
            "Subject": "Re: Printer on fire",  # no issue number: only the journal knows
            "Message-ID": "<reply@example.com>",
            "In-Reply-To": "<first@example.com>",
        }
    )
    (tmp_path / "reply.eml").write_bytes(reply)
    capsys.readouterr()
    return tmp_path


def _explained(capsys, *options):
    assert main(["explain", "-c", "rules.yaml", "--format", "json", *options, "reply.eml"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_reply_threaded_only_by_the_journal_is_a_comment_as_sync_makes_it(synced, capsys):
    journal = (synced / "journal.sqlite3").read_bytes()
    explained = _explained(capsys)
    assert explained["reply_to_issue"] == "1", explained["reply_to_issue"]
    assert [a["action"] for a in explained["actions"]] == ["comment"]
    assert (synced / "journal.sqlite3").read_bytes() == journal  # read, never written


def test_offline_the_journal_still_threads_the_reply_and_says_so(synced, capsys):
    explained = _explained(capsys, "--offline")
    assert explained["reply_to_issue"] == "1", explained["reply_to_issue"]
    assert any("the journal threads this reply to issue 1" in n for n in explained["notes"])


def test_without_a_journal_the_reply_is_a_new_issue(synced, capsys):
    for name in ("journal.sqlite3", "journal.sqlite3-wal", "journal.sqlite3-shm"):
        (synced / name).unlink(missing_ok=True)
    explained = _explained(capsys)
    assert explained["reply_to_issue"] is None
    assert [a["action"] for a in explained["actions"]] == ["create_issue"]
