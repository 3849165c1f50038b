"""The journal's disk full, read-only or locked under a real ``tracker-mail`` process.

A full disk and a read-only one are real: the journal lives on a tmpfs of a few megabytes,
filled up with a file or remounted read-only. Mounting needs root (the test rig runs as
root, see TEST-RIG.md); elsewhere those tests are skipped with the reason. Every time: the
run exits 2 with one line naming the journal and what to do, and once the disk is back the
next run (or watch, by itself) finishes the work, each message once.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from tests.servers.dovecot import free_ports
from tests.test_sync_dovecot import Rig, Run, mail, rig, smtp, wait_for
from tests.test_watch_dovecot import IDLING, Watching, start, titles, watching
from tracker_mail_plugin.journal import BUSY_TIMEOUT_SECONDS

__all__ = ["rig", "smtp", "watching"]  # fixtures, imported so that pytest sees them here

pytestmark = pytest.mark.servers

TMPFS_SIZE = "8m"  # room for the journal and its write-ahead log, which grows in 4 KiB pages


class SmallDisk:
    """A tmpfs of :data:`TMPFS_SIZE` at ``path``: filled, emptied, made read-only at will."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / "filler"

    def fill(self, leave: int = 0) -> None:
        """Write a file until the disk is full, then give ``leave`` bytes back."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 65536)
        except OSError:  # ENOSPC: full
            os.ftruncate(fd, max(0, os.fstat(fd).st_size - leave))
        finally:
            os.close(fd)

    def empty(self) -> None:
        self.filler.unlink()

    def read_only(self, read_only: bool = True) -> None:
        option = "remount,ro" if read_only else "remount,rw"
        subprocess.run(["mount", "-o", option, str(self.path)], check=True, timeout=30)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (the test rig runs as root)")
    where = tmp_path / "small-disk"
    where.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs", str(where)],
        check=True,
        timeout=30,
    )
    try:
        yield SmallDisk(where)
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False, timeout=30)


def journal_on(rig: Rig, path: Path) -> None:
    document = yaml.safe_load(rig.config.read_text())
    document["journal"] = str(path)
    rig.config.write_text(yaml.safe_dump(document, sort_keys=False))


def journal_lines(run: Run) -> list[str]:
    return [line for line in run.output.splitlines() if "the journal" in line]


def printers(count: int) -> list[bytes]:
    return [mail(f"Printer {n:02}") for n in range(count)]


def assert_each_once(rig: Rig, count: int) -> None:
    assert titles(rig) == sorted(f"Printer {n:02}" for n in range(count))
    assert rig.folder("INBOX") == []
    assert len(rig.folder("Processed")) == count
    assert rig.status()[0] == {"disposed": count}


# --- a full disk --------------------------------------------------------------------------


def test_sync_with_no_room_to_open_the_journal_says_free_space_and_touches_nothing(
    rig: Rig, disk: SmallDisk
) -> None:
    journal_on(rig, disk.path / "journal.sqlite3")
    rig.append(*printers(2))
    disk.fill()

    full = rig.run("sync")

    assert full.returncode == 2, full.output
    (line,) = [line for line in full.output.splitlines() if "stopped:" in line]
    assert str(disk.path / "journal.sqlite3") in line
    assert "free space" in line  # not only "disk I/O error"
    assert "Traceback" not in full.output
    assert rig.issues() == []
    assert len(rig.folder("INBOX")) == 2

    disk.empty()
    assert rig.sync().summary["created"] == 2
    assert_each_once(rig, 2)


def test_sync_whose_journal_fills_its_disk_midway_finishes_once_when_there_is_room(
    rig: Rig, disk: SmallDisk
) -> None:
    journal_on(rig, disk.path / "journal.sqlite3")
    rig.append(mail("Printer first"))
    rig.sync()  # the journal exists, with its tables
    rig.append(*printers(40))
    disk.fill(leave=192 * 1024)  # room for a few messages' journal pages, not for 40

    full = rig.run("sync")

    assert full.returncode == 2, full.output
    (line,) = [line for line in full.output.splitlines() if "stopped:" in line]
    assert "free space on its disk" in line
    assert "Traceback" not in full.output
    done_before = len(rig.issues()) - 1
    assert 0 < done_before < 40, full.output  # it did stop midway

    disk.empty()
    again = rig.sync()

    assert again.summary["fetched"] >= 40 - done_before
    issues = [issue.title for issue in rig.issues()]
    assert len(issues) == len(set(issues)) == 41  # the message in hand was not filed twice
    assert rig.folder("INBOX") == []
    assert rig.status()[0] == {"disposed": 41}


def test_watch_whose_journal_disk_is_full_is_not_ready_says_so_once_and_catches_up(
    rig: Rig, disk: SmallDisk, watching: list[Watching]
) -> None:
    journal_on(rig, disk.path / "journal.sqlite3")
    port = free_ports(1)[0]
    watch = start(rig, watching, "--metrics-address", f"127.0.0.1:{port}")
    watch.wait_log(IDLING)
    disk.fill()
    rig.append(*printers(5))

    watch.wait_log("free space", timeout=60)
    ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
    assert ready.status_code == 503
    assert "free space" in ready.text
    disk.empty()

    wait_for(lambda: len(rig.issues()) == 5, f"watch to catch up:\n{watch.log}", 90)
    watch.wait_log("working again", timeout=60)
    assert watch.stop() == 0
    assert_each_once(rig, 5)
    said = [line for line in watch.log.splitlines() if " ERROR " in line]
    assert len(said) == 1, watch.log  # not once per back-off retry


# --- a read-only disk ---------------------------------------------------------------------


def test_sync_with_a_read_only_journal_exits_2_and_the_run_after_finishes(
    rig: Rig, disk: SmallDisk
) -> None:
    journal_on(rig, disk.path / "journal.sqlite3")
    rig.append(mail("Printer first"))
    rig.sync()
    rig.append(*printers(2))
    disk.read_only()

    refused = rig.run("sync")

    assert refused.returncode == 2, refused.output
    (line,) = [line for line in refused.output.splitlines() if "stopped:" in line]
    assert "let the user running tracker-mail write" in line
    assert len(journal_lines(refused)) == 1, refused.output  # said once
    assert "Traceback" not in refused.output
    assert len(rig.folder("INBOX")) == 2

    disk.read_only(False)
    rig.sync()
    assert len(rig.issues()) == 3
    assert rig.status()[0] == {"disposed": 3}


# --- a journal locked by another process --------------------------------------------------


def test_a_journal_locked_longer_than_the_busy_timeout_is_said_once_and_status_still_reads(
    rig: Rig,
) -> None:
    rig.append(mail("Printer first"))
    rig.sync()
    rig.append(*printers(2))
    holder = sqlite3.connect(rig.tmp / "journal.sqlite3", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process writing, and writing, and ...
        # Reading the journal needs no lock: status answers at once.
        counts, _ = rig.status()
        assert counts == {"disposed": 1}
        running = rig.start("sync")
        try:
            stdout, stderr = running.communicate(timeout=BUSY_TIMEOUT_SECONDS * 4)
        finally:
            running.kill()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    locked = Run(running.returncode, stdout, stderr)

    assert locked.returncode == 2, locked.output
    (line,) = journal_lines(locked)  # once: no second wait, and no second message, after it
    assert "locked for over" in line
    assert "try again" in line
    assert len(rig.issues()) == 1

    rig.sync()
    assert len(rig.issues()) == 3
    assert rig.folder("INBOX") == []
    assert rig.status()[0] == {"disposed": 3}


def test_watch_with_the_journal_locked_past_the_busy_timeout_says_so_once_and_catches_up(
    rig: Rig, watching: list[Watching]
) -> None:
    rig.configure(poll_interval=1)  # how soon a mailbox stopped by a local fault is retried
    port = free_ports(1)[0]
    watch = start(rig, watching, "--metrics-address", f"127.0.0.1:{port}")
    watch.wait_log(IDLING)
    holder = sqlite3.connect(rig.tmp / "journal.sqlite3", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        rig.append(*printers(2))
        watch.wait_log("locked for over", timeout=BUSY_TIMEOUT_SECONDS * 4)
        ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert ready.status_code == 503
        assert "locked" in ready.text
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    wait_for(lambda: len(rig.issues()) == 2, f"watch to catch up:\n{watch.log}", 90)
    watch.wait_log("working again", timeout=60)
    assert watch.stop() == 0
    assert_each_once(rig, 2)
    said = [line for line in watch.log.splitlines() if " ERROR " in line]
    assert len(said) == 1, watch.log
