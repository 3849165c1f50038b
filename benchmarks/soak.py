"""``tracker-mail watch`` as a long-running service: does anything grow over time?

    python benchmarks/soak.py [--minutes 10] [--rate 0.5] [--warm-up 2] [--settle 300]
                              [--samples FILE.csv] [--log FILE]

Starts a private Dovecot on 127.0.0.1 and one ``tracker-mail watch`` subprocess with three
mailboxes: two IMAP accounts that idle (IDLE re-issued every 30 s) and a Maildir polled
every second, all filing into the recording tracker (a JSON state file). For ``--minutes``
it then, side by side:

* delivers a steady trickle of mail (``--rate`` messages per second, round robin over the
  three mailboxes: IMAP APPEND, or a file renamed into the Maildir's ``new/``);
* forces reconnects: every 40 s Dovecot kicks one IMAP account's sessions, every 3 minutes
  Dovecot is restarted;
* sends SIGHUP every minute (the file alternates between two versions: one reconfigures a
  mailbox in place, and the Maildir's rules change);
* scrapes ``/metrics``, ``/healthz`` and ``/readyz`` every 2 s;
* makes the tracker fail now and then (every 30 s the next ``create_issue`` answers 500,
  i.e. an unknown outcome; every 50 s the next ``find_user`` is unreachable);
* samples the watch process every 5 s: RSS, open fds (/proc/PID/fd), threads
  (/proc/PID/task), and the journal's size on disk (with its WAL).

At the end it stops delivering, waits for the backlog, checks that every message became
exactly one issue, and prints the samples' least-squares slope per hour after
``--warm-up`` minutes, with the first and last values and the repeated log lines.
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker_mail_plugin.testing import RecordingAdapter, RecordingConfig  # noqa: E402
from tracker_mail_plugin.testing.dovecot import Account, Dovecot, free_ports  # noqa: E402
from tracker_mail_plugin.testing.state import FaultKind  # noqa: E402

CLI = (sys.executable, "-m", "tracker_mail_plugin.cli")
IDLING = "waiting for new mail (IDLE)"
SENDER = "reporter@example.net"
KICK_EVERY = 40.0
RESTART_EVERY = 180.0
HANGUP_EVERY = 60.0
SCRAPE_EVERY = 2.0
FAIL_WRITE_EVERY = 30.0
FAIL_READ_EVERY = 50.0
SAMPLE_EVERY = 5.0


def message(index: int) -> bytes:
    return (
        f"From: Reporter <{SENDER}>\r\nTo: support@example.com\r\n"
        f"Subject: Soak {index}\r\nMessage-ID: <soak-{index}@example.com>\r\n"
        "Date: Sun, 6 Dec 2026 04:00:00 +0000\r\n\r\nThe printer is on fire again.\r\n"
    ).encode()


@dataclass
class Sample:
    at: float  # seconds since watch started
    rss_kib: int
    fds: int
    threads: int
    journal_bytes: int


@dataclass
class Soak:
    """The world: Dovecot, the accounts, the folder with rules.yaml, tracker and journal."""

    dovecot: Dovecot
    accounts: list[Account]
    root: Path
    metrics_port: int
    tracker: RecordingAdapter = field(init=False)
    version: int = 0

    def __post_init__(self) -> None:
        self.tracker = RecordingAdapter(RecordingConfig(state_file=self.root / "tracker.json"))
        self.tracker.add_project("it")
        (self.root / "Maildir").mkdir()
        for sub in ("new", "cur", "tmp"):
            (self.root / "Maildir" / sub).mkdir()
        self.write_config()

    def write_config(self) -> None:
        """rules.yaml, in one of two versions (a reload alternates them)."""
        mailboxes: dict[str, Any] = {}
        rule = {"name": "all", "when": {"subject_contains": "Soak"},
                "then": [{"create_issue": {"project": "it"}}]}  # fmt: skip
        for index, account in enumerate(self.accounts):
            secret = self.root / f"password-{index}"
            secret.write_text(account.password)
            mailboxes[f"imap{index}"] = {
                "protocol": "imap", "host": "127.0.0.1", "port": self.dovecot.ports.imap,
                "security": "none", "username": account.user, "password": {"file": str(secret)},
                "tracker": "rec", "on_success": {"move": "Processed"},
                "unknown_user": "as_rule_owner", "rules": [rule],
                # reconfigured in place on every other reload (no reconnect)
                "poll_interval": 60 + self.version % 2,
            }  # fmt: skip
        extra = [{"name": "never", "when": {"subject_contains": "no such subject"},
                  "then": [{"create_issue": {"project": "it"}}]}]  # fmt: skip
        mailboxes["maildir"] = {
            "protocol": "maildir", "path": str(self.root / "Maildir"), "tracker": "rec",
            "unknown_user": "as_rule_owner", "poll_interval": 1,
            "rules": [rule, *(extra if self.version % 2 else [])],
        }  # fmt: skip
        document = {
            "version": 1,
            "journal": "journal.sqlite3",
            "trackers": {
                "rec": {"adapter": "recording", "state_file": str(self.root / "tracker.json")}
            },
            "mailboxes": mailboxes,
        }
        (self.root / "rules.yaml").write_text(yaml.safe_dump(document, sort_keys=False))

    def deliver(self, index: int) -> None:
        """One message into mailbox ``index % 3`` (retrying while Dovecot restarts)."""
        raw = message(index)
        target = index % (len(self.accounts) + 1)
        if target == len(self.accounts):
            tmp = self.root / "Maildir" / "tmp" / f"soak-{index}"
            tmp.write_bytes(raw)
            tmp.rename(self.root / "Maildir" / "new" / f"soak-{index}")
            return
        for attempt in range(60):
            try:
                self.dovecot.append(self.accounts[target], [raw])
                return
            except Exception:
                if attempt == 59:
                    raise
                time.sleep(0.5)

    def journal_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.glob("journal.sqlite3*") if p.is_file())

    def issues_by_title(self) -> collections.Counter[str]:
        return collections.Counter(i.title for i in self.tracker.state().issues.values())


def sample(pid: int, started: float, soak: Soak) -> Sample:
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    return Sample(
        at=time.monotonic() - started,
        rss_kib=rss,
        fds=len(os.listdir(f"/proc/{pid}/fd")),
        threads=len(os.listdir(f"/proc/{pid}/task")),
        journal_bytes=soak.journal_bytes(),
    )


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value), per hour."""
    n = len(points)
    if n < 2:
        return 0.0
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return 3600 * sxy / sxx if sxx else 0.0


