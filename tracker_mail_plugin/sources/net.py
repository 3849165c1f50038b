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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tracker_mail_plugin.errors import ConfigurationError, Unreachable
from tracker_mail_plugin.sources.base import Security, require_secure

_BYTES_REPR = re.compile(r"""^b(['"])(.*)\1$""", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A mail server address plus how to secure and time out the connection."""

    protocol: str  # "IMAP" or "POP3", for messages
    host: str
    port: int
    security: Security
    ca_file: str | None
    timeout: float

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
