"""A POP3 maildrop as a mail source, through poplib.

POP3 numbers messages afresh in every session, so ids are the UIDLs, the only stable names
it has. It can only leave or delete a message, and a deletion (DELE) only marks it: the
server removes marked messages when the session ends with QUIT, which ``commit`` sends. If
the session dies before that, the server undoes every DELE and the messages stay. That loses
nothing and duplicates nothing: the journal already holds their UIDLs as done, so the next
run does not import them again (it may dispose of them again).
"""

from __future__ import annotations

import poplib
import socket
import ssl
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from typing import BinaryIO, Unpack

from tracker_mail_plugin.oauth2 import sasl
from tracker_mail_plugin.sources.base import (
    Delete,
    Disposition,
    Envelope,
    Fetched,
    Leave,
    SourceCheck,
    is_oversize,
    refuse_oversize,
    require_supported,
)
from tracker_mail_plugin.sources.deadline import Deadline
from tracker_mail_plugin.sources.net import Account, ServerSource, server_text, tls_version

# poplib refuses lines over 2048 bytes, yet real mail (unwrapped HTML, long base64 lines)
# has much longer ones; this bound only keeps a broken server from exhausting memory.
MAX_LINE = 64 * 1024 * 1024


class _LongLines:
    """poplib's line reader with our line bound instead of its module-wide 2048 bytes."""

    file: BinaryIO

    def _getline(self) -> tuple[bytes, int]:
        line = self.file.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise poplib.error_proto("line too long")
        if not line:
            raise poplib.error_proto("-ERR EOF")
        if line.endswith(b"\r\n"):
            return line[:-2], len(line)
        if line.startswith(b"\r"):
            return line[1:-1], len(line)
        return line[:-1], len(line)


class _POP3(_LongLines, poplib.POP3):
    """A plain (or STLS) connection whose socket the deadline can cut."""

    def __init__(self, host: str, port: int, *, timeout: float, deadline: Deadline):
        self.deadline = deadline  # before connecting: the greeting is read in __init__
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout: float) -> socket.socket:
        return self.deadline.connect((self.host, self.port), timeout)


class _POP3SSL(_LongLines, poplib.POP3_SSL):
    """A TLS connection whose socket the deadline can cut, during the handshake too."""

    def __init__(
        self, host: str, port: int, *, timeout: float, context: ssl.SSLContext | None,
        deadline: Deadline,
    ) -> None:  # fmt: skip
        self.deadline = deadline
        self.tls = context or ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)

    def _create_socket(self, timeout: float) -> socket.socket:
        sock = self.deadline.connect((self.host, self.port), timeout)
        return self.tls.wrap_socket(sock, server_hostname=self.host)