class Scraper(threading.Thread):
    """GETs /metrics, /healthz and /readyz every few seconds; counts answers and failures."""

    def __init__(self, port: int, stop: threading.Event):
        super().__init__(daemon=True)
        self.port, self.stop = port, stop
        self.scrapes = 0
        self.failures = 0

    def run(self) -> None:
        while not self.stop.wait(SCRAPE_EVERY):
            for path in ("/metrics", "/healthz", "/readyz"):
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{self.port}{path}", timeout=10
                    ) as answer:
                        answer.read()
                    self.scrapes += 1
                except OSError:  # /readyz answers 503 while a mailbox reconnects
                    self.failures += 1


def soak(args: argparse.Namespace) -> int:
    with Dovecot() as dovecot, tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        accounts = [dovecot.add_account() for _ in range(2)]
        world = Soak(dovecot, accounts, Path(tmp), free_ports(1)[0])
        err = Path(tmp) / "watch.err"
        env = {**os.environ, "TRACKER_MAIL_WATCH_IDLE_SECONDS": "30"}
        command = [*CLI, "watch", "-v", "-c", str(Path(tmp) / "rules.yaml"),
                   "--metrics-address", f"127.0.0.1:{world.metrics_port}"]  # fmt: skip
        with err.open("wb") as log:
            watch = subprocess.Popen(command, stderr=log, env=env, cwd=tmp)
        started = time.monotonic()
        try:
            _wait(lambda: err.read_text().count(IDLING) >= len(accounts), 120, "IMAP idling")
            return _drive(args, world, watch, err, started)
        finally:
            if watch.poll() is None:
                watch.send_signal(signal.SIGTERM)
                watch.wait(60)


