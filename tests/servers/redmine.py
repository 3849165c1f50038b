"""A private Redmine 5.0 (Debian's package, SQLite) on 127.0.0.1, for the adapter tests.

Follows TEST-RIG.md, with one addition: the system's ``default`` instance is never touched.
Debian's Redmine is multi-tenant (``REDMINE_INSTANCE`` selects
``/var/lib/redmine/<instance>/`` for config, database, files, logs and tmp), so each
session makes its own instance: a temporary directory owned by www-data, linked from
``/var/lib/redmine/tracker-mail-<random>``, holding a fresh SQLite database. One
``bin/rails runner`` migrates it, loads Redmine's default data (trackers Bug, Feature,
Support; roles; priorities; statuses) and adds what the tests need (:data:`SETUP`); then
``rackup`` (thin) serves it as www-data with a clean environment. Notifications go by SMTP
to a sink the caller gives (tests read the Message-IDs Redmine really sends).

Between tests the database is put back as it was after setup with SQLite's backup API,
into the live file while the server runs: 5 to 25 ms, where stopping, copying and
starting again costs about 4 s. Redmine keeps no state that the restore would make stale,
except its settings cache, which setup defeats by dating one setting in 2100 (the cache
is dropped whenever a setting is newer than the cache).
"""

from __future__ import annotations

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
from typing import Any

import requests

from tests.servers.dovecot import free_ports

INSTALL_HINT = "sudo .ci/install-servers redmine"
REDMINE_HOME = Path("/usr/share/redmine")
INSTANCES = Path("/var/lib/redmine")
INSTANCE_PREFIX = "tracker-mail-"
RUN_AS = "www-data"
READY_TIMEOUT = 90.0
SETUP_TIMEOUT = 180.0
ENVIRONMENT = {
    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "RAILS_ENV": "production",
}

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
# a stale value in the running server.
Setting.where(name: 'rest_api_enabled').update_all(updated_on: Time.utc(2100, 1, 1))

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
          reporter: reporter.id, manager: manager.id, own_only: own_only.id},
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


def why_unavailable() -> str | None:
    """Why this machine cannot run the Redmine tests, or None when it can."""
    if not redmine_installed():
        return f"Redmine is not installed (or its Gemfile.lock is missing); run: {INSTALL_HINT}"
    if os.geteuid() != 0:
        return "the Redmine tests run Redmine as www-data (TEST-RIG.md) and so need root"
    return None


@dataclass
class Redmine:
    """One private Redmine instance; use as a context manager.

    Attributes:
        smtp_port: where Redmine delivers its notifications (a sink the caller runs).
        url: ``http://127.0.0.1:<port>`` once started.
        setup: what :data:`SETUP` printed (API keys, ids of users, projects, roles).
        password: the password of every account, the administrator's included.
    """

    smtp_port: int
    url: str = ""
    setup: dict[str, Any] = field(default_factory=dict)
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16))

    def __post_init__(self) -> None:
        self.instance = f"{INSTANCE_PREFIX}{uuid.uuid4().hex[:12]}"
        self.root = Path(tempfile.mkdtemp(prefix="tracker-mail-redmine-", dir="/tmp"))
        self.database = self.root / "db" / "redmine.sqlite3"
        self.snapshot = self.root / "snapshot.sqlite3"
        self._process: subprocess.Popen[bytes] | None = None
        self.timings: dict[str, float] = {}

    def __enter__(self) -> Redmine:
        try:
            self.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
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
        self._write_instance()
        started = time.monotonic()
        self.setup = self._run_setup()
        self.timings["setup"] = time.monotonic() - started
        started = time.monotonic()
        for attempt in range(3):
            port = free_ports(1)[0]
            self.url = f"http://127.0.0.1:{port}"
            self._serve(port)
            try:
                self._wait_ready()
                break
            except _PortTaken:
                if attempt == 2:
                    raise
        self.timings["start"] = time.monotonic() - started
        _copy_database(self.database, self.snapshot)

    def restore(self) -> None:
        """Put the database back as it was after setup (the server keeps running)."""
        _copy_database(self.snapshot, self.database)

    def stop(self) -> None:
        """SIGTERM the server and wait for it (kill after 10 s)."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=10)
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
        with sqlite3.connect(self.database, timeout=30) as db:
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
        (self.root / "config" / "database.yml").write_text(
            f"production:\n  adapter: sqlite3\n  database: {self.database}\n  timeout: 30000\n"
        )
        (self.root / "config" / "secret_key.txt").write_text(secrets.token_hex(32))
        (self.root / "config" / "configuration.yml").write_text(
            "production:\n  email_delivery:\n    delivery_method: :smtp\n    smtp_settings:\n"
            f"      address: 127.0.0.1\n      port: {self.smtp_port}\n"
            "      enable_starttls_auto: false\n"
        )
        (self.root / "setup.rb").write_text(SETUP)
        entry = pwd.getpwnam(RUN_AS)
        self.root.chmod(0o755)
        for path in [self.root, *self.root.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
        (INSTANCES / self.instance).symlink_to(self.root)

    def _command(self, *argv: str) -> list[str]:
        environment = ENVIRONMENT | {"REDMINE_INSTANCE": self.instance}
        return [
            "setpriv", f"--reuid={RUN_AS}", f"--regid={RUN_AS}", "--init-groups",
            "env", "-i", *(f"{k}={v}" for k, v in environment.items()), *argv,
        ]  # fmt: skip

    def _run_setup(self) -> dict[str, Any]:
        command = self._command("env", f"TM_PASSWORD={self.password}", "TM_HOST=127.0.0.1")
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
        with (self.root / "server.log").open("ab") as output:
            # setpriv and env exec in place: the PID held is the server's own.
            self._process = subprocess.Popen(
                self._command(
                    "rackup", "-E", "production", "-s", "thin", "-o", "127.0.0.1",
                    "-p", str(port), "config.ru",
                ),
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
                error = _PortTaken if "no acceptor" in log or "in use" in log else RuntimeError
                raise error(f"Redmine exited at start:\n{log}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Redmine did not answer within {READY_TIMEOUT}s:\n{self.log()}")
            try:
                answer = requests.get(
                    f"{self.url}/users/current.json",
                    headers={"X-Redmine-API-Key": self.admin_key},
                    timeout=5,
                )
                if answer.status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)


class _PortTaken(RuntimeError):
    """The server could not bind the port picked for it."""


def _copy_database(source: Path, target: Path) -> None:
    """Copy ``source`` into ``target`` page by page, safely while others have it open."""
    with sqlite3.connect(source, timeout=30) as origin, sqlite3.connect(target, timeout=30) as dest:
        origin.backup(dest)
    origin.close()
    dest.close()


def _forget_stale_instances() -> None:
    """Remove instance links of earlier sessions whose directory is gone (killed runs)."""
    for link in INSTANCES.glob(f"{INSTANCE_PREFIX}*"):
        if link.is_symlink() and not link.exists():
            link.unlink(missing_ok=True)
