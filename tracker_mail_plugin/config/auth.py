"""How a mailbox logs in with OAuth2: the ``auth: {oauth2: …}`` section of ``rules.yaml``.

One model per provider (``generic``, ``microsoft``, ``google``), told apart by
``provider``; each validates that its flow has what it needs, so a missing client secret or
subject is a configuration error with the key's name, not a refusal at login time.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tracker_mail_plugin.config.secrets import Secret
from tracker_mail_plugin.sources.base import is_loopback

# Unknown keys refused, values frozen; hide_input_in_errors: a ValidationError's text must
# never carry a mistyped password. Every model of rules.yaml is configured so.
STRICT = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, hide_input_in_errors=True)


class Strict(BaseModel):
    """A section of ``rules.yaml``: unknown keys refused, values frozen, secrets hidden."""

    model_config = STRICT


SaslMechanism = Literal["xoauth2", "oauthbearer"]


class _OAuth2Login(Strict):
    """What every provider's section shares: which SASL mechanism carries the token.

    Unset, OAUTHBEARER (RFC 7628) is used where the server offers it, else XOAUTH2; set,
    that one is used (for a server that offers one it does not accept tokens with).
    """

    mechanism: SaslMechanism | None = None


class GenericOAuth2(_OAuth2Login):
    """Any OAuth2 server: a token from ``token_url`` by client credentials or refresh token.

    The client authenticates in the form body (``client_secret_post``), which every major
    provider accepts. ``refresh_token`` is for servers that grant mailbox access only to a
    user's consent (obtained once, outside tracker-mail).
    """

    provider: Literal["generic"]
    token_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+")]
    client_id: Annotated[str, Field(min_length=1)]
    client_secret: Secret | None = None
    scope: str | None = None
    flow: Literal["client_credentials", "refresh_token"] = "client_credentials"
    refresh_token: Secret | None = None

    @model_validator(mode="after")
    def _flow_complete(self) -> GenericOAuth2:
        if self.flow == "refresh_token" and self.refresh_token is None:
            raise ValueError("flow: refresh_token needs refresh_token ({env: NAME})")
        if self.flow == "client_credentials" and self.client_secret is None:
            raise ValueError("flow: client_credentials needs client_secret ({env: NAME})")
        if self.flow == "client_credentials" and self.refresh_token is not None:
            raise ValueError("refresh_token is only used with flow: refresh_token")
        if self.token_url.startswith("http://") and not is_loopback(_url_host(self.token_url)):
            raise ValueError("token_url must use https (http only for 127.0.0.1/localhost)")
        return self


MICROSOFT_SCOPE = "https://outlook.office365.com/.default"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"  # protocol: graph, app-only
GOOGLE_SCOPE = "https://mail.google.com/"


class MicrosoftOAuth2(_OAuth2Login):
    """Microsoft 365 (Entra ID) by msal: app-only client credentials, or a user's device code.

    ``flow: client_credentials``: the app proves itself with a client secret or with a
    certificate (its private key in a PEM file and the certificate's SHA-1 thumbprint as
    Entra ID shows it). ``flow: device_code``: a public client, no secret; a user signs in
    once with ``tracker-mail login MAILBOX`` and later runs refresh that sign-in. Its
    scope, unless given, is the delegated one of the protocol (IMAP, POP or SMTP).
    """

    provider: Literal["microsoft"]
    tenant: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9.-]+$")]
    client_id: Annotated[str, Field(min_length=1)]
    client_secret: Secret | None = None
    certificate: Secret | None = None
    thumbprint: Annotated[str, Field(pattern=r"^[0-9A-Fa-f:]{40,59}$")] | None = None
    flow: Literal["client_credentials", "device_code"] = "client_credentials"
    scope: str = MICROSOFT_SCOPE

    @model_validator(mode="after")
    def _credential_complete(self) -> MicrosoftOAuth2:
        if self.flow == "device_code":
            extra = [k for k in ("client_secret", "certificate", "thumbprint") if getattr(self, k)]
            if extra:
                raise ValueError(
                    f"{', '.join(extra)} is not used with flow: device_code (a user signs in "
                    "with `tracker-mail login MAILBOX`; the app is a public client)"
                )
            return self
        if (self.client_secret is None) == (self.certificate is None):
            raise ValueError(
                "provider: microsoft needs exactly one of client_secret ({env: NAME}) and "
                "certificate ({file: key-and-certificate.pem}, with thumbprint)"
            )
        if self.certificate is not None:
            if not self.certificate.source.startswith("file:"):
                raise ValueError("certificate must be a file reference: {file: path.pem}")
            if self.thumbprint is None:
                raise ValueError("certificate needs thumbprint (the certificate's SHA-1, hex)")
        elif self.thumbprint is not None:
            raise ValueError("thumbprint is only used with certificate")
        return self


class GoogleOAuth2(_OAuth2Login):
    """Google Workspace by google-auth: a service account or an installed app's consent.

    ``flow: service_account`` (the default): a service account with domain-wide delegation
    acts as ``subject``, the mailbox's address. ``flow: refresh_token``: an installed
    (desktop) app's client id and secret and a user's refresh token obtained once.
    """

    provider: Literal["google"]
    flow: Literal["service_account", "refresh_token"] = "service_account"
    service_account_file: Secret | None = None
    subject: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    client_id: Annotated[str, Field(min_length=1)] | None = None
    client_secret: Secret | None = None
    refresh_token: Secret | None = None
    scope: str = GOOGLE_SCOPE

    @model_validator(mode="after")
    def _flow_complete(self) -> GoogleOAuth2:
        if self.flow == "service_account":
            if self.service_account_file is None or self.subject is None:
                raise ValueError(
                    "flow: service_account needs service_account_file ({file: key.json}) "
                    "and subject (the mailbox address the service account acts as)"
                )
            if not self.service_account_file.source.startswith("file:"):
                raise ValueError("service_account_file must be a file reference: {file: path}")
            extra = [k for k in ("client_id", "client_secret", "refresh_token") if getattr(self, k)]
        else:
            missing = [
                k for k in ("client_id", "client_secret", "refresh_token") if not getattr(self, k)
            ]
            if missing:
                raise ValueError(f"flow: refresh_token needs {', '.join(missing)}")
            extra = [k for k in ("service_account_file", "subject") if getattr(self, k)]
        if extra:
            raise ValueError(f"{', '.join(extra)} is not used with flow: {self.flow}")
        return self


OAuth2 = Annotated[GenericOAuth2 | MicrosoftOAuth2 | GoogleOAuth2, Field(discriminator="provider")]


class Auth(Strict):
    """How to log in instead of a password: an OAuth2 access token (XOAUTH2/OAUTHBEARER)."""

    oauth2: OAuth2


def _url_host(url: str) -> str:
    """The host part of ``url`` (without user, port or brackets), to tell loopback apart."""
    netloc = url.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
    if netloc.startswith("["):
        return netloc[1:].split("]", 1)[0]
    return netloc.rsplit(":", 1)[0]