class Pop3Source(ServerSource):
    """The maildrop of one POP3 account.

    Args: those of :class:`ServerSource` (the port defaults to 995 for ``ssl``, else 110;
    ``starttls`` is POP3's STLS).
    """

    dispositions = frozenset({Leave, Delete})
    protocol = "POP3"
    ports = (995, 110)
    starttls_command = "STLS"
    library_errors = (poplib.error_proto,)
    temporary_login = ("[IN-USE]", "[LOGIN-DELAY]")  # RFC 2449 / 3206 response codes

    def __init__(self, **account: Unpack[Account]) -> None:
        super().__init__(**account)
        self._conn: poplib.POP3 | None = None
        self._index: dict[str, tuple[int, int]] = {}  # UIDL -> (message number, size)

    def __repr__(self) -> str:
        return f"Pop3Source({self.identity()})"

    def identity(self) -> str:
        """``pop3://user@host:port``."""
        return f"pop3://{self._username}@{self._endpoint.host}:{self._endpoint.port}"

    def open(self) -> None:
        """Connect, verify TLS, log in with USER/PASS or AUTH OAUTHBEARER/XOAUTH2."""
        self._conn = self._connect()
        conn = self._conn
        try:
            self._log_in(
                lambda password: (conn.user(self._username), conn.pass_(password)),
                lambda token: self._token_login(conn, token),
            )
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Drop the connection WITHOUT QUIT, so that uncommitted DELEs are undone."""
        conn, self._conn = self._conn, None
        self._index = {}
        if conn is not None:
            with suppress(OSError):
                conn.close()
        self._deadline.forget()

    def pending(self, is_done: Callable[[str], bool], limit: int | None = None) -> list[Envelope]:
        """Messages (by UIDL, in maildrop order) the journal has not done, with sizes."""
        self._index = self._read_index()
        found: list[Envelope] = []
        for uidl, (_, size) in self._index.items():
            if limit is not None and len(found) >= limit:
                break
            if not is_done(uidl):
                found.append(Envelope(uidl, size, is_oversize(size, self._max_size)))
        return found

    def fetch(self, envelopes: Sequence[Envelope]) -> Iterator[Fetched]:
        """RETR each message (POP3 has no batch download); the bytes with CRLF line ends."""
        refuse_oversize(envelopes)
        for envelope in envelopes:
            number = self._number(envelope.id)
            with self._guard("downloading a message"):
                _, lines, _ = self._session().retr(number)
            yield Fetched(envelope.id, b"".join(line + b"\r\n" for line in lines))

    def dispose(self, id: str, disposition: Disposition) -> None:
        """DELE for Delete (final only at ``commit``); Leave does nothing."""
        require_supported(
            self, disposition, self._label(), "POP3 can only leave or delete messages"
        )
        if isinstance(disposition, Delete):
            number = self._number(id)
            with self._guard("marking a message deleted"):
                self._session().dele(number)

    def commit(self) -> None:
        """QUIT: the server now removes the DELE'd messages. This ends the session."""
        with self._guard("committing deletions (QUIT)"):
            self._session().quit()
        self._conn = None
        self._index = {}
        self._deadline.forget()

    def check(self) -> SourceCheck:
        """Message count (STAT), capabilities (CAPA) and the TLS version."""
        with self._guard("reading the maildrop status"):
            count, _ = self._session().stat()
            capabilities = self._session().capa()
        return SourceCheck(
            identity=self.identity(),
            folder="INBOX",
            messages=count,
            capabilities=tuple(sorted(capabilities)),
            tls=tls_version(self._session().sock),
        )

    def _connect(self) -> poplib.POP3:
        endpoint = self._endpoint

        def connect(context: ssl.SSLContext | None) -> poplib.POP3:
            if endpoint.security == "ssl":
                return _POP3SSL(
                    endpoint.host, endpoint.port, timeout=endpoint.timeout, context=context,
                    deadline=self._deadline,
                )  # fmt: skip
            return _POP3(
                endpoint.host, endpoint.port, timeout=endpoint.timeout, deadline=self._deadline
            )

        return self._secured(connect, lambda conn, context: conn.stls(context), _close)

    def _read_index(self) -> dict[str, tuple[int, int]]:
        with self._guard("listing messages"):
            _, uidls, _ = self._session().uidl()
            _, sizes, _ = self._session().list()
        size_of = dict(_pairs(sizes))
        index: dict[str, tuple[int, int]] = {}
        for number, uidl in _pairs(uidls):
            index[uidl] = (int(number), int(size_of.get(number, "0")))
        return index

    def _number(self, id: str) -> int:
        if not self._index:
            self._index = self._read_index()
        if id not in self._index:
            raise ValueError(f"{id!r} is not a message in {self._label()} now")
        return self._index[id][0]

    def _session(self) -> poplib.POP3:
        if self._conn is None:
            raise RuntimeError("the Pop3Source is not open")
        return self._conn

    def _token_login(self, conn: poplib.POP3, token: str) -> None:
        """AUTH OAUTHBEARER or XOAUTH2: the configured one, else the best the server offers."""
        assert self._bearer is not None  # noqa: S101 - only called for token logins
        forced = self._bearer.mechanism
        mechanism = forced or sasl.choose(None, _offered(conn))
        endpoint = self._endpoint
        initial = sasl.initial_response(
            mechanism, self._username, token, endpoint.host, endpoint.port
        )
        _authenticate(conn, mechanism, initial)

    def _connection_broke(self, error: Exception) -> bool:
        # poplib's own "-ERR EOF", or the server ending the session (Dovecot says
        # "-ERR [SYS/TEMP] Server shutting down." when it is stopped or kicks us).
        text = server_text(error)
        return not text.startswith("-ERR") or text == "-ERR EOF" or "[SYS/TEMP]" in text


def _offered(conn: poplib.POP3) -> list[str]:
    """The SASL mechanisms of the server's CAPA answer (none when it has no CAPA)."""
    try:
        capabilities = conn.capa()
    except poplib.error_proto:
        return []
    return list(capabilities.get("SASL", []))


def _authenticate(conn: poplib.POP3, mechanism: str, initial: str) -> None:
    """RFC 5034's AUTH command, which poplib does not have.

    The response goes on its own line after the server's ``+`` rather than on the command
    line: an initial response would make the line longer than many servers take.
    """
    conn._shortcmd(f"AUTH {mechanism}")  # type: ignore[attr-defined]  # the "+ " continuation
    encoded = sasl.base64_response(initial)
    answer: bytes = conn._shortcmd(encoded)  # type: ignore[attr-defined]
    if not answer.startswith(b"+OK"):
        # A refusal comes as a "+ <base64 JSON>" challenge; the final -ERR (raised by
        # poplib as error_proto) follows the reply the client must send.
        conn._shortcmd(sasl.base64_response(sasl.error_reply(mechanism)))  # type: ignore[attr-defined]
        raise poplib.error_proto(b"-ERR the server did not accept the token")


def _close(conn: poplib.POP3) -> None:
    conn.close()


def _pairs(lines: list[bytes]) -> Iterator[tuple[str, str]]:
    """``b"1 abc"`` lines of a UIDL or LIST answer as ``("1", "abc")``."""
    for line in lines:
        number, _, value = line.decode("ascii", "replace").partition(" ")
        yield number, value.strip()
