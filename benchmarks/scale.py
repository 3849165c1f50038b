"""Several ``tracker-mail sync`` processes sharing mailboxes through a PostgreSQL journal.

Measures, on a private PostgreSQL (tests/servers/postgres.py, root needed) and local
``directory`` mailboxes, with the recording tracker answering each call after a simulated
50 ms (its ``hang`` fault on every call):

- **throughput**: 1, 2 and 4 processes over 20 mailboxes of 10 messages each (one issue per
  message), from start to the last mailbox emptied: messages per second, and the speed-up
  over one process, measured side by side in one invocation;
- **takeover**: 2 processes; the one holding a mailbox is killed (SIGKILL) mid-run; the time
  from the kill until the other holds that mailbox, for the lease length given.

Each process loops ``tracker-mail sync`` over every mailbox (as cron would every few
seconds, or ``watch``), skipping those another process holds.

    sudo .venv/bin/python benchmarks/scale.py            # defaults below
    sudo .venv/bin/python benchmarks/scale.py --mailboxes 20 --messages 10 --lease 10
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.mailfactory import raw_mail
from tests.servers.postgres import Postgres, why_unavailable
from tracker_mail_plugin.journal import Journal
from tracker_mail_plugin.testing import RecordingAdapter, RecordingConfig

CALL_SECONDS = 0.05
DRIVER = """
import pathlib, sys, time
from tracker_mail_plugin.cli import main
stop = pathlib.Path(sys.argv[2])
while not stop.exists():
    main(["sync", "-c", sys.argv[1]])
    time.sleep(0.2)
"""


def world(root: Path, url: str, mailboxes: int, messages: int, lease: float) -> Path:
    """Mailboxes full of mail, the tracker's state file, and a rules.yaml; returns its path."""
    RecordingAdapter(RecordingConfig(state_file=root / "tracker.json")).add_project("it")
    boxes = {}
    for number in range(mailboxes):
        folder = root / f"box{number}"
        folder.mkdir()
        for index in range(messages):
            subject = f"printer {number}-{index}"
            (folder / f"{index}.eml").write_bytes(
                raw_mail({"Subject": subject, "Message-ID": f"<{number}-{index}@example.com>"})
            )
        boxes[f"box{number}"] = {
            "protocol": "directory",
            "path": str(folder),
            "tracker": "rec",
            "unknown_user": "as_rule_owner",
            "on_success": {"move": "Processed"},
            "rules": [{"then": [{"create_issue": {"project": "it"}}]}],
        }
    hang = {"method": "*", "kind": "hang", "seconds": CALL_SECONDS, "times": None}
    document = {
        "version": 1,
        "journal": {"url": url, "lease_seconds": lease},
        "trackers": {
            "rec": {
                "adapter": "recording",
                "state_file": str(root / "tracker.json"),
                "faults": [hang],
            }
        },
        "mailboxes": boxes,
    }
    config = root / "rules.yaml"
    config.write_text(yaml.safe_dump(document, sort_keys=False))
    return config


def start(config: Path, count: int) -> list[subprocess.Popen[bytes]]:
    stop = config.parent / "stop"
    return [
        subprocess.Popen(
            [sys.executable, "-c", DRIVER, str(config), str(stop)],
            stdout=(config.parent / f"process-{n}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for n in range(count)
    ]


def finish(config: Path, processes: list[subprocess.Popen[bytes]]) -> None:
    (config.parent / "stop").touch()
    for process in processes:
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def remaining(root: Path, mailboxes: int) -> int:
    return sum(
        1 for n in range(mailboxes) for item in (root / f"box{n}").iterdir() if item.is_file()
    )


def fresh_database(server: Postgres, name: str) -> str:
    server.create_database(name)
    url = f"postgresql://postgres@{server.host}:{server.port}/{name}"
    Journal.open_postgres(url).close()
    return url


def throughput(server: Postgres, count: int, mailboxes: int, messages: int) -> float:
    """Messages per second for ``count`` processes, start to last mailbox emptied."""
    with tempfile.TemporaryDirectory(prefix="tracker-mail-scale-") as folder:
        root = Path(folder)
        url = fresh_database(server, f"scale_{count}_{os.getpid()}")
        config = world(root, url, mailboxes, messages, lease=30)
        started = time.monotonic()
        processes = start(config, count)
        try:
            while remaining(root, mailboxes):
                if all(process.poll() is not None for process in processes):
                    raise SystemExit(f"every process exited; see {root}/process-*.log")
                time.sleep(0.05)
            elapsed = time.monotonic() - started
        finally:
            finish(config, processes)
        issues = len(
            RecordingAdapter(RecordingConfig(state_file=root / "tracker.json")).state().issues
        )
        if issues != mailboxes * messages:
            raise SystemExit(f"{count} processes made {issues} issues, not {mailboxes * messages}")
    return mailboxes * messages / elapsed


def takeover(server: Postgres, mailboxes: int, messages: int, lease: float) -> tuple[float, float]:
    """Seconds from killing a lease holder until its lease expired, and until taken over."""
    with tempfile.TemporaryDirectory(prefix="tracker-mail-takeover-") as folder:
        root = Path(folder)
        url = fresh_database(server, f"takeover_{os.getpid()}")
        config = world(root, url, mailboxes, messages, lease=lease)
        processes = start(config, 2)
        by_pid = {process.pid: process for process in processes}
        live = (
            "SELECT mailbox, holder, generation FROM leases"
            " WHERE expires_at > extract(epoch FROM clock_timestamp())"
        )
        try:
            with psycopg.connect(url, autocommit=True) as db:
                while True:
                    held = db.execute(live.encode()).fetchall()
                    if len({holder.split("/")[1] for _, holder, _ in held}) == 2:
                        break
                    time.sleep(0.02)
                mailbox, holder, generation = held[0]
                by_pid[int(holder.split("/")[1])].send_signal(signal.SIGKILL)
                killed = time.monotonic()
                left = db.execute(
                    "SELECT expires_at - extract(epoch FROM clock_timestamp()) FROM leases"
                    " WHERE mailbox = %s",
                    (mailbox,),
                ).fetchone()
                expiry = float(left[0]) if left else 0.0
                taken = "SELECT 1 FROM leases WHERE mailbox = %s AND generation > %s"
                while not db.execute(taken, (mailbox, generation)).fetchone():
                    time.sleep(0.02)
                return expiry, time.monotonic() - killed
        finally:
            finish(config, processes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10, help="per mailbox")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--lease", type=float, default=10.0, help="lease_seconds for takeover")
    args = parser.parse_args()
    reason = why_unavailable()
    if reason:
        raise SystemExit(reason)
    python = platform.python_version()
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, Python {python}")
    per_call = f"{CALL_SECONDS * 1000:.0f} ms per tracker call"
    print(f"{args.mailboxes} mailboxes x {args.messages} messages, {per_call}")
    with Postgres() as server:
        base = None
        for count in args.processes:
            rate = throughput(server, count, args.mailboxes, args.messages)
            base = base or rate
            print(f"{count} process(es): {rate:.1f} messages/s ({rate / base:.2f}x one process)")
        expiry, seconds = takeover(server, args.mailboxes, args.messages, args.lease)
        print(
            f"takeover after SIGKILL, lease_seconds {args.lease:g}: lease expired after "
            f"{expiry:.1f} s, mailbox taken over after {seconds:.1f} s"
        )


if __name__ == "__main__":
    main()
