"""A private PostgreSQL 15 cluster (Debian's package) on 127.0.0.1, for Redmine on PostgreSQL.

The system's clusters and the ``postgresql`` service are never used. Each instance is a
fresh cluster in a temporary directory owned by ``postgres``: ``initdb`` (trust
authentication, superuser ``postgres``, UTF-8, no locale), then ``postgres`` itself on a free
port, listening on 127.0.0.1 only, with its Unix socket in the same directory, run as
``postgres`` (it refuses root) so the PID held is the server's own. Ready means
``pg_isready`` answers; stopped with SIGINT (PostgreSQL's fast shutdown: open sessions are
ended); the directory is removed at exit.

Clients connect over TCP as ``postgres`` without a password (trust), from any local user:
Redmine as www-data, :meth:`Postgres.query` as whoever runs the tests. The tests of the
journal in PostgreSQL use it (the ``postgres`` fixture in tests/conftest.py), and so does the
benchmark ``benchmarks/vs_redmine.py --server puma-postgres``; the test suite's Redmine
stays on SQLite.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.servers.dovecot import free_ports
from tests.servers.lifecycle import Lifecycle, PortTaken

INSTALL_HINT = "sudo .ci/install-servers postgresql"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
RUN_AS = "postgres"
SUPERUSER = "postgres"
READY_TIMEOUT = 90.0  # only a failing start waits this long
STOP_TIMEOUT = 15.0
FIELD_SEPARATOR = "\x1f"  # between the columns psql prints (never in our values)


def postgres_installed() -> bool:
    """Whether Debian's PostgreSQL 15 server and client programs are installed."""
    server = all((PG_BIN / name).is_file() for name in ("initdb", "postgres", "pg_isready"))
    return server and (PG_BIN / "psql").is_file() and _user_exists(RUN_AS)


def why_unavailable() -> str | None:
    """Why this machine cannot run a private PostgreSQL, or None when it can."""
    if not postgres_installed():
        return f"PostgreSQL 15 is not installed; run: {INSTALL_HINT}"
    if os.geteuid() != 0:
        return "a private PostgreSQL runs as the postgres user and so needs root"
    return None


class Postgres(Lifecycle):
    """One private PostgreSQL cluster; use as a context manager or call start/stop.

    Attributes:
        host, port: where it listens (TCP, 127.0.0.1 only).
        root: its temporary directory (``data/`` is the cluster, ``postgres.log`` its log).
    """

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = free_ports(1)[0]
        self.root = Path(tempfile.mkdtemp(prefix="tracker-mail-postgres-", dir="/tmp"))
        self.data = self.root / "data"
        self._process: subprocess.Popen[bytes] | None = None

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def start(self) -> None:
        """Make the cluster, start the server and wait until it accepts connections."""
        shutil.chown(self.root, RUN_AS, RUN_AS)
        self.root.chmod(0o755)
        done = subprocess.run(
            self._as_postgres(
                str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust",
                "-U", SUPERUSER, "-E", "UTF8", "--no-locale",
            ),
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(
                f"initdb failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
            )
        for attempt in range(3):  # the free port may be taken meanwhile: pick another
            with self.log_path.open("ab") as output:
                logged = output.tell()
                self._process = subprocess.Popen(
                    self._as_postgres(
                        str(PG_BIN / "postgres"), "-D", str(self.data), "-p", str(self.port),
                        "-k", str(self.root), "-c", f"listen_addresses={self.host}",
                    ),
                    stdout=output, stderr=subprocess.STDOUT,
                )  # fmt: skip
            try:
                self._wait_ready(logged)
                return
            except PortTaken:
                if attempt == 2:
                    raise
                self.port = free_ports(1)[0]

    def stop(self) -> None:
        """Fast shutdown (SIGINT); after STOP_TIMEOUT an immediate one, then a kill."""
        if self._process is None or self._process.poll() is not None:
            return
        for signum in (signal.SIGINT, signal.SIGQUIT, signal.SIGKILL):
            self._process.send_signal(signum)
            try:
                self._process.wait(timeout=STOP_TIMEOUT)
                return
            except subprocess.TimeoutExpired:
                continue

    @property
    def log_path(self) -> Path:
        """The server's log (its standard output and error)."""
        return self.root / "postgres.log"

    def log(self) -> str:
        """The end of the server's log."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-4000:]

    def create_database(self, name: str) -> None:
        """``CREATE DATABASE name`` (UTF-8, owned by the superuser)."""
        self.query(f'CREATE DATABASE "{name}"', database="postgres")

    def query(self, sql: str, database: str = "postgres") -> list[list[str]]:
        """Run ``sql`` with psql and return the rows as lists of text (NULL is "")."""
        done = subprocess.run(
            [
                str(PG_BIN / "psql"), "-X", "-q", "-A", "-t", "-F", FIELD_SEPARATOR,
                "-v", "ON_ERROR_STOP=1", "-h", self.host, "-p", str(self.port),
                "-U", SUPERUSER, "-d", database, "-c", sql,
            ],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"psql failed ({done.returncode}) on {sql!r}:\n{done.stderr}")
        return [line.split(FIELD_SEPARATOR) for line in done.stdout.splitlines() if line]

    # -- internals -------------------------------------------------------------------------

    def _as_postgres(self, *argv: str) -> list[str]:
        return ["setpriv", f"--reuid={RUN_AS}", f"--regid={RUN_AS}", "--init-groups", *argv]

    def _wait_ready(self, logged: int) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                this_start = self.log_path.read_bytes()[logged:]
                error = PortTaken if b"Address already in use" in this_start else RuntimeError
                raise error(
                    f"PostgreSQL exited at start ({self._process.returncode}); "
                    f"end of {self.log_path}:\n{self.log()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"PostgreSQL did not accept connections within {READY_TIMEOUT}s; "
                    f"end of {self.log_path}:\n{self.log()}"
                )
            ready = subprocess.run(
                [str(PG_BIN / "pg_isready"), "-q", "-h", self.host, "-p", str(self.port)],
                capture_output=True,
                timeout=10,
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
