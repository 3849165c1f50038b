"""Getting, caching and renewing an OAuth2 access token (client credentials, refresh token).

``provider: generic`` is two plain form POSTs here; ``microsoft`` and ``google`` ask their
providers' own libraries (msal, google-auth: :mod:`.microsoft`, :mod:`.google`), imported
only when such a mailbox logs in. Every provider goes through the same cache.

A token is asked for when a login needs one and none is cached that is valid for at least
:data:`MARGIN` more seconds. One request, with timeouts and no retries: a run that cannot
get a token stops with ``Unreachable`` and cron's next run tries again. Errors say what to
do; the token, the client secret and the refresh token never appear in them or in reprs.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from tracker_mail_plugin.config.auth import GenericOAuth2, GoogleOAuth2, MicrosoftOAuth2, OAuth2
from tracker_mail_plugin.config.secrets import Secret, SecretError
from tracker_mail_plugin.errors import ConfigurationError, Unreachable, scrub
from tracker_mail_plugin.http.translate import describe
from tracker_mail_plugin.oauth2.cache import CachedToken, TokenCache

MARGIN = 60.0  # seconds before expiry at which a cached token is renewed
DEFAULT_LIFETIME = 300.0  # when the server does not say (expires_in is only RECOMMENDED)
TIMEOUT = (10.0, 30.0)  # connect, read

# What the token endpoint's "error" codes (RFC 6749, 5.2) ask the operator to do.
_ADVICE = {
    "invalid_client": "the client was not accepted: check client_id and client_secret (a "
    "secret that expired or was rotated must be replaced)",
    "unauthorized_client": "this client may not use flow: {flow}; allow it for the app at the "
    "provider, or choose the flow the app is registered for",
    "invalid_grant": "the grant was refused: the refresh token (the user's consent) was "
    "revoked or has expired; obtain a new refresh token and put it where refresh_token points",
    "invalid_scope": "the scope was refused: check scope against what the app may request",
    "unsupported_grant_type": "the server does not support flow: {flow}",
}


class TokenProvider:
    """Access tokens of one configured OAuth2 client.

    Args:
        settings: The ``auth.oauth2`` configuration (any provider).
        cache_folder: Where the cache file lives (the journal's folder).
        clock: Seconds since the epoch (tests move time forward).
        protocol: What the token is for (``imap``, ``pop3``, ``smtp``): a user's sign-in
            (``flow: device_code``) asks for that protocol's delegated scope.
        username: The account logged in to (a kept sign-in of that user is preferred).
        name: The mailbox's name in ``rules.yaml``, said in ``tracker-mail login NAME``.
    """

    def __init__(
        self,
        settings: OAuth2,
        cache_folder: Path,
        clock: Callable[[], float] = time.time,
        *,
        protocol: str = "imap",
        username: str = "",
        name: str = "",
    ):
        self._settings = settings
        self._clock = clock
        self._username = username
        self._protocol = protocol
        self._name = name or "MAILBOX"
        self._scopes: list[str] = []
        if isinstance(settings, MicrosoftOAuth2) and settings.flow == "device_code":
            from tracker_mail_plugin.oauth2.microsoft import delegated_scopes

            self._scopes = delegated_scopes(settings, protocol)
        self._cache = TokenCache(cache_folder, *_cache_key(settings, self._scopes, username))
        self.from_cache = False  # whether the last token() came from the cache
        self._handed: CachedToken | None = None  # the last token() handed out

    def __repr__(self) -> str:
        settings = self._settings
        if isinstance(settings, MicrosoftOAuth2):
            return f"TokenProvider(microsoft, {settings.tenant}, client_id={settings.client_id})"
        if isinstance(settings, GoogleOAuth2):
            who = settings.subject or settings.client_id
            return f"TokenProvider(google, {settings.flow}, {who})"
        return f"TokenProvider({settings.token_url}, client_id={settings.client_id})"

    @property
    def mechanism(self) -> str | None:
        """The SASL mechanism the configuration forces (``XOAUTH2``…), None to choose."""
        forced = self._settings.mechanism
        return forced.upper() if forced else None

    @property
    def provider(self) -> str:
        """``generic``, ``microsoft`` or ``google``."""
        return self._settings.provider

    def refused_advice(self, text: str) -> str:
        """What to check when the mail server refused a token its provider issued."""
        settings = self._settings
        if isinstance(settings, MicrosoftOAuth2):
            from tracker_mail_plugin.oauth2.microsoft import refused_advice

            roles = None if self._handed is None else _roles(self._handed.access_token)
            return refused_advice(text, self._protocol, settings.flow, roles)
        if isinstance(self._settings, GoogleOAuth2):
            from tracker_mail_plugin.oauth2.google import refused_advice as google_advice

            return google_advice(self._settings)
        return (
            "the token endpoint issued it, so the mail server does not accept it for this "
            "mailbox: check username, that the app has access to this mailbox, and scope"
        )

    @property
    def cache_path(self) -> Path:
        """The cache file (it may not exist yet)."""
        return self._cache.path

    @property
    def needs_login(self) -> bool:
        """Whether a user signs in once with ``tracker-mail login`` (``flow: device_code``)."""
        return bool(self._scopes)

    @property
    def sign_in_path(self) -> Path:
        """Where a user's sign-in (msal's token cache) is kept, for ``flow: device_code``."""
        return self._cache.sign_in_path

    def login(self, show: Callable[[str], None]) -> str:
        """Sign a user in by device code (``show`` tells them where and which code).

        Returns:
            The account that signed in.

        Raises:
            ConfigurationError: this flow has no sign-in, or Entra ID refused it (exit 2).
            Unreachable: the endpoint cannot be reached or failed (exit 3).
        """
        settings = self._settings
        if not isinstance(settings, MicrosoftOAuth2) or not self._scopes:
            raise ConfigurationError("only provider: microsoft with flow: device_code signs in")
        from tracker_mail_plugin.oauth2 import microsoft

        token, who = microsoft.sign_in(settings, self._scopes, self.sign_in_path, show, self._clock)
        self._cache.store(token)
        return who

    def token(self) -> str:
        """A token valid for at least MARGIN seconds: the cached one, else a new one.

        Raises:
            ConfigurationError: the endpoint refused the client or grant (exit 2).
            Unreachable: the endpoint cannot be reached or failed (exit 3).
        """
        cached = self._cache.load()
        self.from_cache = cached is not None and self._fresh(cached)
        if cached is not None and self.from_cache:
            self._handed = cached
        else:
            self._handed = self._request()
            self._cache.store(self._handed)
        return self._handed.access_token

    def expiring(self) -> bool:
        """Whether the last token handed out expires within MARGIN seconds.

        A session logged in with it may be ended by the server then (Exchange Online says
        ``BYE Session invalidated - AccessTokenExpired``): log in again with a new one first.
        """
        return self._handed is not None and not self._fresh(self._handed)

    def _fresh(self, token: CachedToken) -> bool:
        """Valid for at least MARGIN seconds more."""
        return token.expires_at - MARGIN > self._clock()

    def forget(self) -> None:
        """Drop the cached token: the mail server refused it, the next one is asked for."""
        self._cache.forget()

    def _request(self) -> CachedToken:
        settings = self._settings
        if isinstance(settings, MicrosoftOAuth2):
            from tracker_mail_plugin.oauth2 import microsoft

            if self._scopes:
                login = f"tracker-mail login {self._name}"
                return microsoft.fetch_delegated(
                    settings, self._scopes, self._username, self.sign_in_path, login, self._clock
                )
            return microsoft.fetch(settings, self._clock)
        if isinstance(settings, GoogleOAuth2):
            from tracker_mail_plugin.oauth2 import google

            return google.fetch(settings, self._clock)
        return self._generic_request(settings)

    def _generic_request(self, settings: GenericOAuth2) -> CachedToken:
        url = settings.token_url
        try:
            # Not followed: a 307 or 308 would post the client secret again, to wherever
            # the answer points (another host, or plain http).
            response = requests.post(url, data=self._form(), timeout=TIMEOUT, allow_redirects=False)
        except requests.RequestException as exc:
            # The innermost reason ("Connection refused"), not urllib3's retry wrapper.
            reason = scrub(f"cannot reach the OAuth2 token endpoint {url}: {describe(exc)}")
            raise Unreachable(reason) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise Unreachable(
                f"the OAuth2 token endpoint {url} failed ({response.status_code}); the next "
                "run tries again"
            )
        if response.is_redirect:
            raise ConfigurationError(
                f"the OAuth2 token endpoint {url} answered {response.status_code} (moved to "
                f"{response.headers.get('Location', 'nowhere said')}); the secret is not sent "
                "on: write the url it points to in token_url if it is right"
            )
        body = _json(response)
        if response.status_code != 200 or "access_token" not in body:
            raise ConfigurationError(self._refusal(response.status_code, body))
        self._keep_rotated(body)
        return CachedToken(str(body["access_token"]), self._clock() + _lifetime(body))

    def _form(self) -> dict[str, str]:
        settings = self._settings
        assert isinstance(settings, GenericOAuth2)  # noqa: S101 - only the generic provider
        form = {"grant_type": settings.flow, "client_id": settings.client_id}
        if settings.client_secret is not None:
            form["client_secret"] = _reveal(settings.client_secret, "client_secret")
        if settings.flow == "refresh_token" and settings.refresh_token is not None:
            configured = _reveal(settings.refresh_token, "refresh_token")
            form["refresh_token"] = self._cache.load_refresh(configured)
        if settings.scope:
            form["scope"] = settings.scope
        return form

    def _keep_rotated(self, body: dict[str, Any]) -> None:
        """Store a new refresh token the endpoint issued (RFC 6749, 6): the old one may be dead.

        Servers that rotate refresh tokens revoke the one just used, so the configured
        token works only once; from then on the stored one is sent instead.
        """
        settings = self._settings
        rotated = body.get("refresh_token")
        if settings.flow != "refresh_token" or not isinstance(rotated, str) or not rotated:
            return
        assert isinstance(settings, GenericOAuth2)  # noqa: S101 - only the generic provider
        assert settings.refresh_token is not None  # noqa: S101 - checked at load
        configured = _reveal(settings.refresh_token, "refresh_token")
        if rotated != self._cache.load_refresh(configured):
            self._cache.store_refresh(rotated, configured)

    def _refusal(self, status: int, body: dict[str, Any]) -> str:
        settings = self._settings
        assert isinstance(settings, GenericOAuth2)  # noqa: S101 - only the generic provider
        url = settings.token_url
        error = str(body.get("error", ""))
        advice = _ADVICE.get(error)
        if advice is None:
            if status in (404, 405) or not body:
                advice = "it answered without a token; check token_url"
            else:
                advice = f"it refused the request ({error or status}); check the oauth2 settings"
        described = str(body.get("error_description", ""))[:200]
        said = f" (server: {scrub(described)})" if described else ""
        return f"OAuth2 token endpoint {url}: {advice.format(flow=settings.flow)}{said}"


def provider_for(
    settings: OAuth2,
    cache_folder: Path,
    *,
    protocol: str = "imap",
    username: str = "",
    name: str = "",
) -> TokenProvider:
    """The token provider for an ``auth.oauth2`` section (see :class:`TokenProvider`)."""
    return TokenProvider(settings, cache_folder, protocol=protocol, username=username, name=name)


def _cache_key(settings: OAuth2, scopes: list[str], username: str) -> tuple[str, ...]:
    """What identifies a client's tokens: never a secret's value, only where it is read."""
    if isinstance(settings, MicrosoftOAuth2) and scopes:
        # A user's sign-in: per user and per delegated scope (IMAP, POP, SMTP).
        who = username.lower()
        return (
            "microsoft",
            settings.tenant,
            settings.client_id,
            " ".join(scopes),
            "device_code",
            who,
        )
    if isinstance(settings, MicrosoftOAuth2):
        return ("microsoft", settings.tenant, settings.client_id, settings.scope, settings.flow)
    if isinstance(settings, GoogleOAuth2):
        # Tokens are per user: the subject, or where the user's refresh token is read from.
        who = settings.subject or (settings.refresh_token.source if settings.refresh_token else "")
        app = settings.client_id or (
            settings.service_account_file.source if settings.service_account_file else ""
        )
        return ("google", settings.flow, app, who, settings.scope)
    # Refresh tokens are per user: two mailboxes of one app must not share a token.
    # Keyed by where the refresh token is read from, never by its value (the key is
    # unchanged from the first version, so existing cache files stay valid).
    consent = settings.refresh_token.source if settings.refresh_token else ""
    return (
        settings.token_url, settings.client_id, settings.scope or "", settings.flow, consent
    )  # fmt: skip


def _roles(token: str) -> list[str] | None:
    """The ``roles`` claim of a JWT access token (app-only permissions), read unverified.

    Only to say which set-up step is missing when a server refuses the token; None when
    the token is not a readable JWT (tokens are opaque to clients and may be encrypted).
    """
    parts = token.split(".")
    if len(parts) != 3 or len(parts[1]) > 16384:  # a JWT: header, claims, signature
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(claims, dict):
        return None
    roles = claims.get("roles", [])
    return [str(r) for r in roles] if isinstance(roles, list) else None


def _reveal(secret: Secret, name: str) -> str:
    try:
        return secret.reveal()
    except SecretError as exc:
        raise ConfigurationError(f"oauth2 {name}: {exc}") from None


def _lifetime(body: dict[str, Any]) -> float:
    try:
        return max(0.0, float(body["expires_in"]))
    except (KeyError, TypeError, ValueError):
        return DEFAULT_LIFETIME


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
