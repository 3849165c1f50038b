"""The options of a ``github`` tracker in ``rules.yaml``, validated before anything runs.

::

    trackers:
      github-web:
        adapter: github
        repository: example-org/webshop          # or {project name: owner/repo, ...}
        token: {env: GITHUB_TOKEN}               # or app: {app_id, private_key, installation_id}
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tracker_mail_plugin import HttpOptions, Secret, TrackerUrl

GITHUB_API = "https://api.github.com"
REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")

AttachmentPolicy = Literal["list", "commit", "drop"]


class _Strict(BaseModel):
    # hide_input_in_errors: a ValidationError's text must never carry a mistyped secret.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class AppCredentials(_Strict):
    """Authenticate as a GitHub App installation (issues show ``<app>[bot]`` as author).

    Attributes:
        app_id: the App's numeric id (the JWT issuer).
        private_key: the App's PEM private key, as a secret reference (usually ``{file: …}``).
        installation_id: the installation on the account that owns the repositories.
    """

    app_id: Annotated[int, Field(gt=0)]
    private_key: Secret
    installation_id: Annotated[int, Field(gt=0)]


class GitHubConfig(HttpOptions):
    """The options of the GitHub adapter; see the adapter's README for each key.

    Attributes:
        repository: ``owner/repo``, or a map of the project names rules use to repositories.
        token: a personal access token (classic or fine-grained), as a secret reference.
        app: GitHub App installation credentials, instead of ``token``.
        url: written ``api_url``: the REST API root; ``https://HOST/api/v3`` for GitHub
            Enterprise Server. With ``verify_tls``, ``ca_file``, ``timeout`` and ``proxy``, the
            shared :class:`~tracker_mail_plugin.HttpOptions`.
        attachments: ``list`` (names, sizes, SHA-256 in the text), ``commit`` (files committed
            to ``attachments_branch`` under ``attachments_path`` and linked) or ``drop``.
        attachments_branch: the branch attachments are committed to (``commit`` only).
        attachments_path: the folder attachments are committed under (``commit`` only).
        publish_addresses: show the sender's mail address in issues and comments.
        request_labels: the labels that make an issue a request (``create_request``).
        users: mail address to GitHub login, for senders GitHub cannot look up by address.
        public_repositories_open: let anyone open issues and comment in public repositories,
            as github.com does, instead of asking for each sender's permission.
        allow_mentions: keep ``@name`` in mail text as a GitHub mention (it notifies).
        allow_references: keep ``#12``, ``owner/repo#12``, ``GH-12`` and issue URLs in
            mail text as GitHub references (each puts "mentioned this" on the issue it
            names, in any repository).
        write_interval: at least this many seconds between two writes (GitHub asks for 1).
    """

    repository: str | dict[str, str]
    token: Secret | None = None
    app: AppCredentials | None = None
    # The shared option under the name GitHub users know (api_url); read it as .api_url.
    url: TrackerUrl = Field(default=GITHUB_API, validation_alias="api_url")
    attachments: AttachmentPolicy = "list"
    attachments_branch: Annotated[str, Field(min_length=1)] | None = None
    attachments_path: Annotated[str, Field(min_length=1)] = "tracker-mail"
    publish_addresses: bool = False
    request_labels: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    users: dict[str, str] = Field(default_factory=dict)
    public_repositories_open: bool = False
    allow_mentions: bool = False
    allow_references: bool = False
    write_interval: Annotated[float, Field(ge=1.0)] = 1.0

    @field_validator("repository")
    @classmethod
    def _repositories_are_owner_slash_name(
        cls, value: str | dict[str, str]
    ) -> str | dict[str, str]:
        named = value.values() if isinstance(value, dict) else [value]
        if isinstance(value, dict) and not value:
            raise ValueError("give at least one project: owner/repo")
        for repository in named:
            if not REPOSITORY.match(repository):
                raise ValueError(f"{repository!r} is not a repository; write owner/repo")
        return value

    @field_validator("users")
    @classmethod
    def _users_map_addresses_to_logins(cls, value: dict[str, str]) -> dict[str, str]:
        for address, login in value.items():
            if not ADDRESS.match(address):
                raise ValueError(f"{address!r} is not a mail address")
            if not LOGIN.match(login):
                raise ValueError(f"{login!r} (for {address}) is not a GitHub login")
        return {address.lower(): login for address, login in value.items()}

    @field_validator("attachments_path")
    @classmethod
    def _path_is_relative(cls, value: str) -> str:
        parts = [part for part in value.split("/") if part]
        if not parts or any(part in (".", "..") for part in parts):
            raise ValueError("write a folder inside the repository, e.g. tracker-mail/attachments")
        return "/".join(parts)

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> GitHubConfig:
        if (self.token is None) == (self.app is None):
            raise ValueError("give exactly one of token or app")
        if self.attachments == "commit" and self.attachments_branch is None:
            raise ValueError(
                "attachments: commit needs attachments_branch (a branch kept for them)"
            )
        return self

    @property
    def api_url(self) -> str:
        """The REST API root, without a trailing slash."""
        return self.url

    @property
    def projects(self) -> dict[str, str]:
        """Project name (as rules write it) to ``owner/repo``."""
        if isinstance(self.repository, dict):
            return dict(self.repository)
        return {self.repository: self.repository}
