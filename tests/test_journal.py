"""The journal: exactly-once bookkeeping that survives renumbering, overlap and kill -9."""

import hashlib
import multiprocessing
import os
import re
import signal
import sqlite3
import time

import pytest

from tracker_mail_plugin.adapter import CommentRef, IssueRef
from tracker_mail_plugin.errors import ConfigurationError
from tracker_mail_plugin.journal import (
    SCHEMA_VERSION,
    ActionState,
    Journal,
    MessageState,
    Thread,
    idempotency_key,
)

IMAP = "imap:support@example.com/INBOX;uidvalidity=7"
FORK = multiprocessing.get_context("fork")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(params=["sqlite", "postgres"])
def journal(request, tmp_path):
    """The journal in each backend: a SQLite file, and a new PostgreSQL database."""
    if request.param == "sqlite":
        opened = Journal.open(tmp_path / "state" / "journal.sqlite3")
    else:
        opened = Journal.open_postgres(request.getfixturevalue("postgres_url"))
    with opened:
        yield opened


@pytest.fixture(params=["sqlite", "postgres"])
def where(request, tmp_path):
    """Where a journal is, in each backend: a SQLite file's path, a PostgreSQL URL."""
    if request.param == "sqlite":
        return tmp_path / "journal.sqlite3"
    return request.getfixturevalue("postgres_url")


def open_at(where):
    if isinstance(where, str) and where.startswith("postgresql://"):
        return Journal.open_postgres(where)
    return Journal.open(where)


def fetch(journal, uid, message_id="<a@example.com>", body="a", identity=IMAP, mailbox="support"):
    return journal.record_fetched(mailbox, identity, str(uid), message_id, sha(body), len(body))


# -- keys and opening ----------------------------------------------------------------------


def test_idempotency_key_is_short_stable_and_distinct():
    key = idempotency_key("a@example.com", 0)
    assert re.fullmatch(r"tm-[a-z2-7]{20}", key)
    assert idempotency_key("a@example.com", 0) == key
    assert idempotency_key("a@example.com", 1) != key
    assert idempotency_key("b@example.com", 0) != key


def test_open_creates_a_wal_journal_with_a_schema_version(tmp_path):
    path = tmp_path / "deep" / "er" / "journal.sqlite3"
    Journal.open(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"messages", "locations", "actions", "threads"} <= tables
    with Journal.open(path) as again:  # reopening does not recreate anything
        assert again.database.connection.execute("PRAGMA busy_timeout").fetchone()[0] == 30000


def test_open_refuses_a_journal_from_a_newer_version(tmp_path):
    path = tmp_path / "journal.sqlite3"
    sqlite3.connect(path).execute("PRAGMA user_version = 99").connection.close()
    with pytest.raises(ConfigurationError, match="newer tracker-mail") as caught:
        Journal.open(path)
    assert caught.value.exit_code == 2


def test_open_fails_as_configuration_error_when_the_path_is_unusable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigurationError, match="cannot open the journal"):
        Journal.open(blocker / "journal.sqlite3")


# -- messages ------------------------------------------------------------------------------


def test_record_fetched_is_idempotent_for_a_location(journal):
    first = fetch(journal, 41)
    again = fetch(journal, 41)
    assert again.id == first.id
    assert (first.mailbox, first.source_identity, first.source_id) == ("support", IMAP, "41")
    assert first.state == MessageState.FETCHED
    assert first.attempts == 0
    assert first.size == 1
    assert first.disposed_at is None
    assert journal.status().counts == {MessageState.FETCHED: 1}


def test_uidvalidity_change_finds_the_message_already_processed(journal):
    row = fetch(journal, 41)
    key = idempotency_key(row.message_id, 0)
    journal.begin_action(row, 0, key, "create_issue")
    journal.finish_action(key, IssueRef("recording", "12"))
    journal.mark_state(row, MessageState.ACTED)
    journal.record_disposed(row, "flag as seen", removed=False)
    assert journal.is_done("support", IMAP, "41")

    renumbered = "imap:support@example.com/INBOX;uidvalidity=8"
    assert not journal.is_done("support", renumbered, "3")
    moved = fetch(journal, 3, identity=renumbered)
    assert moved.id == row.id
    assert moved.state == MessageState.DISPOSED
    assert (moved.source_identity, moved.source_id) == (renumbered, "3")
    assert not moved.done  # this copy still has to be disposed of
    assert [action.state for action in journal.actions(moved)] == [ActionState.DONE]
    journal.record_disposed(moved, "flag as seen", removed=False)
    assert journal.is_done("support", renumbered, "3")
    assert journal.status().counts == {MessageState.DISPOSED: 1}