def _drive(
    args: argparse.Namespace, world: Soak, watch: subprocess.Popen[bytes], err: Path, t0: float
) -> int:
    stop = threading.Event()
    scraper = Scraper(world.metrics_port, stop)
    scraper.start()
    samples: list[Sample] = []
    events = collections.Counter[str]()
    end = time.monotonic() + args.minutes * 60
    now = time.monotonic()
    due = {"deliver": now, "kick": now + KICK_EVERY, "restart": now + RESTART_EVERY,
           "hangup": now + HANGUP_EVERY, "fail_write": now + FAIL_WRITE_EVERY,
           "fail_read": now + FAIL_READ_EVERY, "sample": now}  # fmt: skip
    delivered = 0
    while time.monotonic() < end:
        if watch.poll() is not None:
            raise SystemExit(f"watch ended early with {watch.returncode}:\n{err.read_text()}")
        now = time.monotonic()
        if now >= due["sample"]:
            samples.append(sample(watch.pid, t0, world))
            due["sample"] += SAMPLE_EVERY
        if now >= due["deliver"]:
            world.deliver(delivered)
            delivered += 1
            due["deliver"] += 1 / args.rate
        if now >= due["kick"]:
            try:
                world.dovecot.kick(world.accounts[events["kick"] % len(world.accounts)])
                events["kick"] += 1
            except subprocess.CalledProcessError:  # no session to kick: watch is reconnecting
                events["kick found no session"] += 1
            due["kick"] += KICK_EVERY
        if now >= due["restart"]:
            world.dovecot.restart()
            events["restart"] += 1
            due["restart"] += RESTART_EVERY
        if now >= due["hangup"]:
            world.version += 1
            world.write_config()
            watch.send_signal(signal.SIGHUP)
            events["hangup"] += 1
            due["hangup"] += HANGUP_EVERY
        if now >= due["fail_write"]:
            world.tracker.fail("create_issue", FaultKind.SERVER_ERROR)
            events["create_issue answered 500"] += 1
            due["fail_write"] += FAIL_WRITE_EVERY
        if now >= due["fail_read"]:
            world.tracker.fail("find_user", FaultKind.UNREACHABLE)
            events["find_user unreachable"] += 1
            due["fail_read"] += FAIL_READ_EVERY
        time.sleep(max(0.0, min(due.values()) - time.monotonic()))
    want = {f"Soak {i}" for i in range(delivered)}
    deadline = time.monotonic() + args.settle
    while time.monotonic() < deadline and not want <= set(world.issues_by_title()):
        time.sleep(1)
    samples.append(sample(watch.pid, t0, world))
    stop.set()
    scraper.join(15)
    _report(args, world, delivered, samples, events, scraper, err)
    counts = world.issues_by_title()
    return 0 if all(counts[t] == 1 for t in want) and len(counts) == len(want) else 1


def _report(
    args: argparse.Namespace,
    world: Soak,
    delivered: int,
    samples: list[Sample],
    events: collections.Counter[str],
    scraper: Scraper,
    err: Path,
) -> None:
    counts = world.issues_by_title()
    want = {f"Soak {i}" for i in range(delivered)}
    missing = sorted(want - set(counts))
    doubled = sorted(t for t, n in counts.items() if n > 1)
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(
        f"ran {args.minutes:g} min at {args.rate:g} msg/s: delivered {delivered}, issues "
        f"{sum(counts.values())}, missing {len(missing)}, filed twice {len(doubled)}"
    )
    if missing or doubled:
        print(f"  missing: {missing[:10]}  twice: {doubled[:10]}")
    print("events: " + ", ".join(f"{k} x{v}" for k, v in sorted(events.items())))
    print(f"scrapes: {scraper.scrapes} answered, {scraper.failures} refused/503")
    warm = [s for s in samples if s.at >= args.warm_up * 60] or samples
    print(f"\nafter warm-up ({args.warm_up:g} min, {len(warm)} samples):")
    print("| measure | first | last | min | max | slope per hour |")
    print("|---|---|---|---|---|---|")
    for name, unit, get in (
        ("RSS", "MiB", lambda s: s.rss_kib / 1024),
        ("open fds", "", lambda s: s.fds),
        ("threads", "", lambda s: s.threads),
        ("journal", "KiB", lambda s: s.journal_bytes / 1024),
    ):
        values = [float(get(s)) for s in warm]
        slope = slope_per_hour([(s.at, float(get(s))) for s in warm])
        cells = " | ".join(f"{v:.1f}" for v in (values[0], values[-1], min(values), max(values)))
        print(f"| {name} {unit} | {cells} | {slope:+.2f} |")
    lines = collections.Counter(_shape(line) for line in err.read_text().splitlines())
    print("\nmost repeated log lines (numbers blanked):")
    for line, n in lines.most_common(8):
        print(f"  {n:5d}  {line[:150]}")
    print("warnings and errors (numbers blanked):")
    for line, n in lines.most_common():
        if line.startswith(("WARNING", "ERROR", "CRITICAL")):
            print(f"  {n:5d}  {line[:150]}")
    if args.log:
        Path(args.log).write_text(err.read_text())
    if args.samples:
        Path(args.samples).write_text(
            "at_s,rss_kib,fds,threads,journal_bytes\n"
            + "".join(
                f"{s.at:.1f},{s.rss_kib},{s.fds},{s.threads},{s.journal_bytes}\n" for s in samples
            )
        )


def _shape(line: str) -> str:
    """A log line without its timestamp and numbers, so that repeats count as one."""
    text = line.split(" ", 2)[-1] if line[:4].isdigit() else line
    return "".join("#" if ch.isdigit() else ch for ch in text)


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=0.5, help="messages per second")
    parser.add_argument("--warm-up", type=float, default=2.0, help="minutes left out of slopes")
    parser.add_argument("--settle", type=float, default=300.0, help="seconds for the backlog")
    parser.add_argument("--samples", help="write every sample to this CSV file")
    parser.add_argument("--log", help="keep watch's log (-v) in this file")
    sys.exit(soak(parser.parse_args()))


if __name__ == "__main__":
    main()
