"""A message that hangs or kills the parser is an attempt like any other, then quarantined."""

import sqlite3
import time

import pytest

from tests.mailfactory import raw_mail
from tests.synchelpers import Crash, World
from tracker_mail_plugin.errors import PermanentError, RetryLater
from tracker_mail_plugin.journal import Journal
from tracker_mail_plugin.journal.rows import MessageState
from tracker_mail_plugin.mail import parse_message
from tracker_mail_plugin.pipeline import run
from tracker_mail_plugin.pipeline.budget import OverBudget, time_budget
from tracker_mail_plugin.sources.base import Move
from tracker_mail_plugin.testing import RecordingAdapter

# The budget is what stops the poison; the fine messages need milliseconds, and a second
# leaves room for a loaded machine stalling the process while it reads one.
POLICIES = "    on_success: {move: Processed}\n    max_attempts: 2\n    max_processing_seconds: 1"
POISON = b"X-Poison: yes\n"


def mail(subject, poison=False):
    fields = {"From": "Alice Example <alice@example.com>", "Subject": subject}
    raw = raw_mail(fields | {"Message-ID": f"<{subject}@example.com>"}, "It smokes.")
    return POISON + raw if poison else raw


@pytest.fixture
def world(tmp_path):
    return World(tmp_path, policies=POLICIES)


def hanging_parser(monkeypatch, calls):
    def parse(raw, sha256=None):
        calls.append(raw)
        if raw.startswith(POISON):
            while True:  # a parser stuck on this message (checked for the timer's signal)
                pass
        return parse_message(raw, sha256)

    monkeypatch.setattr(run, "parse_message", parse)


def test_a_message_that_hangs_the_parser_fails_then_is_quarantined(world, monkeypatch):
    calls = []
    hanging_parser(monkeypatch, calls)
    world.mailbox.add(mail("printer poison", poison=True))
    world.mailbox.add(mail("printer fine"))
    first = world.sync()
    assert (first.failed, first.created, first.quarantined) == (1, 1, 0)
    second = world.sync()
    assert (second.quarantined, second.created) == (1, 0)
    assert [d.disposition for d in world.mailbox.log if d.committed] == [
        Move("Processed"),
        Move("Quarantine"),
    ]
    (row,) = world.journal.quarantined()
    assert "reading it took more than 1s, 2 times" in (row.last_error or "")
    assert len(world.tracker.issues()) == 1


def test_a_parser_that_kills_the_run_is_counted_and_the_message_quarantined_unread(
    world, monkeypatch
):
    calls = []

    def killing(raw, sha256=None):
        calls.append(raw)
        if raw.startswith(POISON):
            raise Crash("the parser took the process down")
        return parse_message(raw, sha256)

    monkeypatch.setattr(run, "parse_message", killing)
    world.mailbox.add(mail("printer poison", poison=True))
    for _ in range(2):  # max_attempts runs die inside the parser
        with pytest.raises(Crash):
            world.sync()
    calls.clear()
    summary = world.sync()
    assert calls == []  # not parsed again: the journal counted the attempts that died
    assert summary.quarantined == 1
    (row,) = world.journal.quarantined()
    assert row.last_error == "reading it did not finish 2 times"
    assert world.mailbox.ids() == []


def test_a_slow_decision_is_a_failed_attempt(world, monkeypatch):
    real = run.decide

    def slow(message, rules, policies, facts):
        if "slow" in message.subject:
            while True:
                pass
        return real(message, rules, policies, facts)

    monkeypatch.setattr(run, "decide", slow)
    world.mailbox.add(mail("printer slow"))
    first = world.sync()
    assert first.failed == 1
    assert world.journal.failed()[0].state == MessageState.FAILED
    world.sync()
    (row,) = world.journal.quarantined()
    assert "deciding on the message took more than 1s" in (row.last_error or "")


def test_the_budget_interrupts_python_and_the_regex_engine_only_inside_its_block():
    import re

    with (
        pytest.raises(OverBudget, match=r"matching took more than 0\.1s"),
        time_budget(0.1, "matching"),
    ):
        re.match(r"(a+)+$", "a" * 40 + "b")
    with time_budget(0.1, "nothing slow"):
        done = sum(range(1000))
    time.sleep(0.3)  # past the budget: a timer left armed would raise OverBudget here
    assert done == 499500


def test_arrivals_are_written_without_an_fsync_and_forgotten_once_journalled(tmp_path):
    with Journal.open(tmp_path / "j.sqlite3") as journal:
        assert journal.arrive("inbox", "fake", "1", "abc", 10) == 1
        assert journal.arrive("inbox", "fake", "1", "abc", 10) == 2
        assert journal.arrive("inbox", "fake", "1", "other bytes", 10) == 1
        db = journal.database.connection
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL again
        journal.record_fetched("inbox", "fake", "1", "m@example.com", "other bytes", 10)
        assert db.execute("SELECT COUNT(*) FROM arrivals").fetchone()[0] == 0


def test_a_version_1_journal_is_upgraded_and_dated_by_its_oldest_message(tmp_path):
    path = tmp_path / "old.sqlite3"
    with Journal.open(path) as journal:
        journal.record_fetched("inbox", "fake", "1", "m@example.com", "abc", 10)
    db = sqlite3.connect(path)
    db.executescript(
        "DROP TABLE arrivals; DROP TABLE meta; UPDATE messages SET first_seen = 1000;"
        "ALTER TABLE messages DROP COLUMN sender; ALTER TABLE messages DROP COLUMN subject;"
        "PRAGMA user_version = 1;"
    )
    db.close()
    with Journal.open(path) as journal:
        assert not journal.is_new(hours=24)  # its oldest message is from 1970
        assert journal.arrive("inbox", "fake", "2", "def", 10) == 1
    with Journal.open(tmp_path / "new.sqlite3") as journal:
        assert journal.is_new(hours=24)


class RefusesBroken(RecordingAdapter):
    """Refuses, for good, to create an issue titled "broken …"."""

    def create_issue(self, new):
        if new.title.startswith("broken"):
            raise PermanentError("HTTP 422: the tracker refuses this issue")
        return super().create_issue(new)


def test_a_quarantine_forward_that_fails_is_tried_again_and_stops_nothing(tmp_path):
    world = World(
        tmp_path,
        policies="    max_attempts: 2\n    on_failure: {forward: triage@example.com}",
        rules="""
      - when: {subject_contains: [broken, printer]}
        then: [{create_issue: {project: it}}]
""",
        tracker=RefusesBroken(),
    )
    sent = []
    down = True

    def forward(message, raw, to, reason):
        if down:
            raise RetryLater("SMTP server 127.0.0.1:2525: connection refused")
        sent.append((message.subject, to))

    world._forward = forward  # type: ignore[method-assign]
    world.mailbox.add(mail("broken one"))
    world.sync()  # attempt 1: the tracker refuses the issue
    world.mailbox.add(mail("printer two"))
    second = world.sync()  # attempt 2 would quarantine, but the forward fails
    assert (second.quarantined, second.failed, second.created) == (0, 1, 1)
    assert [row.state for row in world.journal.failed()] == [MessageState.FAILED]
    down = False
    third = world.sync()
    assert third.quarantined == 1
    assert sent == [("broken one", "triage@example.com")]
    assert world.journal.quarantined()[0].message_id == "brokenone@example.com"
