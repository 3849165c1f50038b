"""The HTTP endpoint of a long-running process: ``/metrics``, ``/healthz``, ``/readyz``.

It runs in a daemon thread and binds only the address it is given. ``/readyz`` asks a
callable, so the process decides what ready means (every mailbox connected or polling
within its interval, the tracker answering at its last try) and says which one is not.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

from prometheus_client.exposition import choose_encoder

from tracker_mail_plugin.errors import ConfigurationError
from tracker_mail_plugin.metrics.registry import Metrics

# True when ready; the mapping names each mailbox that is not, with the reason.
Readiness = Callable[[], tuple[bool, dict[str, str]]]

_TEXT = "text/plain; charset=utf-8"
_EXAMPLE = "use HOST:PORT, such as 127.0.0.1:9090, 0.0.0.0:9090 or [::1]:9090"


def parse_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) as (host, port); ConfigurationError if not."""
    host, colon, port_text = address.rpartition(":")
    if not colon or not host:
        raise ConfigurationError(f"metrics address {address!r} names no host and port; {_EXAMPLE}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if not _is_ipv6(host):
            raise ConfigurationError(f"metrics address {address!r}: {host!r} is not IPv6")
    elif ":" in host:
        raise ConfigurationError(
            f"metrics address {address!r}: write an IPv6 address in brackets; {_EXAMPLE}"
        )
    if not port_text.isascii() or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ConfigurationError(
            f"metrics address {address!r}: the port must be a number from 0 to 65535"
        )
    return host, int(port_text)


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


class MetricsServer:
    """A running endpoint; ``close()`` (or leaving the ``with`` block) stops it.

    Attributes:
        host: the address bound.
        port: the port bound (the one chosen by the system when 0 was asked).
    """

    def __init__(self, httpd: ThreadingHTTPServer):
        self._httpd = httpd
        self.host, self.port = str(httpd.server_address[0]), int(httpd.server_address[1])
        self._thread = threading.Thread(
            target=httpd.serve_forever, name="tracker-mail metrics", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://host:port`` (IPv6 in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def close(self) -> None:
        """Stop serving, wait for the thread, release the port."""
        self._httpd.shutdown()
        self._thread.join()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def serve(address: str, metrics: Metrics, readiness: Readiness) -> MetricsServer:
    """Serve ``metrics`` and the health checks on ``address`` in a daemon thread.

    Raises:
        ConfigurationError: the address is malformed, or cannot be bound (in use, not ours).
    """
    host, port = parse_address(address)
    handler = _handler(metrics, readiness)
    server_class = _IPv6Server if ":" in host else _IPv4Server
    try:
        httpd = server_class((host, port), handler)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot listen on {address}: {exc.strerror or exc}; choose another address or port"
        ) from None
    return MetricsServer(httpd)


class _IPv4Server(ThreadingHTTPServer):
    daemon_threads = True  # a scraper that hangs does not hold the process at exit


class _IPv6Server(_IPv4Server):
    address_family = socket.AF_INET6


def _handler(metrics: Metrics, readiness: Readiness) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 10  # a client that connects and says nothing does not hold a thread forever

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                # The format the scraper asks for (OpenMetrics or the classic text), as
                # prometheus_client's own server negotiates it.
                encode, content_type = choose_encoder(self.headers.get("Accept", ""))
                self._send(200, encode(metrics.registry), content_type)
            elif path == "/healthz":
                self._send(200, b"ok\n")
            elif path == "/readyz":
                self._ready()
            else:
                self._send(404, b"not found: try /metrics, /healthz or /readyz\n")

        def _ready(self) -> None:
            try:
                ready, why = readiness()
            except Exception as exc:  # noqa: BLE001 - a broken check must still answer the probe
                ready, why = False, {"readiness check": f"raised {type(exc).__name__}"}
            if ready:
                self._send(200, b"ready\n")
                return
            lines = "".join(f"{name}: {reason}\n" for name, reason in sorted(why.items()))
            self._send(503, f"not ready\n{lines}".encode())

        def _send(
            self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8"
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Silent: probes every few seconds would drown the log."""

    return Handler
