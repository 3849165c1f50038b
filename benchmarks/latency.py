"""Mail appended to a real Dovecot folder -> issue confirmed: ``watch`` (IDLE) against cron.

    python benchmarks/latency.py [--messages 500] [--rate 5] [--interval 60]
                                 [--idle-mailboxes 50] [--idle-window 60] [--skip ...]
                                 [--tracker {recording,redmine}]

Three measurements, each against a private Dovecot on 127.0.0.1 and the recording tracker
(a JSON state file, as in the tests), or with ``--tracker redmine`` a private Redmine from
the test rig (thin over SQLite, one request at a time; run as root):

``watch``
    One ``tracker-mail watch`` idles on the folder; the script appends ``--messages`` mails
    at a steady ``--rate`` per second on one IMAP connection. A message's latency is the
    journal's ``finished_at`` of its create_issue (the moment the tracker's answer was
    journalled) minus the moment its APPEND returned.
``cron``
    ``tracker-mail sync`` run as cron would, once per ``--interval`` seconds' worth of mail:
    each run is measured for real (process start to each message's confirmation); the wait
    for the next cron tick is computed, not slept: a message that arrived ``t`` seconds
    into an interval waits ``interval - t`` (arrivals are steady, so on average half the
    interval) before its run starts.
``idle``
    ``--idle-mailboxes`` IMAP mailboxes (one account each) watched by one process: once
    every one idles, its RSS, the CPU seconds it used over ``--idle-window`` seconds
    (extrapolated to an hour) and its open TCP connections.

Prints the results as a Markdown table (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker_mail_plugin.adapter import Permission  # noqa: E402 - after the path is set
from tracker_mail_plugin.testing import RecordingAdapter, RecordingConfig  # noqa: E402
from tracker_mail_plugin.testing.dovecot import Account, Dovecot, free_ports  # noqa: E402

CLI = (sys.executable, "-m", "tracker_mail_plugin.cli")
IDLING = "waiting for new mail (IDLE)"
SENDER = "reporter@example.net"  # unknown to the rig's Redmine: filed as the rule owner


def message(index: int) -> bytes:
    return (
        f"From: Reporter <{SENDER}>\r\nTo: support@example.com\r\n"
        f"Subject: Printer {index}\r\nMessage-ID: <bench-{index}@example.com>\r\n"
        "Date: Sun, 6 Dec 2026 04:00:00 +0000\r\n\r\nThe printer is on fire.\r\n"
    ).encode()


class Recording:
    """The recording tracker, its state in a JSON file in each world's folder."""

    name = "recording tracker"

    def section(self, root: Path) -> tuple[dict[str, Any], str]:
        """The ``trackers:`` entry for a world in ``root``, and the project to create in."""
        tracker = RecordingAdapter(RecordingConfig(state_file=root / "tracker.json"))
        tracker.add_project("it")
        user = tracker.add_user(SENDER, "Reporter")
        tracker.grant(user, "it", Permission.CREATE_ISSUE, Permission.COMMENT)
        return {"adapter": "recording", "state_file": str(root / "tracker.json")}, "it"


class RealRedmine:
    """A private Redmine (the test suite's rig: thin over SQLite), a project per world."""

    name = "Redmine (thin, SQLite)"

    def __init__(self, redmine: Any):
        self.redmine = redmine
        self._projects = 0

    def section(self, root: Path) -> tuple[dict[str, Any], str]:
        self._projects += 1
        identifier = f"latency-{self._projects}"
        trackers = self.redmine.setup["trackers"]
        self.redmine.api(
            "POST",
            "/projects.json",
            json={"project": {"name": f"Latency {self._projects}", "identifier": identifier,
                              "is_public": True, "tracker_ids": [trackers["bug"]],
                              "enabled_module_names": ["issue_tracking"]}},
        )  # fmt: skip
        (root / "redmine-key").write_text(self.redmine.admin_key)
        key = {"file": str(root / "redmine-key")}
        return {"adapter": "redmine", "url": self.redmine.url, "api_key": key}, identifier


