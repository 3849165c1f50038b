"""commands.sync: locks, exit codes across mailboxes, journal pruning."""

import time
from pathlib import Path

from tests.mailfactory import raw_mail
from tracker_mail_plugin.commands.sync import SyncOptions, sync
from tracker_mail_plugin.config.loader import load_config_text
from tracker_mail_plugin.journal import Journal
from tracker_mail_plugin.lock import MailboxLock

CONFIG = """\
version: 1
journal: {tmp}/journal.sqlite3
journal_keep_days: {keep}
trackers:
  rec: {{adapter: recording, state_file: {tmp}/tracker.json}}
mailboxes:
  good:
    protocol: directory
    path: {tmp}/good
    tracker: rec
    unknown_user: as_rule_owner
    on_success: {{move: Processed}}
    on_unprocessed: {{move: Skipped}}
    rules: ["then ignore"]
  broken:
    protocol: directory
    path: {tmp}/missing
    tracker: rec
    rules: ["then ignore"]
"""


def loaded(tmp: Path, keep: float = 90):
    (tmp / "good").mkdir(exist_ok=True)
    return load_config_text(CONFIG.format(tmp=tmp, keep=keep), str(tmp / "rules.yaml"))


def test_one_broken_mailbox_does_not_stop_the_others(tmp_path):
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "a.eml").write_bytes(raw_mail({"Subject": "hello"}))
    summaries, code = sync(loaded(tmp_path), ["broken", "good"], SyncOptions())
    broken, good = summaries
    assert (broken.exit_code, good.exit_code, code) == (2, 0, 2)
    assert "no such directory" in broken.error
    assert (good.fetched, good.unprocessed) == (1, 1)


def test_an_overlapping_run_says_so_and_exits_0(tmp_path):
    config = loaded(tmp_path)
    with MailboxLock(Path(f"{tmp_path}/journal.sqlite3.good.lock")) as held:
        assert held.acquired
        (summary,), code = sync(config, ["good"], SyncOptions())
    assert (summary.busy, code) == (True, 0)
    assert summary.line() == "good: another sync of this mailbox is running; nothing done"


def test_finished_messages_are_pruned_by_age_once_they_left_the_folder(tmp_path):
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "a.eml").write_bytes(raw_mail({"Subject": "hello"}))
    sync(loaded(tmp_path, keep=90), ["good"], SyncOptions())
    with Journal.open(tmp_path / "journal.sqlite3") as journal:
        assert sum(journal.status().counts.values()) == 1
    time.sleep(0.05)
    sync(loaded(tmp_path, keep=0.0000001), ["good"], SyncOptions())
    with Journal.open(tmp_path / "journal.sqlite3") as journal:
        assert sum(journal.status().counts.values()) == 0
