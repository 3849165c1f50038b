"""Group commit and batch disposal: fewer fsyncs and source commands, the same exactly-once."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.mailfactory import raw_mail
from tests.synchelpers import World
from tracker_mail_plugin.adapter import IssueRef, NewIssue
from tracker_mail_plugin.journal import Journal
from tracker_mail_plugin.journal import runs as runs_module
from tracker_mail_plugin.pipeline.disposal import DISPOSE_BATCH
from tracker_mail_plugin.sources.base import Disposition
from tracker_mail_plugin.testing import FakeMailbox, RecordingAdapter

FULL, NORMAL = 2, 1


def mail(subject: str, message_id: str) -> bytes:
    fields = {"From": "Alice Example <alice@example.com>", "Subject": subject}
    return raw_mail(fields | {"Message-ID": f"<{message_id}@example.com>"}, "Hello")


def synchronous(journal: Journal) -> int:
    return int(journal.database.connection.execute("PRAGMA synchronous").fetchone()[0])


def synced_at(journal: Journal) -> str | None:
    with journal.database.read() as db:
        found = db.execute("SELECT value FROM meta WHERE name = 'synced_at'").fetchone()
    return None if found is None else str(found[0])


# --- the journal's two kinds of commit ----------------------------------------------------


def test_writes_inside_a_group_are_not_fsynced_and_are_on_the_way_out(tmp_path):
    with Journal.open(tmp_path / "j.sqlite3") as journal:
        with journal.grouped():
            journal.record_fetched("inbox", "fake", "1", "a@example.com", "abc", 10)
            assert synchronous(journal) == NORMAL  # that commit did not fsync
            assert synced_at(journal) is None
        # Leaving the group made it durable with one fsynced commit.
        assert synced_at(journal) is not None
        assert synchronous(journal) == FULL


def test_a_durable_write_inside_a_group_is_fsynced_and_nothing_is_left_to_sync(tmp_path):
    with Journal.open(tmp_path / "j.sqlite3") as journal:
        with journal.grouped():
            row = journal.record_fetched("inbox", "fake", "1", "a@example.com", "abc", 10)
            journal.begin_action(row, 0, "tm-key", "forward", durable=True)
            assert synchronous(journal) == FULL
        # Everything was durable already: no extra commit was needed on the way out.
        assert synced_at(journal) is None


def test_outside_a_group_every_write_is_durable_as_before(tmp_path):
    with Journal.open(tmp_path / "j.sqlite3") as journal:
        journal.record_fetched("inbox", "fake", "1", "a@example.com", "abc", 10)
        assert synchronous(journal) == FULL
        journal.make_durable()
        assert synced_at(journal) is None  # nothing was waiting


def test_disposals_are_recorded_in_one_write(tmp_path):
    with Journal.open(tmp_path / "j.sqlite3") as journal:
        rows = [
            journal.record_fetched("inbox", "fake", str(n), f"{n}@example.com", str(n), 10)
            for n in range(3)
        ]
        journal.record_disposals([(row, "move to 'Processed'", True) for row in rows])
        assert all(journal.is_done("inbox", "fake", str(n)) for n in range(3))
        assert journal.status().counts == {"disposed": 3}


# --- runs cut short by the machine going down ---------------------------------------------


@pytest.fixture
def boot(monkeypatch) -> list[str]:
    """The boot id the journal sees; change ``boot[0]`` to "reboot"."""
    current = ["boot-1"]
    monkeypatch.setattr(runs_module, "boot_id", lambda: current[0])
    return current


def test_a_run_left_by_a_killed_process_of_this_boot_needs_no_look_ups(tmp_path, boot):
    with Journal.open(tmp_path / "j.sqlite3") as journal:
        assert journal.begin_run("inbox") is False
        # killed: no end_run; the operating system kept every commit
        assert journal.begin_run("inbox") is False


def test_a_run_left_from_another_boot_makes_the_next_one_look_up(tmp_path, boot):
    with Journal.open(tmp_path / "j.sqlite3") as journal:
        journal.begin_run("inbox")
        boot[0] = "boot-2"  # the machine went down mid-run
        assert journal.begin_run("inbox") is True
        assert journal.begin_run("other mailbox") is False  # each mailbox on its own


def test_looking_up_goes_on_until_a_run_gets_through_the_whole_mailbox(tmp_path, boot):
    with Journal.open(tmp_path / "j.sqlite3") as journal:
        journal.begin_run("inbox")
        boot[0] = "boot-2"
        assert journal.begin_run("inbox") is True
        journal.end_run("inbox", whole=False)  # a limit or a rate limit stopped it
        assert journal.begin_run("inbox") is True
        journal.end_run("inbox", whole=True)
        assert journal.begin_run("inbox") is False


def test_a_run_that_ended_leaves_nothing_to_suspect_after_a_reboot(tmp_path, boot):
    with Journal.open(tmp_path / "j.sqlite3") as journal:
        journal.begin_run("inbox")
        journal.end_run("inbox", whole=True)
        boot[0] = "boot-2"
        assert journal.begin_run("inbox") is False


def test_without_a_boot_id_any_leftover_run_is_suspect(tmp_path, boot):
    boot[0] = ""
    with Journal.open(tmp_path / "j.sqlite3") as journal:
        assert journal.begin_run("inbox") is False
        assert journal.begin_run("inbox") is True


def copy_of(journal: Journal, path: Path) -> None:
    """What the journal holds now (its WAL included), as a file of its own."""
    target = sqlite3.connect(path)
    with journal.database.read() as db:
        db.backup(target)
    target.close()


def back_to(world: World, snapshot: Path) -> None:
    """The journal of ``world`` as it was at ``snapshot`` (what a power loss leaves)."""
    path = Path(world.journal.path)
    world.journal.close()
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    snapshot.rename(path)
    world.journal = Journal.open(path)


@pytest.mark.parametrize("rebooted", [True, False])
def test_after_a_power_loss_each_write_is_looked_up_so_none_is_made_twice(tmp_path, boot, rebooted):
    world = World(tmp_path)
    world.mailbox.add(mail("Printer on fire", "one"))
    # The journal as fsynced when the run began: the run's own row and nothing after it.
    world.journal.begin_run("inbox")
    snapshot = tmp_path / "fsynced.sqlite3"
    copy_of(world.journal, snapshot)
    # The run created the issue; the power went before anything more reached the disk.
    world.crash("after_record")
    back_to(world, snapshot)
    if rebooted:
        boot[0] = "boot-2"

    world.sync()

    calls = [call.method for call in world.tracker.calls()]
    if rebooted:
        assert calls.count("create_issue") == 1  # found by its key, not created again
        assert calls.index("find_by_key") > calls.index("create_issue")
        assert len(world.tracker.issues()) == 1
    else:  # the same boot never loses commits; without the look-up this would duplicate
        assert calls.count("create_issue") == 2
    assert world.mailbox.ids() == []


# --- batch disposal ------------------------------------------------------------------------


class CountingMailbox(FakeMailbox):
    """A FakeMailbox that records each batch the run hands over."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[tuple[int, Disposition]] = []

    def dispose_many(self, ids: Sequence[str], disposition: Disposition) -> None:
        self.batches.append((len(ids), disposition))
        super().dispose_many(ids, disposition)