class World:
    """A folder for the results: rules.yaml, the tracker's state and the journal."""

    def __init__(self, root: Path, dovecot: Dovecot, accounts: list[Account], tracker: Any = None):
        self.root = root
        section, project = (tracker or Recording()).section(root)
        mailboxes: dict[str, Any] = {}
        for index, account in enumerate(accounts):
            secret = root / f"password-{index}"
            secret.write_text(account.password)
            mailboxes[f"box{index}"] = {
                "protocol": "imap", "host": "127.0.0.1", "port": dovecot.ports.imap,
                "security": "none", "username": account.user, "password": {"file": str(secret)},
                "tracker": "rec", "on_success": {"move": "Processed"},
                "unknown_user": "as_rule_owner",
                "rules": [{"name": "all", "when": {"subject_contains": "Printer"},
                           "then": [{"create_issue": {"project": project}}]}],
            }  # fmt: skip
        document = {
            "version": 1,
            "journal": "journal.sqlite3",
            "trackers": {"rec": section},
            "mailboxes": mailboxes,
        }
        self.config = root / "rules.yaml"
        self.config.write_text(yaml.safe_dump(document, sort_keys=False))

    def confirmed(self) -> dict[str, float]:
        """Message-ID -> when its create_issue was journalled as confirmed."""
        path = self.root / "journal.sqlite3"
        if not path.exists():
            return {}
        with sqlite3.connect(path) as db:
            rows = db.execute(
                "SELECT m.message_id, a.finished_at FROM actions a JOIN messages m"
                " ON m.id = a.message WHERE a.kind = 'create_issue' AND a.finished_at IS NOT NULL"
                " AND a.state = 'done'"
            ).fetchall()
        return {f"<{str(mid).strip('<>')}>": float(at) for mid, at in rows}


def percentiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": max(values)}


def watch_latency(dovecot: Dovecot, count: int, rate: float, tracker: Any) -> dict[str, float]:
    account = dovecot.add_account()
    with tempfile.TemporaryDirectory(prefix="latency-watch-") as tmp:
        world = World(Path(tmp), dovecot, [account], tracker)
        err = Path(tmp) / "watch.err"
        with err.open("wb") as log:
            watch = subprocess.Popen([*CLI, "watch", "-c", str(world.config), "-v"], stderr=log)
        try:
            _wait(lambda: IDLING in err.read_text(), 60, "watch to idle")
            appended = _append_steadily(dovecot, account, count, rate)
            _wait(lambda: len(world.confirmed()) >= count, 600, "every issue")
        finally:
            watch.send_signal(signal.SIGTERM)
            watch.wait(60)
        done = world.confirmed()
    return percentiles([done[mid] - at for mid, at in appended.items()])


def _append_steadily(
    dovecot: Dovecot, account: Account, count: int, rate: float
) -> dict[str, float]:
    """APPEND ``count`` messages, one every 1/rate s; Message-ID -> when APPEND returned."""
    client = dovecot.imap(account)
    appended: dict[str, float] = {}
    start = time.monotonic()
    try:
        for index in range(count):
            pause = start + index / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            client.append("INBOX", message(index))
            appended[f"<bench-{index}@example.com>"] = time.time()
    finally:
        client.logout()
    return appended


def cron_latency(
    dovecot: Dovecot, count: int, rate: float, interval: float, tracker: Any
) -> dict[str, Any]:
    account = dovecot.add_account()
    per_run = max(1, round(rate * interval))
    latencies: list[float] = []
    run_seconds: list[float] = []
    with tempfile.TemporaryDirectory(prefix="latency-cron-") as tmp:
        world = World(Path(tmp), dovecot, [account], tracker)
        for first in range(0, count, per_run):
            indexes = range(first, min(count, first + per_run))
            dovecot.append(account, [message(i) for i in indexes])
            started = time.time()
            subprocess.run([*CLI, "sync", "-c", str(world.config)], check=True, capture_output=True)
            run_seconds.append(time.time() - started)
            done = world.confirmed()
            for position, index in enumerate(indexes):
                arrived_into_interval = position / rate  # steady arrivals during the interval
                waited = interval - arrived_into_interval
                latencies.append(waited + done[f"<bench-{index}@example.com>"] - started)
    return percentiles(latencies) | {"runs": len(run_seconds), "run_s": max(run_seconds)}


