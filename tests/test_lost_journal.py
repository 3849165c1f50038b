"""A lost journal does not turn the mail still in the mailbox into duplicate issues."""

import sqlite3

import pytest

from tests.mailfactory import raw_mail
from tests.synchelpers import World
from tracker_mail_plugin.journal import Journal


def mail(subject):
    fields = {"From": "Alice Example <alice@example.com>", "Subject": subject}
    return raw_mail(fields | {"Message-ID": f"<{subject.replace(' ', '-')}@example.com>"}, "Hi")


def lose_the_journal(world):
    world.journal.close()
    for suffix in ("", "-wal", "-shm"):
        (world.tmp / f"journal.sqlite3{suffix}").unlink(missing_ok=True)
    world.journal = Journal.open(world.tmp / "journal.sqlite3")


def age(world):
    """Make the journal look as if it began long ago."""
    db = sqlite3.connect(world.tmp / "journal.sqlite3")
    db.execute("UPDATE meta SET value = '1000' WHERE name = 'created_at'")
    db.commit()
    db.close()


@pytest.mark.parametrize("kept", ["flag_seen", "leave"])
def test_mail_left_in_the_mailbox_is_not_imported_again_after_the_journal_is_lost(tmp_path, kept):
    world = World(tmp_path, policies=f"    on_success: {kept}")
    world.mailbox.add(mail("printer one"))
    world.mailbox.add(mail("printer two"))
    world.sync()
    assert len(world.tracker.issues()) == 2
    lose_the_journal(world)
    before = len(world.tracker.calls("find_by_key"))
    summary = world.sync()
    assert len(world.tracker.issues()) == 2  # found by their keys, not created again
    assert summary.created == 0
    assert len(world.tracker.calls("find_by_key")) - before == 2
    assert len(world.journal.undisposed("inbox", world.mailbox.identity())) == 0


def test_an_old_journal_does_not_look_new_writes_up(tmp_path):
    world = World(tmp_path, policies="    on_success: flag_seen")
    age(world)
    world.mailbox.add(mail("printer one"))
    world.sync()
    assert world.tracker.calls("find_by_key") == []


def test_mail_moved_away_needs_no_look_up_even_with_a_new_journal(tmp_path):
    world = World(tmp_path)  # on_success: move to Processed
    world.mailbox.add(mail("printer one"))
    world.sync()
    assert world.tracker.calls("find_by_key") == []


def test_a_journal_restored_from_a_backup_looks_up_when_asked(tmp_path):
    world = World(tmp_path, policies="    on_success: flag_seen")
    world.mailbox.add(mail("printer one"))
    world.sync()
    lose_the_journal(world)
    age(world)  # a restored backup is old: only --look-up-first saves it
    world.sync(look_up_first=True)
    assert len(world.tracker.issues()) == 1
