"""``provider: microsoft``: tokens for Exchange Online from Entra ID, by msal.

``flow: client_credentials`` gets app-only tokens. ``flow: device_code`` signs a user in
once (:func:`sign_in`, for ``tracker-mail login``) and later runs refresh that sign-in
without anyone present (:func:`fetch_delegated`); the account and its refresh token are
kept in msal's ``SerializableTokenCache``, in a file beside our token cache, owner-only.

msal is imported only here, when such a mailbox logs in (``pip install
'tracker-mail-plugin[oauth2]'``). A new msal application is made for each token: our own
cache (:mod:`.cache`) keeps access tokens between runs, msal's in-memory one would not.

Entra ID answers a refused request with an OAuth2 ``error`` and ``AADSTS`` codes in
``error_codes``; each is turned into the documented set-up step that is likely missing.
"""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from tracker_mail_plugin.config.auth import MICROSOFT_SCOPE, MicrosoftOAuth2
from tracker_mail_plugin.config.secrets import SecretError
from tracker_mail_plugin.errors import ConfigurationError, Unreachable, scrub
from tracker_mail_plugin.http.translate import describe
from tracker_mail_plugin.oauth2.cache import CachedToken, write_private

AUTHORITY_HOST = "https://login.microsoftonline.com"
TIMEOUT = (10.0, 30.0)  # connect, read
INSTALL = "pip install 'tracker-mail-plugin[oauth2]'"

# The README's set-up ("Microsoft 365 (Exchange Online), step by step"), numbered as there,
# so that "step 3" in an error is step 3 of what the admin is reading.
GUIDE = "README, Microsoft 365 (Exchange Online), step by step"
STEPS = (
    f"the set-up ({GUIDE}) is: (1) register the app, (2) give it the Office 365 Exchange "
    "Online application permission IMAP.AccessAsApp (or POP.AccessAsApp) and grant admin "
    "consent, (3) give it a client secret or a certificate, (4) register its service "
    "principal in Exchange Online (New-ServicePrincipal) and give it the mailbox "
    "(Add-MailboxPermission)"
)
_CLOCK = (
    "this machine's clock is off (it says {now}): Entra ID refused the times in the signed "
    "client assertion; set the clock right (NTP: chronyd or systemd-timesyncd) and compare "
    "it with the current time in Entra ID's words at the end"
)

# AADSTS codes (Entra ID's error_codes) and what they ask the operator to do.
_CODES = {
    7000215: "the client secret is wrong: use the secret's Value (not its Secret ID) from "
    "the app registration's Certificates & secrets (step 3)",
    7000222: "the client secret has expired: create a new one in the app registration's "
    "Certificates & secrets and put it where client_secret points (step 3)",
    700016: "the tenant does not know the app: check tenant and client_id (the Application "
    "(client) ID on the app's Overview page, step 1), and that admin consent was given in "
    "this tenant (step 2)",
    7000229: "the app has no service principal (enterprise application) in this tenant: "
    "check tenant, or grant admin consent in this tenant (step 2), which creates it",
    90002: "the tenant does not exist: check tenant (the directory's domain or ID, step 1)",
    65001: "admin consent is missing: an administrator must grant consent for the app's "
    "IMAP.AccessAsApp/POP.AccessAsApp permission (step 2)",
    700027: "the certificate was not accepted: the thumbprint does not name a certificate "
    "uploaded to the app registration, or the key is not that certificate's; upload the "
    "certificate (step 3) and set thumbprint to what Entra shows for it (the same as "
    "`openssl x509 -in <certificate> -noout -fingerprint -sha1`)",
    700024: _CLOCK,
    7000112: "the app is disabled in this tenant: enable its enterprise application",
    500011: "the tenant has no Exchange Online (Office 365 Exchange Online is not found)",
    70011: f"the scope was refused: app-only tokens need scope {MICROSOFT_SCOPE}",
    1002012: f"the scope was refused: app-only tokens need scope {MICROSOFT_SCOPE}",
}
_ERRORS = {
    "invalid_client": "the app's credential was not accepted: check client_secret (or "
    "certificate and thumbprint); a secret that expired or was rotated must be replaced "
    "(step 3)",
    "unauthorized_client": "the tenant does not know the app or does not allow it: check "
    "tenant and client_id (step 1), and admin consent (step 2)",
    "invalid_grant": "the grant was refused: the admin consent is missing or was revoked (step 2)",
    "invalid_scope": f"the scope was refused: app-only tokens need scope {MICROSOFT_SCOPE}",
}
_TEMPORARY = {"temporarily_unavailable", "server_error"}

