"""An IMAPClient whose TCP socket a :class:`~.deadline.Deadline` can cut.

imapclient connects (and reads the greeting, and for ``ssl`` does the TLS handshake) inside
its constructor, through imaplib's ``_create_socket``; these subclasses make that socket in
:meth:`Deadline.connect`, so that a server trickling its greeting is cut off too.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

from imapclient import IMAPClient  # type: ignore[import-untyped]  # ships no py.typed
from imapclient.imap4 import IMAP4WithTimeout  # type: ignore[import-untyped]
from imapclient.tls import IMAP4_TLS, wrap_socket  # type: ignore[import-untyped]

from tracker_mail_plugin.sources.deadline import Deadline


class WatchedClient(IMAPClient):  # type: ignore[misc]  # IMAPClient is untyped
    """``IMAPClient`` with one more keyword, ``deadline``, which watches its socket."""

    def __init__(self, host: str, port: int, *, deadline: Deadline, **options: Any) -> None:
        self.deadline = deadline  # before connecting: the constructor reads the greeting
        super().__init__(host, port, **options)
        # imapclient turns imaplib's protocol trace on (debug level 5, sent to its own
        # logger). imaplib formats each trace line before any logger can drop it, including
        # the repr of every fetched message: up to four characters per byte of a binary
        # attachment, which cost as much CPU as the download itself and a transient copy
        # several times the message's size, and would put mail text in a debug log. Off.
        self._imap.debug = 0

    def _create_IMAP4(self) -> Any:  # noqa: N802 - imapclient's name
        timeout = self._timeout.connect
        if self.ssl:
            return _Tls(self.host, self.port, self.ssl_context, timeout, deadline=self.deadline)
        return _Plain(self.host, self.port, timeout, deadline=self.deadline)


class _Plain(IMAP4WithTimeout):  # type: ignore[misc]
    def __init__(self, host: str, port: int, timeout: float | None, *, deadline: Deadline):
        self.deadline = deadline
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        return self.deadline.connect((self.host, self.port), timeout or self._timeout)


class _Tls(IMAP4_TLS):  # type: ignore[misc]
    def __init__(
        self,
        host: str,
        port: int,
        context: ssl.SSLContext | None,
        timeout: float | None,
        *,
        deadline: Deadline,
    ):
        self.deadline = deadline
        super().__init__(host, port, context, timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        sock = self.deadline.connect((self.host, self.port), timeout or self._timeout)
        return wrap_socket(sock, self.ssl_context, self.host)  # type: ignore[no-any-return]
