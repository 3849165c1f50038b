"""Sync throughput against a real Dovecot: batched fetching against one-by-one fetching.

    python benchmarks/sync.py [--messages N] [--seed S] [--repeat R] [--rtt-ms MS] [--markdown]

Starts a private Dovecot with the test rig (tests/servers/dovecot.py), APPENDs the first N
messages of the parse benchmark's corpus (benchmarks/corpus/, generated when missing) to a
fresh account for every run, and runs ``tracker_mail_plugin.commands.sync.sync`` over it into an
in-memory RecordingAdapter, in a fresh interpreter (this script re-invoked with
``--child``). Two sources are compared in the same invocation:

- ``batched``: the product's ImapSource (``UID FETCH <up to 100 UIDs> BODY.PEEK[]``);
- ``one-by-one``: the same source with ``fetch`` replaced by one ``UID FETCH <uid>
  BODY.PEEK[]`` per message, the naive way.

Everything else (listing, journal, parsing, rules, tracker calls, MOVE to Processed) is the
same code. The RecordingAdapter's in-memory store copies the whole tracker state on every
call (so that a failing call changes nothing); with 1,000 issues that copy is most of the
run, so the benchmark swaps in a store that works in place (``--copying-store`` keeps the
original). The tracker double's time is reported separately either way.

Reported per run: messages per second, IMAP commands per message (each one a round trip:
the client waits for its tagged answer before sending the next) with a breakdown by
command, the child's peak RSS, and where the time went. ``--rtt-ms`` puts a relay that
delays every exchange in front of Dovecot, as a server across a network would. See
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import importlib.util
import json
import os
import platform
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("floor", "batched", "one-by-one")
MIB = 1024 * 1024


# --- memory (as benchmarks/parse.py: VmHWM, not ru_maxrss, which survives exec) ----------


def _status_kib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def peak_rss_mib() -> float:
    return _status_kib("VmHWM") / 1024


def rss_now_mib() -> float:
    return _status_kib("VmRSS") / 1024


# --- the child: one sync run, measured ---------------------------------------------------


class Timer:
    """Seconds spent inside wrapped callables, by label (nested calls are not subtracted)."""

    def __init__(self) -> None:
        self.seconds: collections.Counter[str] = collections.Counter()

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)
        timer = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                timer.seconds[label] += time.perf_counter() - start

        setattr(owner, name, timed)

    def wrap_generator(self, owner: Any, name: str, label: str) -> None:
        """Time only the work between items (not the consumer's work on each item)."""
        original = getattr(owner, name)
        timer = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            iterator = original(*args, **kwargs)
            while True:
                start = time.perf_counter()
                try:
                    item = next(iterator)
                except StopIteration:
                    timer.seconds[label] += time.perf_counter() - start
                    return
                timer.seconds[label] += time.perf_counter() - start
                yield item

        setattr(owner, name, timed)


def count_imap_commands() -> collections.Counter[str]:
    """Count every IMAP command sent, by name (imaplib and imapclient both take a new tag).

    Each command is one round trip: neither library pipelines, they wait for the tagged
    answer before sending the next command.
    """
    import imaplib

    counts: collections.Counter[str] = collections.Counter()
    new_tag, send = imaplib.IMAP4._new_tag, imaplib.IMAP4.send

    def counting_new_tag(self: Any) -> Any:
        tag = new_tag(self)
        self._bench_tag = tag if isinstance(tag, bytes) else str(tag).encode()
        counts["(all)"] += 1
        return tag

    def recording_send(self: Any, data: bytes) -> Any:
        tag = getattr(self, "_bench_tag", None)
        if tag and data.startswith(tag + b" "):
            words = data[len(tag) + 1 :].strip().split(b" ", 2)
            name = words[0]
            if name.upper() == b"UID" and len(words) > 1:
                name = b"UID " + words[1]
            counts[name.decode("ascii", "replace").upper()] += 1
            self._bench_tag = None
        return send(self, data)

    imaplib.IMAP4._new_tag = counting_new_tag  # type: ignore[method-assign]
    imaplib.IMAP4.send = recording_send  # type: ignore[method-assign]
    return counts


def cpu_clocks(since: tuple[float, float] = (0.0, 0.0)) -> tuple[float, float]:
    """CPU seconds of this thread (the run's) and of the whole process, minus ``since``.

    Their sum against the wall time shows how much work overlapped: Python code on two
    threads never does, it takes turns on the interpreter lock.
    """
    return time.thread_time() - since[0], time.process_time() - since[1]


def child(spec: dict[str, Any]) -> dict[str, Any]:
    commands = count_imap_commands()
    from tracker_mail_plugin.adapter import Permission
    from tracker_mail_plugin.commands import sync as runner
    from tracker_mail_plugin.config.loader import load_config_text
    from tracker_mail_plugin.journal import Journal
    from tracker_mail_plugin.pipeline import run as run_module
    from tracker_mail_plugin.registry import register_adapter
    from tracker_mail_plugin.sources.imap import ImapSource
    from tracker_mail_plugin.testing import RecordingAdapter
    from tracker_mail_plugin.testing.store import StateStore

    tracker: list[RecordingAdapter] = []

    class InPlace(StateStore):
        """The in-memory store without its copy-on-write (see the module docstring)."""

        @contextlib.contextmanager
        def transaction(self) -> Any:
            with self.reading() as state:  # no JSON copy of the whole state per call
                yield state

    class BenchTracker(RecordingAdapter):
        """The recording tracker in memory, with the project the rules file into."""

        name = "bench"

        def __init__(self, config: Any = None) -> None:
            super().__init__(config)
            if not spec["copying_store"]:
                self.store = InPlace(None)
            self.add_project("it", public=(Permission.CREATE_ISSUE, Permission.COMMENT))
            tracker.append(self)

    class OneByOne(ImapSource):
        """The naive source: one UID FETCH per message."""

        def fetch(self, envelopes: Any) -> Any:
            from tracker_mail_plugin.sources.base import Fetched

            for envelope in envelopes:
                uid = self._uid(envelope.id)
                with self._guard("downloading a message"):
                    found = self._session().fetch([uid], ["BODY.PEEK[]"])
                body = found.get(uid, {}).get(b"BODY[]")
                if body is not None:
                    yield Fetched(envelope.id, bytes(body))

    register_adapter("bench", BenchTracker)
    timer = Timer()
    source_class = OneByOne if spec["variant"] == "one-by-one" else ImapSource
    opened = runner.open_source

    def open_source(mailbox: Any, max_message_size: int, *state: Any) -> Any:
        source = opened(mailbox, max_message_size, *state)
        source.__class__ = source_class  # same settings, this variant's fetch
        return source

    runner.open_source = open_source  # type: ignore[assignment]
    for name in ("pending", "dispose", "dispose_many", "commit", "open", "close"):
        timer.wrap(source_class, name, f"IMAP {name}")
    timer.wrap_generator(source_class, "fetch", "IMAP fetch")
    for name in ("find_user", "can", "get_issue", "create_issue", "add_comment", "find_by_key"):
        timer.wrap(BenchTracker, name, "tracker double")
    for name in [n for n in vars(Journal) if not n.startswith("_") and n not in ("open",)]:
        if callable(getattr(Journal, name)):
            timer.wrap(Journal, name, "journal (SQLite)")
    timer.wrap(run_module, "parse_message", "parse")
    timer.wrap(run_module, "decide", "decide")

    config = f"""
version: 1
journal: {spec["journal"]}
trackers:
  bench: {{adapter: bench}}
mailboxes:
  bench:
    protocol: imap
    host: 127.0.0.1
    port: {spec["port"]}
    security: none
    username: {spec["user"]}
    password: {{env: BENCH_IMAP_PASSWORD}}
    tracker: bench
    unknown_user: as_rule_owner
    on_success: {{move: Processed}}
    on_unprocessed: {{move: Unprocessed}}
    rules:
      - then: [{{create_issue: {{project: it}}}}]
"""
    os.environ["BENCH_IMAP_PASSWORD"] = spec["password"]
    loaded = load_config_text(config, "bench-rules.yaml")
    if spec["variant"] == "floor":
        return floor(spec, loaded, commands)
    rss_before = rss_now_mib()
    commands.clear()
    start = time.perf_counter()
    cpu = cpu_clocks()
    (summary,), code = runner.sync(loaded, ["bench"], runner.SyncOptions())
    seconds = time.perf_counter() - start
    cpu = cpu_clocks(cpu)
    state = tracker[0].state()
    comments = sum(len(issue.comments) for issue in state.issues.values())
    if code != 0 or len(state.issues) != summary.created or comments != summary.commented:
        raise SystemExit(f"the run went wrong: exit {code}, {summary.line()}")
    return {
        "variant": spec["variant"],
        "seconds": seconds,
        "summary": {
            key: getattr(summary, key)
            for key in ("fetched", "created", "commented", "unprocessed", "dropped", "failed")
        },
        "commands": dict(commands),
        "time": dict(timer.seconds),
        "rss_before_mib": rss_before,
        "peak_rss_mib": peak_rss_mib(),
        "cpu_run_thread": cpu[0],
        "cpu_process": cpu[1],
    }


def floor(spec: dict[str, Any], loaded: Any, commands: collections.Counter[str]) -> dict[str, Any]:
    """Only what any importer must do: list, fetch and parse the same messages.

    The product's ImapSource and parser, opened as sync opens them; no journal, no rules, no
    tracker, no disposal. The full sync's throughput is compared with this.
    """
    from tracker_mail_plugin.assemble import open_source
    from tracker_mail_plugin.mail import parse_message

    mailbox = loaded.config.mailboxes["bench"]
    policies = loaded.policies("bench")
    state = Path(spec["journal"]).parent
    rss_before = rss_now_mib()
    commands.clear()
    timer = Timer()
    start = time.perf_counter()
    cpu = cpu_clocks()
    parsed = 0
    with open_source(mailbox, policies.max_message_size, state, "bench") as source:
        wanted = [e for e in source.pending(lambda id: False) if not e.oversize]
        fetching = time.perf_counter()
        for fetched in source.fetch(wanted):
            timer.seconds["IMAP fetch"] += time.perf_counter() - fetching
            parsing = time.perf_counter()
            parse_message(fetched.raw)
            timer.seconds["parse"] += time.perf_counter() - parsing
            parsed += 1
            fetching = time.perf_counter()
    seconds = time.perf_counter() - start
    cpu = cpu_clocks(cpu)
    return {
        "variant": "floor",
        "seconds": seconds,
        "summary": {"fetched": parsed},
        "commands": dict(commands),
        "time": dict(timer.seconds),
        "rss_before_mib": rss_before,
        "peak_rss_mib": peak_rss_mib(),
        "cpu_run_thread": cpu[0],
        "cpu_process": cpu[1],
    }


# --- the parent: Dovecot, seeding, runs, report ------------------------------------------


class DelayProxy:
    """A TCP relay on 127.0.0.1 that delays every chunk by half the round-trip time.

    Stands for a mail server across a network (loopback answers in microseconds, which hides
    what round trips cost). Bandwidth is not limited; ordering is kept.
    """

    def __init__(self, target_port: int, rtt_seconds: float):
        import socket

        self.target_port = target_port
        self.delay = rtt_seconds / 2
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._pump(client, server)
            self._pump(server, client)

    def _pump(self, source: Any, target: Any) -> None:
        import queue
        import socket

        chunks: queue.Queue[tuple[float, bytes]] = queue.Queue()

        def read() -> None:
            while True:
                try:
                    data = source.recv(256 * 1024)
                except OSError:
                    data = b""
                chunks.put((time.monotonic() + self.delay, data))
                if not data:
                    return

        def write() -> None:
            while True:
                due, data = chunks.get()
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                try:
                    if not data:
                        target.shutdown(socket.SHUT_WR)
                        return
                    target.sendall(data)
                except OSError:
                    return

        threading.Thread(target=read, daemon=True).start()
        threading.Thread(target=write, daemon=True).start()

    def close(self) -> None:
        self.listener.close()


def load_corpus(count: int, seed: int) -> list[Path]:
    """The parse benchmark's corpus (generated there when missing)."""
    spec = importlib.util.spec_from_file_location("parse_benchmark", ROOT / "benchmarks/parse.py")
    if spec is None or spec.loader is None:
        raise SystemExit("benchmarks/parse.py is missing")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.corpus_paths(ROOT / "benchmarks" / "corpus", seed, count)


def seed_account(server: Any, paths: list[Path]) -> tuple[Any, float]:
    account = server.add_account()
    client = server.imap(account)
    start = time.perf_counter()
    try:
        for path in paths:
            client.append("INBOX", path.read_bytes())
    finally:
        client.logout()
    return account, time.perf_counter() - start


def folder_counts(server: Any, account: Any) -> dict[str, int]:
    client = server.imap(account)
    try:
        return {
            name: int(client.folder_status(name, [b"MESSAGES"])[b"MESSAGES"])
            for name in ("INBOX", "Processed", "Unprocessed")
            if client.folder_exists(name)
        }
    finally:
        client.logout()


def dovecot_counters(server: Any, account: Any, since: int) -> dict[str, int]:
    """What Dovecot logged at the end of the sync's session (body_count: bodies sent)."""
    pattern = re.compile(
        rf"imap\({re.escape(account.user)}\).*Disconnected.*?out=(\d+).*body_count=(\d+)"
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = pattern.findall(server.log()[since:])
        if any(int(bodies) for _, bodies in found):
            # the seeding session may log its logout late: the sync's sent the bodies
            out, bodies = max(found, key=lambda item: int(item[0]))
            return {"bytes_out": int(out), "bodies": int(bodies)}
        time.sleep(0.05)
    return {}


def run_child(spec: dict[str, Any], scratch: str) -> dict[str, Any]:
    """One child run; its fsync/fdatasync calls counted by strace when it is installed.

    ``--seccomp-bpf`` stops the child only at the traced calls, so the count costs little,
    and every variant pays it alike.
    """
    command = [sys.executable, __file__, "--child", json.dumps(spec)]
    counted = Path(scratch) / f"strace-{spec['variant']}.txt"
    strace = shutil.which("strace")
    if strace:
        trace = "trace=fsync,fdatasync"
        command = [strace, "-f", "--seccomp-bpf", "-c", "-e", trace, "-o", str(counted), *command]
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    result["fsyncs"] = _syscalls(counted.read_text()) if strace else None
    return result


def _syscalls(summary: str) -> int:
    """The number of calls on the "total" line of ``strace -c`` output.

    Columns: % time, seconds, usecs/call, calls, errors (may be blank), syscall.
    """
    for line in summary.splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[-1] == "total":
            return int(fields[3])
    return 0


def measure(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    import tempfile

    from tests.servers.dovecot import Dovecot

    paths = load_corpus(args.messages, args.seed)
    total_bytes = sum(path.stat().st_size for path in paths)
    runs: list[dict[str, Any]] = []
    with Dovecot() as server, tempfile.TemporaryDirectory() as scratch:
        port = server.ports.imap
        if args.rtt_ms:
            port = DelayProxy(server.ports.imap, args.rtt_ms / 1000).port
        for repetition in range(args.repeat):
            chosen = tuple(args.variants)
            order = chosen if repetition % 2 == 0 else tuple(reversed(chosen))
            for variant in order:
                account, append_seconds = seed_account(server, paths)
                spec = {
                    "variant": variant,
                    "port": port,
                    "user": account.user,
                    "password": account.password,
                    "journal": f"{scratch}/{variant}-{repetition}.sqlite3",
                    "copying_store": args.copying_store,
                    "profile": str(args.profile / f"{variant}-{repetition}.prof")
                    if args.profile
                    else None,
                }
                print(f"run {repetition + 1}/{args.repeat}: {variant} ...", file=sys.stderr)
                since = len(server.log())
                result = run_child(spec, scratch)
                result["append_seconds"] = append_seconds
                result["dovecot"] = dovecot_counters(server, account, since)
                result["folders"] = folder_counts(server, account)
                if variant != "floor" and result["folders"].get("INBOX", 0) != 0:
                    raise SystemExit(f"messages left in INBOX: {result['folders']}")
                runs.append(result)
    return {
        "messages": len(paths),
        "bytes": total_bytes,
        "seed": args.seed,
        "repeat": args.repeat,
        "rtt_ms": args.rtt_ms,
        "copying_store": args.copying_store,
        "runs": runs,
        "machine": machine(),
    }


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = _meminfo_gib()
    dovecot = subprocess.run(
        ["/usr/sbin/dovecot", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "ram": f"{memory:.0f} GiB",
        "python": platform.python_version(),
        "openssl": ssl.OPENSSL_VERSION,
        "dovecot": dovecot,
        "os": _os_name(),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def _meminfo_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return float(line.split()[1]) / MIB
    return 0.0


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.platform()


def report(results: dict[str, Any], markdown: bool) -> str:
    count = results["messages"]
    by_variant: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    for run in results["runs"]:
        by_variant[run["variant"]].append(run)
    lines = [
        f"corpus: first {count:,} messages of benchmarks/corpus (seed {results['seed']}), "
        f"{results['bytes'] / 1e6:.1f} MB; {results['repeat']} run(s) per variant, "
        "each on a freshly seeded account, in a fresh interpreter; "
        + (
            f"IMAP through a relay adding {results['rtt_ms']:g} ms per round trip"
            if results["rtt_ms"]
            else "IMAP over loopback (no added latency)"
        ),
        "",
    ]
    head = (
        "variant",
        "msg/s (best)",
        "msg/s (median)",
        "seconds (best)",
        "IMAP round trips/msg",
        "fsyncs/msg",
        "peak RSS",
        "RSS before sync",
    )
    rows = []
    for variant, runs in by_variant.items():
        if not runs:
            continue
        best = min(runs, key=lambda r: r["seconds"])
        rates = [count / r["seconds"] for r in runs]
        rows.append(
            (
                variant,
                f"{max(rates):,.0f}",
                f"{statistics.median(rates):,.0f}",
                f"{best['seconds']:.2f}",
                f"{best['commands']['(all)'] / count:.2f}",
                "-" if best.get("fsyncs") is None else f"{best['fsyncs'] / count:.3f}",
                f"{max(r['peak_rss_mib'] for r in runs):.0f} MiB",
                f"{best['rss_before_mib']:.0f} MiB",
            )
        )
    lines += _table(head, rows, markdown)
    lines.append("")
    for variant, runs in by_variant.items():
        if not runs:
            continue
        best = min(runs, key=lambda r: r["seconds"])
        commands = ", ".join(
            f"{name} {number}"
            for name, number in sorted(best["commands"].items(), key=lambda x: -x[1])
            if name != "(all)"
        )
        where = ", ".join(
            f"{label} {seconds:.2f}s"
            for label, seconds in sorted(best["time"].items(), key=lambda x: -x[1])
        )
        lines.append(f"- {variant}: {best['commands']['(all)']} IMAP commands: {commands}")
        lines.append(f"- {variant}: time inside (best run, {best['seconds']:.2f}s): {where}")
        if "cpu_process" in best:
            lines.append(
                f"- {variant}: CPU in the best run: the run's thread {best['cpu_run_thread']:.2f}s,"
                f" the whole process {best['cpu_process']:.2f}s (fetch thread included),"
                f" wall {best['seconds']:.2f}s"
            )
        lines.append(
            f"- {variant}: summary {best['summary']}; folders after: {best['folders']}; "
            f"Dovecot logged {best['dovecot']}; APPEND of the corpus took "
            f"{best['append_seconds']:.1f}s"
        )
    batched = [r for r in results["runs"] if r["variant"] == "batched"]
    floors = [r for r in results["runs"] if r["variant"] == "floor"]
    if batched and floors:
        ratio = min(r["seconds"] for r in floors) / min(r["seconds"] for r in batched)
        pairs = [f["seconds"] / b["seconds"] for f, b in zip(floors, batched, strict=False)]
        median = statistics.median(r["seconds"] for r in floors) / statistics.median(
            r["seconds"] for r in batched
        )
        lines.append(
            f"- full sync / floor throughput: best runs **{ratio:.2f}**, medians "
            f"**{median:.2f}**; per repetition: {', '.join(f'{x:.2f}' for x in pairs)}"
        )
        extra = (min(r["seconds"] for r in batched) - min(r["seconds"] for r in floors)) / count
        lines.append(
            f"- what the full sync adds to the floor, per message (best runs): "
            f"**{extra * 1000:.2f} ms** (journal, rules, tracker calls, disposal)"
        )
    naive = [r for r in results["runs"] if r["variant"] == "one-by-one"]
    if batched and naive:
        ratio = min(r["seconds"] for r in naive) / min(r["seconds"] for r in batched)
        lines.append(f"- batched / one-by-one throughput (best runs): **{ratio:.2f}x**")
    info = results["machine"]
    lines.append(
        f"- machine: {info['cpu']}, {info['ram']} RAM, {info['os']}, Python {info['python']}, "
        f"{info['openssl']}, Dovecot {info['dovecot']}, load average at the end {info['load']}"
    )
    return "\n".join(lines)


def _table(head: tuple[str, ...], rows: list[tuple[str, ...]], markdown: bool) -> list[str]:
    if markdown:
        return [
            "| " + " | ".join(head) + " |",
            "|" + "---|" * len(head),
            *("| " + " | ".join(row) + " |" for row in rows),
        ]
    widths = [max(len(str(x)) for x in column) for column in zip(head, *rows, strict=True)]
    return [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in (head, *rows)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant")
    parser.add_argument(
        "--rtt-ms", type=float, default=0, help="add this round-trip time to every IMAP exchange"
    )
    parser.add_argument(
        "--copying-store",
        action="store_true",
        help="keep the RecordingAdapter's copy-on-write in-memory store (O(state) per call)",
    )
    parser.add_argument(
        "--variants",
        type=lambda text: [v for v in text.split(",") if v],
        default=["floor", "batched"],
        help=f"comma-separated, of {', '.join(VARIANTS)} (default floor,batched)",
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--profile",
        type=Path,
        help="write a cProfile file per run into this folder (read with python -m pstats);"
        " profiling slows the runs, so their times are not comparable with unprofiled ones",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if unknown := set(args.variants) - set(VARIANTS):
        parser.error(f"no variant {', '.join(sorted(unknown))}; there are {', '.join(VARIANTS)}")
    if args.child:
        spec = json.loads(args.child)
        if spec.get("profile"):
            import cProfile

            profiler = cProfile.Profile()
            result = profiler.runcall(child, spec)
            profiler.dump_stats(spec["profile"])
        else:
            result = child(spec)
        print(json.dumps(result))
        return
    if args.profile:
        args.profile = args.profile.resolve()
        args.profile.mkdir(parents=True, exist_ok=True)
    results = measure(args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(report(results, args.markdown))


if __name__ == "__main__":
    main()