# The delegated scopes of flow: device_code, by what the token is used for (msal adds
# offline_access, openid and profile itself).
DELEGATED_SCOPES = {
    "imap": "https://outlook.office365.com/IMAP.AccessAsUser.All",
    "pop3": "https://outlook.office365.com/POP.AccessAsUser.All",
    "smtp": "https://outlook.office365.com/SMTP.Send",
    "graph": "https://graph.microsoft.com/Mail.ReadWrite",
}
# Entra ID's answers when a user's sign-in (refresh token) can no longer be used.
_SIGN_IN_GONE = {"invalid_grant", "interaction_required", "consent_required"}
_DEVICE_FLOW = {
    "authorization_declined": "the sign-in was declined",
    "expired_token": "the code expired before the sign-in was finished",
    "bad_verification_code": "Entra ID did not recognise the code",
}


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
        raise Unreachable(scrub(f"cannot get a token from {where}: {describe(exc)}")) from None
    except ValueError as exc:
        raise ConfigurationError(_construction_error(settings, str(exc))) from None
    if not isinstance(result, dict):
        raise Unreachable(f"{where} gave no answer; the next run tries again")
    if "access_token" in result:
        return _token(result, clock)
    error, said = _refused(result, where)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock()))
    advice = _advice(error, result).replace("{now}", now)
    raise ConfigurationError(f"{where}: {advice}; {STEPS}{said}")


def delegated_scopes(settings: MicrosoftOAuth2, protocol: str) -> list[str]:
    """The scopes a device-code sign-in asks for: ``scope`` if given, else the protocol's."""
    if "scope" in settings.model_fields_set:
        return settings.scope.split()
    return [DELEGATED_SCOPES.get(protocol, DELEGATED_SCOPES["imap"])]


def sign_in(
    settings: MicrosoftOAuth2,
    scopes: list[str],
    cache_path: Path,
    show: Callable[[str], None],
    clock: Callable[[], float],
) -> tuple[CachedToken, str]:
    """Sign a user in by device code; keep the sign-in in ``cache_path`` (0600).

    ``show`` is given msal's message (the verification URL and the code) and must reach
    the user; this then waits until the user has signed in, declined, or the code expired.

    Returns:
        The access token and the account that signed in.

    Raises:
        ConfigurationError: Entra ID refused the app or the sign-in (what to do is said).
        Unreachable: login.microsoftonline.com cannot be reached or failed.
    """
    msal = _msal()
    where = f"Microsoft Entra ID ({settings.tenant})"
    cache = msal.SerializableTokenCache()  # a new sign-in replaces the one kept before
    try:
        app = _public_app(msal, settings, cache)
        flow = app.initiate_device_flow(scopes=scopes)
        if "user_code" not in flow:
            error, said = _refused(flow, where)
            raise ConfigurationError(
                f"{where} refused to start a device-code sign-in: {_delegated_advice(error, flow)}"
                f"{said}"
            )
        show(str(flow["message"]))
        result = app.acquire_token_by_device_flow(flow)
    except (requests.RequestException, msal.exceptions.MsalError) as exc:
        raise Unreachable(scrub(f"cannot sign in with {where}: {describe(exc)}")) from None
    except ValueError as exc:
        raise ConfigurationError(_construction_error(settings, str(exc))) from None
    if not isinstance(result, dict) or "access_token" not in result:
        result = result if isinstance(result, dict) else {}
        error, said = _refused(result, where)
        advice = _DEVICE_FLOW.get(error) or _delegated_advice(error, result)
        raise ConfigurationError(f"{where}: {advice}; nothing was kept, sign in again{said}")
    write_private(cache_path, cache.serialize())
    claims = result.get("id_token_claims") or {}
    who = str(claims.get("preferred_username") or claims.get("upn") or "the user")
    return _token(result, clock), who


