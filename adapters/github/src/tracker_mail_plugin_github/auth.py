"""Credentials: a personal access token, or a GitHub App installation token kept fresh.

An installation token lives one hour. It is fetched on first use and renewed
:data:`RENEW_BEFORE` seconds before it expires, so that a run never sends an expired one
(an expired token answers 401, which the core treats as a configuration error).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import jwt

from tracker_mail_plugin import ConfigurationError, Secret, SecretError
from tracker_mail_plugin_github.config import AppCredentials
from tracker_mail_plugin_github.http import Call, GitHubHttp
from tracker_mail_plugin_github.pacing import Clock

RENEW_BEFORE = 300.0  # seconds before expiry
JWT_BACKDATE = 60  # GitHub: set iat 60 s in the past against clock drift
JWT_LIFETIME = 540  # GitHub allows at most 10 minutes; stay under it


def reveal(secret: Secret, option: str) -> str:
    """The secret's value; a reference that cannot be read is a configuration error."""
    try:
        return secret.reveal()
    except SecretError as exc:
        raise ConfigurationError(f"{option}: {exc}") from None


class TokenCredentials:
    """A personal access token (classic or fine-grained).

    Args:
        token: the token's secret reference, read on the first request.
    """

    kind = "token"

    def __init__(self, token: Secret):
        self._secret = token
        self._value: str | None = None
        self._lock = threading.Lock()

    def authorization(self) -> str:
        """``Bearer <token>``."""
        with self._lock:
            if self._value is None:
                self._value = reveal(self._secret, "token")
            return f"Bearer {self._value}"


class AppInstallationCredentials:
    """A GitHub App installation: a signed JWT buys an installation token, renewed in time.

    Args:
        app: the App's id, private key and installation id.
        http: the client the token requests go through.
        clock: the wall clock for JWT times and expiry.
    """

    kind = "app"

    def __init__(self, app: AppCredentials, http: GitHubHttp, clock: Clock):
        self._app = app
        self._http = http
        self._clock = clock
        self._token: str | None = None
        self._expires = 0.0
        self.installation: dict[str, Any] = {}
        # Threads that find the token stale wait for one renewal rather than each minting.
        self._lock = threading.Lock()

    def authorization(self) -> str:
        """``Bearer <installation token>``, fetching a new one when it is about to expire."""
        with self._lock:
            if self._token is None or self._clock.time() >= self._expires - RENEW_BEFORE:
                self._renew()
            return f"Bearer {self._token}"

    def app_authorization(self) -> str:
        """``Bearer <JWT>``, for the calls made as the App itself (``GET /app``)."""
        return f"Bearer {self._jwt()}"

    def _renew(self) -> None:
        answer = self._http.json(
            Call(
                "POST",
                f"/app/installations/{self._app.installation_id}/access_tokens",
                f"getting a token for installation {self._app.installation_id}",
                kind="mint",
                authorization=self.app_authorization(),
            )
        )
        try:
            self._token = str(answer["token"])
            expires = dt.datetime.fromisoformat(str(answer["expires_at"]).replace("Z", "+00:00"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"GitHub's installation token answer is unusable: {exc}"
            ) from exc
        self._expires = expires.timestamp()
        self.installation = answer

    def _jwt(self) -> str:
        now = int(self._clock.time())
        claims = {
            "iat": now - JWT_BACKDATE,
            "exp": now + JWT_LIFETIME,
            "iss": str(self._app.app_id),
        }
        key = reveal(self._app.private_key, "app.private_key")
        try:
            return jwt.encode(claims, key, algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise ConfigurationError(
                f"app.private_key is not a usable RSA private key ({type(exc).__name__})"
            ) from None