def idle_cost(dovecot: Dovecot, mailboxes: int, window: float) -> dict[str, float]:
    accounts = [dovecot.add_account() for _ in range(mailboxes)]
    with tempfile.TemporaryDirectory(prefix="latency-idle-") as tmp:
        world = World(Path(tmp), dovecot, accounts)
        err = Path(tmp) / "watch.err"
        with err.open("wb") as log:
            watch = subprocess.Popen([*CLI, "watch", "-c", str(world.config), "-v"], stderr=log)
        try:
            _wait(lambda: err.read_text().count(IDLING) >= mailboxes, 300, "every mailbox idling")
            time.sleep(2)  # let start-up settle
            cpu_before = _cpu_seconds(watch.pid)
            time.sleep(window)
            cpu = _cpu_seconds(watch.pid) - cpu_before
            rss = _rss_mib(watch.pid)
            connections = _tcp_sockets(watch.pid)
        finally:
            watch.send_signal(signal.SIGTERM)
            watch.wait(60)
    return {"rss_mib": rss, "cpu_s_per_hour": cpu * 3600 / window, "connections": connections}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _tcp_sockets(pid: int) -> int:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    tcp = Path("/proc/net/tcp").read_text().splitlines()[1:]
    tcp += Path("/proc/net/tcp6").read_text().splitlines()[1:]
    return sum(1 for line in tcp if line.split()[9] in inodes)


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--rate", type=float, default=5.0, help="messages per second")
    parser.add_argument("--interval", type=float, default=60.0, help="cron interval, seconds")
    parser.add_argument("--idle-mailboxes", type=int, default=50)
    parser.add_argument("--idle-window", type=float, default=60.0)
    parser.add_argument("--skip", nargs="*", default=(), choices=("watch", "cron", "idle"))
    parser.add_argument(
        "--tracker",
        choices=("recording", "redmine"),
        default="recording",
        help="redmine: a private Redmine from the test rig (needs it installed; run as root)",
    )
    args = parser.parse_args()
    python = platform.python_version()
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {python}")
    with ExitStack() as stack:
        dovecot = stack.enter_context(Dovecot())
        tracker: Any = Recording()
        if args.tracker == "redmine":
            tracker = RealRedmine(stack.enter_context(_redmine(stack)))
        print(f"tracker: {tracker.name}")
        if "watch" not in args.skip:
            found = watch_latency(dovecot, args.messages, args.rate, tracker)
            print(_row(f"watch (IDLE), {args.messages} at {args.rate:g}/s", found))
        if "cron" not in args.skip:
            cron = cron_latency(dovecot, args.messages, args.rate, args.interval, tracker)
            longest = cron["run_s"]
            label = f"sync every {args.interval:g}s, {cron['runs']} runs (longest {longest:.1f}s)"
            print(_row(label, cron))
        if "idle" not in args.skip:
            cost = idle_cost(dovecot, args.idle_mailboxes, args.idle_window)
            print(
                f"idle, {args.idle_mailboxes} mailboxes, {args.idle_window:g}s window: "
                f"RSS {cost['rss_mib']:.1f} MiB, CPU {cost['cpu_s_per_hour']:.2f} s/hour, "
                f"{cost['connections']:.0f} TCP connections"
            )


def _redmine(stack: ExitStack) -> Any:
    """The test rig's Redmine, its notifications sent to an SMTP sink that drops them."""
    from aiosmtpd.controller import Controller

    from tests.servers.redmine import Redmine

    class Drop:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            return "250 OK"

    port = free_ports(1)[0]
    controller = Controller(Drop(), hostname="127.0.0.1", port=port)
    controller.start()
    stack.callback(controller.stop)
    return Redmine(smtp_port=port, settings_cache=True)


def _row(label: str, found: dict[str, Any]) -> str:
    cells = " | ".join(f"{found[k]:.3f}" for k in ("p50", "p95", "p99", "max"))
    return f"| {label} | {cells} |"


if __name__ == "__main__":
    main()
