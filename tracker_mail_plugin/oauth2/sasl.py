"""What a mail server is sent to log in with an OAuth2 token: SASL XOAUTH2 or OAUTHBEARER.

XOAUTH2 is Google's and Microsoft's documented format; OAUTHBEARER is its standard
successor (RFC 7628). Both answer a refused token the same way: a challenge carrying a
JSON error, to which the client must reply (an empty line for XOAUTH2, a single %x01 for
OAUTHBEARER) before the server sends its final refusal; a client that waits instead hangs.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

XOAUTH2 = "XOAUTH2"
OAUTHBEARER = "OAUTHBEARER"


def xoauth2(username: str, token: str) -> str:
    """``user=…^Aauth=Bearer …^A^A``, unencoded (imapclient and smtplib encode it)."""
    return f"user={username}\x01auth=Bearer {token}\x01\x01"


def xoauth2_base64(username: str, token: str) -> str:
    """The same, base64-encoded, for protocols where we write the command ourselves (POP3)."""
    return base64_response(xoauth2(username, token))


def oauthbearer(username: str, token: str, host: str = "", port: int | None = None) -> str:
    """RFC 7628's initial client response, unencoded: ``n,a=user,^Ahost=…^Aport=…^Aauth=…^A^A``.

    The authorization identity is escaped as RFC 5801 says (``=`` and ``,``); host and port
    are optional in the RFC and sent when known.
    """
    identity = username.replace("=", "=3D").replace(",", "=2C")
    fields = []
    if host:
        fields.append(f"host={host}")
    if port is not None:
        fields.append(f"port={port}")
    fields.append(f"auth=Bearer {token}")
    return f"n,a={identity},\x01" + "".join(f"{field}\x01" for field in fields) + "\x01"


def initial_response(
    mechanism: str, username: str, token: str, host: str = "", port: int | None = None
) -> str:
    """The first (unencoded) client response of ``mechanism``."""
    if mechanism == OAUTHBEARER:
        return oauthbearer(username, token, host, port)
    return xoauth2(username, token)


def error_reply(mechanism: str) -> str:
    """What the client answers a JSON error challenge with, so the server ends the exchange."""
    return "\x01" if mechanism == OAUTHBEARER else ""


def choose(forced: str | None, offered: Iterable[str]) -> str:
    """The mechanism to use: the configured one, else OAUTHBEARER if offered, else XOAUTH2."""
    if forced is not None:
        return forced.upper()
    return OAUTHBEARER if OAUTHBEARER in {m.upper() for m in offered} else XOAUTH2


def base64_response(text: str) -> str:
    """``text`` base64-encoded, for protocols where we write the command ourselves (POP3)."""
    return base64.b64encode(text.encode()).decode("ascii")


class Exchange:
    """One token login as a SASL callback (imapclient's ``sasl_login``, smtplib's ``auth``).

    The first call gives the initial response; any later call is the server's error
    challenge, answered so that the server sends its final refusal rather than waiting.
    """

    def __init__(self, mechanism: str, initial: str):
        self.mechanism = mechanism
        self._initial: str | None = initial

    def __repr__(self) -> str:
        return f"Exchange({self.mechanism})"  # never the token

    def __call__(self, challenge: bytes | None = None) -> str:
        """The initial response first, then the reply that ends a refused exchange."""
        if self._initial is not None:
            initial, self._initial = self._initial, None
            return initial
        return error_reply(self.mechanism)
