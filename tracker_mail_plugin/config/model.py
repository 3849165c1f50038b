"""The typed shape of ``rules.yaml``: trackers, mailboxes (profiles), rules, policies.

Every key is declared here; anything else in the file is an error with a suggestion. The
models are frozen: a loaded configuration is a value, passed around, never edited.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ByteSize,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)

from tracker_mail_plugin.config.auth import STRICT, Auth
from tracker_mail_plugin.config.secrets import Secret
from tracker_mail_plugin.rules.model import Rule, Text, Words
from tracker_mail_plugin.sources.base import is_loopback
from tracker_mail_plugin.sources.deadline import DEFAULT_COMMAND_TIMEOUT

# Option names whose values are secrets in any adapter; a plain string there is refused.
SECRET_KEY = re.compile(
    r"(password|passwd|secret|token|api_?key|private_?key|client_secret)$", re.I
)


def _size(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Pydantic's byte sizes (``25MB``, ``512 KiB``, a number), with our own error sentence."""
    try:
        return handler(value)
    except ValidationError as exc:
        if any(error["type"].startswith("byte_size") for error in exc.errors()):
            raise ValueError("not a size; write a number of bytes or e.g. 25MB, 512KiB") from None
        raise


Size = Annotated[ByteSize, Field(gt=0), WrapValidator(_size)]


class _Strict(BaseModel):
    model_config = STRICT


class MoveTo(_Strict):
    """Move the message to a folder (created when missing)."""

    move: Annotated[str, Field(min_length=1)]


class ForwardTo(_Strict):
    """Forward the message, with the reason, to an address."""

    forward: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]


Disposal = Literal["leave", "delete", "flag_seen"] | MoveTo
Unprocessed = Literal["leave", "delete"] | MoveTo | ForwardTo
# "leave": quarantined in the journal only (the message stays; `status` lists it).
FailurePolicy = Literal["leave"] | MoveTo | ForwardTo
# Any of the three: what the pipeline's disposal step is given.
DispositionPolicy = Disposal | Unprocessed | FailurePolicy


class Replies(_Strict):
    """What a reply to an existing issue does: comment (or follow the rules), and if closed.

    ``from_unknown``: which issues a sender without a tracker account (written as the
    configured account, or as an account made for them) may comment on. ``conversation``:
    only issues this tool made or commented on from earlier mail of the same conversation
    (found through In-Reply-To/References in the journal); ``mailbox_projects`` (default):
    those, and issues in a project this mailbox's rules file into; ``any``: every issue the
    reply names, which lets anyone who knows an issue number write into it.
    """

    action: Literal["comment", "rules"] = "comment"
    closed_issue: Literal["reopen", "new_issue", "comment"] = "comment"
    from_unknown: Literal["conversation", "mailbox_projects", "any"] = "mailbox_projects"


