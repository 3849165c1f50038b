"""Probe: what would parsing in a worker process gain the full sync? Measured, not estimated.

    python benchmarks/parse_worker_probe.py [--messages N] [--repeat R]
        [--variants floor,batched,parse-worker,parse-worker-2,parsed-before]
        [--start-method spawn|forkserver] [--pipe-kib 1024] [--worker-switch-ms 1]
        [--markdown] [--json FILE]

Benchmark only: the product is not changed. It reuses benchmarks/sync.py (the same private
Dovecot, corpus, freshly seeded account per run, in-memory tracker double and fresh child
interpreter) and adds three variants to its ``floor`` and ``batched``:

- ``parse-worker``: the full sync, with the pipeline patched inside the child so that each
  message is sent to a worker process the moment the fetch thread has it (before it joins
  the fetch-ahead queue), and the run's thread, where it would have parsed, receives the
  parsed ``Message`` pickled instead. The journal's ``arrive`` still comes before the
  result is taken (``MailboxRun.read`` is unchanged; only ``MailboxRun._parse`` is
  replaced, keeping its time budget). Order is kept: messages go to the workers in turn
  and each worker answers in order. Everything else is the product's code.
- ``parse-worker-2``: the same with two worker processes.
- ``parsed-before``: the bound no worker can beat: the corpus is parsed before the timed
  run, and ``_parse`` only looks each Message up by the digest the run journals.

Workers are started with ``multiprocessing`` (spawn by default; ``--start-method
forkserver`` preloads the parser in the fork server) when the run's fetching starts, so
their start-up is inside the measured time, and reported on its own too. Each pipe to and
from a worker is enlarged to ``--pipe-kib`` and the worker's GIL switch interval shortened
to ``--worker-switch-ms``, so that the worker's pipe threads keep up while it parses.

Reported besides sync.py's table: throughput against the floor, CPU (user + system) of the
child process and of each worker (``resource.getrusage`` in each), the pickled messages'
size and the time to pickle (worker) and unpickle (run's thread), and peak RSS (VmHWM) of
the child and of each worker. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import collections
import fcntl
import json
import multiprocessing
import pickle
import queue
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve()
WORKER_VARIANTS = {"parse-worker": 1, "parse-worker-2": 2}
# The bound no parse worker can beat: every message parsed before the timed run, the run's
# thread only looks its Message up by the digest it journals.
PARSED_BEFORE = "parsed-before"
ALL_VARIANTS = ("floor", "batched", "one-by-one", *WORKER_VARIANTS, PARSED_BEFORE)


def _sync_bench() -> ModuleType:
    """benchmarks/sync.py, imported late: a spawned worker re-imports this file, and only
    needs the worker's half (``work``), not sync.py's imports."""
    if str(HERE.parent) not in sys.path:
        sys.path.insert(0, str(HERE.parent))
    import sync

    return sync


def _cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return float(line.split()[1]) / 1024
    return 0.0


# --- the worker process ------------------------------------------------------------------


def work(inbox: Connection, outbox: Connection, switch_seconds: float) -> None:
    """Parse what arrives on ``inbox``, in order; answer each with the pickled Message.

    Threads on both pipes, so that neither the fetch thread's send nor the parse waits for
    the run's thread to take an answer: the worker runs as far ahead as the fetch does.
    ``switch_seconds``: the worker's GIL switch interval; each pipe read or write of those
    threads waits for the parsing thread to let go of the GIL (5 ms by default).
    """
    started_cpu = _cpu_seconds()
    sys.setswitchinterval(switch_seconds)
    from tracker_mail_plugin.mail import parse_message

    ready_at, ready_cpu = time.monotonic(), _cpu_seconds()
    raws: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    answers: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    threading.Thread(target=_receive, args=(inbox, raws), daemon=True).start()
    sender = threading.Thread(target=_send, args=(outbox, answers))
    sender.start()
    parse_seconds = pickle_seconds = 0.0
    sizes: list[int] = []
    while (raw := raws.get()) is not None:
        start = time.perf_counter()
        message = parse_message(raw)
        parsed = time.perf_counter()
        answer = pickle.dumps(("message", message), pickle.HIGHEST_PROTOCOL)
        pickle_seconds += time.perf_counter() - parsed
        parse_seconds += parsed - start
        sizes.append(len(answer))
        answers.put(answer)
    answers.put(None)
    sender.join()
    stats = {
        "ready_at": ready_at,
        "startup_cpu_s": ready_cpu,  # the interpreter's start and the parser's imports
        "import_cpu_s": ready_cpu - started_cpu,
        "cpu_s": _cpu_seconds(),
        "parse_s": parse_seconds,
        "pickle_s": pickle_seconds,
        "messages": len(sizes),
        "pickled_bytes": sum(sizes),
        "pickled_max": max(sizes, default=0),
        "peak_rss_mib": _peak_rss_mib(),
    }
    outbox.send_bytes(pickle.dumps(("stats", stats)))


def _receive(inbox: Connection, raws: queue.SimpleQueue[bytes | None]) -> None:
    try:
        while True:
            raws.put(inbox.recv_bytes())
    except EOFError:  # the run closed its end: no more messages
        raws.put(None)


def _send(outbox: Connection, answers: queue.SimpleQueue[bytes | None]) -> None:
    while (answer := answers.get()) is not None:
        outbox.send_bytes(answer)


# --- the run's side: hand out, take back in order ----------------------------------------


class _Worker:
    def __init__(self, context: Any, number: int, pipe_bytes: int, switch_seconds: float):
        inbox, self.to_worker = context.Pipe(duplex=False)
        self.from_worker, outbox = context.Pipe(duplex=False)
        if pipe_bytes:  # a whole typical message fits: the sender rarely waits for the reader
            for end in (self.to_worker, self.from_worker):
                fcntl.fcntl(end.fileno(), fcntl.F_SETPIPE_SZ, pipe_bytes)
        self.process = context.Process(
            target=work,
            args=(inbox, outbox, switch_seconds),
            name=f"parse-worker-{number}",
            daemon=True,
        )
        self.process.start()
        inbox.close()  # the worker's ends: its EOF must come from the worker alone
        outbox.close()
        self.sent: collections.deque[object] = collections.deque()


class ParsePool:
    """Worker processes taking messages in turn; answers taken back in the fetch's order."""

    def __init__(self, workers: int, start_method: str, pipe_bytes: int, switch_seconds: float):
        self.count, self.pipe_bytes, self.switch_seconds = workers, pipe_bytes, switch_seconds
        self.context = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            # What a product would do: workers forked from a process that has the parser.
            self.context.set_forkserver_preload(["tracker_mail_plugin.mail"])
        self.workers: list[_Worker] = []
        self.where: dict[int, _Worker] = {}
        self.turn = 0
        self.seconds: collections.Counter[str] = collections.Counter()
        self.unpickled_bytes = 0
        self.stats: list[dict[str, Any]] = []
        self.started_at = 0.0

    def start(self) -> None:
        self.started_at = time.monotonic()
        start = time.perf_counter()
        self.workers = [
            _Worker(self.context, n, self.pipe_bytes, self.switch_seconds)
            for n in range(self.count)
        ]
        self.seconds["starting workers (run's thread)"] += time.perf_counter() - start

    def submit(self, fetched: Any) -> None:
        """On the fetch thread, as soon as ``fetched`` is downloaded."""
        worker = self.workers[self.turn % self.count]
        self.turn += 1
        self.where[id(fetched)] = worker  # before it is queued: the run's thread looks it up
        worker.sent.append(fetched)
        start = time.perf_counter()
        worker.to_worker.send_bytes(fetched.raw)
        self.seconds["sending to worker (fetch thread)"] += time.perf_counter() - start

    def result(self, fetched: Any) -> Any:
        """On the run's thread: the parsed Message of ``fetched``.

        Answers for messages the run gave up on before parsing (too many attempts) are
        read and dropped, so that each worker's answers stay in step.
        """
        worker = self.where.pop(id(fetched))
        start = time.perf_counter()
        while True:
            earlier = worker.sent.popleft()
            try:
                answer = worker.from_worker.recv_bytes()
            except EOFError:
                raise RuntimeError(f"parse worker {worker.process.name} died") from None
            if earlier is fetched:
                break
        received = time.perf_counter()
        kind, message = pickle.loads(answer)  # our own worker's answer
        self.seconds["unpickling (run's thread)"] += time.perf_counter() - received
        self.seconds["waiting for worker (run's thread)"] += received - start
        self.unpickled_bytes += len(answer)
        if kind != "message":
            raise RuntimeError(f"parse worker answered {kind}")
        return message

    def stop(self) -> None:
        """Close the workers' inboxes, collect their own measurements, wait for them."""
        for worker in self.workers:
            worker.to_worker.close()
        for worker in self.workers:
            while True:  # answers nobody took (a run stopped early) come first
                kind, value = pickle.loads(worker.from_worker.recv_bytes())
                if kind == "stats":
                    break
            value["startup_s"] = value.pop("ready_at") - self.started_at
            self.stats.append(value)
            worker.process.join()
        self.workers = []

    def report(self) -> dict[str, Any]:
        return {
            "workers": self.stats,
            "seconds": dict(self.seconds),
            "unpickled_bytes": self.unpickled_bytes,
        }


