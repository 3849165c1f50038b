"""The Redmine adapter's options: everything under a ``trackers:`` entry but ``adapter``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from tracker_mail_plugin import HttpOptions, Secret

TextFormatting = Literal["textile", "markdown", "common_mark", "plain"]


class RedmineConfig(HttpOptions):
    """How to reach one Redmine and how to write into it.

    ``url``, ``verify_tls``, ``ca_file``, ``timeout`` and ``proxy`` are the shared
    :class:`~tracker_mail_plugin.HttpOptions`: plain http only to a loopback address, since
    the API key goes with every request.

    Attributes:
        api_key: a reference to the API key (``{env: NAME}`` or ``{file: path}``). An
            administrator's key lets the adapter find senders by address and act as them.
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

    api_key: Secret
    users: dict[str, str] = Field(default_factory=dict)
    created_user_role: Annotated[str, Field(min_length=1)] = "Reporter"
    notify_created_users: bool = False
    tracker_names: dict[str, str] = Field(default_factory=dict)
    request_tracker: Annotated[str, Field(min_length=1)] = "Support"
    idempotency_field: str | None = None
    text_formatting: TextFormatting = "textile"
    reopen_status: str | None = None

    @field_validator("users")
    @classmethod
    def _lower_addresses(cls, value: dict[str, str]) -> dict[str, str]:
        return {address.strip().lower(): login.strip() for address, login in value.items()}

    def tracker_for(self, kind: str) -> str:
        """The Redmine tracker name a rule's ``type`` (or request type) means."""
        return self.tracker_names.get(kind, kind)
