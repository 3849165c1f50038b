"""``provider: google``: tokens for Gmail (Google Workspace) by google-auth.

Two flows: a service account with domain-wide delegation acting as ``subject`` (a signed
JWT assertion exchanged at Google's token endpoint), or an installed app's refresh token.
google-auth is imported only here, when such a mailbox logs in (``pip install
'tracker-mail-plugin[oauth2]'``). Its ``RefreshError`` carries Google's OAuth2 answer; each
known reason is turned into the set-up step that is likely missing.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import time
from collections.abc import Callable
from typing import Any

from tracker_mail_plugin.config.auth import GOOGLE_SCOPE, GoogleOAuth2
from tracker_mail_plugin.config.secrets import Secret, SecretError
from tracker_mail_plugin.errors import ConfigurationError, Unreachable, scrub
from tracker_mail_plugin.oauth2.cache import CachedToken

TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL, not a secret
INSTALL = "pip install 'tracker-mail-plugin[oauth2]'"
GUIDE = "README, Google Workspace, step by step"
DELEGATION = (
    "in the Google Admin console (Security > Access and data control > API controls > "
    "Domain-wide delegation) add the service account's client ID {client} with the OAuth "
    f"scope {GOOGLE_SCOPE} (step 4 of {GUIDE}; a new entry can take a while to apply)"
)


def fetch(settings: GoogleOAuth2, clock: Callable[[], float]) -> CachedToken:
    """A new access token for the configured flow.

    Raises:
        ConfigurationError: Google refused (what to do is said) or google-auth is missing.
        Unreachable: Google's token endpoint cannot be reached or failed.
    """
    modules = _google_auth()
    client = ""
    if settings.flow == "service_account":
        info = _service_account_info(settings)
        client = str(info.get("client_id", "")) or "(see the key file's client_id)"
        credentials = _service_account(modules, info, settings)
    else:
        credentials = modules["credentials"].Credentials(
            None,
            refresh_token=_reveal(settings.refresh_token, "refresh_token"),
            client_id=settings.client_id,
            client_secret=_reveal(settings.client_secret, "client_secret"),
            token_uri=TOKEN_URI,
            scopes=[settings.scope],
        )
    exceptions = modules["exceptions"]
    try:
        credentials.refresh(modules["requests"].Request())
    except exceptions.RefreshError as exc:
        raise _refresh_error(settings, exc, client) from None
    except exceptions.TransportError as exc:
        raise Unreachable(scrub(f"cannot reach Google's token endpoint: {exc}")) from None
    return CachedToken(str(credentials.token), clock() + _lifetime(credentials.expiry))


def refused_advice(settings: GoogleOAuth2) -> str:
    """What the operator checks when Gmail refused a token Google issued."""
    who = f" ({settings.subject})" if settings.subject else ""
    return (
        "Google issued the token, so Gmail does not accept it for this mailbox: check that "
        f"username is the address the token is for{who} (step 6 of {GUIDE}), that IMAP (or "
        f"POP) is allowed for that user (step 5), and that the scope is {GOOGLE_SCOPE}"
    )


def _google_auth() -> dict[str, Any]:
    names = {
        "service_account": "google.oauth2.service_account",
        "credentials": "google.oauth2.credentials",
        "requests": "google.auth.transport.requests",
        "exceptions": "google.auth.exceptions",
    }
    try:
        return {key: importlib.import_module(name) for key, name in names.items()}
    except ImportError:
        raise ConfigurationError(
            f"provider: google needs the google-auth package: {INSTALL}"
        ) from None


def _service_account_info(settings: GoogleOAuth2) -> dict[str, Any]:
    source = settings.service_account_file.source if settings.service_account_file else ""
    try:
        info = json.loads(_reveal(settings.service_account_file, "service_account_file"))
    except ValueError:
        info = None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise ConfigurationError(
            f"oauth2 service_account_file {source}: not a service account key (the JSON "
            "file downloaded from the service account's Keys tab in Google Cloud)"
        )
    return info


def _service_account(modules: dict[str, Any], info: dict[str, Any], settings: GoogleOAuth2) -> Any:
    source = settings.service_account_file.source if settings.service_account_file else ""
    try:
        credentials = modules["service_account"].Credentials.from_service_account_info(
            info, scopes=[settings.scope]
        )
    except ValueError as exc:
        text = str(exc)
        detail = f" ({text})" if text.startswith("Service account info") else ""
        raise ConfigurationError(
            f"oauth2 service_account_file {source}: the key cannot be used{detail}; download "
            "a new JSON key from the service account's Keys tab"
        ) from None
    return credentials.with_subject(settings.subject)


def _refresh_error(settings: GoogleOAuth2, exc: Exception, client: str) -> Exception:
    data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
    error = str(data.get("error", ""))
    described = str(data.get("error_description", "")) or (str(exc.args[0]) if exc.args else "")
    said = f" (Google: {scrub(described[:200])})" if described else ""
    if getattr(exc, "retryable", False):
        return Unreachable(f"Google cannot issue a token now{said}; the next run tries again")
    return ConfigurationError(f"Google OAuth2: {_advice(settings, error, described, client)}{said}")


def _advice(settings: GoogleOAuth2, error: str, described: str, client: str) -> str:
    lowered = described.lower()
    if settings.flow == "service_account":
        if error == "invalid_grant" and ("iat" in lowered or "timeframe" in lowered):
            # "Invalid JWT: Token must be a short-lived token (60 minutes) and in a
            # reasonable timeframe. Check your iat and exp values ...": the assertion is
            # signed with this machine's time, so its clock is off.
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            return (
                f"this machine's clock is off (it says {now}): Google refused the times in "
                "the signed JWT assertion; set the clock right (NTP: chronyd or "
                "systemd-timesyncd)"
            )
        if error == "unauthorized_client":
            return "domain-wide delegation is missing for this scope: " + DELEGATION.format(
                client=client
            )
        if error == "invalid_grant" and ("email" in lowered or "user id" in lowered):
            return (
                f"subject {settings.subject} is not a user of the Workspace domain: set "
                "subject to the mailbox's address (a user, not a group or alias; step 6 of "
                f"{GUIDE})"
            )
        if error == "invalid_grant" and ("signature" in lowered or "not found" in lowered):
            return (
                "the service account or its key no longer exists: create a new JSON key "
                f"and put it where service_account_file points (step 2 of {GUIDE})"
            )
        if error == "invalid_grant":
            return (
                f"the grant was refused: check subject and domain-wide delegation ({DELEGATION})"
            ).format(client=client)
    else:
        if error in ("invalid_client", "deleted_client", "disabled_client"):
            return (
                "the OAuth client was not accepted: check client_id and client_secret (an "
                "installed/desktop app's credentials from Google Cloud > APIs & Services > "
                "Credentials)"
            )
        if error == "invalid_grant":
            return (
                "the refresh token was revoked or has expired (the user's consent was "
                "withdrawn, the password changed, or the app is in testing status, where "
                "refresh tokens last 7 days): obtain a new refresh token and put it where "
                "refresh_token points"
            )
        if error == "unauthorized_client":
            return "the refresh token was issued to another client: check client_id"
    if error == "invalid_scope":
        return f"the scope was refused: Gmail by IMAP/POP/SMTP needs scope {GOOGLE_SCOPE}"
    return f"the token request was refused ({error or 'no error code'})"


def _reveal(secret: Secret | None, name: str) -> str:
    assert secret is not None  # noqa: S101 - checked at load
    try:
        return secret.reveal()
    except SecretError as exc:
        raise ConfigurationError(f"oauth2 {name}: {exc}") from None


def _lifetime(expiry: Any) -> float:
    """Seconds from now until google-auth's ``expiry`` (a naive UTC datetime)."""
    if not isinstance(expiry, dt.datetime):
        return 300.0
    return max(0.0, expiry.replace(tzinfo=dt.UTC).timestamp() - time.time())