def install(pool: ParsePool) -> None:
    """Patch the pipeline: the fetch thread hands out, the run's thread takes back."""
    from tracker_mail_plugin.pipeline import run as run_module
    from tracker_mail_plugin.pipeline import scheduling
    from tracker_mail_plugin.pipeline.budget import OverBudget, time_budget
    from tracker_mail_plugin.pipeline.prefetch import Prefetch
    from tracker_mail_plugin.sources.base import Fetched

    class HandingOut(Prefetch):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pool.start()
            super().__init__(*args, **kwargs)

        def _put(self, item: object) -> bool:
            if isinstance(item, Fetched):
                pool.submit(item)  # on the fetch thread, before the run's thread can take it
            return super()._put(item)

        def close(self) -> None:
            super().close()
            if pool.workers:
                pool.stop()

    def parse_in_worker(self: Any, fetched: Any, sha256: str | None = None) -> Any:
        # MailboxRun._parse with the worker's answer in place of parse_message: the same
        # budget (a worker stuck in C code would be killed by a product version instead).
        what = f"reading message {fetched.id} of mailbox {self.parts.name}"
        seconds = self.parts.policies.max_processing_seconds
        try:
            with time_budget(seconds, what, hard=True):
                return pool.result(fetched)
        except OverBudget:
            return None

    scheduling.Prefetch = HandingOut  # type: ignore[misc]
    run_module.MailboxRun._parse = parse_in_worker  # type: ignore[method-assign]


