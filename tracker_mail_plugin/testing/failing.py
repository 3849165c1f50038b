"""Broken trackers on demand: the failures every adapter must translate, and a local server.

``AdapterContract`` asks each adapter's tests to produce these failures. An adapter tested
with ``responses`` registers a 500/401 answer or a ``ConnectTimeout``; one tested against a
real server can point its client at :func:`failing_server` instead, a plain HTTP server on
127.0.0.1 that answers every request with the failure, and at :func:`answer_lost_proxy` for
a write that reaches the tracker but whose answer never comes back.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class TrackerFailure(StrEnum):
    """How a tracker fails, and the error an adapter must turn it into.

    ``server_error`` (HTTP 500): RetryLater for reads; UnknownOutcome for writes, since the
    write may have been committed before the server failed. ``timeout`` (no answer in
    time): RetryLater (usually Unreachable) for reads; UnknownOutcome for writes.
    ``unauthorized`` (HTTP 401): ConfigurationError, since only a person can fix credentials.
    """

    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    UNAUTHORIZED = "unauthorized"


_ANSWERS = {
    TrackerFailure.SERVER_ERROR: (500, {"errorMessages": ["Internal server error"]}),
    TrackerFailure.UNAUTHORIZED: (401, {"errorMessages": ["You are not authenticated"]}),
}


def _handler(failure: TrackerFailure, released: threading.Event) -> type[BaseHTTPRequestHandler]:
    class Failing(BaseHTTPRequestHandler):
        def answer(self) -> None:
            if failure == TrackerFailure.TIMEOUT:
                released.wait()  # hold the connection until the test is over
                return
            status, body = _ANSWERS[failure]
            data = json.dumps(body).encode()
            self.send_response(status)
            if status == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="tracker"')
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = answer  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output clean."""

    return Failing


@contextmanager
def failing_server(failure: TrackerFailure) -> Iterator[str]:
    """Serve ``failure`` to every request on 127.0.0.1; yields the base URL.

    With ``timeout`` the server accepts and then never answers: give the adapter under test
    a short timeout.
    """
    released = threading.Event()
    with _serving(_handler(failure, released)) as url:
        try:
            yield url
        finally:
            released.set()


@contextmanager
def answer_lost_proxy(
    upstream: str, lose: Collection[str] = ("POST", "PUT", "PATCH", "DELETE")
) -> Iterator[str]:
    """Relay requests to the plain-HTTP ``upstream``, but drop the answers of ``lose`` methods.

    A request of a ``lose`` method is forwarded and answered by ``upstream`` (so the tracker
    does the write); then the proxy closes the client's connection without a word, as a
    network that failed at the worst moment would. Other requests are relayed both ways.
    Bodies must come with a Content-Length (as ``requests`` sends them). Yields the proxy's
    base URL on 127.0.0.1, to configure the adapter under test with.
    """
    target = urlsplit(upstream)
    if target.scheme != "http" or target.hostname is None:
        raise ValueError(f"answer_lost_proxy relays to a plain http:// URL, not {upstream!r}")
    with _serving(_relay(target.hostname, target.port or 80, frozenset(lose))) as url:
        yield url + target.path.rstrip("/")


def _relay(host: str, port: int, lose: frozenset[str]) -> type[BaseHTTPRequestHandler]:
    class Relay(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            upstream = http.client.HTTPConnection(host, port, timeout=60)
            try:
                upstream.request(self.command, self.path, body, headers)
                answer = upstream.getresponse()
                data = answer.read()
            finally:
                upstream.close()
            self.close_connection = True
            if self.command in lose:
                return  # the write is done; its answer goes nowhere
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = relay  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output clean."""

    return Relay


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
