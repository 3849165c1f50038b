"""Small helpers shared by the source tests: test messages, hashes, another CA."""

from __future__ import annotations

import hashlib
import re
import subprocess
import time
from pathlib import Path

from tests.mailfactory import raw_mail
from tests.servers.dovecot import Account, Dovecot


def message(n: int, body: bytes | str = "Hello\r\n", **headers: str) -> bytes:
    """A distinct CRLF message (its own Subject and Message-ID)."""
    fields = {"Subject": f"Message {n}", "Message-ID": f"<msg-{n}@example.com>"} | headers
    return raw_mail(fields, body)


def sha(raw: bytes) -> str:
    """The sha256 of ``raw``, for comparing bytes that went in and came out."""
    return hashlib.sha256(raw).hexdigest()


def other_ca(directory: Path) -> Path:
    """A self-signed CA certificate that did NOT sign the test server's certificate."""
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=unrelated-CA", "-keyout", str(directory / "other.key"),
            "-out", str(directory / "other.pem"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return directory / "other.pem"


def logged_sizes(
    server: Dovecot, account: Account, protocol: str, counter: str, sessions: int = 1
) -> list[int]:
    """A byte counter from the account's logout lines in Dovecot's log, one per session.

    ``counter`` is a regular expression with one group, e.g. ``out=(\\d+)`` (IMAP: bytes
    sent) or ``retr=\\d+/(\\d+)`` (POP3: bytes sent by RETR). Waits for ``sessions``
    lines: Dovecot's log process writes them a moment after the session ended, later still
    on a loaded machine, and an earlier session's line must not stand in for the one asked.
    """
    pattern = re.compile(rf"{protocol}\({re.escape(account.user)}\).*Disconnected.*{counter}")
    deadline = time.monotonic() + 60
    while True:
        found = [int(m.group(1)) for m in pattern.finditer(server.log())]
        if len(found) >= sessions or time.monotonic() > deadline:
            return found
        time.sleep(0.05)
