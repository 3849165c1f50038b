"""The Redmine adapter's options: everything under a ``trackers:`` entry but ``adapter``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tracker_mail_plugin import Secret

TextFormatting = Literal["textile", "markdown", "common_mark", "plain"]


class RedmineConfig(BaseModel):
    """How to reach one Redmine and how to write into it.

    Attributes:
        url: the Redmine's base URL (``https://redmine.example.com``, or with a path prefix).
        api_key: a reference to the API key (``{env: NAME}`` or ``{file: path}``). An
            administrator's key lets the adapter find senders by address and act as them.
        verify_tls: verify the server's certificate (only turn off for a throwaway test).
        ca_file: a CA bundle to verify the server with (a private CA).
        timeout: seconds to wait for each answer; a write that gets none is an unknown
            outcome, looked up by its key before it is tried again.
        users: sender address to Redmine login, for senders the API cannot look up (a
            key that is not an administrator's cannot search users).
        created_user_role: the role given, in the rule's project, to accounts made for
            unknown senders (``unknown_user: create_user``).
        notify_created_users: let Redmine mail new accounts their login details.
        tracker_names: a rule's ``type`` to the Redmine tracker it means (``Task: Feature``);
            a type not listed is taken as a tracker name as it is.
        request_tracker: the tracker ``create_request`` files into, unless the rule names
            a request type (which is then a tracker name).
        idempotency_field: the name of an issue custom field (string, "used as a filter")
            that receives each created issue's key; without it the key is a hidden marker
            in the text (see the README).
        text_formatting: Redmine's text formatting setting, which the REST API does not
            show: decides how the hidden key marker and the sender line are written.
        reopen_status: the status a closed issue gets back on ``closed_issue: reopen``;
            by default the issue's tracker's default status.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    url: Annotated[str, Field(min_length=1)]
    api_key: Secret
    verify_tls: bool = True
    ca_file: str | None = None
    timeout: Annotated[float, Field(gt=0, le=3600)] = 30.0
    users: dict[str, str] = {}
    created_user_role: Annotated[str, Field(min_length=1)] = "Reporter"
    notify_created_users: bool = False
    tracker_names: dict[str, str] = {}
    request_tracker: Annotated[str, Field(min_length=1)] = "Support"
    idempotency_field: str | None = None
    text_formatting: TextFormatting = "textile"
    reopen_status: str | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL, e.g. https://redmine.example.com")
        if parts.query or parts.fragment:
            raise ValueError("must be the base URL, without ?query or #fragment")
        if parts.username or parts.password:
            raise ValueError("must not carry credentials; put the key in api_key")
        return value.strip().rstrip("/")

    @field_validator("ca_file")
    @classmethod
    def _readable_ca(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).expanduser().is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @field_validator("users")
    @classmethod
    def _lower_addresses(cls, value: dict[str, str]) -> dict[str, str]:
        return {address.strip().lower(): login.strip() for address, login in value.items()}

    @model_validator(mode="after")
    def _tls_choice(self) -> RedmineConfig:
        if self.ca_file is not None and not self.verify_tls:
            raise ValueError(
                "ca_file is used to verify TLS; it makes no sense with verify_tls: false"
            )
        return self

    def tracker_for(self, kind: str) -> str:
        """The Redmine tracker name a rule's ``type`` (or request type) means."""
        return self.tracker_names.get(kind, kind)