def test_other_bytes_or_other_mailbox_are_other_messages(journal):
    row = fetch(journal, 1)
    assert fetch(journal, 2, body="edited").id != row.id  # same Message-ID, other bytes
    assert fetch(journal, 1, mailbox="billing").id != row.id
    assert sum(journal.status().counts.values()) == 3


def test_mark_state_keeps_the_decision_until_a_new_one_is_given(journal):
    row = fetch(journal, 1)
    journal.mark_state(row, MessageState.DECIDED, {"rule": "printers", "actions": ["create_issue"]})
    journal.mark_state(row, MessageState.ACTED)
    stored = journal.get(row.id)
    assert stored.state == MessageState.ACTED
    assert stored.decision == {"actions": ["create_issue"], "rule": "printers"}


def test_record_failure_counts_attempts_and_scrubs_credentials(journal):
    row = fetch(journal, 1)
    assert journal.record_failure(row, "first") == 1
    error = ConnectionError("GET https://bot:hunter2@tracker.example/issues.json?key=abc123 failed")
    assert journal.record_failure(row, error) == 2
    stored = journal.get(row.id)
    assert stored.state == MessageState.FAILED
    assert stored.attempts == 2
    assert stored.last_error.startswith("ConnectionError: GET https://***@tracker.example")
    assert "hunter2" not in stored.last_error
    assert "abc123" not in stored.last_error
    assert journal.failed() == [stored]


def test_record_disposed_keeps_states_that_say_why(journal):
    unprocessed = fetch(journal, 1, "<u@example.com>")
    quarantined = fetch(journal, 2, "<q@example.com>")
    acted = fetch(journal, 3, "<ok@example.com>")
    journal.mark_state(unprocessed, MessageState.UNPROCESSED)
    journal.mark_state(quarantined, MessageState.QUARANTINED)
    journal.mark_state(acted, MessageState.ACTED)
    for row in (unprocessed, quarantined, acted):
        journal.record_disposed(row, "move to 'Done'", removed=True)
    states = {row.source_id: row.state for row in journal.status().recent}
    assert states == {
        "1": MessageState.UNPROCESSED,
        "2": MessageState.QUARANTINED,
        "3": MessageState.DISPOSED,
    }
    assert [row.id for row in journal.quarantined()] == [quarantined.id]
    assert all(journal.is_done("support", IMAP, uid) for uid in "123")


def test_requeue_makes_a_quarantined_message_new_but_keeps_its_actions(journal):
    row = fetch(journal, 1)
    key = idempotency_key(row.message_id, 0)
    journal.begin_action(row, 0, key, "create_issue")
    journal.record_failure(row, "boom")
    journal.mark_state(row, MessageState.QUARANTINED)
    journal.record_disposed(row, "move to 'Quarantine'", removed=True)
    again = journal.requeue(row)
    assert (again.state, again.attempts, again.last_error) == (MessageState.FETCHED, 0, None)
    assert not journal.is_done("support", IMAP, "1")
    assert [action.idempotency_key for action in journal.pending_unknown(again)] == [key]


def test_get_returns_none_for_an_unknown_id_and_the_newest_location(journal):
    assert journal.get(999) is None
    row = fetch(journal, 1)
    fetch(journal, 9, identity="imap:support@example.com/Quarantine;uidvalidity=1")
    assert journal.get(row.id).source_id == "9"


# -- actions -------------------------------------------------------------------------------


