"""Broken trackers on demand: the failures every adapter must translate, and a local server.

``AdapterContract`` asks each adapter's tests to produce these failures. An adapter tested
with ``responses`` registers a 500/401 answer or a ``ConnectTimeout``; one tested against a
real server can point its client at :func:`failing_server` instead, a plain HTTP server on
127.0.0.1 that answers every request with the failure.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(failure, released))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        released.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
