"""Mailbox leases in the PostgreSQL journal: one holder at a time, takeover, fencing."""

import time

import psycopg
import pytest

from tests.mailfactory import raw_mail
from tracker_mail_plugin.cli import main
from tracker_mail_plugin.errors import Unreachable
from tracker_mail_plugin.journal import Journal
from tracker_mail_plugin.journal.leases import LeaseKeeper, LeaseLost

IMAP = "imap:support@example.com/INBOX;uidvalidity=7"


def count(url, sql):
    with psycopg.connect(url, autocommit=True) as db:
        return db.execute(sql).fetchone()[0]


def expire(url, mailbox):
    """As if the holder stopped renewing long ago (killed, paused, cut off)."""
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("UPDATE leases SET expires_at = 0 WHERE mailbox = %s", (mailbox,))


@pytest.fixture
def url(postgres_url):
    Journal.open_postgres(postgres_url).close()  # the schema
    return postgres_url


def test_one_holder_at_a_time_and_the_next_generation_after_release(url):
    with Journal.open_postgres(url) as one, Journal.open_postgres(url) as two:
        first = LeaseKeeper(one.database, "support", holder="host-a/1")
        second = LeaseKeeper(two.database, "support", holder="host-b/2")
        held = first.acquire()
        assert held is not None
        assert held.generation == 1
        assert second.acquire() is None  # held and not expired
        assert LeaseKeeper(two.database, "sales", holder="host-b/2").acquire() is not None
        first.release(held)
        taken = second.acquire()
        assert taken is not None
        assert (taken.holder, taken.generation) == ("host-b/2", 2)
        assert not first.renew(held)  # the old holder cannot extend what it lost


def test_a_lease_that_expired_is_taken_over_and_the_old_holder_is_fenced(url):
    with Journal.open_postgres(url) as old, Journal.open_postgres(url) as new:
        old_lease = LeaseKeeper(old.database, "support", holder="paused").acquire()
        assert old_lease is not None
        old.hold(old_lease)
        row = old.record_fetched("support", IMAP, "1", "<a@x>", "a" * 64, 1)  # while held

        expire(url, "support")
        new_lease = LeaseKeeper(new.database, "support", holder="alive").acquire()
        assert new_lease is not None
        assert new_lease.generation == old_lease.generation + 1
        new.hold(new_lease)

        with pytest.raises(LeaseLost, match="lost its lease") as caught:
            old.record_fetched("support", IMAP, "2", "<b@x>", "b" * 64, 1)
        assert caught.value.exit_code == 3
        with pytest.raises(LeaseLost):
            old.record_disposed(row, "delete", removed=True)
        with pytest.raises(LeaseLost):
            old.make_durable()  # checked before the source disposes of mail
        new.record_disposed(new.get(row.id), "delete", removed=True)  # the holder writes on
    assert count(url, "SELECT COUNT(*) FROM messages") == 1
    assert count(url, "SELECT disposition FROM locations") == "delete"


def test_an_expired_lease_fences_even_before_anyone_takes_over(url):
    with Journal.open_postgres(url) as journal:
        lease = LeaseKeeper(journal.database, "support", holder="slow").acquire()
        assert lease is not None
        journal.hold(lease)
        expire(url, "support")
        with pytest.raises(LeaseLost):
            journal.record_fetched("support", IMAP, "1", "<a@x>", "a" * 64, 1)
    assert count(url, "SELECT COUNT(*) FROM messages") == 0


def end_session_of(url, journal):
    """What the server does to a session left inside a transaction: it ends it."""
    pid = journal.database._raw.info.backend_pid
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_session_ended_while_paused_past_its_lease_reports_the_lost_lease(url):
    with Journal.open_postgres(url) as old, Journal.open_postgres(url) as new:
        old_lease = LeaseKeeper(old.database, "support", holder="paused").acquire()
        assert old_lease is not None
        old.hold(old_lease)
        expire(url, "support")
        assert LeaseKeeper(new.database, "support", holder="alive").acquire() is not None
        end_session_of(url, old)

        with pytest.raises(LeaseLost, match=r"lost its lease.*ended its journal session"):
            old.record_fetched("support", IMAP, "1", "<a@x>", "a" * 64, 1)
        with pytest.raises(LeaseLost, match="lost its lease"):
            old.get(1)  # a read on the lost session says the same
    assert count(url, "SELECT COUNT(*) FROM messages") == 0