def test_actions_move_from_started_to_done_or_unknown(journal):
    row = fetch(journal, 1)
    keys = [idempotency_key(row.message_id, index) for index in range(3)]
    for index, key in enumerate(keys):
        begun = journal.begin_action(row, index, key, "comment")
        assert (begun.state, begun.index, begun.result) == (ActionState.STARTED, index, None)
    issue = IssueRef("jira", "ABC-12", url="https://jira.example/browse/ABC-12", project="ABC")
    done = journal.finish_action(keys[0], CommentRef(issue, "10001"))
    assert done.state == ActionState.DONE
    assert done.result == CommentRef(issue, "10001")
    assert done.result.issue.url == issue.url
    assert done.finished_at is not None
    unknown = journal.mark_unknown(keys[2], TimeoutError("read timed out"))
    assert (unknown.state, unknown.error) == (ActionState.UNKNOWN, "TimeoutError: read timed out")
    pending = journal.pending_unknown(row)
    assert [(a.index, a.state) for a in pending] == [
        (1, ActionState.STARTED),
        (2, ActionState.UNKNOWN),
    ]
    journal.finish_action(keys[2], "file-7")
    assert journal.actions(row)[2].result == "file-7"


def test_begin_action_returns_the_existing_action_for_a_key(journal):
    row = fetch(journal, 1)
    key = idempotency_key(row.message_id, 0)
    journal.begin_action(row, 0, key, "create_issue")
    journal.finish_action(key, IssueRef("redmine", "7", project="support"))
    again = journal.begin_action(row, 0, key, "create_issue")
    assert again.state == ActionState.DONE
    assert again.result == IssueRef("redmine", "7")
    # The same Message-ID through another mailbox is acted on once, not twice.
    other = fetch(journal, 1, mailbox="billing")
    assert journal.begin_action(other, 0, key, "create_issue").message == row.id
    assert journal.actions(other) == []


def test_settling_an_unknown_key_is_an_error(journal):
    with pytest.raises(KeyError, match="tm-nothing"):
        journal.finish_action("tm-nothing", IssueRef("redmine", "1"))


# -- threads -------------------------------------------------------------------------------


def test_threads_find_the_nearest_known_message_id(journal):
    journal.remember_thread("root@example.com", "redmine-main", "7")
    journal.remember_thread("reply@example.com", "redmine-main", "8")
    journal.remember_thread("reply@example.com", "jira", "ABC-1")
    found = journal.find_thread(["unknown@x", "reply@example.com", "root@example.com"])
    assert found in (Thread("redmine-main", "8"), Thread("jira", "ABC-1"))
    assert journal.find_thread(["reply@example.com"], tracker="jira") == ("jira", "ABC-1")
    assert journal.find_thread(["root@example.com"], tracker="jira") is None
    assert journal.find_thread(["nobody@example.com"]) is None
    journal.remember_thread("root@example.com", "redmine-main", "70")
    assert journal.find_thread(["root@example.com"]) == Thread("redmine-main", "70")


# -- operators -----------------------------------------------------------------------------


def test_status_counts_states_and_lists_recent_first(journal):
    rows = [fetch(journal, uid, f"<m{uid}@example.com>") for uid in range(5)]
    journal.mark_state(rows[1], MessageState.ACTED)
    journal.record_failure(rows[2], "x")
    status = journal.status(limit=2)
    assert status.counts == {
        MessageState.FETCHED: 3,
        MessageState.ACTED: 1,
        MessageState.FAILED: 1,
    }
    assert [row.id for row in status.recent] == [rows[2].id, rows[1].id]


def test_prune_forgets_only_old_messages_whose_copies_all_left_the_mailbox(journal):
    gone = fetch(journal, 1, "<gone@example.com>")
    left = fetch(journal, 2, "<left@example.com>")
    failed = fetch(journal, 3, "<failed@example.com>")
    key = idempotency_key(gone.message_id, 0)
    journal.begin_action(gone, 0, key, "create_issue")
    journal.record_disposed(gone, "delete", removed=True)
    journal.record_disposed(left, "leave", removed=False)
    journal.record_failure(failed, "x")
    journal.remember_thread(gone.message_id, "redmine", "1")
    assert journal.prune(older_than_days=1) == 0  # nothing is a day old yet
    assert journal.prune(older_than_days=-1) == 1
    assert journal.get(gone.id) is None
    assert journal.get(left.id) is not None
    assert journal.get(failed.id) is not None
    assert not journal.is_done("support", IMAP, "1")
    assert journal.database.connection.execute("SELECT COUNT(*) FROM actions").fetchone()[0] == 0
    assert journal.find_thread([gone.message_id]) == ("redmine", "1")