# --- the child: sync.py's child, patched and measured -------------------------------------


def child(spec: dict[str, Any]) -> dict[str, Any]:
    sync_bench = _sync_bench()
    from tracker_mail_plugin.commands import sync as runner

    measured: dict[str, float] = {}

    def cpu_measured(function: Callable[..., Any]) -> Callable[..., Any]:
        def measuring(*args: Any, **kwargs: Any) -> Any:
            cpu, children = _cpu_seconds(), _cpu_seconds(resource.RUSAGE_CHILDREN)
            try:
                return function(*args, **kwargs)
            finally:
                measured["cpu_s"] = _cpu_seconds() - cpu
                measured["reaped_children_cpu_s"] = (
                    _cpu_seconds(resource.RUSAGE_CHILDREN) - children
                )

        return measuring

    runner.sync = cpu_measured(runner.sync)  # type: ignore[method-assign]
    sync_bench.floor = cpu_measured(sync_bench.floor)
    pool = None
    if spec["variant"] in WORKER_VARIANTS:
        workers = WORKER_VARIANTS[spec["variant"]]
        pipe_bytes, switch_seconds = spec["pipe_kib"] * 1024, spec["worker_switch_ms"] / 1000
        pool = ParsePool(workers, spec["start_method"], pipe_bytes, switch_seconds)
        install(pool)
    if spec["variant"] == PARSED_BEFORE:
        parse_before(sync_bench.load_corpus(spec["messages"], spec["seed"]))
    result: dict[str, Any] = sync_bench.child(spec)
    result["cpu"] = measured
    if pool is not None:
        result["pool"] = pool.report()
        result["time"].update(pool.seconds)
    return result


def parse_before(paths: list[Path]) -> None:
    """Parse the corpus now; the run's ``_parse`` then only looks each Message up."""
    import hashlib

    from tracker_mail_plugin.mail import parse_message
    from tracker_mail_plugin.pipeline import run as run_module

    parsed = {}
    for path in paths:
        raw = path.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        parsed[digest] = parse_message(raw, digest)

    def look_up(self: Any, fetched: Any, sha256: str | None = None) -> Any:
        return parsed[sha256 or hashlib.sha256(fetched.raw).hexdigest()]

    run_module.MailboxRun._parse = look_up  # type: ignore[method-assign]


def run_child(spec: dict[str, Any], scratch: str, options: dict[str, Any]) -> dict[str, Any]:
    """sync.py's ``run_child``, running this script's child (fsyncs counted the same way)."""
    sync_bench = _sync_bench()
    spec = {**spec, **options}
    command = [sys.executable, str(HERE), "--child", json.dumps(spec)]
    counted = Path(scratch) / f"strace-{spec['variant']}.txt"
    strace = shutil.which("strace")
    if strace:
        trace = "trace=fsync,fdatasync"
        command = [strace, "-f", "--seccomp-bpf", "-c", "-e", trace, "-o", str(counted), *command]
    done = subprocess.run(
        command, check=True, capture_output=True, text=True, cwd=HERE.parent.parent
    )
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    result["fsyncs"] = sync_bench._syscalls(counted.read_text()) if strace else None
    return result


# --- the report ---------------------------------------------------------------------------