def _lower_list(value: Any) -> Any:
    """One name or a list of names, compared without case (server ids, domains)."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        return [v.strip().lower() if isinstance(v, str) else v for v in value]
    return value


Names = Annotated[list[Annotated[str, Field(min_length=1)]], BeforeValidator(_lower_list)]


class Trust(_Strict):
    """Who may be written as: how the sender named in From is authenticated first.

    ``authserv_id``: the ids our own receiving servers write in ``Authentication-Results``
    (RFC 8601); headers with any other id are ignored. ``require``: what must pass, aligned
    with the From domain (``none``: From alone decides, as without this policy).
    ``unauthenticated``: such a sender is handled as unknown or refused. ``verify``: check
    DKIM signatures (``dkim``) or an ARC chain sealed by ``arc_sealers`` (``arc``) here,
    for mail no trusted server stamped.
    """

    authserv_id: Names = []
    require: Literal["dmarc", "dkim", "spf", "none"] = "none"
    unauthenticated: Literal["as_unknown", "reject"] = "as_unknown"
    verify: list[Literal["dkim", "arc"]] = []
    arc_sealers: Names = []

    @model_validator(mode="after")
    def _can_authenticate(self) -> Trust:
        if self.require != "none" and not self.authserv_id and not self.verify:
            raise ValueError(
                f"require: {self.require} needs a source of results: authserv_id (the id your "
                "receiving server writes in Authentication-Results) or verify: [dkim]"
            )
        if self.require == "dmarc" and not self.authserv_id and "arc" not in self.verify:
            raise ValueError(
                "require: dmarc is read from a trusted server's results (authserv_id or an ARC "
                "seal); our own verification checks DKIM only: use require: dkim"
            )
        if "arc" in self.verify and not self.arc_sealers:
            raise ValueError(
                "verify: [arc] needs arc_sealers, the domains whose ARC seals are trusted "
                "(e.g. google.com); anyone can seal a chain"
            )
        return self


AutomatedPolicy = Literal["drop", "process", "unprocessed"]


class AutomatedPolicies(_Strict):
    """What happens to machine-written mail of each class (all dropped by default)."""

    loop: AutomatedPolicy = "drop"
    bounce: AutomatedPolicy = "drop"
    auto_replied: AutomatedPolicy = "drop"
    auto_generated: AutomatedPolicy = "drop"
    bulk: AutomatedPolicy = "drop"


class Policies(_Strict):
    """Mailbox policies; ``defaults`` sets them for every mailbox, a mailbox overrides."""

    unknown_user: Literal["reject", "as_rule_owner", "create_user"] = "reject"
    allowed_domains: Words | None = None
    replies: Replies = Replies()
    automated: AutomatedPolicies = AutomatedPolicies()
    max_message_size: Size = ByteSize(25 * 10**6)
    max_attachment_size: Size = ByteSize(10 * 10**6)
    # Each file is one tracker upload: a message of 10,000 tiny parts must not become 10,000.
    max_attachments: Annotated[int, Field(ge=0)] = 100
    excluded_filenames: list[str] = []
    body_delimiters: list[str] = []
    strip_quotes: bool = True
    keep_original: bool = False
    on_success: Disposal = "flag_seen"
    on_unprocessed: Unprocessed = "leave"
    on_failure: FailurePolicy = MoveTo(move="Quarantine")
    max_attempts: Annotated[int, Field(ge=1)] = 5
    # The last line against slow mail: reading a message (and, one message at a time,
    # deciding on it) may take this long before the attempt fails. Not the tracker calls.
    max_processing_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0
    # Messages handled at once. Worth it only when the tracker serves requests in parallel
    # (several application workers); the adapter must declare itself thread-safe.
    workers: Annotated[int, Field(ge=1, le=32)] = 1
    trust: Trust = Trust()


POLICY_KEYS = frozenset(Policies.model_fields)
# Where the general defaults cannot work. POP3 and mbox have no folders: processed and
# failed mail stays where it is (the journal remembers). A pipe has no mailbox at all:
# processed mail needs no copy; the rest is kept in the spool directory.
_PROTOCOL_DEFAULTS: dict[str, dict[str, Any]] = {
    "pop3": {"on_success": "leave", "on_failure": "leave"},
    "mbox": {"on_success": "leave", "on_failure": "leave"},
    # Files have no "seen" flag: processed ones stay where they are (the journal remembers).
    "directory": {"on_success": "leave"},
    "pipe": {
        "on_success": "delete",
        "on_unprocessed": {"move": "Unprocessed"},
        "on_failure": {"move": "Quarantine"},
    },
}
MailProtocol = Literal["imap", "pop3", "graph", "maildir", "mbox", "directory", "pipe"]
_DEFAULT_PORTS = {("imap", "ssl"): 993, ("imap", "starttls"): 143, ("imap", "none"): 143}
_DEFAULT_PORTS |= {("pop3", "ssl"): 995, ("pop3", "starttls"): 110, ("pop3", "none"): 110}


DEFAULT_POLL_INTERVAL = 60.0


class Mailbox(_Strict):
    """A profile: where mail comes from, which tracker it feeds, its policies and rules."""

    protocol: MailProtocol
    tracker: str
    host: str | None = None
    port: Annotated[int, Field(gt=0, lt=65536)] | None = None
    security: Literal["ssl", "starttls", "none"] = "ssl"
    username: str | None = None
    password: Secret | None = None
    auth: Auth | None = None
    ca_file: str | None = None
    folder: str = "INBOX"
    path: str | None = None
    timeout: Annotated[float, Field(gt=0)] = 60.0  # connecting, and each read
    command_timeout: Annotated[float, Field(gt=0)] = DEFAULT_COMMAND_TIMEOUT  # each command
    # `tracker-mail watch`: seconds between looks at a mailbox it cannot idle on.
    poll_interval: Annotated[float, Field(gt=0)] = DEFAULT_POLL_INTERVAL
    rules: list[Rule] | None = None
    policies: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _collect_policies(cls, data: Any) -> Any:
        # Policies are written directly in the mailbox (PRODUCT.md's shape); they are
        # validated later, merged over `defaults`, as one Policies model.
        if isinstance(data, dict):
            found = {k: v for k, v in data.items() if k in POLICY_KEYS}
            if found:
                data = {k: v for k, v in data.items() if k not in POLICY_KEYS} | {"policies": found}
        return data

    @model_validator(mode="after")
    def _connection_complete(self) -> Mailbox:
        if self.protocol in ("imap", "pop3"):
            _one_login(self.password, self.auth)
            missing = [k for k in ("host", "username") if getattr(self, k) is None]
            if self.password is None and self.auth is None:
                missing.append("password (or auth: {oauth2: ...})")
            if missing:
                article = "an" if self.protocol == "imap" else "a"
                raise ValueError(f"{article} {self.protocol} mailbox needs {', '.join(missing)}")
            _refuse_clear_password(self.security, self.host or "")
        elif self.protocol == "graph":
            _graph_complete(self)
        elif self.auth is not None:
            raise ValueError(f"auth is for imap, pop3 and graph mailboxes, not {self.protocol}")
        elif self.path is None and self.protocol != "pipe":
            raise ValueError(f"a {self.protocol} mailbox needs path")
        return self

    @property
    def effective_port(self) -> int | None:
        """The port given, or the protocol's standard port for the security mode."""
        return self.port or _DEFAULT_PORTS.get((self.protocol, self.security))


