"""The options of a ``jira`` tracker in ``rules.yaml``, validated before anything runs.

::

    trackers:
      jira-cloud:
        adapter: jira
        url: https://example.atlassian.net
        email: automation@example.com            # Cloud: account e-mail + API token
        api_token: {env: JIRA_API_TOKEN}
      jira-dc:
        adapter: jira
        url: https://jira.example.com
        token: {env: JIRA_PAT}                   # Data Center: personal access token
                                                 # (or username + password)

Every key is described in the adapter's README.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tracker_mail_plugin import HttpOptions, Secret

PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]+$")
ISSUE_KEY = re.compile(r"^[A-Z][A-Z0-9_]+-[1-9]\d*$")
ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")


class Deployment(StrEnum):
    """Where Jira runs: Atlassian's Cloud, or a Data Center / Server installation."""

    CLOUD = "cloud"
    DATACENTER = "datacenter"


class _Strict(BaseModel):
    # hide_input_in_errors: a ValidationError's text must never carry a mistyped secret.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class Recovery(_Strict):
    """How ``find_by_key`` looks for a write whose answer was lost.

    Attributes:
        indexed_property: an app indexes the ``tracker-mail`` issue property for JQL
            (``issue.property[tracker-mail].key``), so issues are found with one search.
        lookback_days: without the index, issues the API user touched this many days back
            are read, newest first.
        max_issues: at most this many issues are read before giving up with an error.
        settle_seconds: Cloud: a lookup whose searches found nothing searches again once
            this many seconds have passed since it began (Cloud's search index may not show
            a write of the last seconds yet).
    """

    indexed_property: bool = False
    lookback_days: Annotated[int, Field(ge=1, le=365)] = 7
    max_issues: Annotated[int, Field(ge=1, le=5000)] = 200
    settle_seconds: Annotated[float, Field(ge=0, le=300)] = 30.0