def test_a_session_lost_while_the_lease_holds_is_an_unreachable_journal(url):
    with Journal.open_postgres(url) as journal:
        lease = LeaseKeeper(journal.database, "support", holder="busy").acquire()
        assert lease is not None
        journal.hold(lease)
        end_session_of(url, journal)
        with pytest.raises(Unreachable, match="cannot connect to the journal") as caught:
            journal.record_fetched("support", IMAP, "1", "<a@x>", "a" * 64, 1)
        assert not isinstance(caught.value, LeaseLost)
    assert count(url, "SELECT COUNT(*) FROM messages") == 0


def test_the_keeper_renews_while_the_run_works_and_releases_at_the_end(url):
    # Renewed every 2 s: a loaded machine may stall the renewing thread for seconds, and a
    # stall past the lease rightly loses it (the fence), which is not what this test is about.
    seconds = 6.0
    expiry = "SELECT expires_at - extract(epoch FROM clock_timestamp()) FROM leases"
    with Journal.open_postgres(url) as one, Journal.open_postgres(url) as two:
        with LeaseKeeper(one.database, "support", seconds=seconds, holder="worker") as keeper:
            assert keeper.held is not None
            one.hold(keeper.held)
            # Until the lease as first taken has run out (the time it had left, as the server
            # counts it): from then on only renewals keep it.
            first_expiry = time.monotonic() + count(url, expiry)
            while time.monotonic() <= first_expiry:
                time.sleep(0.1)
            assert count(url, expiry) > 0  # renewed
            assert LeaseKeeper(two.database, "support", holder="other").acquire() is None
            one.record_fetched("support", IMAP, "1", "<a@x>", "a" * 64, 1)
        assert LeaseKeeper(two.database, "support", holder="other").acquire() is not None


CONFIG = """\
version: 1
journal: {{url: '{url}'}}
trackers:
  rec: {{adapter: recording, state_file: {tmp}/tracker.json}}
mailboxes:
  good:
    protocol: directory
    path: {tmp}/good
    tracker: rec
    unknown_user: as_rule_owner
    on_unprocessed: {{move: Skipped}}
    rules: ["then ignore"]
"""


def test_sync_leaves_a_mailbox_another_process_holds_and_takes_it_after(url, tmp_path, capsys):
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "a.eml").write_bytes(raw_mail({"Subject": "hello"}))
    path = tmp_path / "rules.yaml"
    path.write_text(CONFIG.format(url=url, tmp=tmp_path))
    with Journal.open_postgres(url) as other:
        keeper = LeaseKeeper(other.database, "good", holder="another-host/7")
        held = keeper.acquire()
        assert held is not None
        assert main(["sync", "-c", str(path)]) == 0
        assert "another sync of this mailbox is running" in capsys.readouterr().out
        assert count(url, "SELECT COUNT(*) FROM messages") == 0
        assert (tmp_path / "good" / "a.eml").exists()
        keeper.release(held)
    assert main(["sync", "-c", str(path)]) == 0
    assert count(url, "SELECT COUNT(*) FROM messages") == 1
    assert count(url, "SELECT generation FROM leases WHERE mailbox = 'good'") == 2


def test_sync_wait_takes_the_mailbox_once_the_holder_stops_renewing(url, tmp_path, capsys):
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "a.eml").write_bytes(raw_mail({"Subject": "hello"}))
    path = tmp_path / "rules.yaml"
    path.write_text(CONFIG.format(url=url, tmp=tmp_path))
    with Journal.open_postgres(url) as other:  # a holder that died: it never renews
        assert LeaseKeeper(other.database, "good", seconds=2, holder="dead/1").acquire()
    assert main(["sync", "--wait", "-c", str(path)]) == 0
    assert "another sync" not in capsys.readouterr().out
    assert count(url, "SELECT COUNT(*) FROM messages") == 1
    assert count(url, "SELECT holder FROM leases WHERE mailbox = 'good'") != "dead/1"
