"""A private Redmine 5.0 (Debian's package) on 127.0.0.1, for the adapter tests and benchmarks.

Follows TEST-RIG.md, with one addition: the system's ``default`` instance is never touched.
Debian's Redmine is multi-tenant (``REDMINE_INSTANCE`` selects
``/var/lib/redmine/<instance>/`` for config, database, files, logs and tmp), so each
session makes its own instance: a temporary directory owned by www-data, linked from
``/var/lib/redmine/tracker-mail-<random>``. By default (what the tests use) it holds a fresh
SQLite database; one ``bin/rails runner`` migrates it, loads Redmine's default data
(trackers Bug, Feature, Support; roles; priorities; statuses) and adds what the tests need
(:data:`SETUP`); then ``rackup`` (thin, one request at a time) serves it as www-data with a
clean environment. Notifications go by SMTP to a sink the caller gives (tests read the
Message-IDs Redmine really sends).

Between tests the database is put back as it was after setup with SQLite's backup API,
into the live file while the server runs: 5 to 25 ms, where stopping, copying and
starting again costs about 4 s. Redmine keeps no state that the restore would make stale,
except its settings cache, which setup defeats by dating one setting in 2100 (the cache
is dropped whenever a setting is newer than the cache). That makes every request re-read
all settings; ``settings_cache=True`` leaves the cache as Redmine normally has it, for
runs that never restore (benchmarks).

Production-like serving, for the benchmark (``database_adapter="postgresql"`` and/or
``workers=N`` > 1): ``puma`` in cluster mode, N worker processes of one thread each, and
with ``postgresql`` a private PostgreSQL cluster (``tests/servers/postgres.py``) started
and stopped with the instance. (SQLite under several workers answers some requests with
HTTP 500, "database is locked".) puma is not in Redmine's Gemfile, and Debian's Gemfile
adds ``pg`` as soon as any instance's database.yml names postgresql, so the system
Gemfile.lock does not fit: such an instance gets its own Gemfile (``eval_gemfile`` of
Redmine's, plus puma), locked with ``bundle lock --local`` as www-data, and every command
of the instance (runner, migrate, puma, and rake through :meth:`Redmine.command`) runs with
``BUNDLE_GEMFILE`` naming it and ``BUNDLER_VERSION`` pinned to Debian's ruby-bundler. While
such an instance exists, a SQLite instance booting with the system lock makes bundler add
``pg`` to that lock (www-data owns it); harmless. On PostgreSQL the schema is migrated by
``bin/rails db:migrate`` in its own process before :data:`SETUP`: SETUP's in-process
migrate leaves the STI ``type`` column NULL there (users invisible, switch-user 412).
:meth:`Redmine.restore` is SQLite-only.
"""

from __future__ import annotations

import functools
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import requests

from tests.servers import postgres
from tests.servers.dovecot import free_ports
from tests.servers.lifecycle import Lifecycle, PortTaken
from tests.servers.postgres import Postgres

INSTALL_HINT = "sudo .ci/install-servers redmine"
PRODUCTION_INSTALL_HINT = "sudo .ci/install-servers redmine postgres"  # with ruby-pg and puma
REDMINE_HOME = Path("/usr/share/redmine")
INSTANCES = Path("/var/lib/redmine")
INSTANCE_PREFIX = "tracker-mail-"
RUN_AS = "www-data"
READY_TIMEOUT = 90.0
SETUP_TIMEOUT = 180.0
SETUP_ATTEMPTS = 3  # see Redmine._set_up
ENVIRONMENT = {
    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "RAILS_ENV": "production",
}
DatabaseAdapter = Literal["sqlite3", "postgresql"]
POSTGRES_DATABASE = "redmine"
RUBYGEMS_SPECS = (
    Path("/usr/share/rubygems-integration"),
    Path("/usr/lib/x86_64-linux-gnu/rubygems-integration"),
)
# The instance's own Gemfile when puma serves it (see the module docstring).
INSTANCE_GEMFILE = f"eval_gemfile '{REDMINE_HOME}/Gemfile'\ngem 'puma'\n"
PUMA_BOOTED = re.compile(r"Worker \d+ \(PID: \d+\) booted")