class JiraConfig(HttpOptions):
    """The options of the Jira adapter; see the adapter's README for each key.

    ``url`` (``https://example.atlassian.net``, ``https://jira.example.com/jira``),
    ``verify_tls``, ``ca_file``, ``timeout`` and ``proxy`` are the shared
    :class:`~tracker_mail_plugin.HttpOptions`.

    Attributes:
        deployment: ``cloud`` or ``datacenter``; implied by the credentials when left out,
            and compared with the server's own answer by ``check``.
        email: Cloud: the account's e-mail address, used with ``api_token``.
        api_token: Cloud: an API token of that account, as a secret reference.
        token: Data Center: a personal access token, as a secret reference.
        username: Data Center: a login for basic authentication, used with ``password``.
        password: Data Center: that login's password, as a secret reference.
        issue_types: a rule's ``type`` to the Jira issue type name (``bug: Bug``); a type not
            listed is used as written.
        default_issue_type: the issue type when a rule names none.
        service_desks: project key to service desk id, the complete list; when left out,
            the service desks are read from Jira.
        default_request_type: the request type when a ``create_request`` rule names none.
        request_types: a rule's ``request_type`` to the service desk's request type name.
        request_access: ``customers`` (only customers of the service desk may raise requests)
            or ``anyone`` (the desk is open to every account).
        service_desk_comments: replies on requests become ``public`` (shared with the
            customer) or ``internal`` comments.
        private_comment_role: the project role private comments on other issues are shown to.
        security_level: the issue security level private issues get.
        inbox_issues: project key to the issue ``attach_to_project`` files messages under.
        reply_projects: project keys a reply's subject may name; other key-shaped words
            (``UTF-8``, ``ISO-9001``) are not references. Empty: any key.
        users: mail address to accountId (Cloud) or username (Data Center).
        recovery: how lost answers are looked up (see :class:`Recovery`).
    """

    deployment: Deployment | None = None
    email: Annotated[str, Field(pattern=ADDRESS.pattern)] | None = None
    api_token: Secret | None = None
    token: Secret | None = None
    username: Annotated[str, Field(min_length=1)] | None = None
    password: Secret | None = None
    issue_types: dict[str, Annotated[str, Field(min_length=1)]] = Field(default_factory=dict)
    default_issue_type: Annotated[str, Field(min_length=1)] = "Task"
    service_desks: dict[str, Annotated[int, Field(gt=0)]] = Field(default_factory=dict)
    default_request_type: Annotated[str, Field(min_length=1)] | None = None
    request_types: dict[str, Annotated[str, Field(min_length=1)]] = Field(default_factory=dict)
    request_access: Literal["customers", "anyone"] = "customers"
    service_desk_comments: Literal["public", "internal"] = "public"
    private_comment_role: Annotated[str, Field(min_length=1)] | None = None
    security_level: Annotated[str, Field(min_length=1)] | None = None
    inbox_issues: dict[str, str] = Field(default_factory=dict)
    reply_projects: list[str] = Field(default_factory=list)
    users: dict[str, Annotated[str, Field(min_length=1)]] = Field(default_factory=dict)
    recovery: Recovery = Recovery()

    @field_validator("service_desks", "inbox_issues")
    @classmethod
    def _keys_are_project_keys(cls, value: dict[str, object]) -> dict[str, object]:
        for key in value:
            if not PROJECT_KEY.match(key):
                raise ValueError(f"{key!r} is not a project key (e.g. SD)")
        return value

    @field_validator("inbox_issues")
    @classmethod
    def _inbox_issues_are_issue_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for project, issue in value.items():
            if not ISSUE_KEY.match(issue):
                raise ValueError(f"{issue!r} (for {project}) is not an issue key (e.g. SD-1)")
        return value

    @field_validator("reply_projects")
    @classmethod
    def _reply_projects_are_keys(cls, value: list[str]) -> list[str]:
        for key in value:
            if not PROJECT_KEY.match(key):
                raise ValueError(f"{key!r} is not a project key (e.g. SD)")
        return value

    @field_validator("users")
    @classmethod
    def _users_map_addresses(cls, value: dict[str, str]) -> dict[str, str]:
        for address in value:
            if not ADDRESS.match(address):
                raise ValueError(f"{address!r} is not a mail address")
        return {address.lower(): account for address, account in value.items()}

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> JiraConfig:
        ways = {
            Deployment.CLOUD: self.email is not None or self.api_token is not None,
            "token": self.token is not None,
            "basic": self.username is not None or self.password is not None,
        }
        if sum(ways.values()) != 1:
            raise ValueError(
                "give exactly one way to sign in: email + api_token (Cloud), "
                "token (Data Center personal access token), or username + password"
            )
        if ways[Deployment.CLOUD] and (self.email is None or self.api_token is None):
            raise ValueError("Cloud sign-in needs both email and api_token")
        if ways["basic"] and (self.username is None or self.password is None):
            raise ValueError("basic sign-in needs both username and password")
        if self.deployment is not None and self.deployment != self.implied_deployment:
            raise ValueError(
                f"deployment {self.deployment.value} does not match the credentials: "
                "Cloud signs in with email + api_token, Data Center with token or "
                "username + password"
            )
        return self

    @property
    def implied_deployment(self) -> Deployment:
        """The deployment the credentials belong to (API tokens exist only on Cloud)."""
        return Deployment.CLOUD if self.api_token is not None else Deployment.DATACENTER

    @property
    def effective_deployment(self) -> Deployment:
        """``deployment`` as written, else the one the credentials imply."""
        return self.deployment or self.implied_deployment

    def issue_type(self, kind: str | None) -> str:
        """The Jira issue type name for a rule's ``type`` (``None``: the default)."""
        if kind is None:
            return self.default_issue_type
        return self.issue_types.get(kind, kind)

    def request_type(self, kind: str | None) -> str | None:
        """The request type name for a rule's ``request_type`` (``None``: the default)."""
        if kind is None:
            return self.default_request_type
        return self.request_types.get(kind, kind)