def _graph_complete(box: Mailbox) -> None:
    """``protocol: graph``: the mailbox's address and a Microsoft app, nothing else."""
    missing = []
    if box.username is None:
        missing.append("username (the mailbox's address)")
    if box.auth is None or box.auth.oauth2.provider != "microsoft":
        missing.append("auth: {oauth2: {provider: microsoft, ...}}")
    if missing:
        raise ValueError(f"a graph mailbox needs {', '.join(missing)}")
    if box.auth is not None and box.auth.oauth2.mechanism is not None:
        raise ValueError(
            "oauth2 mechanism is not used by a graph mailbox (Graph takes the token over "
            "HTTPS, not by SASL); remove it"
        )
    extra = [k for k in ("host", "port", "password", "path") if getattr(box, k) is not None]
    if extra:
        raise ValueError(f"{', '.join(extra)} is not used by a graph mailbox")


def _refuse_clear_password(security: str, host: str) -> None:
    if security == "none" and not is_loopback(host):
        raise ValueError(
            "security: none sends the password in clear; it is only allowed for "
            "127.0.0.1/localhost; use ssl or starttls"
        )


def _one_login(password: Secret | None, auth: Auth | None) -> None:
    if password is not None and auth is not None:
        raise ValueError("password and auth are exclusive: log in with one of them")


class Tracker(BaseModel):
    """A tracker connection: the adapter's entry-point name plus the adapter's own options."""

    model_config = ConfigDict(extra="allow", frozen=True, hide_input_in_errors=True)

    adapter: Annotated[str, Field(min_length=1)]

    @property
    def options(self) -> dict[str, Any]:
        """The adapter's options (everything but ``adapter``), for its own config model."""
        return dict(self.model_extra or {})