def probe_report(results: dict[str, Any], markdown: bool) -> str:
    sync_bench = _sync_bench()
    runs: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for run in results["runs"]:
        runs[run["variant"]].append(run)
    floors = runs.get("floor", [])
    head = (
        "variant",
        "seconds (best / median)",
        "floor / this, best",
        "floor / this, medians",
        "per repetition",
        "CPU child (median)",
        "CPU workers (median)",
        "peak RSS child / workers",
    )
    rows = []
    for variant in [v for v in ALL_VARIANTS if v in runs]:
        mine = runs[variant]
        seconds = [r["seconds"] for r in mine]
        ratio_best = ratio_median = "-"
        pairs = "-"
        if floors:
            floor_seconds = [r["seconds"] for r in floors]
            ratio_best = f"{min(floor_seconds) / min(seconds):.2f}"
            ratio_median = f"{statistics.median(floor_seconds) / statistics.median(seconds):.2f}"
            pairs = ", ".join(
                f"{f['seconds'] / m['seconds']:.2f}" for f, m in zip(floors, mine, strict=False)
            )
        workers = [w for r in mine for w in r.get("pool", {}).get("workers", [])]
        worker_cpu = [sum(w["cpu_s"] for w in r["pool"]["workers"]) for r in mine if "pool" in r]
        rows.append(
            (
                variant,
                f"{min(seconds):.2f} / {statistics.median(seconds):.2f}",
                ratio_best,
                ratio_median,
                pairs,
                f"{statistics.median(r['cpu']['cpu_s'] for r in mine):.2f} s",
                f"{statistics.median(worker_cpu):.2f} s" if worker_cpu else "-",
                f"{max(r['peak_rss_mib'] for r in mine):.0f} MiB / "
                + (f"{max(w['peak_rss_mib'] for w in workers):.0f} MiB" if workers else "-"),
            )
        )
    lines = sync_bench._table(head, rows, markdown)
    lines.append("")
    for variant in [v for v in WORKER_VARIANTS if v in runs]:
        best = min(runs[variant], key=lambda r: r["seconds"])
        workers = best["pool"]["workers"]
        count = sum(w["messages"] for w in workers)
        pickled = sum(w["pickled_bytes"] for w in workers)
        raw = results["bytes"]
        seconds = best["pool"]["seconds"]
        lines.append(
            f"- {variant} (best run, {best['seconds']:.2f} s, start method "
            f"{best['start_method']}, pipes {best['pipe_kib'] or 64} KiB, worker switch "
            f"interval {best['worker_switch_ms']:g} ms): {count} messages parsed in the "
            "worker(s); "
            f"pickled Messages {pickled / 1e6:.1f} MB ({pickled / raw:.2f}x the raw "
            f"{raw / 1e6:.1f} MB, largest {max(w['pickled_max'] for w in workers) / 1e6:.1f} MB); "
            f"worker: parse {sum(w['parse_s'] for w in workers):.2f} s, pickle "
            f"{sum(w['pickle_s'] for w in workers):.2f} s, CPU "
            + " + ".join(f"{w['cpu_s']:.2f} s" for w in workers)
            + " (of which start-up imports "
            + " + ".join(f"{w['startup_cpu_s']:.2f} s" for w in workers)
            + "), ready "
            + " / ".join(f"{w['startup_s']:.2f} s" for w in workers)
            + " after the start; run's thread: "
            + ", ".join(f"{label} {value:.2f} s" for label, value in sorted(seconds.items()))
            + f"; child CPU {best['cpu']['cpu_s']:.2f} s"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant")
    parser.add_argument("--start-method", choices=("spawn", "forkserver"), default="spawn")
    parser.add_argument(
        "--pipe-kib",
        type=int,
        default=1024,
        help="size of each pipe to and from a worker (Linux F_SETPIPE_SZ); 0: the system's 64",
    )
    parser.add_argument(
        "--worker-switch-ms",
        type=float,
        default=1.0,
        help="the workers' GIL switch interval (Python's default is 5)",
    )
    parser.add_argument(
        "--variants",
        type=lambda text: [v for v in text.split(",") if v],
        default=["floor", "batched", *WORKER_VARIANTS, PARSED_BEFORE],
        help=f"comma-separated, of {', '.join(ALL_VARIANTS)}",
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if unknown := set(args.variants) - set(ALL_VARIANTS):
        parser.error(
            f"no variant {', '.join(sorted(unknown))}; there are {', '.join(ALL_VARIANTS)}"
        )
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    sync_bench = _sync_bench()
    # sync.py's measuring loop and report, with this script's variants and child
    sync_bench.VARIANTS = ALL_VARIANTS
    options = {
        "messages": args.messages,
        "seed": args.seed,
        "start_method": args.start_method,
        "pipe_kib": args.pipe_kib,
        "worker_switch_ms": args.worker_switch_ms,
    }
    sync_bench.run_child = lambda spec, scratch: run_child(spec, scratch, options)
    args.rtt_ms, args.copying_store = 0.0, False
    results = sync_bench.measure(args)
    for run in results["runs"]:
        run.update(options)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(sync_bench.report(results, args.markdown))
    print()
    print(probe_report(results, args.markdown))


if __name__ == "__main__":
    main()