@pytest.mark.parametrize("workers", [1, 3])
def test_mail_is_disposed_of_in_batches_each_after_an_fsync(tmp_path, workers):
    mailbox = CountingMailbox()
    world = World(tmp_path, mailbox=mailbox)
    world.policies = f"    on_success: {{move: Processed}}\n    workers: {workers}"
    count = DISPOSE_BATCH * 2 + 5
    for n in range(count):
        world.mailbox.add(mail(f"Printer {n}", f"p{n}"))
    syncs: list[int] = []
    make_durable = world.journal.make_durable

    def recording() -> None:
        syncs.append(sum(size for size, _ in mailbox.batches))  # how much was moved before
        make_durable()

    world.journal.make_durable = recording  # type: ignore[method-assign]

    summary = world.sync()

    assert summary.created == count
    sizes = [size for size, _ in mailbox.batches]
    assert sum(sizes) == count
    if workers == 1:
        assert sizes == [DISPOSE_BATCH, DISPOSE_BATCH, 5]
    else:  # workers' dispositions arrive a few at a time: a batch may close a little later
        assert len(sizes) == 3
    assert syncs[: len(sizes)] == [sum(sizes[:n]) for n in range(len(sizes))]
    assert world.mailbox.ids() == []
    assert world.journal.status().counts == {"disposed": count}


@pytest.mark.parametrize("point", ["before_dispose", "after_dispose"])
def test_killed_around_a_full_batch_then_rerun_each_message_once(tmp_path, point):
    world = World(tmp_path)
    count = DISPOSE_BATCH + 20
    for n in range(count):
        world.mailbox.add(mail(f"Printer {n}", f"p{n}"))

    world.crash(point)  # at the first batch, in the middle of the run
    assert len(world.tracker.issues()) == DISPOSE_BATCH
    summary = world.sync()

    assert len(world.tracker.calls("create_issue")) == count
    assert len(world.tracker.issues()) == count
    assert summary.created == count - DISPOSE_BATCH
    assert world.mailbox.ids() == []
    assert len(world.mailbox.folders["Processed"]) == count
    assert world.journal.status().counts == {"disposed": count}


# --- fetching ahead ------------------------------------------------------------------------


class WaitsForTheFetch(RecordingAdapter):
    """A tracker whose first create_issue waits (up to 60 s) for the mailbox to fetch on."""

    def __init__(self, mailbox: FakeMailbox) -> None:
        super().__init__()
        self.mailbox = mailbox
        self.fetched_meanwhile: list[int] = []

    def create_issue(self, new: NewIssue) -> IssueRef:
        if not self.fetched_meanwhile:
            deadline = time.monotonic() + 60
            while len(self.mailbox.fetched) < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            self.fetched_meanwhile.append(len(self.mailbox.fetched))
        return super().create_issue(new)


@pytest.mark.parametrize("workers", [1, 2])
def test_the_next_messages_are_fetched_while_the_tracker_works(tmp_path, workers):
    mailbox = FakeMailbox()
    tracker = WaitsForTheFetch(mailbox)
    world = World(tmp_path, mailbox=mailbox, tracker=tracker)
    world.policies = f"    on_success: {{move: Processed}}\n    workers: {workers}"
    for n in range(5):
        world.mailbox.add(mail(f"Printer {n}", f"p{n}"))

    summary = world.sync()

    assert tracker.fetched_meanwhile[0] >= 3  # the fetch did not wait for the first issue
    assert summary.created == 5
    assert sorted(i.title for i in tracker.issues().values()) == [f"Printer {n}" for n in range(5)]
    assert world.mailbox.ids() == []
