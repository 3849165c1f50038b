"""How ``watch`` reports trouble that lasts, without a server: readiness and the log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tracker_mail_plugin.config.loader import LoadedConfig, load_config_text
from tracker_mail_plugin.journal.database import JournalUnusable
from tracker_mail_plugin.watch import loop
from tracker_mail_plugin.watch.health import Health
from tracker_mail_plugin.watch.loop import Watch
from tracker_mail_plugin.watch.mailbox import MailboxWatcher

CONFIG = """\
version: 1
journal: {tmp}/journal.sqlite3
trackers:
  rec: {{adapter: recording, state_file: {tmp}/tracker.json}}
mailboxes:
  support:
    protocol: imap
    host: 127.0.0.1
    security: none
    username: someone
    password: {{file: {tmp}/password}}
    tracker: rec
    rules: ["then ignore"]
"""


def loaded(tmp_path: Path) -> LoadedConfig:
    return load_config_text(CONFIG.format(tmp=tmp_path), str(tmp_path / "rules.yaml"))


def test_an_idling_connection_that_broke_is_not_ready_until_it_is_back(tmp_path: Path) -> None:
    health = Health()
    watcher = MailboxWatcher("support", loaded(tmp_path), health)
    health.ran("support", None, tracker_ok=None)  # a run went well
    health.connection("support", connected=True, idling=True)
    assert health.readiness() == (True, {})

    watcher._drop("connection to IMAP server 127.0.0.1:143 lost while idling: BYE")

    ready, why = health.readiness()
    assert not ready
    assert why["support"].startswith("connection lost: ")


def test_a_journal_that_stays_unusable_is_said_once_not_every_minute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fault = JournalUnusable("cannot use the journal j (database or disk is full): free space")
    fails = True

    def after_runs(*args: object) -> None:
        if fails:
            raise fault

    monkeypatch.setattr(loop, "after_runs", after_runs)
    watch = Watch(loaded(tmp_path), None, Health())

    def a_minute_later() -> None:
        watch._last_journal = 0.0  # as if JOURNAL_EVERY had passed
        watch._journal_now_and_then()

    with caplog.at_level(logging.ERROR, logger="tracker_mail"):
        for _ in range(3):
            a_minute_later()
        fails = False
        a_minute_later()
        fails = True
        a_minute_later()  # a new spell of trouble is said again

    said = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert said == [str(fault), str(fault)]
