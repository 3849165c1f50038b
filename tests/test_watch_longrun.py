"""``watch`` keeps nothing per cycle: descriptors and threads stay flat over many of them.

A service that runs for weeks meets every event thousands of times: the server drops its
connection, the operator reloads, the tracker fails, Prometheus scrapes. Each cycle here
does all of them once, in process, through the watch loop's own steps; after warm-up the
process's open descriptors and threads must be the same after many more cycles (a leak of
one socket per reconnect or one thread per reload shows as a difference of the cycle
count). ``benchmarks/soak.py`` does the same for minutes against a subprocess.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tracker_mail_plugin.config.loader import load_config
from tracker_mail_plugin.metrics import Metrics
from tracker_mail_plugin.metrics.server import MetricsServer, serve
from tracker_mail_plugin.testing import FaultKind, RecordingAdapter, RecordingConfig
from tracker_mail_plugin.testing.dovecot import Account, Dovecot
from tracker_mail_plugin.watch.health import Health
from tracker_mail_plugin.watch.loop import Watch

pytestmark = pytest.mark.servers

WARM_UP = 3
CYCLES = 12
SCRAPE_THREAD = "(process_request_thread)"  # how ThreadingHTTPServer names a request's thread


def mail(index: int, where: str) -> bytes:
    return (
        f"From: Reporter <reporter@example.net>\r\nSubject: Printer {where} {index}\r\n"
        f"Message-ID: <{where}-{index}@example.net>\r\n\r\nIt jammed.\r\n"
    ).encode()


class World:
    """An IMAP mailbox on the test Dovecot and a polled Maildir, watched in process."""

    def __init__(self, tmp: Path, dovecot: Dovecot, account: Account):
        self.tmp, self.dovecot, self.account = tmp, dovecot, account
        (tmp / "password").write_text(account.password)
        self.maildir = tmp / "Maildir"
        for sub in ("new", "cur", "tmp"):
            (self.maildir / sub).mkdir(parents=True)
        self.tracker = RecordingAdapter(RecordingConfig(state_file=tmp / "tracker.json"))
        self.tracker.add_project("it")
        self.write(0)
        self.metrics = Metrics()
        self.watch = Watch(load_config(tmp / "rules.yaml"), None, Health(), metrics=self.metrics)
        self.watch.watchers = {
            name: self.watch._watcher(name, self.watch.loaded) for name in ("imap", "local")
        }

    def write(self, version: int) -> None:
        """rules.yaml; versions differ in what a reload must apply in place or reconnect for."""
        rules = [{"name": "all", "when": {"subject_contains": "Printer"},
                  "then": [{"create_issue": {"project": "it"}}]}]  # fmt: skip
        common: dict[str, Any] = {"tracker": "rec", "unknown_user": "as_rule_owner", "rules": rules}
        document = {
            "version": 1,
            "journal": "journal.sqlite3",
            "trackers": {"rec": {"adapter": "recording", "state_file": str(self.tmp / "tracker.json")}},
            "mailboxes": {
                "imap": common | {
                    "protocol": "imap", "host": "127.0.0.1", "port": self.dovecot.ports.imap,
                    "security": "none", "username": self.account.user,
                    "password": {"file": str(self.tmp / "password")},
                    "poll_interval": 60 + version % 2,  # in place
                    "on_success": {"move": f"Processed{version % 3 == 0}"},  # a reconnect
                },
                "local": common | {"protocol": "maildir", "path": str(self.maildir),
                                   "poll_interval": 1 + version % 2},
            },
        }  # fmt: skip
        (self.tmp / "rules.yaml").write_text(yaml.safe_dump(document, sort_keys=False))

    def cycle(self, index: int, scraped: MetricsServer) -> None:
        """Mail in both mailboxes, a run, a dropped connection, a reload, a failure, a scrape."""
        self.dovecot.append(self.account, [mail(index, "imap")])
        (self.maildir / "new" / f"{index}.eml").write_bytes(mail(index, "local"))
        if index % 4 == 1:  # the tracker answers 500 to a write: retried at the next run
            self.tracker.fail("create_issue", FaultKind.SERVER_ERROR)
        self.run_every_mailbox()
        self.dovecot.kick(self.account)  # the idling connection breaks
        self.wait_for_news()
        self.run_every_mailbox()  # reconnects
        self.write(index)
        self.watch._reload()
        self.watch._last_journal = 0.0
        self.watch._journal_now_and_then()
        assert (
            "tracker_mail_messages_total" in requests.get(f"{scraped.url}/metrics", timeout=10).text
        )

    def run_every_mailbox(self) -> None:
        for watcher in self.watch.watchers.values():
            watcher.due = 0.0
        self.watch._run_due()

    def wait_for_news(self) -> None:
        """What the loop's select does: hand the broken idling socket to its watcher."""
        watcher = self.watch.watchers["imap"]
        sock = watcher.socket()
        if sock is not None:
            sock.settimeout(60)
            watcher.on_readable()

    def titles(self) -> collections.Counter[str]:
        return collections.Counter(i.title for i in self.tracker.issues().values())


def resources() -> tuple[collections.Counter[str], list[str]]:
    """Open descriptors by kind (socket, pipe, file name) and the live threads' names.

    Looked at once the metrics server's threads for the last scrapes have ended: such a
    thread answers, then closes its connection, and a loaded machine may let the test look
    in between (a scrape's thread that never ends fails here after a minute).
    """
    deadline = time.monotonic() + 60
    while any(SCRAPE_THREAD in thread.name for thread in threading.enumerate()):
        assert time.monotonic() < deadline, (
            f"a scrape's thread never ended: {threading.enumerate()}"
        )
        time.sleep(0.01)
    kinds: collections.Counter[str] = collections.Counter()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except FileNotFoundError:  # the listing's own descriptor, closed already
            continue
        kinds[target.split(":[", 1)[0] if ":[" in target else target] += 1
    return kinds, sorted(thread.name for thread in threading.enumerate())


@pytest.fixture
def world(tmp_path: Path, dovecot: Dovecot, account: Account) -> Iterator[World]:
    world = World(tmp_path, dovecot, account)
    yield world
    for watcher in world.watch.watchers.values():
        watcher.close()


def test_reconnects_reloads_failures_and_scrapes_leak_no_descriptor_or_thread(
    world: World,
) -> None:
    with serve("127.0.0.1:0", world.metrics, lambda: (True, {})) as scraped:
        for index in range(WARM_UP):
            world.cycle(index, scraped)
        before = resources()
        for index in range(WARM_UP, WARM_UP + CYCLES):
            world.cycle(index, scraped)
        after = resources()
        world.run_every_mailbox()  # the last failure's retry
        world.run_every_mailbox()
    assert after == before, f"grew over {CYCLES} cycles: {after} vs {before}"
    titles = world.titles()
    expected = {
        f"Printer {where} {i}" for i in range(WARM_UP + CYCLES) for where in ("imap", "local")
    }
    assert set(titles) == expected
    assert max(titles.values()) == 1  # each exactly once, through every drop and failure
