"""A journal that cannot be used (damaged, read-only, disk full) is a clear configuration
error naming the file, never a traceback, and never leaves half a step written."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from tests.mailfactory import raw_mail
from tests.synchelpers import World
from tracker_mail_plugin.commands.sync import SyncOptions, sync
from tracker_mail_plugin.config.loader import load_config_text
from tracker_mail_plugin.errors import ConfigurationError, ExitCode
from tracker_mail_plugin.journal import Journal

CONFIG = """\
version: 1
journal: state/journal.sqlite3
trackers:
  rec: {{adapter: recording, state_file: {tmp}/tracker.json}}
mailboxes:
  box:
    protocol: directory
    path: {tmp}/box
    tracker: rec
    unknown_user: as_rule_owner
    on_success: leave
    on_unprocessed: leave
    rules: ["then ignore"]
"""


def run(tmp: Path):
    loaded = load_config_text(CONFIG.format(tmp=tmp), str(tmp / "rules.yaml"))
    (summary,), code = sync(loaded, ["box"], SyncOptions())
    return summary, code


def fill(journal: Journal) -> None:
    """Let the journal's file grow no more: SQLite then says the disk is full."""
    db = journal.database.connection
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")


def test_a_damaged_journal_ends_the_run_with_exit_2_its_path_and_the_summary(tmp_path) -> None:
    (tmp_path / "box").mkdir()
    (tmp_path / "box" / "a.eml").write_bytes(raw_mail({"Subject": "one"}))
    assert run(tmp_path)[1] == ExitCode.OK
    journal = tmp_path / "state" / "journal.sqlite3"
    damaged = bytearray(journal.read_bytes())
    damaged[4096:] = b"A" * (len(damaged) - 4096)  # the header survives, the tables do not
    journal.write_bytes(bytes(damaged))
    (tmp_path / "box" / "b.eml").write_bytes(raw_mail({"Subject": "two"}))
    summary, code = run(tmp_path)
    assert (code, summary.exit_code) == (ExitCode.CONFIGURATION, ExitCode.CONFIGURATION)
    assert str(journal) in summary.error
    assert "damaged" in summary.error
    assert "stopped:" in summary.line()


def test_a_file_that_is_not_a_journal_is_a_configuration_error(tmp_path) -> None:
    (tmp_path / "box").mkdir()
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "journal.sqlite3").write_text("not a database at all\n" * 100)
    summary, code = run(tmp_path)
    assert code == ExitCode.CONFIGURATION
    assert "not a database" in summary.error


def test_a_full_disk_fails_the_step_whole_and_the_next_run_does_it_once(tmp_path) -> None:
    world = World(tmp_path)
    # A long Message-ID needs new pages: there are none to be had.
    message_id = f"<{'a' * 20000}@example.com>"
    world.mailbox.add(raw_mail({"Subject": "printer on fire", "Message-ID": message_id}))
    fill(world.journal)
    with pytest.raises(ConfigurationError, match="free space"):
        world.sync()
    assert world.journal.status().counts == {}  # nothing half written
    world.journal.database.connection.execute("PRAGMA max_page_count = 1073741823")
    summary = world.sync()
    assert summary.created == 1
    assert len(world.tracker.issues()) == 1


def test_a_read_only_journal_is_a_configuration_error_and_the_transaction_is_gone(
    tmp_path,
) -> None:
    path = tmp_path / "journal.sqlite3"
    Journal.open(path).close()
    journal = Journal.open(path)
    journal.database.connection.close()
    # The tests run as root, for whom file modes do not count: open the file read-only.
    journal.database.connection = sqlite3.connect(
        f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
    )
    with pytest.raises(ConfigurationError, match=r"cannot use the journal .*write the file"):
        journal.record_fetched("box", "pipe", "1", "a@x", "0" * 64, 10)
    assert not journal.database.connection.in_transaction
    assert not journal.is_done("box", "pipe", "1")  # reads still work


def test_a_new_journal_is_private_to_its_owner(tmp_path) -> None:
    path = tmp_path / "new" / "journal.sqlite3"
    with Journal.open(path) as journal:
        journal.record_fetched("box", "pipe", "1", "a@x", "0" * 64, 10)
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in files}
    assert modes == dict.fromkeys((p.name for p in files), 0o600)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_journal_in_a_folder_every_user_may_write_is_refused(tmp_path) -> None:
    # A shared /tmp: another user could create the journal (or a token cache) first, and
    # so read what it keeps.
    (tmp_path / "box").mkdir()
    (tmp_path / "box" / "a.eml").write_bytes(raw_mail({"Subject": "one"}))
    shared = tmp_path / "state"
    shared.mkdir()
    shared.chmod(0o1777)
    with pytest.raises(ConfigurationError, match="which every user may write to"):
        run(tmp_path)
    assert not (shared / "journal.sqlite3").exists()
