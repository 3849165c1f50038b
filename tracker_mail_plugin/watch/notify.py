"""systemd's notify protocol (``Type=notify``, ``WatchdogSec``), written out by hand.

It is one datagram to ``$NOTIFY_SOCKET`` per message (sd_notify(3)); a library would add a
dependency for ten lines. Outside systemd (no ``$NOTIFY_SOCKET``) every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import time

logger = logging.getLogger("tracker_mail")


class Notifier:
    """Tells systemd we are ready, still alive, or stopping."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        # A leading "@" names a socket in the abstract namespace.
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._watchdog = _watchdog_seconds(env)
        self._last_ping = 0.0

    @property
    def watchdog_interval(self) -> float | None:
        """How often to ping: half of ``WatchdogSec``, as systemd advises; None: no watchdog."""
        return None if self._watchdog is None else self._watchdog / 2

    def ready(self) -> None:
        """The process is up and has looked at every mailbox once."""
        self._send("READY=1")

    def status(self, text: str) -> None:
        """A one-line status ``systemctl status`` shows."""
        self._send(f"STATUS={text}")

    def stopping(self) -> None:
        """The process is shutting down."""
        self._send("STOPPING=1")

    def reloading(self) -> None:
        """The configuration is being read again."""
        self._send(
            f"RELOADING=1\nMONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}"
        )

    def alive(self) -> None:
        """Ping the watchdog, at most every half interval (cheap to call often)."""
        interval = self.watchdog_interval
        now = time.monotonic()
        if interval is None or now - self._last_ping < interval:
            return
        self._last_ping = now
        self._send("WATCHDOG=1")

    def _send(self, message: str) -> None:
        if not self._address:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message.encode(), self._address)
        except OSError as exc:  # systemd gone: nothing to tell, and no reason to stop
            logger.debug("could not notify systemd: %s", exc)


def _watchdog_seconds(env: dict[str, str] | os._Environ[str]) -> float | None:
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):  # meant for another process
        return None
    return int(usec) / 1_000_000