# Run by `bin/rails runner` once per session: schema, Redmine's default data, then the
# accounts, roles, projects and fields the tests use. Prints one JSON line at the end.
SETUP = r"""
require 'json'
ActiveRecord::Base.connection.migration_context.migrate
# The models were loaded (eager_load) before the tables existed: read the columns again.
ActiveRecord::Base.descendants.each(&:reset_column_information)
Redmine::DefaultData::Loader.load('en')
password = ENV.fetch('TM_PASSWORD')
Setting.rest_api_enabled = '1'
Setting.mail_from = 'redmine@redmine.test'
Setting.host_name = ENV.fetch('TM_HOST')
Setting.default_language = 'en'
Setting.text_formatting = 'textile'
Setting.notified_events = %w(issue_added issue_updated file_added)
Setting.attachment_max_size = 1024  # KB: lets a test see Redmine refuse a file
# Redmine drops its settings cache when a setting is newer than the cache: a setting dated
# in 2100 makes it re-read them on every request, so restoring the database never leaves
# a stale value in the running server. TM_SETTINGS_CACHE=1 keeps the normal cache.
unless ENV['TM_SETTINGS_CACHE'] == '1'
  Setting.where(name: 'rest_api_enabled').update_all(updated_on: Time.utc(2100, 1, 1))
end

admin = User.find_by_login('admin')
admin.password = admin.password_confirmation = password
admin.must_change_passwd = false
admin.mail = 'admin@redmine.test'
admin.save!

def person(login, first, last, mail, password, notify: 'only_my_events', status: User::STATUS_ACTIVE)
  user = User.new(firstname: first, lastname: last, mail: mail, language: 'en')
  user.login = login
  user.password = user.password_confirmation = password
  user.mail_notification = notify
  user.save!
  user.update_column(:status, status)
  user
end

def role(name, permissions, visibility: 'all', trackers: {})
  role = Role.new(name: name, issues_visibility: visibility, assignable: true)
  role.permissions = permissions
  unless trackers.empty?
    role.permissions_all_trackers = permissions.to_h { |p| [p.to_s, trackers.key?(p) ? '0' : '1'] }
    role.permissions_tracker_ids = trackers.transform_keys(&:to_s)
  end
  role.save!
  role
end

bug, feature, support = %w(Bug Feature Support).map { |name| Tracker.find_by_name!(name) }
reporter = Role.find_by_name!('Reporter')
manager = Role.find_by_name!('Manager')
mail_user = role('Mail user', reporter.permissions + %i(add_issue_watchers view_issue_watchers
  set_own_issues_private set_notes_private view_private_notes))
commenter = role('Commenter', %i(view_issues add_issue_notes))
bug_reporter = role('Bug reporter', %i(view_issues add_issues add_issue_notes),
  trackers: {add_issues: [bug.id]})
own_only = role('Own issues only', %i(view_issues add_issues add_issue_notes), visibility: 'own')
bug_notes = role('Bug notes only', %i(view_issues add_issue_notes),
  trackers: {add_issue_notes: [bug.id]})
bug_viewer = role('Sees bugs only', %i(view_issues add_issue_notes),
  trackers: {view_issues: [bug.id]})

users = {
  'alice' => person('alice', 'Alice', 'Example', 'alice@example.com', password),
  'xalice' => person('xalice', 'Xavier', 'Alicesson', 'xalice@example.com', password),
  'bob' => person('bob', 'Bob', 'Outsider', 'bob@example.com', password),
  'carol' => person('carol', 'Carol', 'Commenter', 'carol@example.com', password),
  'dave' => person('dave', 'Dave', 'Bugsonly', 'dave@example.com', password),
  'erin' => person('erin', 'Erin', 'Reporter', 'erin@example.com', password),
  'olga' => person('olga', 'Olga', 'Ownview', 'olga@example.com', password),
  'manny' => person('manny', 'Manny', 'Manager', 'manny@example.com', password, notify: 'all'),
  'nora' => person('nora', 'Nora', 'Bot', 'nora@example.com', password),
  'lou' => person('lou', 'Lou', 'Locked', 'lou@example.com', password, status: User::STATUS_LOCKED),
  'bea' => person('bea', 'Bea', 'Bugnotes', 'bea@example.com', password),
  'vic' => person('vic', 'Vic', 'Bugview', 'vic@example.com', password),
}

def project(identifier, name, trackers, modules, **options)
  project = Project.new(identifier: identifier, name: name, is_public: true, **options)
  project.trackers = trackers
  project.enabled_module_names = modules
  project.save!
  project
end

def member(project, user, role)
  Member.create!(project: project, principal: user, role_ids: [role.id])
end

all = [bug, feature, support]
contract = project('contract', 'Contract', all, %w(issue_tracking files))
desk = project('support', 'Support Desk', all, %w(issue_tracking files))
child = project('support-sub', 'Support Subdesk', all, %w(issue_tracking), parent_id: desk.id,
  inherit_members: true)
closed = project('closed', 'Closed Project', all, %w(issue_tracking files))
nofiles = project('nofiles', 'No Files', [bug, support], %w(issue_tracking))
%w(Hardware Software).each { |name| IssueCategory.create!(project: desk, name: name) }
[contract, desk, closed, nofiles].each { |p| member(p, users['alice'], mail_user) }
[contract, desk, nofiles].each { |p| member(p, users['manny'], manager) }
[contract, desk, nofiles].each { |p| member(p, users['nora'], manager) }
member(desk, users['carol'], commenter)
member(desk, users['dave'], bug_reporter)
member(desk, users['erin'], reporter)
member(desk, users['olga'], own_only)
member(desk, users['lou'], reporter)
member(desk, users['bea'], bug_notes)
member(desk, users['vic'], bug_viewer)
closed.close

order = IssueCustomField.create!(name: 'Order', field_format: 'string', is_for_all: true,
  trackers: all, visible: true, regexp: '^ORD-[0-9]+$')
key_field = IssueCustomField.create!(name: 'Mail key', field_format: 'string', is_for_all: true,
  trackers: all, is_filter: true, searchable: true, visible: true)

puts 'TRACKER-MAIL-SETUP ' + JSON.generate(
  version: Redmine::VERSION.to_s,
  admin_key: admin.api_key,
  nora_key: users['nora'].api_key,
  users: users.transform_values(&:id).merge('admin' => admin.id),
  projects: {contract: contract.id, support: desk.id, 'support-sub' => child.id,
             closed: closed.id, nofiles: nofiles.id},
  roles: {mail_user: mail_user.id, commenter: commenter.id, bug_reporter: bug_reporter.id,
          reporter: reporter.id, manager: manager.id, own_only: own_only.id,
          bug_notes: bug_notes.id, bug_viewer: bug_viewer.id},
  fields: {order: order.id, mail_key: key_field.id},
  trackers: {bug: bug.id, feature: feature.id, support: support.id},
)
"""


