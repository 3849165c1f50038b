"""A TCP server on 127.0.0.1 that answers, but ever so slowly: one byte at a time.

It sends ``greeting`` at once, then one byte of ``slow`` (never a line end) every
``interval`` seconds, for at most ``give_up`` seconds: a client with only a per-read timeout
waits all that time and then fails some other way; one with a deadline gives up early.
"""

from __future__ import annotations

import socket
import time
from contextlib import suppress

from tests.servers.listening import Listening


class Trickler(Listening):
    def __init__(
        self,
        greeting: bytes = b"",
        slow: bytes = b"*",
        interval: float = 0.05,
        give_up: float = 20.0,
    ) -> None:
        super().__init__()
        self.greeting = greeting
        self.slow = slow
        self.interval = interval
        self.give_up = give_up
        self.connections = 0

    def __enter__(self) -> Trickler:
        self.start(self._accepted)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accepted(self, conn: socket.socket) -> None:
        self.connections += 1
        self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        with conn, suppress(OSError):
            conn.sendall(self.greeting)
            ends = time.monotonic() + self.give_up
            while not self._stop.is_set() and time.monotonic() < ends:
                conn.sendall(self.slow[:1])
                self.slow = self.slow[1:] + self.slow[:1]
                time.sleep(self.interval)
