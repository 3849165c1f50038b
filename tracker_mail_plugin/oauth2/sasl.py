"""The SASL XOAUTH2 initial response (Google's and Microsoft's documented format)."""

from __future__ import annotations

import base64


def xoauth2(username: str, token: str) -> str:
    """``user=…^Aauth=Bearer …^A^A``, unencoded (imapclient and smtplib encode it)."""
    return f"user={username}\x01auth=Bearer {token}\x01\x01"


def xoauth2_base64(username: str, token: str) -> str:
    """The same, base64-encoded, for protocols where we write the command ourselves (POP3)."""
    return base64.b64encode(xoauth2(username, token).encode()).decode("ascii")