def redmine_installed() -> bool:
    """Whether Debian's Redmine, SQLite support and thin are installed and bootable."""
    return (
        (REDMINE_HOME / "config.ru").is_file()
        and (INSTANCES / "Gemfile.lock").is_file()
        and shutil.which("rackup") is not None
        and shutil.which("thin") is not None
    )


def production_installed() -> bool:
    """Whether PostgreSQL 15, Ruby's pg gem and puma are installed (Debian's packages)."""
    pg_gem = any(any(root.glob("*/specifications/pg-*.gemspec")) for root in RUBYGEMS_SPECS)
    return postgres.postgres_installed() and pg_gem and shutil.which("puma") is not None


def why_unavailable(database_adapter: DatabaseAdapter = "sqlite3", workers: int = 1) -> str | None:
    """Why this machine cannot run such a Redmine (the tests': the defaults), or None."""
    if not redmine_installed():
        return f"Redmine is not installed (or its Gemfile.lock is missing); run: {INSTALL_HINT}"
    if (database_adapter != "sqlite3" or workers > 1) and not production_installed():
        return (
            "Redmine on PostgreSQL under puma needs postgresql-15, ruby-pg and puma; "
            f"run: {PRODUCTION_INSTALL_HINT}"
        )
    if os.geteuid() != 0:
        return "the Redmine tests run Redmine as www-data (TEST-RIG.md) and so need root"
    return None


