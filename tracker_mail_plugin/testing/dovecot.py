"""A private Dovecot (IMAP, IMAPS, POP3, POP3S) on 127.0.0.1, for the integration tests.

Accounts log in with their password (PLAIN, LOGIN) or with an OAuth2 token (XOAUTH2 or
OAUTHBEARER): a JWT that Dovecot's ``oauth2`` passdb validates locally against
:attr:`Dovecot.oauth2_key`.

Needs the Debian packages ``dovecot-imapd dovecot-pop3d`` and the ``openssl`` command; the
pytest fixture is in :mod:`tracker_mail_plugin.testing.fixtures`. Each instance has its own
config, base_dir, state_dir and log in a temporary directory, passwd-file users, free
ports, a self-signed CA plus a server certificate for ``IP:127.0.0.1, DNS:localhost`` (made
with the openssl CLI); it is ready when every listener has greeted and is stopped with
SIGTERM. The system's dovecot service is never touched.

When the suite runs as root, Dovecot runs as ``nobody`` (it refuses uid 0 for mail): the
temporary directory then lives directly under /tmp (pytest's per-user tmp dir is 0700) and
belongs to nobody.
"""

# The commands run are fixed (dovecot, doveadm, openssl, found on PATH or in sbin), with
# arguments this module builds: a test server, not a shell for input.
# ruff: noqa: S603, S607

from __future__ import annotations

import base64
import grp
import os
import pwd
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient  # type: ignore[import-untyped]  # ships no py.typed

from tracker_mail_plugin.testing.lifecycle import Lifecycle, PortTaken

INSTALL_HINT = (
    "apt-get install dovecot-imapd dovecot-pop3d (in tracker-mail's repository: "
    "sudo .ci/install-servers)"
)
READY_TIMEOUT = 60.0  # only a failing start waits this long; a loaded machine starts slowly
ACCOUNT_BATCH = 200  # users written before start: a test takes one, no reload needed

