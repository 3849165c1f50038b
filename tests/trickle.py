"""A TCP server on 127.0.0.1 that answers, but ever so slowly: one byte at a time.

It sends ``greeting`` at once, then one byte of ``slow`` (never a line end) every
``interval`` seconds, for at most ``give_up`` seconds: a client with only a per-read timeout
waits all that time and then fails some other way; one with a deadline gives up early.
"""

from __future__ import annotations

import socket
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field


@dataclass
class Trickler:
    greeting: bytes = b""
    slow: bytes = b"*"
    interval: float = 0.05
    give_up: float = 20.0
    port: int = 0
    connections: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Trickler:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
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