# -- processes -----------------------------------------------------------------------------


def _use_inherited(journal, answers):
    try:
        journal.is_done("support", IMAP, "1")
    except RuntimeError as exc:
        answers.put(str(exc))
    else:
        answers.put("used")


def test_a_connection_inherited_through_fork_is_refused(journal):
    answers = FORK.Queue()
    child = FORK.Process(target=_use_inherited, args=(journal, answers))
    child.start()
    child.join(120)
    assert "opened by another process" in answers.get(timeout=60)


def _writer(path, worker, count):
    with open_at(path) as journal:
        for number in range(count):
            shared = fetch(journal, number, f"<shared-{number}@example.com>", str(number))
            key = idempotency_key(shared.message_id, 0)
            if journal.begin_action(shared, 0, key, "create_issue").state != ActionState.DONE:
                journal.finish_action(key, IssueRef("recording", str(number)))
            own = fetch(journal, f"{worker}-{number}", f"<{worker}-{number}@example.com>")
            journal.record_failure(own, f"worker {worker}")
            journal.remember_thread(own.message_id, "recording", str(number))


def test_two_processes_writing_at_once_neither_corrupt_nor_duplicate(where):
    open_at(where).close()
    workers = [FORK.Process(target=_writer, args=(where, worker, 150)) for worker in "ab"]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [worker.exitcode for worker in workers] == [0, 0]
    with open_at(where) as journal:
        db = journal.database.connection
        if not isinstance(where, str):
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        count = db.execute("SELECT COUNT(*) FROM messages WHERE message_id LIKE '<shared-%'")
        assert count.fetchone()[0] == 150
        assert db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 450
        done = db.execute("SELECT COUNT(*) FROM actions WHERE state = 'done'").fetchone()[0]
        assert done == 150
        assert db.execute("SELECT COUNT(*) FROM threads").fetchone()[0] == 300


def _endless_writer(path):
    with open_at(path) as journal:
        number = 0
        while True:
            row = fetch(journal, number, f"<k{number}@example.com>", str(number))
            key = idempotency_key(row.message_id, 0)
            journal.begin_action(row, 0, key, "create_issue")
            journal.finish_action(key, IssueRef("recording", str(number)))
            journal.record_disposed(row, "delete", removed=True)
            number += 1


def test_a_writer_killed_with_sigkill_leaves_a_consistent_journal(where):
    open_at(where).close()
    writer = FORK.Process(target=_endless_writer, args=(where,))
    writer.start()
    watcher = open_at(where)
    deadline = time.monotonic() + 60
    count = "SELECT COUNT(*) FROM messages"
    while watcher.database.connection.execute(count).fetchone()[0] < 40:
        assert time.monotonic() < deadline, "the writer made no progress"
        time.sleep(0.01)
    os.kill(writer.pid, signal.SIGKILL)
    writer.join(60)
    assert writer.exitcode == -signal.SIGKILL
    watcher.close()

    with open_at(where) as journal:
        db = journal.database.connection
        if not isinstance(where, str):
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        orphans = db.execute(
            "SELECT COUNT(*) FROM messages m WHERE NOT EXISTS"
            " (SELECT 1 FROM locations l WHERE l.message = m.id)"
        )
        assert orphans.fetchone()[0] == 0  # message and location are written together
        written = db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        assert written >= 40
        # A rerun over the same mail finds every message and action instead of adding any.
        for number in range(written):
            row = fetch(journal, number, f"<k{number}@example.com>", str(number))
            key = idempotency_key(row.message_id, 0)
            action = journal.begin_action(row, 0, key, "create_issue")
            if number < written - 1:
                assert action.state == ActionState.DONE
                assert journal.is_done("support", IMAP, str(number))
        assert db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == written
        assert db.execute("SELECT COUNT(*) FROM actions").fetchone()[0] == written
