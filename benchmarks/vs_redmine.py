"""Redmine's own mail importer against ``tracker-mail sync``, into the same real Redmine.

    python benchmarks/vs_redmine.py [--messages N] [--seed S] [--rounds R] [--markdown]
                                    [--profile] [--server {puma-postgres,thin-sqlite}]
                                    [--redmine-workers N] [--workers N]

Run from the repository root, as root (the Redmine rig runs Redmine as www-data). Starts a
private Dovecot and a private Redmine with the test rigs (tests/servers/), served the
production way by default (``--server puma-postgres``: a private PostgreSQL, puma with
``--redmine-workers`` worker processes of one thread each, default 3; needs
``.ci/install-servers redmine postgres``) or as the test suite serves it (``thin-sqlite``:
one thin, one request at a time, SQLite). Redmine's settings cache works as in production
(the test rig's 2100 trick is off). Generates N mixed messages (deterministic: plain text,
HTML-only, text+HTML, some with 1-2 attachments of 5-200 KB, about 30% replies) and, for
each importer, APPENDs them to a fresh IMAP account and imports that account into a fresh
Redmine project:

- ``redmine rake``: ``rake redmine:email:receive_imap ... unknown_user=accept
  no_permission_check=1 move_on_success=Processed`` run against the SAME Redmine instance
  and database the server uses (``REDMINE_INSTANCE``; under puma the same
  ``BUNDLE_GEMFILE`` too), wall time of the process;
- ``tracker-mail CLI``: ``tracker-mail sync -c rules.yaml`` as a process (redmine adapter,
  the administrator's key, unknown senders filed as the rule owner, ``move: Processed``,
  and ``workers: N`` from ``--workers``, default 4, written only when N > 1);
- ``tracker-mail in-process``: ``tracker_mail_plugin.commands.sync.sync`` in this process, with
  ``requests.Session.send`` and imaplib's socket reads/writes wrapped to add up the time
  spent waiting for Redmine and for Dovecot (summed over tracker-mail's threads, so with
  several workers the HTTP wait can exceed the wall time), and ``time.process_time()``
  around it: tracker-mail's own CPU time. "Own CPU / HTTP wait" is the overhead figure.

Redmine numbers issues globally, so a reply's ``[#N]`` must name the issue its thread
started in *that* importer's project: replies are rendered just before each import with the
number the thread's first message will get (worked out from the last issue id the database
handed out: SQLite's ``sqlite_sequence``, PostgreSQL's ``issues_id_seq``), and afterwards
every note is checked to be on the issue of its own thread and each project's first issue
to have the predicted number. Everything else in the messages is byte for byte the same for
every importer. (With tracker-mail workers > 1, new issues may be numbered out of message
order, so a ``[#N]`` may name another thread's issue; tracker-mail threads those replies by
In-Reply-To through its journal first, which the note checks still verify.)

Each round runs every importer once; the order is reversed on every other round. Fixed
costs are measured once: rake over an empty mailbox (Rails boot) and the CLI over an empty
mailbox (interpreter start, imports). Results are read back through Redmine's REST API.
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import email.header
import imaplib
import importlib.util
import json
import math
import os
import platform
import pstats
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import requests
import yaml
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers.dovecot import Account, Dovecot, free_ports  # noqa: E402
from tests.servers.postgres import PG_BIN  # noqa: E402
from tests.servers.redmine import REDMINE_HOME, Redmine, why_unavailable  # noqa: E402

SERVERS = {  # --server: the rig's database adapter, and whether puma serves it
    "puma-postgres": ("postgresql", True),
    "thin-sqlite": ("sqlite3", False),
}

CLI = Path(sys.executable).parent / "tracker-mail"
KNOWN = ("alice@example.com", "erin@example.com")  # rig users, made members of each project
KNOWN_NAMES = {"alice@example.com": "Alice Example", "erin@example.com": "Erin Reporter"}
IMPORTERS = ("redmine rake", "tracker-mail CLI", "tracker-mail in-process")
SHORT = {"redmine rake": "rm", "tracker-mail CLI": "tm", "tracker-mail in-process": "tp"}
SUBJECT_TOKEN = b"X-Bench-Subject: placeholder"
KIB = 1024


def _load_parse_module() -> Any:
    """benchmarks/parse.py, for its text and HTML body generators."""
    spec = importlib.util.spec_from_file_location("bench_parse", ROOT / "benchmarks" / "parse.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


corpus = _load_parse_module()

TOPICS = (
    "Printer on 3rd floor broken",
    "VPN disconnects every few minutes",
    "Invoice export fails",
    "Cannot log in to the portal",
    "Rückfrage zur Rechnung",
    "Demande de devis",
    "Delivery date of my order",
    "Quarterly report numbers wrong",
    "Zugriff auf Laufwerk S: verweigert",
    "Laptop battery drains overnight",
    "Password reset mail never arrives",
    "Shared calendar not syncing",
)
PLACES = ("Berlin", "Zürich", "Lyon", "Madrid", "Oslo", "Kraków", "Leeds", "Porto")


# --- the mail ---------------------------------------------------------------------------


@dataclass
class Draft:
    """One generated message; only its Subject depends on the importer (see render)."""

    index: int
    kind: str  # plain | html | alt
    form: str  # new | bracket ([Project - Bug #N]) | hash ([#N]) | re (Re: only)
    root: int | None  # the index of the thread's first message, for replies
    subject: str  # the thread's subject (without Re: or an issue number)
    sender: str
    attachments: list[int]  # sizes in bytes
    raw: bytes  # with SUBJECT_TOKEN where the Subject goes


def generate(count: int, seed: int) -> list[Draft]:
    """``count`` messages, the same for the same seed."""
    rng = random.Random(seed)
    customers = [
        (name, "".join(c for c in name.lower() if c.isascii() and c.isalpha()) or "user")
        for name in corpus.NAMES
    ]
    pool = [
        f"{name} <{local}{n}@customer{n % 7}.example.org>"
        for n in range(40)
        for name, local in [customers[n % len(customers)]]
    ]
    drafts: list[Draft] = []
    ids: list[str] = []
    threads: dict[int, list[int]] = {}  # root index -> message indexes in the thread
    start = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    for index in range(count):
        when = start + dt.timedelta(minutes=7 * index + rng.randrange(5))
        reply = index >= 5 and rng.random() < 0.30
        if reply:
            root = rng.choice(sorted(threads))
            form = rng.choices(("bracket", "hash", "re"), (45, 25, 30))[0]
            subject = drafts[root].subject
            parent = threads[root][-1]
            sender = drafts[root].sender if rng.random() < 0.6 else _known(rng.choice(KNOWN))
        else:
            root, form, parent = None, "new", None
            subject = f"{rng.choice(TOPICS)} ({rng.choice(PLACES)}, {index})"
            sender = _known(rng.choice(KNOWN)) if rng.random() < 0.25 else rng.choice(pool)
        roll = rng.random()
        kind = "plain" if roll < 0.55 else "html" if roll < 0.80 else "alt"
        sizes = []
        if rng.random() < 0.15:
            low, high = math.log(5 * KIB), math.log(200 * KIB)
            sizes = [int(math.exp(rng.uniform(low, high))) for _ in range(rng.randint(1, 2))]
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = "Support <support@bench.example>"
        if rng.random() < 0.2:
            msg["Cc"] = rng.choice(pool)
        msg["X-Bench-Subject"] = "placeholder"
        msg["Date"] = format_datetime(when)
        message_id = f"<{rng.getrandbits(64):016x}.{index}@mail.bench.example>"
        msg["Message-ID"] = message_id
        if parent is not None:
            chain = [ids[i] for i in threads[root][-4:]]
            msg["In-Reply-To"] = ids[parent]
            msg["References"] = " ".join(chain)
        if kind == "html":
            msg.set_content(corpus._html_body(rng), subtype="html", cte="quoted-printable")
        else:
            text = corpus._plain_body(rng, rng.random() < 0.5, when, latin1=False)
            msg.set_content(text, charset="utf-8", cte=rng.choice(("8bit", "quoted-printable")))
            if kind == "alt":
                msg.add_alternative(corpus._html_body(rng), subtype="html", cte="quoted-printable")
        for size in sizes:
            maintype, subtype, name = rng.choice(corpus.ATTACHMENT_TYPES)
            msg.add_attachment(
                rng.randbytes(size),
                maintype=maintype,
                subtype=subtype,
                filename=name.format(n=index),
            )
        for part in msg.walk():  # never the email package's global RNG
            if part.is_multipart():
                part.set_boundary(f"----=_Bench_{index}_{rng.getrandbits(48):012x}")
        raw = msg.as_bytes(policy=SMTP)
        assert raw.count(SUBJECT_TOKEN) == 1
        drafts.append(Draft(index, kind, form, root, subject, sender, sizes, raw))
        ids.append(message_id)
        threads.setdefault(index if root is None else root, []).append(index)
    return drafts


def _known(address: str) -> str:
    return f"{KNOWN_NAMES[address]} <{address}>"


def creates_issue(draft: Draft, importer: str) -> bool:
    """Whether ``importer`` turns ``draft`` into a new issue (else a note).

    Redmine's importer threads only by ``[... #N]`` in the subject and by its own
    notification Message-IDs; a ``Re:`` with only In-Reply-To becomes a new issue.
    tracker-mail also threads by In-Reply-To/References through its journal.
    """
    if draft.form == "new":
        return True
    return draft.form == "re" and importer == "redmine rake"


def render(drafts: list[Draft], importer: str, base: int, project_name: str) -> list[bytes]:
    """The messages for one importer: replies name the issue their thread will have."""
    number: dict[int, int] = {}
    made = base
    out = []
    for draft in drafts:
        if creates_issue(draft, importer):
            made += 1
            if draft.form == "new":
                number[draft.index] = made
        if draft.form == "new":
            subject = draft.subject
        elif draft.form == "bracket":
            subject = f"Re: [{project_name} - Bug #{number[draft.root]}] {draft.subject}"
        elif draft.form == "hash":
            subject = f"Re: [#{number[draft.root]}] {draft.subject}"
        else:
            subject = f"Re: {draft.subject}"
        out.append(draft.raw.replace(SUBJECT_TOKEN, b"Subject: " + _encode(subject)))
    return out


def _encode(subject: str) -> bytes:
    if subject.isascii():
        return subject.encode()
    return email.header.Header(subject, "utf-8").encode(linesep="\r\n").encode()


def expected(drafts: list[Draft], importer: str) -> dict[str, Any]:
    """Issues, notes and attachments ``importer`` should produce, and notes per thread."""
    issues = sum(creates_issue(d, importer) for d in drafts)
    notes: Counter[str] = Counter()
    for draft in drafts:
        if not creates_issue(draft, importer):
            notes[drafts[draft.root].subject] += 1
    attachments = sum(len(d.attachments) for d in drafts)
    return {
        "issues": issues,
        "notes": sum(notes.values()),
        "attachments": attachments,
        "notes_by_thread": notes,
    }


# --- timing hooks for the in-process run -------------------------------------------------


@dataclass
class Waits:
    """Seconds spent waiting for Redmine (HTTP) and for Dovecot (IMAP socket I/O).

    Summed over every thread that waited (tracker-mail's ``workers``), under ``lock``.
    """

    http: float = 0.0
    imap: float = 0.0
    runtime: float = 0.0  # Redmine's own account of its work: the X-Runtime answer header
    requests: Counter[str] = field(default_factory=Counter)
    request_seconds: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _shape(request: requests.PreparedRequest) -> str:
    path, _, query = (request.path_url or "").partition("?")
    path = re.sub(r"/\d+", "/N", path)
    keys = sorted({p.split("=", 1)[0] for p in query.split("&") if p})
    return f"{request.method} {path}" + (f"?{'&'.join(keys)}" if keys else "")


def _runtime(response: requests.Response) -> float:
    """Seconds Rails says it spent on the request (``X-Runtime``), 0 when it does not say."""
    try:
        return float(response.headers.get("X-Runtime", "0"))
    except ValueError:
        return 0.0


@contextmanager
def timed_waits() -> Iterator[Waits]:
    """Wrap requests.Session.send and imaplib's read/readline/send to add up waiting time."""
    waits = Waits()
    original_send = requests.Session.send

    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        started = time.perf_counter()
        runtime = 0.0
        try:
            response = original_send(self, request, **kwargs)  # reads the body (stream=False)
            runtime = _runtime(response)
            return response
        finally:
            elapsed = time.perf_counter() - started
            shape = _shape(request)
            with waits.lock:
                waits.http += elapsed
                waits.runtime += runtime
                waits.requests[shape] += 1
                waits.request_seconds[shape] += elapsed

    originals = {name: getattr(imaplib.IMAP4, name) for name in ("read", "readline", "send")}

    def wrap(function: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                with waits.lock:
                    waits.imap += elapsed

        return timed

    requests.Session.send = send
    for name, function in originals.items():
        setattr(imaplib.IMAP4, name, wrap(function))
    try:
        yield waits
    finally:
        requests.Session.send = original_send
        for name, function in originals.items():
            setattr(imaplib.IMAP4, name, function)


# --- the rig ------------------------------------------------------------------------------


class Sink:
    """An SMTP server on 127.0.0.1 counting the notifications Redmine sends."""

    def __init__(self) -> None:
        self.port = free_ports(1)[0]
        self.count = 0
        self.recipients: Counter[str] = Counter()
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self._lock:
            self.count += 1
            self.recipients[",".join(envelope.rcpt_tos)] += 1
        return "250 OK"


class Bench:
    """The servers, the projects and the three ways of importing."""

    def __init__(
        self, dovecot: Dovecot, redmine: Redmine, sink: Sink, work: Path, workers: int = 1
    ):
        self.dovecot, self.redmine, self.sink, self.work = dovecot, redmine, sink, work
        self.workers = workers  # tracker-mail's mailbox setting
        self.projects: list[str] = []

    # -- Redmine -------------------------------------------------------------------------

    def quiet_admin(self) -> None:
        """No notifications for the administrator, tracker-mail's rule owner here.

        Issues from unknown senders are the administrator's with tracker-mail and
        Anonymous's with Redmine's importer; Redmine would mail the administrator about
        each of its own issues (its mail_notification is "all"), work the importer's run
        would not have. A real deployment's API account would not want those mails either.
        """
        admin = self.redmine.setup["users"]["admin"]
        self.redmine.api(
            "PUT", f"/users/{admin}.json", json={"user": {"mail_notification": "none"}}
        )
        shown = self.redmine.api("GET", f"/users/{admin}.json")["user"]
        assert shown.get("mail_notification", "none") == "none", shown

    def make_project(self, identifier: str, name: str) -> None:
        trackers = self.redmine.setup["trackers"]
        self.redmine.api(
            "POST",
            "/projects.json",
            json={
                "project": {
                    "name": name,
                    "identifier": identifier,
                    "is_public": True,
                    "tracker_ids": [trackers["bug"], trackers["feature"], trackers["support"]],
                    "enabled_module_names": ["issue_tracking", "files"],
                }
            },
        )
        role = self.redmine.setup["roles"]["reporter"]
        for login in ("alice", "erin"):
            user = self.redmine.setup["users"][login]
            self.redmine.api(
                "POST",
                f"/projects/{identifier}/memberships.json",
                json={"membership": {"user_id": user, "role_ids": [role]}},
            )
        self.projects.append(identifier)

    def last_issue_id(self) -> int:
        """The last issue id the database handed out: the next issue is this + 1."""
        if self.redmine.postgres is not None:
            rows = self.redmine.postgres.query(
                "SELECT last_value, is_called FROM issues_id_seq", database="redmine"
            )
            last_value, is_called = int(rows[0][0]), rows[0][1] == "t"
            return last_value if is_called else last_value - 1  # a fresh sequence: not yet
        # SQLite: the larger of the highest id and AUTOINCREMENT's sequence.
        uri = f"file:{self.redmine.database}?mode=ro"
        with sqlite3.connect(uri, uri=True, timeout=30) as db:
            highest = db.execute("SELECT max(id) FROM issues").fetchone()[0] or 0
            sequence = db.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = 'issues'"
            ).fetchone()
        db.close()
        return max(int(highest), int(sequence[0]) if sequence else 0)

    def read_back(self, project: str) -> dict[str, Any]:
        """Issues, notes, attachments and authors of ``project``, through the REST API."""
        numbers: list[int] = []
        while True:
            params = {
                "project_id": project,
                "status_id": "*",
                "sort": "id",
                "limit": 100,
                "offset": len(numbers),
            }
            page = self.redmine.api("GET", "/issues.json", params=params)
            numbers += [i["id"] for i in page["issues"]]
            if len(numbers) >= page["total_count"] or not page["issues"]:
                break
        found: dict[str, Any] = {
            "issues": len(numbers),
            "first_id": min(numbers, default=0),
            "notes": 0,
            "attachments": 0,
            "attachment_bytes": 0,
            "note_chars": 0,
            "description_chars": 0,
            "authors": Counter(),
            "notes_by_thread": Counter(),
            "empty_journals": 0,
        }
        for number in numbers:
            params = {"include": "attachments,journals"}
            issue = self.redmine.api("GET", f"/issues/{number}.json", params=params)["issue"]
            found["authors"][issue["author"]["name"]] += 1
            found["description_chars"] += len(issue.get("description") or "")
            found["attachments"] += len(issue.get("attachments", []))
            found["attachment_bytes"] += sum(a["filesize"] for a in issue.get("attachments", []))
            for journal in issue.get("journals", []):
                if journal.get("notes"):
                    found["notes"] += 1
                    found["note_chars"] += len(journal["notes"])
                    found["notes_by_thread"][_thread_subject(issue["subject"])] += 1
                else:
                    found["empty_journals"] += 1
        return found

    # -- mail ----------------------------------------------------------------------------

    def account(self, messages: list[bytes]) -> Account:
        account = self.dovecot.add_account()
        self.dovecot.append(account, [], folder="Processed")
        if messages:
            self.dovecot.append(account, messages)
        return account

    def folder_sizes(self, account: Account) -> dict[str, int]:
        client = self.dovecot.imap(account)
        try:
            return {
                name: client.folder_status(name, [b"MESSAGES"])[b"MESSAGES"]
                for name in ("INBOX", "Processed")
            }
        finally:
            client.logout()

    # -- the importers -------------------------------------------------------------------

    def rake(self, account: Account, project: str) -> tuple[float, str]:
        """Redmine's importer as a process, against the rig's instance and database."""
        command = self.redmine.command(
            "rake",
            "redmine:email:receive_imap",
            "host=127.0.0.1",
            f"port={self.dovecot.ports.imap}",
            f"username={account.user}",
            f"password={account.password}",
            f"project={project}",
            "tracker=Bug",
            "unknown_user=accept",
            "no_permission_check=1",
            "move_on_success=Processed",
        )
        started = time.perf_counter()
        done = subprocess.run(
            command, cwd=REDMINE_HOME, capture_output=True, text=True, timeout=1800, check=False
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"rake failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return seconds, (done.stdout + done.stderr).strip()

    def config(self, account: Account, project: str, name: str, workers: int | None = None) -> Path:
        """A rules.yaml for one tracker-mail import: redmine adapter, one IMAP mailbox.

        ``workers`` (default: the bench's) becomes the mailbox's ``workers`` key when over 1;
        with 1 the key is left out, so the file also suits a tracker-mail without it.
        """
        workers = self.workers if workers is None else workers
        folder = self.work / name
        folder.mkdir()
        (folder / "redmine-key").write_text(self.redmine.admin_key)
        (folder / "mail-password").write_text(account.password)
        document = {
            "version": 1,
            "journal": str(folder / "journal.sqlite3"),
            "trackers": {
                "redmine": {
                    "adapter": "redmine",
                    "url": self.redmine.url,
                    "api_key": {"file": str(folder / "redmine-key")},
                    "timeout": 60,
                }
            },
            "mailboxes": {
                "bench": {
                    "protocol": "imap",
                    "host": "127.0.0.1",
                    "port": self.dovecot.ports.imap,
                    "security": "none",
                    "username": account.user,
                    "password": {"file": str(folder / "mail-password")},
                    "tracker": "redmine",
                    "unknown_user": "as_rule_owner",
                    "on_success": {"move": "Processed"},
                    "on_unprocessed": "leave",
                    **({"workers": workers} if workers > 1 else {}),
                    "rules": [
                        {
                            "name": "everything",
                            "then": [{"create_issue": {"project": project, "type": "Bug"}}],
                        }
                    ],
                }
            },
        }
        path = folder / "rules.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        return path

    def cli(self, config: Path) -> tuple[float, str]:
        started = time.perf_counter()
        done = subprocess.run(
            [str(CLI), "sync", "-c", str(config)],
            cwd=config.parent,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        seconds = time.perf_counter() - started
        output = (done.stdout + done.stderr).strip()
        if done.returncode != 0:
            raise RuntimeError(f"tracker-mail sync failed ({done.returncode}):\n{output[-3000:]}")
        return seconds, output

    def in_process(
        self, config: Path, profile: cProfile.Profile | None = None
    ) -> tuple[float, float, str, Waits]:
        """Wall seconds, this process's CPU seconds (every thread), the summary, the waits."""
        from tracker_mail_plugin.commands.sync import SyncOptions, sync
        from tracker_mail_plugin.config.loader import load_config

        with timed_waits() as waits:
            started, cpu_started = time.perf_counter(), time.process_time()
            if profile is not None:
                profile.enable()
            loaded = load_config(config)
            summaries, code = sync(loaded, ["bench"], SyncOptions())
            if profile is not None:
                profile.disable()
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
        line = "; ".join(s.line() for s in summaries)
        if code != 0:
            raise RuntimeError(f"in-process sync ended with {code}: {line}")
        return seconds, cpu, line, waits


def _thread_subject(subject: str) -> str:
    return re.sub(r"^(Re: )?(\[[^\]]*#\d+\] )?", "", subject)


# --- one run --------------------------------------------------------------------------


def run_one(bench: Bench, drafts: list[Draft], importer: str, round_no: int) -> dict[str, Any]:
    identifier = f"bench-{SHORT[importer]}-{round_no}"
    name = f"Bench {SHORT[importer].upper()} {round_no}"
    bench.make_project(identifier, name)
    base = bench.last_issue_id()
    messages = render(drafts, importer, base, name)
    account = bench.account(messages)
    mails_before, mailed_before = bench.sink.count, Counter(bench.sink.recipients)
    load_before = os.getloadavg()[0]
    print(f"  round {round_no}: {importer} -> {identifier} ...", file=sys.stderr, flush=True)
    waits, cpu = None, 0.0
    if importer == "redmine rake":
        seconds, output = bench.rake(account, identifier)
    elif importer == "tracker-mail CLI":
        seconds, output = bench.cli(bench.config(account, identifier, identifier))
    else:
        seconds, cpu, output, waits = bench.in_process(
            bench.config(account, identifier, identifier)
        )
    time.sleep(2)  # the server's notification jobs run after its answers
    result = {
        "importer": importer,
        "round": round_no,
        "project": identifier,
        "seconds": seconds,
        "output": output[-400:],
        "load": load_before,
        "mails": bench.sink.count - mails_before,
        "mailed": dict(bench.sink.recipients - mailed_before),
        "folders": bench.folder_sizes(account),
        "found": bench.read_back(identifier),
        "expected": expected(drafts, importer),
        "base": base,
    }
    if waits is not None:
        result |= {
            "cpu": cpu,
            "http": waits.http,
            "runtime": waits.runtime,
            "imap": waits.imap,
            "requests": dict(waits.requests),
            "request_seconds": dict(waits.request_seconds),
        }
    print(f"    {seconds:.1f} s: {output.splitlines()[-1] if output else ''}", file=sys.stderr)
    return result


def problems_of(result: dict[str, Any], count: int) -> list[str]:
    found, want = result["found"], result["expected"]
    where = f"{result['importer']} round {result['round']}"
    problems = [
        f"{where}: {key} {found[key]} != expected {want[key]}"
        for key in ("issues", "notes", "attachments")
        if found[key] != want[key]
    ]
    if found["first_id"] != result["base"] + 1:
        problems.append(
            f"{where}: first issue #{found['first_id']}, replies were numbered from "
            f"#{result['base'] + 1}"
        )
    if found["notes_by_thread"] != want["notes_by_thread"]:
        diff = (found["notes_by_thread"] - want["notes_by_thread"]) + (
            want["notes_by_thread"] - found["notes_by_thread"]
        )
        problems.append(f"{where}: notes on the wrong issues: {dict(diff)}")
    if result["folders"] != {"INBOX": 0, "Processed": count}:
        problems.append(f"{where}: mailbox afterwards {result['folders']}")
    return problems


def fixed_costs(bench: Bench) -> dict[str, float]:
    """Rake and the CLI over an empty mailbox: boot time, paid once per run of each."""
    bench.make_project("bench-empty", "Bench Empty")
    rake_s = min(bench.rake(bench.account([]), "bench-empty")[0] for _ in range(2))
    cli_s = min(
        bench.cli(bench.config(bench.account([]), "bench-empty", f"empty-{i}"))[0] for i in range(2)
    )
    return {"rake": rake_s, "cli": cli_s}


PROFILE_DUMP = os.environ.get("VS_REDMINE_PROFILE_DUMP")  # a path: keep the whole profile


def profile_run(bench: Bench, drafts: list[Draft]) -> dict[str, Any]:
    """One more in-process import under cProfile (not in the timing table).

    Always with ``workers`` 1: cProfile sees only the thread that enabled it.
    """
    identifier = "bench-profile"
    bench.make_project(identifier, "Bench Profile")
    account = bench.account(
        render(drafts, "tracker-mail in-process", bench.last_issue_id(), "Bench Profile")
    )
    # Timed by CPU, not the wall: waiting on a socket costs tracker-mail nothing, and the
    # question is where its own CPU time goes.
    profile = cProfile.Profile(time.process_time)
    config = bench.config(account, identifier, identifier, workers=1)
    seconds, cpu, line, waits = bench.in_process(config, profile)
    stats = pstats.Stats(profile)
    if PROFILE_DUMP:
        stats.dump_stats(PROFILE_DUMP)
    ours = []
    for (filename, line_no, function), (_, calls, own, cumulative, _) in stats.stats.items():
        if "tracker_mail_plugin" in filename:
            short = filename.split("/tracker_mail_plugin", 1)[1]
            ours.append(
                (cumulative, own, calls, f"tracker_mail_plugin{short}:{line_no}({function})")
            )
    ours.sort(reverse=True)
    everything = sorted(
        (
            (own, calls, f"{Path(f).name}:{n}({fn})")
            for (f, n, fn), (_, calls, own, _, _) in stats.stats.items()
        ),
        reverse=True,
    )
    return {
        "seconds": seconds,
        "cpu": cpu,
        "http": waits.http,
        "imap": waits.imap,
        "line": line,
        "ours": ours[:15],
        "own_time": everything[:15],
    }


# --- report ----------------------------------------------------------------------------


def machine(redmine: Redmine, workers: int) -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
    os_name = next(
        (
            line.split("=", 1)[1].strip('"')
            for line in Path("/etc/os-release").read_text().splitlines()
            if line.startswith("PRETTY_NAME=")
        ),
        platform.platform(),
    )

    def version(*command: str) -> str:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        return (done.stdout or done.stderr).strip().splitlines()[0]

    if redmine.postgres is not None:  # "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
        database = version(str(PG_BIN / "postgres"), "--version")
        database = database.replace("postgres (PostgreSQL)", "PostgreSQL", 1)
    else:
        database = "SQLite " + version("dpkg-query", "-W", "-f=${Version}", "libsqlite3-0")
    if redmine.puma:
        server = f"{version('puma', '--version')}, {redmine.workers} worker(s) x 1 thread"
    else:
        server = f"{version('thin', '--version')}, one request at a time"
    return [
        f"date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"CPU: {cpu}, {os.cpu_count()} cores (nproc)",
        f"RAM: {mem_kib / 1024 / 1024:.0f} GiB",
        f"OS: {os_name}",
        f"Python {platform.python_version()}; {version('ruby', '--version')}",
        f"Redmine {redmine.setup['version']} (Debian); Dovecot "
        f"{version('/usr/sbin/dovecot', '--version')}",
        f"Redmine server: {server}; settings cache "
        f"{'on (as in production)' if redmine.settings_cache else 'off (test rig)'}",
        f"Redmine database: {database}; rake uses the same instance and database",
        f"tracker-mail: workers {workers}"
        + (" (mailbox key `workers`)" if workers > 1 else " (no `workers` key: one at a time)"),
    ]


def table(head: tuple[str, ...], rows: list[tuple[str, ...]], markdown: bool) -> list[str]:
    if markdown:
        return [
            "| " + " | ".join(head) + " |",
            "|" + "---|" * len(head),
            *("| " + " | ".join(row) + " |" for row in rows),
        ]
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]
    line = "  ".join
    return [
        line(h.ljust(w) for h, w in zip(head, widths, strict=True)),
        line("-" * w for w in widths),
        *(line(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows),
    ]


def report(results: dict[str, Any], markdown: bool) -> str:
    runs, count, workers = results["runs"], results["messages"], results["workers"]
    out = [
        f"# {count} messages, seed {results['seed']}, {results['rounds']} round(s); "
        f"Redmine {results['server']} with {results['redmine_workers']} worker(s), "
        f"tracker-mail workers {workers}",
        "",
    ]
    head = (
        "round",
        "importer",
        "wall s",
        "msg/s",
        "issues",
        "notes",
        "attachments",
        "att. MB",
        "text chars",
        "notifications",
        "load",
    )
    rows = []
    for r in runs:
        f = r["found"]
        rows.append(
            (
                str(r["round"]),
                r["importer"],
                f"{r['seconds']:.1f}",
                f"{count / r['seconds']:.1f}",
                str(f["issues"]),
                str(f["notes"]),
                str(f["attachments"]),
                f"{f['attachment_bytes'] / 1e6:.1f}",
                f"{f['description_chars'] + f['note_chars']:,}",
                str(r["mails"]),
                f"{r['load']:.2f}",
            )
        )
    out += [*table(head, rows, markdown), ""]
    out += [
        f"notifications Redmine mailed during round {r['round']} {r['importer']}: {r['mailed']}"
        for r in runs
        if r["mailed"]
    ]
    out.append("")

    def best(importer: str) -> float:
        return min(r["seconds"] for r in runs if r["importer"] == importer)

    def middle(importer: str) -> float:
        return statistics.median(r["seconds"] for r in runs if r["importer"] == importer)

    rake, cli, inproc = (best(i) for i in IMPORTERS)
    rake_median, cli_median, _ = (middle(i) for i in IMPORTERS)
    slowest_tm = max(r["seconds"] for r in runs if r["importer"] != "redmine rake")
    fixed = results["fixed"]
    summary = [
        ("redmine rake, best wall", f"{rake:.1f} s"),
        ("tracker-mail CLI, best wall", f"{cli:.1f} s"),
        ("tracker-mail in-process, best wall", f"{inproc:.1f} s"),
        ("ratio rake / CLI (>1: tracker-mail faster)", f"{rake / cli:.2f}x"),
        ("ratio of the medians, rake / CLI", f"{rake_median / cli_median:.2f}x"),
        ("fastest rake / slowest tracker-mail run", f"{rake / slowest_tm:.2f}x"),
        ("rake over an empty mailbox (Rails boot)", f"{fixed['rake']:.1f} s"),
        ("CLI over an empty mailbox (start, imports)", f"{fixed['cli']:.1f} s"),
        ("ratio without the fixed costs", f"{(rake - fixed['rake']) / (cli - fixed['cli']):.2f}x"),
    ]
    out += [*table(("", "value"), summary, markdown), ""]
    head = (
        "round",
        "in-process wall s",
        "waiting on Redmine (HTTP) s",
        "HTTP requests",
        "waiting on Dovecot (IMAP) s",
        "own CPU s",
        "own CPU / HTTP wait",
        "Redmine X-Runtime s",
        "own CPU / X-Runtime",
    )
    if workers == 1:  # wall-based figures: meaningless once waits overlap
        head += ("own (wall - waits) s", "own / HTTP wait", "(wall - HTTP) / HTTP")
    rows = []
    for r in runs:
        if "http" not in r:
            continue
        row: tuple[str, ...] = (
            str(r["round"]),
            f"{r['seconds']:.1f}",
            f"{r['http']:.1f}",
            str(sum(r["requests"].values())),
            f"{r['imap']:.2f}",
            f"{r['cpu']:.2f}",
            f"{100 * r['cpu'] / r['http']:.1f}%",
            f"{r['runtime']:.1f}",
            f"{100 * r['cpu'] / r['runtime']:.1f}%" if r["runtime"] else "-",
        )
        if workers == 1:
            own = r["seconds"] - r["http"] - r["imap"]
            row += (
                f"{own:.2f}",
                f"{100 * own / r['http']:.1f}%",
                f"{100 * (r['seconds'] - r['http']) / r['http']:.1f}%",
            )
        rows.append(row)
    out += [*table(head, rows, markdown), ""]
    out.append(
        "HTTP and IMAP waits are summed over tracker-mail's threads: the HTTP wait is Redmine's "
        "busy time as tracker-mail sees it"
        + (
            " (with several workers it can exceed the wall time, and it includes time queued "
            "in Redmine when tracker-mail has more threads than Redmine has workers)"
            if workers > 1
            else ""
        )
        + ". Own CPU is tracker-mail's CPU time during the import (time.process_time(), every "
        "thread of this process); own CPU / HTTP wait is the overhead figure. X-Runtime is "
        "the time Rails itself reports for each request, summed: Redmine's work without "
        "queueing or transport, the stricter denominator."
        + (
            " The last three columns are the older wall-based figures: wall minus both waits "
            "(time neither computing nor waiting on a socket counts as tracker-mail's), and "
            "with IMAP counted as tracker-mail's too."
            if workers == 1
            else ""
        )
    )
    out.append("")
    last = next(r for r in reversed(runs) if "requests" in r)
    head = (
        f"HTTP requests, in-process round {last['round']} (ids as N)",
        "count",
        "per message",
        "waiting s",
        "ms each",
    )
    spent = last["request_seconds"]
    rows = [
        (k, str(v), f"{v / count:.2f}", f"{spent[k]:.1f}", f"{1000 * spent[k] / v:.0f}")
        for k, v in Counter(last["requests"]).most_common()
    ]
    out += [*table(head, rows, markdown), ""]
    if results.get("profile"):
        p = results["profile"]
        out.append(
            f"cProfile (timed by CPU: seconds below are tracker-mail's CPU, not waits) of one "
            f"more in-process import with workers 1 (cProfile sees one thread; slower under "
            f"the profiler): {p['seconds']:.1f} s wall, HTTP {p['http']:.1f} s, "
            f"IMAP {p['imap']:.2f} s, own CPU {p['cpu']:.2f} s"
        )
        out.append("")
        rows = [(f"{c:.2f}", f"{o:.2f}", str(n), name) for c, o, n, name in p["ours"]]
        head = ("cumulative CPU s", "own CPU s", "calls", "function (top 15 cumulative)")
        out += [*table(head, rows, markdown), ""]
        rows = [(f"{o:.2f}", str(n), name) for o, n, name in p["own_time"]]
        head = ("own CPU s", "calls", "function (top 15 own CPU time, all code)")
        out += [*table(head, rows, markdown), ""]
    out.append(
        "checks: "
        + ("all counts as expected" if not results["problems"] else "; ".join(results["problems"]))
    )
    out += ["", *("- " + line for line in results["machine"])]
    return "\n".join(out)


# --- main -----------------------------------------------------------------------------


def measure(args: argparse.Namespace) -> dict[str, Any]:
    drafts = generate(args.messages, args.seed)
    shapes = Counter(d.kind for d in drafts)
    forms = Counter(d.form for d in drafts)
    with_files = sum(bool(d.attachments) for d in drafts)
    raw_total = sum(len(d.raw) for d in drafts)
    print(
        f"corpus: {dict(shapes)}, {dict(forms)}, {with_files} with attachments, "
        f"{raw_total / 1e6:.1f} MB",
        file=sys.stderr,
    )
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    with ExitStack() as stack:
        stack.callback(controller.stop)
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vs-redmine-")))
        print("starting Dovecot and Redmine ...", file=sys.stderr, flush=True)
        dovecot = stack.enter_context(Dovecot())
        database_adapter, _ = SERVERS[args.server]
        redmine = stack.enter_context(
            Redmine(
                smtp_port=sink.port,
                database_adapter=database_adapter,
                workers=args.redmine_workers,
                settings_cache=True,  # nothing is restored: Redmine's cache, as in production
            )
        )
        print(
            f"Redmine: {redmine.server_name} on {database_adapter}, {redmine.timings}",
            file=sys.stderr,
        )
        bench = Bench(dovecot, redmine, sink, work, workers=args.workers)
        bench.quiet_admin()
        fixed = fixed_costs(bench)
        print(f"fixed costs: {fixed}", file=sys.stderr)
        runs = []
        for round_no in range(1, args.rounds + 1):
            order = IMPORTERS if round_no % 2 else tuple(reversed(IMPORTERS))
            runs += [run_one(bench, drafts, importer, round_no) for importer in order]
        problems = [p for r in runs for p in problems_of(r, args.messages)]
        results = {
            "messages": args.messages,
            "seed": args.seed,
            "rounds": args.rounds,
            "server": args.server,
            "redmine_workers": args.redmine_workers,
            "workers": args.workers,
            "runs": runs,
            "fixed": fixed,
            "problems": problems,
            "machine": machine(redmine, args.workers),
            "corpus": {
                "shapes": dict(shapes),
                "forms": dict(forms),
                "with_files": with_files,
                "bytes": raw_total,
            },
        }
        inproc = [r for r in runs if "http" in r]
        worst = max(r["cpu"] / r["http"] for r in inproc)  # the overhead figure
        slower = min(r["seconds"] for r in runs if r["importer"] == "tracker-mail CLI") > min(
            r["seconds"] for r in runs if r["importer"] == "redmine rake"
        )
        if args.profile or worst > 0.10 or slower:
            print("profiling one more in-process import ...", file=sys.stderr, flush=True)
            results["profile"] = profile_run(bench, drafts)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--markdown", action="store_true", help="also print Markdown tables")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="always profile one more in-process import (done anyway when "
        "tracker-mail is slower or its own CPU time exceeds 10%% of its HTTP wait)",
    )
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--server",
        choices=sorted(SERVERS),
        default="puma-postgres",
        help="how Redmine is served, for both importers: puma workers over PostgreSQL (as "
        "in production; the default) or the test suite's single thin over SQLite",
    )
    parser.add_argument(
        "--redmine-workers",
        type=int,
        help="puma worker processes (one thread each); default 3 (puma-postgres: one more "
        "than the cores of the machine this was tuned on), thin-sqlite has 1",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=4,
        help="tracker-mail's mailbox setting `workers` (messages handled at once); default 4 "
        "(one more than Redmine's workers), written to rules.yaml only when over 1",
    )
    args = parser.parse_args()
    database_adapter, puma = SERVERS[args.server]
    if args.redmine_workers is None:
        args.redmine_workers = 3 if puma else 1
    if args.redmine_workers < 1 or (not puma and args.redmine_workers != 1):
        parser.error(
            f"--redmine-workers {args.redmine_workers}: thin-sqlite has exactly 1, "
            "puma-postgres at least 1"
        )
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    reason = why_unavailable(database_adapter, args.redmine_workers)
    if reason:
        sys.exit(reason)
    started = time.monotonic()
    results = measure(args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    print(report(results, markdown=False))
    if args.markdown:
        print("\n" + report(results, markdown=True))
    print(f"\n(whole run: {time.monotonic() - started:.0f} s)", file=sys.stderr)
    if results["problems"]:
        sys.exit("counts not as expected:\n" + "\n".join(results["problems"]))


if __name__ == "__main__":
    main()
