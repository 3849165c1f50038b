"""What the IMAP and POP3 sources share: where to connect, TLS, and turning errors into ours.

The split of failures follows what a cron run should do (see ``errors.py``): a server that
cannot be reached or drops the connection is ``Unreachable`` (try again next run); a
certificate that does not verify, a TLS mode that does not match the port, or a refused
password is a ``ConfigurationError`` (a person has to act; retrying a wrong password every
few minutes only gets the account locked).
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Required, TypedDict, TypeVar, Unpack

from tracker_mail_plugin.errors import (
    ConfigurationError,
    RetryLater,
    TrackerMailError,
    Unreachable,
)
from tracker_mail_plugin.sources.base import MailSource, Security, require_secure
from tracker_mail_plugin.sources.deadline import DEFAULT_COMMAND_TIMEOUT, Deadline

if TYPE_CHECKING:
    from tracker_mail_plugin.oauth2 import TokenProvider

_BYTES_REPR = re.compile(r"""^b(['"])(.*)\1$""", re.DOTALL)
Connection = TypeVar("Connection")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A mail server address plus how to secure and time out the connection.

    ``timeout`` bounds connecting and each read; ``command_timeout`` each whole command.
    """

    protocol: str  # "IMAP" or "POP3", for messages
    host: str
    port: int
    security: Security
    ca_file: str | None
    timeout: float
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT

    def __post_init__(self) -> None:
        require_secure(self.host, self.security)

    def __str__(self) -> str:
        return f"{self.protocol} server {self.host}:{self.port}"

    def tls_context(self) -> ssl.SSLContext:
        """A verifying context: system CAs, or only ``ca_file`` when one is given."""
        try:
            return ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(f"ca_file {self.ca_file}: cannot be loaded: {exc}") from exc


@contextmanager
def connecting(endpoint: Endpoint) -> Iterator[None]:
    """Translate what can go wrong while connecting and negotiating TLS."""
    try:
        yield
    except ssl.SSLCertVerificationError as exc:
        raise ConfigurationError(
            f"{endpoint}: its certificate is not trusted ({exc.verify_message}); set ca_file "
            "to the certificate of the CA that signed it, or have the server's certificate "
            "fixed"
        ) from exc
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError) as exc:
        raise lost(endpoint, "negotiating TLS", exc) from exc
    except ssl.SSLError as exc:
        raise ConfigurationError(
            f"{endpoint}: TLS negotiation failed ({exc.reason or exc}); check that the port "
            f"expects security: {endpoint.security} (ssl for a TLS port such as 993/995, "
            "starttls for 143/110)"
        ) from exc
    except OSError as exc:
        raise Unreachable(f"cannot reach {endpoint}: {_os_reason(exc)}") from exc


def lost(endpoint: Endpoint, action: str, exc: BaseException) -> Unreachable:
    """The error for a connection that broke while doing ``action``."""
    reason = _os_reason(exc) if isinstance(exc, OSError) else server_text(exc)
    return Unreachable(f"connection to {endpoint} lost while {action}: {reason}")


def server_text(exc: BaseException) -> str:
    """The server's words from a library exception, without a ``b'...'`` wrapper."""
    text = str(exc.args[0]) if exc.args else str(exc)
    if exc.args and isinstance(exc.args[0], bytes):
        text = exc.args[0].decode("utf-8", "replace")
    found = _BYTES_REPR.match(text)
    return found.group(2) if found else text


def tls_version(sock: object) -> str | None:
    """``TLSv1.3`` and the like for a TLS socket, None for a plain one."""
    return sock.version() if isinstance(sock, ssl.SSLSocket) else None


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, TimeoutError) or "timed out" in str(exc):
        return "timed out"
    return exc.strerror or str(exc) or type(exc).__name__


class Account(TypedDict, total=False):
    """Where and as whom an IMAP or POP3 source logs in (see :class:`ServerSource`)."""

    host: Required[str]
    username: Required[str]
    password: str | None  # exactly one of password and bearer
    bearer: TokenProvider | None
    port: int | None
    security: Security
    ca_file: str | None
    timeout: float
    command_timeout: float
    max_message_size: int | None


class ServerSource(MailSource):
    """What an IMAP and a POP3 mailbox share: the account, a secured connection, one guard.

    Subclasses name their protocol and ports, the library's error classes, how to tell a
    broken connection from a server saying no, and the response codes that mean "not now"
    at login; everything else about connecting and about errors is said once, here.

    Args:
        host: Server name or address.
        username: Login name.
        password: Login password (kept only in memory, never printed).
        bearer: Instead of a password, where OAuth2 tokens come from (OAUTHBEARER, XOAUTH2).
        port: Defaults to the protocol's TLS port for ``ssl``, else its plain port.
        security: ``ssl`` (TLS from the first byte), ``starttls``, or ``none`` (loopback
            only). Certificates are always verified.
        ca_file: PEM file of the CA to trust instead of the system's.
        timeout: Seconds for connecting and for each read.
        command_timeout: Seconds one whole command may take (connecting with the greeting,
            logging in, one download…): a server that trickles its answer is cut off then.
        max_message_size: Bytes above which a message is reported oversize, not fetched.
    """

    protocol: ClassVar[str]  # "IMAP", "POP3"
    ports: ClassVar[tuple[int, int]]  # (TLS port, plain port)
    starttls_command: ClassVar[str]  # what the protocol calls STARTTLS
    library_errors: ClassVar[tuple[type[Exception], ...]]
    temporary_login: ClassVar[tuple[str, ...]]  # response codes of a login refused for now

    def __init__(self, **account: Unpack[Account]) -> None:
        security = account.get("security", "ssl")
        port = account.get("port") or (self.ports[0] if security == "ssl" else self.ports[1])
        self._endpoint = Endpoint(
            self.protocol,
            account["host"],
            port,
            security,
            account.get("ca_file"),
            account.get("timeout", 60.0),
            account.get("command_timeout", DEFAULT_COMMAND_TIMEOUT),
        )
        self._deadline = Deadline(self._endpoint.command_timeout, str(self._endpoint))
        self._username = account["username"]
        self._password = account.get("password")
        self._bearer = account.get("bearer")
        if (self._password is None) == (self._bearer is None):
            raise ValueError("give exactly one of password and bearer")
        self._max_size = account.get("max_message_size")

    def _label(self) -> str:
        # Not the URL form: error messages scrub "scheme://user@", which would hide the user.
        endpoint = self._endpoint
        return f"{self.protocol} {self._username}@{endpoint.host}:{endpoint.port}"

    def _secured(
        self,
        connect: Callable[[ssl.SSLContext | None], Connection],
        starttls: Callable[[Connection, ssl.SSLContext | None], object],
        discard: Callable[[Connection], object],
    ) -> Connection:
        """Connect (TLS from the start, or upgraded with STARTTLS), verifying the server."""
        endpoint = self._endpoint
        context = endpoint.tls_context() if endpoint.security != "none" else None
        with self._guard("greeting", refused=self._refused_greeting), connecting(endpoint):
            connection = connect(context)
        if endpoint.security == "starttls":
            try:
                guard = self._guard(self.starttls_command, refused=self._no_starttls)
                with guard, connecting(endpoint):
                    starttls(connection, context)
            except BaseException:
                with suppress(Exception):  # the socket may be half wrapped by now
                    discard(connection)
                raise
        return connection

    def _connection_broke(self, error: Exception) -> bool:
        """Whether a library error means the connection is gone (else the server said no)."""
        return False

    @contextmanager
    def _guard(
        self, action: str, refused: Callable[[str], TrackerMailError] | None = None
    ) -> Iterator[None]:
        """Turn library errors into ours: a broken connection, or the server saying no.

        The command runs under the connection's deadline: one that takes longer than
        ``command_timeout`` ends in Unreachable ("did not answer within").
        """
        try:
            with self._deadline.running(action):
                yield
        except OSError as exc:
            raise lost(self._endpoint, action, exc) from exc
        except self.library_errors as exc:
            if self._connection_broke(exc):
                raise self._lost(action, exc) from exc
            text = server_text(exc)
            if refused is not None:
                raise refused(text) from exc
            raise RetryLater(f"{self._label()}: the server refused {action}: {text}") from exc

    def _lost(self, action: str, exc: BaseException) -> Unreachable:
        error = lost(self._endpoint, action, exc)
        if self._bearer is not None and "AccessTokenExpired" in str(error):
            # Exchange Online ends a session when the token it logged in with expires, or
            # was revoked early: that token must not be offered again.
            self._bearer.forget()
            return Unreachable(
                f"{error}: the server ended the session because the OAuth2 token expired; "
                "it was dropped, and the next run (or watch's reconnection) logs in with a "
                "new one"
            )
        return error

    def _refused_greeting(self, text: str) -> TrackerMailError:
        return Unreachable(f"{self._endpoint} refused the connection: {text}")

    def _no_starttls(self, text: str) -> TrackerMailError:
        return ConfigurationError(
            f"{self._endpoint} does not offer {self.starttls_command} ({text}); use "
            "security: ssl with its TLS port"
        )

    def _log_in(
        self, with_password: Callable[[str], object], with_token: Callable[[str], object]
    ) -> None:
        """Log in with the password, or with an OAuth2 token (fetched or cached).

        A cached token the server refuses (revoked, or the server's keys rotated) is
        dropped and one new token is tried; a new token refused is a configuration error.
        """
        if self._bearer is None:
            assert self._password is not None  # noqa: S101 - checked in __init__
            with self._guard("logging in", refused=self._refused_login):
                with_password(self._password)
            return
        while True:
            token = self._bearer.token()
            try:
                with self._guard("logging in with an OAuth2 token", refused=self._refused_token):
                    with_token(token)
                return
            except ConfigurationError:
                self._bearer.forget()
                if not self._bearer.from_cache:
                    raise

    def _refused_token(self, text: str) -> TrackerMailError:
        if any(code in text for code in self.temporary_login):
            return Unreachable(f"{self._label()}: the server cannot log us in now: {text}")
        if text.startswith("socket error"):
            # imapclient reports a connection that broke during AUTHENTICATE as a refused
            # login ("socket error: EOF"): the server never judged the token.
            return Unreachable(f"connection to {self._endpoint} lost while logging in: {text}")
        assert self._bearer is not None  # noqa: S101 - only called for token logins
        return ConfigurationError(
            f"{self._label()}: the {self.protocol} server refused the OAuth2 token ({text}); "
            f"{self._bearer.refused_advice(text)}"
        )

    def _refused_login(self, text: str) -> TrackerMailError:
        if any(code in text for code in self.temporary_login):
            return Unreachable(f"{self._label()}: the server cannot log us in now: {text}")
        return ConfigurationError(
            f"{self._label()}: the {self.protocol} server refused the login ({text}); check "
            "username and password"
        )
