"""A small OAuth2 token endpoint on 127.0.0.1 that issues JWTs the test Dovecot accepts.

``POST /token`` with ``grant_type=client_credentials`` (``client_id`` and ``client_secret``
in the form) or ``grant_type=refresh_token`` (plus ``refresh_token``) answers like RFC 6749:
``{"access_token", "token_type", "expires_in"}``, or 400/401 with ``invalid_client`` or
``invalid_grant``. With ``rotate``, a refresh grant revokes the refresh token it used and
answers a new one in ``refresh_token`` (RFC 6749, 6), as providers that rotate them do.
Tokens are HS256 JWTs with ``sub`` = the client's mailbox user, signed
with the Dovecot's key (or another key, to make a token the mail server refuses).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt


@dataclass
class Client:
    """A registered client: its secret, the mailbox user its tokens name, refresh tokens."""

    secret: str
    user: str
    refresh_tokens: set[str] = field(default_factory=set)


@dataclass
class TokenEndpoint:
    """The endpoint's state: clients, the signing key, token lifetime, what it was asked."""

    key: bytes
    lifetime: int = 3600
    clients: dict[str, Client] = field(default_factory=dict)
    requests: list[dict[str, str]] = field(default_factory=list)
    status: int | None = None  # when set, every request gets this status (a failing server)
    rotate: bool = False  # a refresh grant revokes its refresh token and issues a new one

    def issue(self, user: str, lifetime: int | None = None, key: bytes | None = None) -> str:
        """A token for ``user`` (expired when ``lifetime`` is negative)."""
        now = int(time.time())
        seconds = self.lifetime if lifetime is None else lifetime
        claims = {"sub": user, "iat": min(now, now + seconds), "exp": now + seconds}
        return jwt.encode(claims, key or self.key, algorithm="HS256")

    def answer(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Status and JSON body for one token request."""
        self.requests.append(form)
        if self.status is not None:
            return self.status, {"error": "temporarily_unavailable"}
        client = self.clients.get(form.get("client_id", ""))
        if client is None or form.get("client_secret") != client.secret:
            return 401, {"error": "invalid_client", "error_description": "Client auth failed"}
        grant = form.get("grant_type")
        if grant == "refresh_token" and form.get("refresh_token") not in client.refresh_tokens:
            return 400, {"error": "invalid_grant", "error_description": "Token revoked"}
        if grant not in ("client_credentials", "refresh_token"):
            return 400, {"error": "unsupported_grant_type"}
        token = self.issue(client.user)
        body = {"access_token": token, "token_type": "Bearer", "expires_in": self.lifetime}
        if grant == "refresh_token" and self.rotate:
            client.refresh_tokens.discard(form["refresh_token"])
            body["refresh_token"] = f"rotated-{secrets.token_urlsafe(16)}"
            client.refresh_tokens.add(body["refresh_token"])
        return 200, body


class TokenServer:
    """The endpoint served by a thread; ``url`` is its token URL."""

    def __init__(self, endpoint: TokenEndpoint):
        self.endpoint = endpoint
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(endpoint))
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}/token"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def __enter__(self) -> TokenServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()


def _handler(endpoint: TokenEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            status, body = endpoint.answer(form) if self.path == "/token" else (404, {})
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: pytest shows stderr of failing tests

    return Handler
