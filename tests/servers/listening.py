"""The accept loop and threads shared by the suite's misbehaving TCP servers on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable


class Listening:
    """A listener on 127.0.0.1 (any free port) whose connections each get a thread.

    ``close`` stops accepting, then waits a little for the threads it started.
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # so the accept loop sees ``_stop`` soon
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self, handle: Callable[[socket.socket], None]) -> None:
        """Accept in a thread, handing each connection to ``handle`` (in the same thread)."""
        self._spawn(self._accept, handle)

    def close(self) -> None:
        """Stop accepting and serving; threads get 5 s each to notice."""
        self._stop.set()
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self, handle: Callable[[socket.socket], None]) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed
                return
            handle(conn)