_CONFIG = """\
protocols = imap pop3
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = tracker-mail-test
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = 1
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
auth_failure_delay = 0
ssl = yes
ssl_cert = <{root}/server.pem
ssl_key = <{root}/server.key
mail_location = maildir:{root}/mail/%n/Maildir
pop3_uidl_format = %08Xu%08Xv
# OAuth2 (SASL XOAUTH2 and OAUTHBEARER): Dovecot validates the token itself, as a JWT
# signed with the key in {root}/keys (introspection_mode = local, 2.3.11+); no token
# server is asked.
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf
}}
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = {root}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = {imaps}
    ssl = yes
  }}
}}
service pop3-login {{
  chroot =
  inet_listener pop3 {{
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = {pop3s}
    ssl = yes
  }}
}}
# No growing delays after failed logins (wrong-password tests would slow every later login
# from 127.0.0.1 by up to 15 s); a test server has no brute force to slow down.
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


# The JWT's "sub" names the user; with no "azp" and no "kid" in the token, Dovecot looks
# the key up as shared/default/HS256/default in the dict, i.e. keys/default/HS256/default.
_OAUTH2_CONFIG = """\
introspection_mode = local
local_validation_key_dict = fs:posix:prefix={root}/keys/
username_attribute = sub
"""


@dataclass(frozen=True)
class Account:
    """A mailbox on the test server."""

    user: str
    password: str


@dataclass(frozen=True)
class Ports:
    """The four listeners of one instance."""

    imap: int
    imaps: int
    pop3: int
    pop3s: int


def dovecot_binary(name: str = "dovecot") -> str | None:
    """A Dovecot executable, or None when it is not installed (sbin may not be on PATH)."""
    return shutil.which(name, path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")


def free_ports(count: int) -> list[int]:
    """Ports nobody listens on right now (all reserved at once so they differ)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class Dovecot(Lifecycle):
    """One private Dovecot instance; use as a context manager or call start/stop."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="tracker-mail-dovecot-", dir="/tmp"))
        self.ports = Ports(*free_ports(4))
        self.ca_file = self.root / "ca.pem"
        self._process: subprocess.Popen[bytes] | None = None
        self._run_as = _run_as()
        self._unused: list[Account] = []
        # XOAUTH2 logins: an HS256 JWT with "sub" = the user, "exp" (and "iat"), signed
        # with this key, is accepted until it expires (tests/servers/tokens.py issues them).
        self.oauth2_key = secrets.token_bytes(32)

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def config_path(self) -> Path:
        """The instance's dovecot.conf."""
        return self.root / "dovecot.conf"

    def start(self) -> None:
        """Write users, certificates and config, start, and wait for all four greetings."""
        binary = dovecot_binary()
        if binary is None:
            raise RuntimeError(f"dovecot is not installed; run {INSTALL_HINT}")
        self._write_files()
        for attempt in range(3):
            with (self.root / "stderr.log").open("ab") as stderr:
                self._process = subprocess.Popen(
                    [*_drop_privileges(self._run_as), binary, "-F", "-c", str(self.config_path)],
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                )
            try:
                self._wait_ready()
                return
            except PortTaken:
                # Someone took a port between free_ports() and Dovecot's bind: new ports.
                if attempt == 2:
                    raise
                self.ports = Ports(*free_ports(4))
                self._write_config()

    def restart(self) -> None:
        """Stop, then start again on the same ports with every account and its mail.

        Clients see what a server restart does to them: their sessions end with BYE.
        """
        binary = dovecot_binary()
        if binary is None:
            raise RuntimeError(f"dovecot is not installed; run {INSTALL_HINT}")
        self.stop()
        with (self.root / "stderr.log").open("ab") as stderr:
            self._process = subprocess.Popen(
                [*_drop_privileges(self._run_as), binary, "-F", "-c", str(self.config_path)],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        self._wait_ready()

    def stop(self) -> None:
        """SIGTERM the master (Dovecot then ends every session) and wait for it."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def add_account(self) -> Account:
        """A fresh user with an empty mailbox (unique name, so tests never share mail)."""
        if not self._unused:
            self._write_accounts(ACCOUNT_BATCH)
            # Dovecot re-reads passwd-file at most once a second (and only if it changed).
            time.sleep(1.1)
        return self._unused.pop(0)

    def _write_accounts(self, count: int) -> None:
        uid, gid = self._run_as[1], self._run_as[2]
        batch = [Account(f"user-{uuid.uuid4().hex[:12]}", uuid.uuid4().hex) for _ in range(count)]
        with (self.root / "passwd").open("a") as fh:
            for account in batch:
                home = self.root / "mail" / account.user
                fh.write(f"{account.user}:{{PLAIN}}{account.password}:{uid}:{gid}::{home}\n")
        self._unused += batch

    def imap(self, account: Account) -> IMAPClient:
        """A logged-in plain IMAP client for seeding and inspecting (caller logs out)."""
        client = IMAPClient("127.0.0.1", self.ports.imap, ssl=False, timeout=10)
        client.login(account.user, account.password)
        return client

    def append(
        self,
        account: Account,
        messages: Sequence[bytes],
        folder: str = "INBOX",
        flags: Sequence[bytes] = (),
    ) -> list[int]:
        """APPEND ``messages`` (creating ``folder``); returns their UIDs in order."""
        client = self.imap(account)
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            return [_appended_uid(client.append(folder, raw, flags=flags)) for raw in messages]
        finally:
            client.logout()

    def kick(self, account: Account) -> None:
        """Disconnect every session of ``account`` from the server side (doveadm kick)."""
        subprocess.run(
            [
                dovecot_binary("doveadm") or "doveadm",
                "-c",
                str(self.config_path),
                "kick",
                account.user,
            ],
            check=True,
            capture_output=True,
            timeout=10,
        )

    def log(self) -> str:
        """Dovecot's log so far (for assertion messages)."""
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _write_files(self) -> None:
        (self.root / "mail").mkdir()
        self._write_accounts(ACCOUNT_BATCH)
        make_certificates(self.root)
        self._write_oauth2_key()
        self._write_config()
        if os.geteuid() == 0:
            _chown_tree(self.root, self._run_as[1], self._run_as[2])

    def _write_oauth2_key(self) -> None:
        keys = self.root / "keys" / "default" / "HS256"
        keys.mkdir(parents=True)
        # Dovecot reads HMAC keys from the dict base64-encoded.
        (keys / "default").write_text(base64.b64encode(self.oauth2_key).decode("ascii"))
        (self.root / "oauth2.conf").write_text(_OAUTH2_CONFIG.format(root=self.root))

    def _write_config(self) -> None:
        user, _, _, group = self._run_as
        self.config_path.write_text(
            _CONFIG.format(
                root=self.root,
                user=user,
                group=group,
                imap=self.ports.imap,
                imaps=self.ports.imaps,
                pop3=self.ports.pop3,
                pop3s=self.ports.pop3s,
            )
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        pending = {
            "imap": (self.ports.imap, False, b"* OK"),
            "imaps": (self.ports.imaps, True, b"* OK"),
            "pop3": (self.ports.pop3, False, b"+OK"),
            "pop3s": (self.ports.pop3s, True, b"+OK"),
        }
        while pending:
            if self._process is None or self._process.poll() is not None:
                stderr = (self.root / "stderr.log").read_text(errors="replace")
                error = (
                    PortTaken if "Address already in use" in stderr + self.log() else RuntimeError
                )
                raise error(f"dovecot exited at start:\n{stderr}\n{self.log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"dovecot did not greet on {sorted(pending)}:\n{self.log()}")
            for name, (port, tls, greeting) in list(pending.items()):
                if _greets(port, tls, greeting, self.ca_file):
                    del pending[name]
            if pending:
                time.sleep(0.05)


def _appended_uid(response: bytes) -> int:
    # Dovecot answers APPEND with "[APPENDUID <uidvalidity> <uid>] Append completed." (UIDPLUS).
    code = response.split(b"]", 1)[0]
    return int(code.split()[-1])


def _greets(port: int, tls: bool, greeting: bytes, ca_file: Path) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
            if tls:
                context = ssl.create_default_context(cafile=str(ca_file))
                with context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
                    return sock.recv(64).startswith(greeting)
            return raw.recv(64).startswith(greeting)
    except OSError:
        return False


def _run_as() -> tuple[str, int, int, str]:
    """User name, uid, gid and group name Dovecot runs as (nobody when we are root)."""
    entry = pwd.getpwnam("nobody") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    return entry.pw_name, entry.pw_uid, entry.pw_gid, grp.getgrgid(entry.pw_gid).gr_name


def _drop_privileges(run_as: tuple[str, int, int, str]) -> list[str]:
    if os.geteuid() != 0:
        return []
    # setpriv execs dovecot in place, so the PID we hold is Dovecot's master itself.
    return ["setpriv", f"--reuid={run_as[1]}", f"--regid={run_as[2]}", "--clear-groups"]


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    root.chmod(0o755)
    for path in [root, *root.rglob("*")]:
        os.chown(path, uid, gid)


def make_certificates(root: Path) -> None:
    """A CA and a server certificate it signs, valid for 127.0.0.1 and localhost."""
    _openssl(
        root,
        "req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=tracker-mail-test-CA",
        "-keyout ca.key -out ca.pem -addext basicConstraints=critical,CA:TRUE",
        "-addext keyUsage=critical,keyCertSign,cRLSign",
    )
    _openssl(
        root,
        "req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out server.csr",
    )
    (root / "server.ext").write_text(
        "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
        "basicConstraints = CA:FALSE\n"
        "extendedKeyUsage = serverAuth\n"
    )
    _openssl(
        root,
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2",
        "-out server.pem -extfile server.ext",
    )


def _openssl(root: Path, *args: str) -> None:
    subprocess.run(
        ["openssl", *" ".join(args).split()],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=60,
    )
