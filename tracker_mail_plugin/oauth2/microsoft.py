"""``provider: microsoft``: app-only tokens for Exchange Online from Entra ID, by msal.

msal is imported only here, when such a mailbox logs in (``pip install
'tracker-mail-plugin[oauth2]'``). A new msal application is made for each token: our own
cache (:mod:`.cache`) keeps tokens between runs, msal's in-memory one would not.

Entra ID answers a refused request with an OAuth2 ``error`` and ``AADSTS`` codes in
``error_codes``; each is turned into the documented set-up step that is likely missing.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

import requests

from tracker_mail_plugin.config.model import MICROSOFT_SCOPE, MicrosoftOAuth2
from tracker_mail_plugin.config.secrets import SecretError
from tracker_mail_plugin.errors import ConfigurationError, Unreachable, scrub
from tracker_mail_plugin.oauth2.cache import CachedToken

AUTHORITY_HOST = "https://login.microsoftonline.com"
TIMEOUT = (10.0, 30.0)  # connect, read
INSTALL = "pip install 'tracker-mail-plugin[oauth2]'"

# The documented set-up, named in errors by these words.
STEPS = (
    "the documented Microsoft 365 set-up is: (1) an app registration with the Office 365 "
    "Exchange Online application permission IMAP.AccessAsApp (or POP.AccessAsApp), (2) admin "
    "consent for it, (3) the app's service principal registered in Exchange Online with "
    "New-ServicePrincipal, (4) mailbox permission for it with Add-MailboxPermission"
)

# AADSTS codes (Entra ID's error_codes) and what they ask the operator to do.
_CODES = {
    7000215: "the client secret is wrong: use the secret's Value (not its Secret ID) from "
    "the app registration's Certificates & secrets",
    7000222: "the client secret has expired: create a new one in the app registration and "
    "put it where client_secret points",
    700016: "the tenant does not know the app: check tenant and client_id (the Application "
    "(client) ID), and that admin consent was given in this tenant (step 2)",
    90002: "the tenant does not exist: check tenant (the directory's domain or ID)",
    65001: "admin consent is missing: an administrator must grant consent for the app's "
    "IMAP.AccessAsApp/POP.AccessAsApp permission (step 2)",
    700027: "the certificate was not accepted: upload its public part to the app "
    "registration and check thumbprint",
    7000112: "the app is disabled in this tenant: enable its enterprise application",
    500011: "the tenant has no Exchange Online (Office 365 Exchange Online is not found)",
    70011: f"the scope was refused: app-only tokens need scope {MICROSOFT_SCOPE}",
}
_ERRORS = {
    "invalid_client": "the app's credential was not accepted: check client_secret (or "
    "certificate and thumbprint); a secret that expired or was rotated must be replaced",
    "unauthorized_client": "the tenant does not know the app or does not allow it: check "
    "tenant and client_id, and admin consent (step 2)",
    "invalid_grant": "the grant was refused: the admin consent is missing or was revoked (step 2)",
    "invalid_scope": f"the scope was refused: app-only tokens need scope {MICROSOFT_SCOPE}",
}
_TEMPORARY = {"temporarily_unavailable", "server_error"}


def fetch(settings: MicrosoftOAuth2, clock: Callable[[], float]) -> CachedToken:
    """A new app-only token (``acquire_token_for_client``).

    Raises:
        ConfigurationError: Entra ID refused the app (what to do is said) or msal is missing.
        Unreachable: login.microsoftonline.com cannot be reached or failed.
    """
    msal = _msal()
    where = f"Microsoft Entra ID ({settings.tenant})"
    try:
        app = msal.ConfidentialClientApplication(
            settings.client_id,
            client_credential=_credential(settings),
            authority=f"{AUTHORITY_HOST}/{settings.tenant}",
            timeout=TIMEOUT,
            # login.microsoftonline.com needs no validation; without this msal asks its
            # instance-discovery endpoint for host aliases after a refused request.
            instance_discovery=False,
        )
        result = app.acquire_token_for_client(scopes=[settings.scope])
    except (requests.RequestException, msal.exceptions.MsalError) as exc:
        # msal raises its own MsalServiceError for an HTTP error status (a 5xx).
        raise Unreachable(scrub(f"cannot get a token from {where}: {exc}")) from None
    except ValueError as exc:
        raise ConfigurationError(_construction_error(settings, str(exc))) from None
    if not isinstance(result, dict):
        raise Unreachable(f"{where} gave no answer; the next run tries again")
    if "access_token" in result:
        lifetime = _number(result.get("expires_in"), 300.0)
        return CachedToken(str(result["access_token"]), clock() + lifetime)
    error = str(result.get("error", ""))
    described = str(result.get("error_description", "")).splitlines()[0:1]
    said = f" (Entra ID: {scrub(described[0][:200])})" if described else ""
    if error in _TEMPORARY:
        raise Unreachable(f"{where} cannot issue a token now{said}; the next run tries again")
    raise ConfigurationError(f"{where}: {_advice(error, result)}; {STEPS}{said}")


def refused_advice(text: str) -> str:
    """What the operator checks when Exchange refused a token Entra ID issued."""
    classic = (
        'Exchange\'s plain "AUTHENTICATE failed" after Entra ID issued a token means the '
        "token was fine but Exchange does not let the app into this mailbox"
        if "AUTHENTICATE failed" in text or "Authentication failure" in text
        else "Entra ID issued the token, so Exchange does not let the app into this mailbox"
    )
    return (
        f"{classic}: the likely missing steps are the service principal registered in "
        "Exchange Online (New-ServicePrincipal -AppId <client_id> -ObjectId <the enterprise "
        "application's object ID>) and mailbox permission for it (Add-MailboxPermission "
        "-Identity <mailbox> -User <the service principal's ID> -AccessRights FullAccess); "
        "also check that username is the mailbox's address and that the app has "
        "IMAP.AccessAsApp/POP.AccessAsApp with admin consent"
    )


def _msal() -> Any:
    try:
        importlib.import_module("msal.exceptions")
        return importlib.import_module("msal")
    except ImportError:
        raise ConfigurationError(f"provider: microsoft needs the msal package: {INSTALL}") from None


def _credential(settings: MicrosoftOAuth2) -> str | dict[str, str]:
    try:
        if settings.certificate is not None:
            assert settings.thumbprint is not None  # noqa: S101 - checked at load
            return {
                "private_key": settings.certificate.reveal(),
                "thumbprint": settings.thumbprint.replace(":", "").upper(),
            }
        assert settings.client_secret is not None  # noqa: S101 - checked at load
        return settings.client_secret.reveal()
    except SecretError as exc:
        which = "certificate" if settings.certificate is not None else "client_secret"
        raise ConfigurationError(f"oauth2 {which}: {exc}") from None


def _construction_error(settings: MicrosoftOAuth2, text: str) -> str:
    if any(
        said in text
        for said in ("OIDC Discovery failed", "invalid_instance", "authority configuration")
    ):
        return (
            f"Microsoft Entra ID does not know tenant {settings.tenant}: check tenant (the "
            "directory's primary domain, e.g. contoso.onmicrosoft.com, or its tenant ID)"
        )
    if settings.certificate is not None:
        return (
            f"oauth2 certificate {settings.certificate.source}: the private key cannot be "
            "used; it must be a PEM file holding the unencrypted private key of the "
            "certificate uploaded to the app registration"
        )
    return f"Microsoft Entra ID ({settings.tenant}): msal refused the settings: {scrub(text)[:200]}"


def _advice(error: str, result: dict[str, Any]) -> str:
    codes = [c for c in result.get("error_codes") or [] if isinstance(c, int)]
    codes += [int(c) for c in re.findall(r"AADSTS(\d+)", str(result.get("error_description")))]
    for code in codes:
        if code in _CODES:
            return _CODES[code]
    return _ERRORS.get(error, f"the token request was refused ({error or 'no error code'})")


def _number(value: Any, default: float) -> float:
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return default