def fetch_delegated(
    settings: MicrosoftOAuth2,
    scopes: list[str],
    username: str,
    cache_path: Path,
    login: str,
    clock: Callable[[], float],
) -> CachedToken:
    """A token from the kept sign-in (``acquire_token_silent``), with no user present.

    ``login`` is the command that signs in again, said when there is no usable sign-in.

    Raises:
        ConfigurationError: no sign-in is kept, or it expired or was revoked.
        Unreachable: login.microsoftonline.com cannot be reached or failed.
    """
    msal = _msal()
    where = f"Microsoft Entra ID ({settings.tenant})"
    again = f"run `{login}` to sign in (a user of the mailbox enters a code in a browser)"
    cache = msal.SerializableTokenCache()
    try:
        cache.deserialize(cache_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"flow: device_code has no sign-in yet: {again}") from None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"the kept sign-in {cache_path} cannot be read ({type(exc).__name__}): {again}"
        ) from None
    try:
        app = _public_app(msal, settings, cache)
        accounts = app.get_accounts()
        if not accounts:
            raise ConfigurationError(f"flow: device_code has no sign-in yet: {again}")
        wanted = [a for a in accounts if str(a.get("username", "")).lower() == username.lower()]
        # Our own cache missed or its token was refused: msal's copy of that token is no
        # better, so the refresh token is always used (a refused token is never retried).
        result = app.acquire_token_silent_with_error(
            scopes, account=(wanted or accounts)[0], force_refresh=True
        )
    except (requests.RequestException, msal.exceptions.MsalError) as exc:
        raise Unreachable(scrub(f"cannot get a token from {where}: {describe(exc)}")) from None
    except ValueError as exc:
        raise ConfigurationError(_construction_error(settings, str(exc))) from None
    if cache.has_state_changed:
        write_private(cache_path, cache.serialize())
    if result is None:
        raise ConfigurationError(
            f"the kept sign-in has no refresh token for {' '.join(scopes)}: {again}"
        )
    if "access_token" in result:
        return _token(result, clock)
    error, said = _refused(result, where)
    if error in _SIGN_IN_GONE:
        raise ConfigurationError(
            f"{where}: the sign-in expired or was revoked (or the user's password or the "
            f"tenant's policy changed): {again}{said}"
        )
    raise ConfigurationError(f"{where}: {_delegated_advice(error, result)}; {again}{said}")


# What Exchange Online answers a token it will not take, per protocol, as shown in
# Microsoft's "Authenticate an IMAP, POP or SMTP connection using OAuth" (the sample
# exchanges: IMAP "NO AUTHENTICATE failed.", POP "-ERR Authentication failure: unknown user
# name or bad password.", SMTP "535 5.7.3 Authentication unsuccessful"; cited in
# ../shared/docs/research/trackers-and-apis.md) and in "Enable or disable SMTP AUTH in
# Exchange Online" (SMTP AUTH off for the tenant or the mailbox: "535 5.7.139
# Authentication unsuccessful, SmtpClientAuthentication is disabled for the
# Tenant/Mailbox").
_SMTP_AUTH_OFF = ("SmtpClientAuthentication is disabled", "5.7.139")
_CLASSIC = ("AUTHENTICATE failed", "Authentication failure", "5.7.3")


def refused_advice(
    text: str,
    protocol: str = "imap",
    flow: str = "client_credentials",
    roles: list[str] | None = None,
) -> str:
    """What the operator checks when Exchange refused a token Entra ID issued.

    ``roles`` are the application permissions the token carries (its ``roles`` claim),
    None when the token could not be read. Entra ID issues an app-only token even when no
    permission was consented, just without the role: that tells step 2 from step 4.
    """
    if protocol == "smtp":
        return _smtp_advice(text, flow)
    if flow == "device_code":
        return _delegated_refused(protocol)
    classic = (
        f'Exchange\'s plain "{_said(text)}" after Entra ID issued a token means the '
        "token was fine but Exchange does not let the app into this mailbox"
        if any(said in text for said in _CLASSIC)
        else "Entra ID issued the token, so Exchange does not let the app into this mailbox"
    )
    permission = "POP.AccessAsApp" if protocol == "pop3" else "IMAP.AccessAsApp"
    # On by default in Exchange Online, but an admin or the mailbox's CAS mailbox plan may
    # have turned the protocol off for this mailbox.
    which = "Pop" if protocol == "pop3" else "Imap"
    enabled = (
        f", and that {which.upper()} is on for the mailbox (Get-CASMailbox -Identity <mailbox> "
        f"shows {which}Enabled; turn it on with Set-CASMailbox -Identity <mailbox> "
        f"-{which}Enabled $true)"
    )
    if roles is not None and permission not in roles:
        return (
            f"the token Entra ID issued carries no {permission} role (roles: "
            f"{', '.join(roles) or 'none'}): the app lacks the Office 365 Exchange Online "
            f"application permission {permission}, or nobody granted admin consent for it "
            f"(step 2 of {GUIDE}); a consent takes a few minutes to apply"
        )
    return (
        f"{classic}: the likely missing step is step 4 of {GUIDE}: the service principal "
        "registered in Exchange Online (New-ServicePrincipal -AppId <client_id> -ObjectId "
        "<the enterprise application's object ID>) and mailbox permission for it "
        "(Add-MailboxPermission -Identity <mailbox> -User <the service principal's ID> "
        "-AccessRights FullAccess); also check that username is the mailbox's address and "
        f"that the app has {permission} with admin consent (step 2){enabled}; changes in "
        "Exchange can take a while to apply"
    )