@dataclass
class Redmine(Lifecycle):
    """One private Redmine instance; use as a context manager.

    The defaults are the test suite's: SQLite, one thin, settings re-read on every request
    so that :meth:`restore` is safe.

    Attributes:
        smtp_port: where Redmine delivers its notifications (a sink the caller runs).
        database_adapter: ``sqlite3``, or ``postgresql`` (a private cluster, :attr:`postgres`).
        workers: 1 serves with thin, unless on PostgreSQL; more (or PostgreSQL) with puma in
            cluster mode, this many worker processes of one thread each.
        settings_cache: keep Redmine's settings cache (True) rather than make every request
            re-read the settings (False); with True, :meth:`restore` may leave settings
            changed since setup cached in the server.
        url: ``http://127.0.0.1:<port>`` once started.
        setup: what :data:`SETUP` printed (API keys, ids of users, projects, roles).
        password: the password of every account, the administrator's included.
        database: the SQLite file (SQLite only).
        postgres: the PostgreSQL cluster once started (PostgreSQL only).
    """

    smtp_port: int
    database_adapter: DatabaseAdapter = "sqlite3"
    workers: int = 1
    settings_cache: bool = False
    url: str = ""
    setup: dict[str, Any] = field(default_factory=dict)
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16))

    def __post_init__(self) -> None:
        if self.database_adapter not in get_args(DatabaseAdapter):
            raise ValueError(
                f"database_adapter {self.database_adapter!r} is not one of "
                f"{get_args(DatabaseAdapter)}"
            )
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, not {self.workers}")
        self.instance = f"{INSTANCE_PREFIX}{uuid.uuid4().hex[:12]}"
        self.root = Path(tempfile.mkdtemp(prefix="tracker-mail-redmine-", dir="/tmp"))
        self.database = self.root / "db" / "redmine.sqlite3"
        self.snapshot = self.root / "snapshot.sqlite3"
        self.postgres: Postgres | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.timings: dict[str, float] = {}

    @property
    def puma(self) -> bool:
        """Whether puma serves this instance (else thin); it then has its own Gemfile."""
        return self.workers > 1 or self.database_adapter != "sqlite3"

    @property
    def server_name(self) -> str:
        """What serves Redmine, in words: ``thin``, ``puma (2 workers x 1 thread)``."""
        if not self.puma:
            return "thin"
        return f"puma ({self.workers} worker{'s' if self.workers > 1 else ''} x 1 thread)"

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self.postgres is not None:
            self.postgres.__exit__()
        (INSTANCES / self.instance).unlink(missing_ok=True)
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def admin_key(self) -> str:
        """The administrator's API key."""
        return str(self.setup["admin_key"])

    @property
    def nora_key(self) -> str:
        """The API key of nora, a manager who is not an administrator."""
        return str(self.setup["nora_key"])

    def start(self) -> None:
        """Make the instance, set it up, serve it, wait until the API answers, snapshot."""
        _forget_stale_instances()
        started = time.monotonic()
        if self.database_adapter == "postgresql":
            self.postgres = Postgres()
            self.postgres.start()
            self.postgres.create_database(POSTGRES_DATABASE)
            self.timings["postgres"] = time.monotonic() - started
        self._write_instance()
        started = time.monotonic()
        if self.puma:
            self._lock_gems()
        if self.database_adapter == "postgresql":
            self._migrate()
        self.setup = self._set_up()
        self.timings["setup"] = time.monotonic() - started
        started = time.monotonic()
        for attempt in range(3):
            port = free_ports(1)[0]
            self.url = f"http://127.0.0.1:{port}"
            self._serve(port)
            try:
                self._wait_ready()
                break
            except PortTaken:
                if attempt == 2:
                    raise
        self.timings["start"] = time.monotonic() - started
        if self.database_adapter == "sqlite3":
            _copy_database(self.database, self.snapshot)

    def restore(self) -> None:
        """Put the database back as it was after setup (the server keeps running)."""
        if self.database_adapter != "sqlite3":
            raise NotImplementedError(
                f"restore() is for SQLite only; this Redmine uses {self.database_adapter} "
                "(start a new instance instead)"
            )
        _copy_database(self.snapshot, self.database)

    def answers(self, seconds: float = 10.0) -> bool:
        """Whether the API answers within ``seconds`` (a cheap look at the session user)."""
        try:
            answer = requests.get(
                f"{self.url}/users/current.json",
                headers={"X-Redmine-API-Key": self.admin_key},
                timeout=seconds,
            )
        except requests.RequestException:
            return False
        return answer.status_code == 200

    def revive(self) -> None:
        """Serve again on a new port after the server stopped answering.

        A single thin worker now and then stops answering after a test (seen after refused
        uploads): every later test would then time out. Restarting costs seconds, not the
        setup, since the database and the instance stay.
        """
        self.stop()
        for attempt in range(3):
            port = free_ports(1)[0]
            self.url = f"http://127.0.0.1:{port}"
            self._serve(port)
            try:
                self._wait_ready()
                return
            except PortTaken:
                if attempt == 2:
                    raise

    def stop(self) -> None:
        """SIGTERM the server and wait for it (kill after 10 s; puma: 30 s)."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=30 if self.puma else 10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def log(self) -> str:
        """The end of Redmine's production.log and of the server's output."""
        parts = []
        for path in (self.root / "log" / "production.log", self.root / "server.log"):
            if path.exists():
                parts.append(path.read_text(errors="replace")[-6000:])
        return "\n".join(parts)

    def api(self, method: str, path: str, key: str | None = None, **kwargs: Any) -> Any:
        """A REST call as the administrator (or ``key``), for tests to arrange and inspect."""
        headers = {"X-Redmine-API-Key": key or self.admin_key} | kwargs.pop("headers", {})
        response = requests.request(
            method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs
        )
        response.raise_for_status()
        return response.json() if response.content.strip() else None

    def set_text_formatting(self, name: str) -> None:
        """Change Redmine's text formatting (``textile``, ``markdown``, ``common_mark``, ``""``)."""
        if self.postgres is not None:
            if not re.fullmatch(r"[a-z_]*", name):
                raise ValueError(f"not a text formatting: {name!r}")
            self.postgres.query(
                f"UPDATE settings SET value = '{name}', updated_on = greatest(updated_on, "  # noqa: S608 (checked above)
                "now() at time zone 'utc') WHERE name = 'text_formatting'",
                database=POSTGRES_DATABASE,
            )
            return
        with sqlite3.connect(self.database, timeout=30) as db:
            if self.settings_cache:  # newer than the cache: the server reads it again
                db.execute(
                    "UPDATE settings SET updated_on = strftime('%Y-%m-%d %H:%M:%f', 'now') "
                    "WHERE name = 'text_formatting'"
                )
            db.execute("UPDATE settings SET value = ? WHERE name = 'text_formatting'", (name,))
        db.close()

    def browser(self, login: str = "admin") -> requests.Session:
        """A logged-in web session, to look at pages as people see them."""
        session = requests.Session()
        page = session.get(f"{self.url}/login", timeout=30).text
        token = re.search(r'name="authenticity_token" value="([^"]+)"', page)
        assert token is not None, "no login form"
        answer = session.post(
            f"{self.url}/login",
            data={"username": login, "password": self.password, "authenticity_token": token[1]},
            timeout=30,
        )
        assert "/login" not in answer.url, f"login as {login} failed"
        return session

    # -- internals -------------------------------------------------------------------------

    def _write_instance(self) -> None:
        for sub in ("config", "db", "files", "log", "tmp"):
            (self.root / sub).mkdir()
        (self.root / "config" / "database.yml").write_text(self._database_yml())
        (self.root / "config" / "secret_key.txt").write_text(secrets.token_hex(32))
        (self.root / "config" / "configuration.yml").write_text(
            "production:\n  email_delivery:\n    delivery_method: :smtp\n    smtp_settings:\n"
            f"      address: 127.0.0.1\n      port: {self.smtp_port}\n"
            "      enable_starttls_auto: false\n"
        )
        (self.root / "setup.rb").write_text(SETUP)
        if self.puma:
            (self.root / "Gemfile").write_text(INSTANCE_GEMFILE)
        entry = pwd.getpwnam(RUN_AS)
        self.root.chmod(0o755)
        for path in [self.root, *self.root.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
        (INSTANCES / self.instance).symlink_to(self.root)

    def _database_yml(self) -> str:
        if self.postgres is None:
            return (
                f"production:\n  adapter: sqlite3\n  database: {self.database}\n  timeout: 30000\n"
            )
        return (
            "production:\n  adapter: postgresql\n  encoding: utf8\n"
            f"  host: {self.postgres.host}\n  port: {self.postgres.port}\n"
            f"  database: {POSTGRES_DATABASE}\n  username: postgres\n  pool: 5\n"
        )

    def command(self, *argv: str) -> list[str]:
        """``argv`` as www-data in this instance's clean environment (run it from REDMINE_HOME)."""
        environment = ENVIRONMENT | {"REDMINE_INSTANCE": self.instance}
        if self.puma:
            environment |= {
                "BUNDLE_GEMFILE": str(self.root / "Gemfile"),
                "BUNDLER_VERSION": _bundler_pin(),
            }
        return [
            "setpriv", f"--reuid={RUN_AS}", f"--regid={RUN_AS}", "--init-groups",
            "env", "-i", *(f"{k}={v}" for k, v in environment.items()), *argv,
        ]  # fmt: skip

    def _run(self, step: str, command: list[str], cwd: Path = REDMINE_HOME) -> None:
        done = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=SETUP_TIMEOUT, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"Redmine {step} failed ({done.returncode}):\n{done.stderr[-3000:]}\n"
                f"{done.stdout[-2000:]}"
            )

    def _lock_gems(self) -> None:
        """Lock the instance's Gemfile with the gems Debian installed (no network)."""
        self._run("bundle lock", self.command("bundle", "lock", "--local"), cwd=self.root)

    def _migrate(self) -> None:
        """The schema, in a process of its own (see the module docstring).

        The schema dump that follows goes into the instance (www-data cannot write Redmine's).
        """
        schema = f"SCHEMA={self.root / 'db' / 'schema.rb'}"
        self._run("db:migrate", self.command("env", schema, "bin/rails", "db:migrate"))

    def _set_up(self) -> dict[str, Any]:
        """:data:`SETUP`, run once more on a fresh file when SQLite met its own lock.

        On a loaded machine Rails' in-process migration sometimes meets the SQLite lock held
        by a second connection of the same process: "database is locked" at once, since
        SQLite does not wait where waiting could deadlock. A new file and another go get
        past it; any other failure is raised at once.
        """
        for attempt in range(1, SETUP_ATTEMPTS + 1):
            try:
                return self._run_setup()
            except RuntimeError as exc:
                locked = "database is locked" in str(exc)
                if self.database_adapter != "sqlite3" or not locked or attempt == SETUP_ATTEMPTS:
                    raise
            for leftover in self.database.parent.glob(f"{self.database.name}*"):
                leftover.unlink()
        raise AssertionError("not reached: the last attempt returns or raises")

    def _run_setup(self) -> dict[str, Any]:
        command = self.command(
            "env",
            f"TM_PASSWORD={self.password}",
            "TM_HOST=127.0.0.1",
            f"TM_SETTINGS_CACHE={int(self.settings_cache)}",
        )
        done = subprocess.run(
            [*command, "bin/rails", "runner", str(self.root / "setup.rb")],
            cwd=REDMINE_HOME,
            capture_output=True,
            text=True,
            timeout=SETUP_TIMEOUT,
            check=False,
        )
        found = re.search(r"^TRACKER-MAIL-SETUP (.*)$", done.stdout, re.MULTILINE)
        if done.returncode != 0 or found is None:
            raise RuntimeError(
                f"Redmine setup failed ({done.returncode}):\n{done.stderr[:3000]}\n"
                f"{done.stdout[-2000:]}"
            )
        result: dict[str, Any] = json.loads(found[1])
        return result

    def _serve(self, port: int) -> None:
        if self.puma:
            argv = [
                "puma", "-e", "production", "-w", str(self.workers), "-t", "1:1",
                "-b", f"tcp://127.0.0.1:{port}", "config.ru",
            ]  # fmt: skip
        else:
            argv = [
                "rackup", "-E", "production", "-s", "thin", "-o", "127.0.0.1",
                "-p", str(port), "config.ru",
            ]  # fmt: skip
        with (self.root / "server.log").open("ab") as output:
            # setpriv and env exec in place: the PID held is the server's own (puma's master).
            self._process = subprocess.Popen(
                self.command(*argv),
                cwd=REDMINE_HOME,
                stdout=output,
                stderr=subprocess.STDOUT,
            )  # fmt: skip

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                log = self.log()
                error = PortTaken if "no acceptor" in log or "in use" in log else RuntimeError
                raise error(f"Redmine exited at start:\n{log}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Redmine did not answer within {READY_TIMEOUT}s:\n{self.log()}")
            if not self._workers_booted():  # puma's master accepts before its workers run
                time.sleep(0.1)
                continue
            try:
                answer = requests.get(
                    f"{self.url}/users/current.json",
                    headers={"X-Redmine-API-Key": self.admin_key},
                    timeout=5,
                )
                if answer.status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.1)

    def _workers_booted(self) -> bool:
        """Whether every puma worker has booted (thin: always; it binds once it is ready)."""
        if not self.puma:
            return True
        log = (self.root / "server.log").read_text(errors="replace")
        return len(PUMA_BOOTED.findall(log)) >= self.workers


def _copy_database(source: Path, target: Path) -> None:
    """Copy ``source`` into ``target`` page by page, safely while others have it open."""
    with sqlite3.connect(source, timeout=30) as origin, sqlite3.connect(target, timeout=30) as dest:
        origin.backup(dest)
    origin.close()
    dest.close()


@functools.cache
def _bundler_pin() -> str:
    """The version of Debian's ruby-bundler (TEST-RIG.md: Ruby's newer default bundler
    cannot see the gems Debian installed)."""
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "ruby-bundler"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    version = done.stdout.strip().split(":", 1)[-1].split("-", 1)[0]
    if done.returncode != 0 or not version:
        raise RuntimeError(f"ruby-bundler is not installed; run: {INSTALL_HINT}")
    return version


def _forget_stale_instances() -> None:
    """Remove instance links of earlier sessions whose directory is gone (killed runs)."""
    for link in INSTANCES.glob(f"{INSTANCE_PREFIX}*"):
        if link.is_symlink() and not link.exists():
            link.unlink(missing_ok=True)