class Company(_Strict):
    """A customer organisation: the mail domains of its people and the projects it owns."""

    domains: Words = []
    projects: Annotated[
        list[Text], BeforeValidator(lambda v: [v] if isinstance(v, (str, int)) else v)
    ] = []


class Smtp(_Strict):
    """The server used to forward mail (unprocessed messages, quarantine notices)."""

    host: str
    port: Annotated[int, Field(gt=0, lt=65536)] = 587
    security: Literal["ssl", "starttls", "none"] = "starttls"
    username: str | None = None
    password: Secret | None = None
    auth: Auth | None = None
    sender: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]
    ca_file: str | None = None
    timeout: Annotated[float, Field(gt=0)] = 60.0  # connecting, and each read
    # The whole forwarding of one message (connect, login, send).
    command_timeout: Annotated[float, Field(gt=0)] = DEFAULT_COMMAND_TIMEOUT

    @model_validator(mode="after")
    def _password_not_in_clear(self) -> Smtp:
        _one_login(self.password, self.auth)
        if self.auth is not None and not self.username:
            raise ValueError("auth needs username, the account the token is for")
        if self.password is not None or self.auth is not None:
            _refuse_clear_password(self.security, self.host)
        return self


DEFAULT_JOURNAL = "~/.local/state/tracker-mail/journal.sqlite3"


class PostgresJournal(_Strict):
    """``journal: {url: postgresql://user@host/db, password: {env: PGPASSWORD}}``.

    A journal in PostgreSQL, which several hosts can share; the password stays a reference
    (never in the URL, which is printed in errors).
    """

    url: Annotated[str, Field(pattern=r"^postgres(ql)?://")]
    password: Secret | None = None
    # How long a mailbox stays with a process that stopped renewing its lease (it died, or
    # was paused or cut off) before another takes it over; renewed every third of it.
    lease_seconds: Annotated[float, Field(ge=3, le=3600)] = 30

    @model_validator(mode="after")
    def _no_password_in_url(self) -> PostgresJournal:
        netloc = self.url.split("://", 1)[1].split("/", 1)[0]
        # libpq also takes the password as a parameter: ?password=… is as much in the URL.
        query = self.url.partition("?")[2].split("#", 1)[0]
        in_query = any(p.partition("=")[0].lower() == "password" for p in query.split("&"))
        if in_query or (":" in netloc.rsplit("@", 1)[0] and "@" in netloc):
            raise ValueError(
                "the journal url holds a password: remove it from url and write "
                "password: {env: PGPASSWORD} instead"
            )
        return self


class Config(_Strict):
    """The whole ``rules.yaml``."""

    version: Literal[1]
    trackers: dict[str, Tracker]
    mailboxes: dict[str, Mailbox]
    rules: list[Rule] | None = None
    companies: dict[str, Company] = {}
    users: dict[str, str] = {}
    smtp: Smtp | None = None
    defaults: Policies = Policies()
    journal: str | PostgresJournal = DEFAULT_JOURNAL
    journal_keep_days: Annotated[float, Field(gt=0)] = 90

    def company_table(self) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
        """Company name -> (domains, projects), the shape rule matching reads."""
        return {n: (tuple(c.domains), tuple(c.projects)) for n, c in self.companies.items()}

    def rules_for(self, mailbox: str) -> list[Rule]:
        """The mailbox's own rules, else the top-level ones."""
        own = self.mailboxes[mailbox].rules
        return own if own is not None else list(self.rules or [])

    def policies_for(self, mailbox: str) -> Policies:
        """``defaults`` with the mailbox's own policy keys on top.

        Where neither sets a disposition, the protocol decides: POP3 and mbox have no
        folders, so they leave processed and failed mail in place (the journal remembers).
        """
        box = self.mailboxes[mailbox]
        merged = self.defaults.model_dump(by_alias=True) | box.policies
        chosen = self.defaults.model_fields_set | set(box.policies)
        for key, value in _PROTOCOL_DEFAULTS.get(box.protocol, {}).items():
            if key not in chosen:
                merged[key] = value
        return Policies.model_validate(merged)
