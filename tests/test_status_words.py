"""``status`` says what happened in plain words: dropped mail with its reason, comments as such."""

import json

import pytest

from tests.mailfactory import raw_mail
from tests.trialbox import trial_mailbox
from tracker_mail_plugin.cli import main


def test_dropped_mail_shows_why_and_a_comment_says_it_is_one(tmp_path, monkeypatch, capsys):
    new = trial_mailbox(tmp_path, monkeypatch)
    (new / "1.eml").write_bytes(raw_mail({"Subject": "Printer", "Message-ID": "<a@example.com>"}))
    (new / "2.eml").write_bytes(
        raw_mail({"Subject": "Out of office", "Auto-Submitted": "auto-replied"})
    )
    assert main(["sync", "-c", "rules.yaml"]) == 0
    (new / "3.eml").write_bytes(
        raw_mail({"Subject": "Re: Printer", "In-Reply-To": "<a@example.com>"})
    )
    assert main(["sync", "-c", "rules.yaml"]) == 0
    capsys.readouterr()

    assert main(["status", "-c", "rules.yaml", "--format", "json"]) == 0
    rows = {row["subject"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    dropped = rows["Out of office"]
    assert dropped["state_text"] == "dropped"
    assert "auto_replied" in dropped["reason"]
    assert rows["Re: Printer"]["issues"] == [
        {"key": "1", "url": "recording://issues/1", "comment": True}
    ]

    monkeypatch.setenv("COLUMNS", "200")
    assert main(["status", "-c", "rules.yaml"]) == 0
    table = capsys.readouterr().out
    assert "comment on 1 recording://issues/1" in table
    assert "dropped" in table


def test_retrying_a_message_that_is_done_says_so_and_queues_nothing(tmp_path, monkeypatch, capsys):
    new = trial_mailbox(tmp_path, monkeypatch)
    (new / "1.eml").write_bytes(raw_mail({"Subject": "Printer"}))
    (new / "2.eml").write_bytes(
        raw_mail({"Subject": "Out of office", "Auto-Submitted": "auto-replied"})
    )
    assert main(["sync", "-c", "rules.yaml"]) == 0
    capsys.readouterr()
    assert main(["retry", "-c", "rules.yaml", "1", "2"]) == 0
    out = capsys.readouterr().out
    assert '#1 support "Printer": done already (issue 1); nothing to retry' in out
    assert '#2 support "Out of office": queued' in out  # dropped: a changed policy may take it
    assert "1 message(s) will be processed by the next sync" in out


def test_status_state_takes_the_words_the_table_shows(tmp_path, monkeypatch, capsys):
    new = trial_mailbox(tmp_path, monkeypatch)
    (new / "1.eml").write_bytes(raw_mail({"Subject": "Printer"}))
    assert main(["sync", "-c", "rules.yaml"]) == 0
    capsys.readouterr()
    for word in ("done", "disposed", "Done"):
        assert main(["status", "-c", "rules.yaml", "--state", word, "--format", "json"]) == 0
        assert [json.loads(r)["subject"] for r in capsys.readouterr().out.splitlines()] == [
            "Printer"
        ]
    with pytest.raises(SystemExit) as exit_:
        main(["status", "-c", "rules.yaml", "--state", "finished"])
    assert exit_.value.code == 2
    assert "'finished' is not a state; use one of fetched" in capsys.readouterr().err