def _delegated_refused(protocol: str) -> str:
    """A user's token (flow: device_code) refused: the user, not an app, lacks access."""
    which = "POP" if protocol == "pop3" else "IMAP"
    return (
        "Entra ID issued the signed-in user's token, so Exchange does not let that user into "
        "this mailbox: check that username is the mailbox of the user who ran `tracker-mail "
        "login`, or one that user has Full Access to (Add-MailboxPermission), and that "
        f"{which} is on for the mailbox (Set-CASMailbox -Identity <mailbox> "
        f"-{which.capitalize()}Enabled $true); if the user signed in as someone else, run "
        "`tracker-mail login` again"
    )


def _smtp_advice(text: str, flow: str = "client_credentials") -> str:
    if any(said in text for said in _SMTP_AUTH_OFF):
        return (
            "Exchange has SMTP AUTH (Authenticated SMTP) turned off for this tenant or "
            "mailbox: turn it on for the sending mailbox (Microsoft 365 admin center > Users > "
            "the user > Mail > Manage email apps > Authenticated SMTP, or Set-CASMailbox "
            "-Identity <mailbox> -SmtpClientAuthenticationDisabled $false), or for the whole "
            "tenant (Set-TransportConfig -SmtpClientAuthenticationDisabled $false); security "
            "defaults in Entra ID also block it"
        )
    if flow == "device_code":
        return (
            "Entra ID issued the signed-in user's token, so Exchange does not let that user "
            "send as this mailbox: check that smtp username is the address of the user who "
            "ran `tracker-mail login smtp` and that Authenticated SMTP is on for it "
            "(Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false)"
        )
    return (
        "Entra ID issued the token, so Exchange does not let the app send as this mailbox: "
        "check that smtp username is the mailbox's address, that the app has the Office 365 "
        "Exchange Online permission SMTP.SendAsApp with admin consent, that its service "
        "principal is registered in Exchange Online (New-ServicePrincipal) with mailbox "
        "permission (Add-MailboxPermission -AccessRights FullAccess), and that Authenticated "
        "SMTP is on for the mailbox (Set-CASMailbox -SmtpClientAuthenticationDisabled $false)"
    )


def _said(text: str) -> str:
    for said in _CLASSIC:
        if said in text:
            return said
    return text


def _public_app(msal: Any, settings: MicrosoftOAuth2, cache: Any) -> Any:
    return msal.PublicClientApplication(
        settings.client_id,
        authority=f"{AUTHORITY_HOST}/{settings.tenant}",
        token_cache=cache,
        timeout=TIMEOUT,
        instance_discovery=False,
    )


def _token(result: dict[str, Any], clock: Callable[[], float]) -> CachedToken:
    lifetime = _number(result.get("expires_in"), 300.0)
    return CachedToken(str(result["access_token"]), clock() + lifetime)


def _refused(result: dict[str, Any], where: str) -> tuple[str, str]:
    """The error code and Entra ID's own words; Unreachable when the failure is temporary."""
    error = str(result.get("error", ""))
    described = str(result.get("error_description", "")).splitlines()[0:1]
    said = f" (Entra ID: {scrub(described[0][:200])})" if described else ""
    if error in _TEMPORARY:
        raise Unreachable(f"{where} cannot issue a token now{said}; the next run tries again")
    return error, said


def _delegated_advice(error: str, result: dict[str, Any]) -> str:
    codes = [c for c in result.get("error_codes") or [] if isinstance(c, int)]
    if 7000218 in codes or error == "invalid_client":
        return (
            "the app is not a public client: in the app registration's Authentication, "
            "set 'Allow public client flows' to Yes"
        )
    # Worded for this flow: the app-only set-up's step numbers are not the device-code one's.
    if 700016 in codes:
        return (
            "the tenant does not know the app: check tenant and client_id (the Application "
            "(client) ID on the app registration's Overview page)"
        )
    if 90002 in codes:
        return "the tenant does not exist: check tenant (the directory's domain or ID)"
    return f"the request was refused ({error or 'no error code'}); check tenant and client_id"


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
