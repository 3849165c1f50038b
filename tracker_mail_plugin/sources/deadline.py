"""An overall time limit per command of a mail protocol, on top of the per-read timeout.

A socket timeout bounds one read: a server that sends one byte every half second never
trips it, and a run (with the lock it holds) would then wait forever. :class:`Deadline`
bounds the whole command: a timer shuts the connection's socket down when the command's
time is spent, which wakes the blocked read at once, and the command ends in
:class:`~tracker_mail_plugin.errors.Unreachable` ("… did not answer within N s").

The socket is shut down rather than given a shorter timeout because the libraries (imaplib,
poplib, smtplib, and TLS inside them) read through buffered files and TLS objects that we do
not see; the TCP socket underneath is the one thing they all share. It is known by its file
descriptor, which stays the same when TLS (or STARTTLS) wraps the socket into a new object.
The connection is useless afterwards, which is what a server that stopped answering deserves.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from tracker_mail_plugin.errors import Unreachable

DEFAULT_COMMAND_TIMEOUT = 300.0


class Deadline:
    """The time limit of each command on one connection.

    Args:
        seconds: how long one command (connect and greeting, login, one download…) may take.
        server: names the server in the error, e.g. ``IMAP server mail.example.com:993``.
    """

    def __init__(self, seconds: float, server: str):
        self.seconds = seconds
        self.server = server
        self._lock = threading.Lock()
        self._sockets: list[int] = []  # file descriptors
        self._expired = False

    def connect(self, address: tuple[str, int], timeout: float | None) -> socket.socket:
        """``socket.create_connection`` whose socket this deadline can cut."""
        sock = socket.create_connection(address, timeout)
        self.watch(sock)
        return sock

    def watch(self, sock: socket.socket) -> None:
        """Cut ``sock`` when a command runs out of time (at once if one already has)."""
        with self._lock:
            self._sockets.append(sock.fileno())
            expired = self._expired
        if expired:
            _cut(sock.fileno())

    def forget(self) -> None:
        """The connection is closed: its descriptors may soon name other files."""
        with self._lock:
            self._sockets.clear()

    @contextmanager
    def running(self, action: str) -> Iterator[None]:
        """One command; raises Unreachable when it took longer than ``seconds``."""
        with self._lock:
            self._expired = False
        timer = threading.Timer(self.seconds, self._expire)
        timer.daemon = True
        timer.start()
        try:
            yield
        except Exception as exc:
            if self._expired:
                raise self.error(action) from exc
            raise
        finally:
            timer.cancel()
        if self._expired:
            raise self.error(action)

    def error(self, action: str) -> Unreachable:
        """The error of a command that ran out of time."""
        return Unreachable(f"{self.server} did not answer within {self.seconds:g} s ({action})")

    def _expire(self) -> None:
        with self._lock:
            self._expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _cut(sock)


def _cut(descriptor: int) -> None:
    # A TCP shutdown, not SSLSocket.shutdown: the TLS object is in use by the reading
    # thread; shutting the TCP socket down underneath it makes that read end. The temporary
    # object is detached so that it does not close the descriptor its owner still holds.
    with suppress(OSError):
        temporary = socket.socket(fileno=descriptor)
        try:
            temporary.shutdown(socket.SHUT_RDWR)
        finally:
            temporary.detach()
