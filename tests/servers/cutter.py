"""A TCP relay on 127.0.0.1 in front of the test Dovecot that misbehaves on cue.

The tests that need a connection to break at one exact command (a reset in the middle of
``UID FETCH`` or ``UID MOVE``) cannot get it by stopping Dovecot at the right moment: on a
slow shared machine the moment is gone before the test acts. This relay sees the client's
plain-text IMAP commands as they pass, so it acts on the command itself:

- :meth:`Cutter.cut_at` resets both sides instead of forwarding the N-th command that
  matches (the client's command never reaches the server: what a network failure does);
- :meth:`Cutter.lose_answer_to` relays the N-th matching command, lets the server do it,
  and resets the connection when the answer comes, so the client never hears it;
- :meth:`Cutter.before` runs a callable before forwarding the N-th matching command (to
  let another client change the mailbox between two commands of a run).

Only ``security: none`` connections can be watched (the commands are in clear). IMAP and
POP3 alike: a pattern is searched in the line and in the line without its IMAP tag.
"""

from __future__ import annotations

import re
import socket
import struct
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field

from tests.servers.listening import Listening


@dataclass
class _Cue:
    pattern: re.Pattern[bytes]
    nth: int
    action: Callable[[], None] | None  # None: reset the connection
    answered: bool = True  # False: relay the command, reset on its answer
    seen: int = 0
    done: threading.Event = field(default_factory=threading.Event)


class Cutter(Listening):
    """Relay 127.0.0.1:``port`` to 127.0.0.1:``upstream``; a context manager."""

    def __init__(self, upstream: int) -> None:
        super().__init__()
        self.upstream = upstream
        self._cues: list[_Cue] = []
        self._lock = threading.Lock()
        self.commands: list[bytes] = []  # every client line seen, for assertion messages

    def __enter__(self) -> Cutter:
        self.start(self._accepted)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cut_at(self, command: str, nth: int = 1) -> threading.Event:
        """Reset the connection instead of relaying the ``nth`` command matching ``command``.

        ``command`` is a regular expression searched in the client's line.
        Returns an event set once the cut happened.
        """
        return self._cue(command, nth, None)

    def lose_answer_to(self, command: str, nth: int = 1) -> threading.Event:
        """Relay the ``nth`` command matching ``command``, then reset instead of answering."""
        return self._cue(command, nth, None, answered=False)

    def before(self, command: str, action: Callable[[], None], nth: int = 1) -> threading.Event:
        """Run ``action`` just before relaying the ``nth`` command matching ``command``."""
        return self._cue(command, nth, action)

    def _cue(
        self, command: str, nth: int, action: Callable[[], None] | None, answered: bool = True
    ) -> threading.Event:
        cue = _Cue(re.compile(command.encode(), re.IGNORECASE), nth, action, answered)
        with self._lock:
            self._cues.append(cue)
        return cue.done

    def _accepted(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(("127.0.0.1", self.upstream), timeout=10)
        except OSError:
            _reset(client)  # the server is down: so is the relay
            return
        server.settimeout(None)
        client.settimeout(None)
        muted = threading.Event()  # set: the next answer is lost, the connection reset
        self._spawn(self._downstream, server, client, muted)
        self._spawn(self._upstream, client, server, muted)

    def _downstream(
        self, server: socket.socket, client: socket.socket, muted: threading.Event
    ) -> None:
        with suppress(OSError):
            while data := server.recv(65536):
                if muted.is_set():
                    _reset(client)
                    _reset(server)
                    return
                client.sendall(data)
        _close(client, server)

    def _upstream(
        self, client: socket.socket, server: socket.socket, muted: threading.Event
    ) -> None:
        pending = b""
        with suppress(OSError):
            while data := client.recv(65536):
                pending += data
                # Commands are lines; a literal's bytes (APPEND) are lines too, harmlessly.
                while b"\n" in pending:
                    line, _, pending = pending.partition(b"\n")
                    if not self._relay(line + b"\n", client, server, muted):
                        return
            if pending:
                server.sendall(pending)
        _close(client, server)

    def _relay(
        self, line: bytes, client: socket.socket, server: socket.socket, muted: threading.Event
    ) -> bool:
        """Forward one client line, or act on it; False once the connection is cut."""
        self.commands.append(line)
        cue = self._matching(line)
        if cue is not None and not cue.answered:
            muted.set()
            server.sendall(line)
            cue.done.set()
            return True
        if cue is not None and cue.action is None:
            _reset(client)
            _reset(server)
            cue.done.set()
            return False
        if cue is not None and cue.action is not None:
            cue.action()
            cue.done.set()
        server.sendall(line)
        return True

    def _matching(self, line: bytes) -> _Cue | None:
        command = line.split(b" ", 1)[-1]  # without the IMAP tag (POP3 has none)
        with self._lock:
            for cue in self._cues:
                if cue.done.is_set():
                    continue
                if not (cue.pattern.search(command) or cue.pattern.search(line)):
                    continue
                cue.seen += 1
                if cue.seen == cue.nth:
                    return cue
        return None


def _reset(sock: socket.socket) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a broken network or a crashed peer does.

    The other relay thread may be blocked reading this socket, which keeps it open after a
    mere close(): shutting the reading side first wakes that thread up.
    """
    with suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RD)
    with suppress(OSError):
        sock.close()


def _close(*socks: socket.socket) -> None:
    for sock in socks:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with suppress(OSError):
            sock.close()
