"""Redmine failing for some messages, then recovering: ``tracker-mail sync`` as a process.

An HTTP relay on 127.0.0.1 stands between tracker-mail and the real Redmine and spoils
chosen issue creations (``POST /issues.json``): it answers 500 or 503 itself, or passes the
request on (Redmine creates the issue) and then keeps the answer back past the adapter's
``timeout``. The run ends with exit 1 and says which messages will be retried; the next
run, with Redmine answering again, files each message exactly once.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import yaml

from tests.servers.redmine import Redmine
from tracker_mail_plugin.testing.dovecot import Dovecot

from .test_redmine_e2e import Rig, mail

pytestmark = pytest.mark.servers

# The adapter's timeout, seconds: a held answer outlasts it, and every other request must
# not (Redmine on a loaded machine can take seconds to create an issue).
TIMEOUT = 10
CREATE = ("POST", "/issues.json")


@dataclass
class Spoiler:
    """What the relay does to the N-th issue creation (1-based): ``500``, ``503``, ``hang``.

    ``hang`` passes the request to Redmine, then holds the answer until the test ends.
    """

    upstream: str
    url: str = ""  # the relay's own, for rules.yaml
    plan: dict[int, str] = field(default_factory=dict)
    creations: int = 0
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fault(self, method: str, path: str) -> str | None:
        if (method, path.split("?", 1)[0]) != CREATE:
            return None
        with self.lock:
            self.creations += 1
            return self.plan.get(self.creations)


def _handler(spoiler: Spoiler) -> type[BaseHTTPRequestHandler]:
    host, _, port = spoiler.upstream.removeprefix("http://").partition(":")

    class Relay(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            fault = spoiler.fault(self.command, self.path)
            self.close_connection = True
            if fault in ("500", "503"):
                self._answer(int(fault), b'{"errors": ["spoiled"]}', {"Retry-After": "1"})
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            upstream = http.client.HTTPConnection(host, int(port), timeout=60)
            try:
                upstream.request(self.command, self.path, body, headers)
                answer = upstream.getresponse()
                data = answer.read()
            finally:
                upstream.close()
            if fault == "hang":  # Redmine did it; the answer never comes in time
                spoiler.released.wait()
                return
            kept = {
                name: value
                for name, value in answer.getheaders()
                if name.lower() not in ("connection", "transfer-encoding", "content-length")
            }
            self._answer(answer.status, data, kept)

        def _answer(self, status: int, data: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = relay  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output clean."""

    return Relay


@pytest.fixture
def spoiler(redmine: Redmine) -> Iterator[Spoiler]:
    made = Spoiler(redmine.url.rstrip("/"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(made))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    made.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield made
    finally:
        made.released.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def rig(
    tmp_path: Any, dovecot: Dovecot, redmine: Redmine, redmine_mail: Any, spoiler: Spoiler
) -> Rig:
    made = Rig(tmp_path, dovecot, dovecot.add_account(), redmine, redmine_mail.port)
    made.configure()
    config = tmp_path / "rules.yaml"
    document = yaml.safe_load(config.read_text())
    tracker = document["trackers"]["redmine"]
    tracker["url"] = spoiler.url
    tracker["timeout"] = TIMEOUT
    config.write_text(yaml.safe_dump(document, sort_keys=False))
    return made


def subjects(rig: Rig) -> list[str]:
    return sorted(issue["subject"] for issue in rig.issues())


PRINTERS = ["Printer one", "Printer two", "Printer three", "Printer four"]


def test_500_503_and_an_answer_held_past_the_timeout_are_retried_and_filed_once(
    rig: Rig, spoiler: Spoiler
) -> None:
    rig.send(*(mail(subject) for subject in PRINTERS))
    spoiler.plan = {1: "500", 2: "503", 4: "hang"}

    first = rig.sync(expect=1)

    assert "failed 3" in first, first
    assert "Traceback" not in first
    assert first.count("tried again next run") == 3, first  # one line each
    # The held one was created by Redmine, we only never heard so.
    assert subjects(rig) == ["Printer four", "Printer three"]
    assert len(rig.folder("Processed")) == 1
    status = rig.run("status")
    assert status.count("failed, will retry") == 3, status

    spoiler.released.set()
    second = rig.sync()

    # The 500 and 503 ones are made now; the held one is found by its key, not made again.
    assert "created 2" in second, second
    assert subjects(rig) == sorted(PRINTERS)
    assert len(rig.issues()) == 4
    assert rig.folder("INBOX") == []
    assert len(rig.folder("Processed")) == 4
    assert "disposed 4" in rig.run("status")
