"""Build what a command works with from the configuration: sources, adapters, the journal.

Nothing here connects: sources open when the run opens them, and adapters promise not to
touch the network in their constructor. Problems come back as configuration errors placed
at their line in ``rules.yaml`` where one can be found.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypedDict

from pydantic import ValidationError

from tracker_mail_plugin.adapter import TrackerAdapter
from tracker_mail_plugin.config.auth import GRAPH_SCOPE, Auth, MicrosoftOAuth2
from tracker_mail_plugin.config.loader import LoadedConfig
from tracker_mail_plugin.config.model import DEFAULT_JOURNAL, Mailbox, PostgresJournal
from tracker_mail_plugin.config.problems import ConfigProblem, from_validation_error
from tracker_mail_plugin.config.secrets import Secret, SecretError
from tracker_mail_plugin.errors import ConfigurationError
from tracker_mail_plugin.forward import SmtpForwarder, no_forwarding
from tracker_mail_plugin.journal import Journal
from tracker_mail_plugin.journal.scratch import scratch_copy
from tracker_mail_plugin.oauth2 import TokenProvider, provider_for
from tracker_mail_plugin.pipeline.disposal import Forwarder
from tracker_mail_plugin.registry import load_adapter
from tracker_mail_plugin.sources.base import MailSource
from tracker_mail_plugin.sources.net import Account


def open_source(
    mailbox: Mailbox, max_message_size: int, state_folder: Path | None = None, name: str = ""
) -> MailSource:
    """The mail source for a mailbox profile (not yet opened).

    ``state_folder`` (the journal's folder) holds OAuth2 token caches; it is needed only
    by a mailbox with ``auth: {oauth2: ...}``. ``name`` is said in what to run when a
    user's sign-in is missing (``tracker-mail login NAME``).
    """
    if mailbox.protocol in ("imap", "pop3"):
        if mailbox.host is None or mailbox.username is None:
            article = "an" if mailbox.protocol == "imap" else "a"
            raise ConfigurationError(
                f"{article} {mailbox.protocol} mailbox needs host and username"
            )
        account = Account(
            host=mailbox.host,
            username=mailbox.username,
            **_login(
                mailbox.password,
                mailbox.auth,
                state_folder,
                "mailbox",
                protocol=mailbox.protocol,
                username=mailbox.username,
                name=name,
            ),
            port=mailbox.port,
            security=mailbox.security,
            ca_file=mailbox.ca_file,
            timeout=mailbox.timeout,
            command_timeout=mailbox.command_timeout,
            max_message_size=max_message_size,
        )
        if mailbox.protocol == "imap":
            from tracker_mail_plugin.sources.imap import ImapSource

            return ImapSource(folder=mailbox.folder, **account)
        from tracker_mail_plugin.sources.pop3 import Pop3Source

        return Pop3Source(**account)
    if mailbox.protocol == "graph":
        return _graph_source(mailbox, max_message_size, state_folder, name)
    if mailbox.protocol == "pipe":
        raise ConfigurationError("a pipe mailbox receives mail with `tracker-mail receive`")
    from tracker_mail_plugin.sources.local import DirectorySource, MaildirSource, MboxSource

    if mailbox.path is None:
        raise ConfigurationError(f"a {mailbox.protocol} mailbox needs path")
    path = Path(os.path.expanduser(mailbox.path))
    if mailbox.protocol == "maildir":
        return MaildirSource(path, max_message_size=max_message_size)
    if mailbox.protocol == "mbox":
        return MboxSource(path, max_message_size=max_message_size)
    return DirectorySource(path, max_message_size=max_message_size)


def _graph_source(
    mailbox: Mailbox, max_message_size: int, state_folder: Path | None, name: str
) -> MailSource:
    """``protocol: graph``: app-only tokens for Graph unless a scope was written."""
    from tracker_mail_plugin.sources.graph import GraphSource

    if mailbox.username is None or mailbox.auth is None:
        raise ConfigurationError("a graph mailbox needs username and auth")
    if state_folder is None:
        raise ValueError("an OAuth2 login needs the state folder for its token cache")
    settings = mailbox.auth.oauth2
    if (
        isinstance(settings, MicrosoftOAuth2)
        and settings.flow == "client_credentials"
        and "scope" not in settings.model_fields_set
    ):
        settings = settings.model_copy(update={"scope": GRAPH_SCOPE})
    bearer = provider_for(
        settings, state_folder, protocol="graph", username=mailbox.username, name=name
    )
    # Graph's documented default is its well-known name's spelling, not IMAP's INBOX (the
    # mailbox model's default): the folder is part of the journal's name of the source.
    folder = mailbox.folder if "folder" in mailbox.model_fields_set else "Inbox"
    return GraphSource(
        mailbox.username,
        bearer,
        folder=folder,
        timeout=mailbox.timeout,
        max_message_size=max_message_size,
    )


def _login(
    password: Secret | None,
    auth: Auth | None,
    state_folder: Path | None,
    what: str,
    **about: str,
) -> LoginSecrets:
    """The password (read now) or the token provider of a mailbox or SMTP server.

    ``about``: the protocol, username and mailbox name the token provider is told.
    """
    if auth is not None:
        if state_folder is None:
            raise ValueError("an OAuth2 login needs the state folder for its token cache")
        return {"password": None, "bearer": provider_for(auth.oauth2, state_folder, **about)}
    if password is None:
        raise ConfigurationError(f"{what} needs password or auth")
    try:
        return {"password": password.reveal(), "bearer": None}
    except SecretError as exc:
        raise ConfigurationError(f"{what} password: {exc}") from None


class LoginSecrets(TypedDict):
    """How a source logs in: exactly one of the two is set."""

    password: str | None
    bearer: TokenProvider | None


def adapter_option_problems(loaded: LoadedConfig, tracker: str) -> list[ConfigProblem]:
    """What is wrong with a tracker's adapter or its options, positioned in the file."""
    try:
        build_adapter(loaded, tracker)
    except ConfigurationError as exc:
        return [_positioned(loaded, tracker, problem) for problem in exc.problems]
    except _OptionsInvalid as exc:
        return exc.problems
    return []


class _OptionsInvalid(Exception):
    def __init__(self, problems: list[ConfigProblem]):
        super().__init__(f"{len(problems)} problem(s) in tracker options")
        self.problems = problems


def build_adapter(loaded: LoadedConfig, tracker: str) -> TrackerAdapter:
    """The adapter for a named tracker, its options validated by the adapter's own model."""
    settings = loaded.config.trackers[tracker]
    cls = load_adapter(settings.adapter)
    try:
        options = cls.config_model.model_validate(settings.options)
    except ValidationError as exc:
        base = ("trackers", tracker)
        problems = from_validation_error(loaded.path, loaded.marks, exc, cls.config_model, base)
        raise _OptionsInvalid(problems) from None
    return cls(options)


def build_adapter_or_raise(loaded: LoadedConfig, tracker: str) -> TrackerAdapter:
    """Like :func:`build_adapter`, with option problems as one ConfigurationError."""
    try:
        return build_adapter(loaded, tracker)
    except _OptionsInvalid as exc:
        raise ConfigurationError([str(p) for p in exc.problems]) from None


def _positioned(loaded: LoadedConfig, tracker: str, problem: str) -> ConfigProblem:
    mark = loaded.marks.nearest(("trackers", tracker, "adapter"), prefer_key=False)[1]
    return ConfigProblem(loaded.path, mark.line, mark.column, problem)


def journal_location(loaded: LoadedConfig) -> Path:
    """Where the journal lives (``journal:`` in the file); nothing is created.

    With a journal in PostgreSQL, where the default SQLite journal would be: its folder
    still holds this host's own state (lock files, OAuth2 tokens).
    """
    where = loaded.config.journal
    path = Path(os.path.expanduser(where if isinstance(where, str) else DEFAULT_JOURNAL))
    if not path.is_absolute():  # relative to the configuration file, not to cron's cwd
        path = Path(loaded.path).resolve().parent / path
    return path


def journal_path(loaded: LoadedConfig, *, create: bool = True) -> Path:
    """Where the journal lives (``journal:`` in the file), its folder created unless not to."""
    path = journal_location(loaded)
    if create:
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # the journal is private
        except OSError as exc:
            raise ConfigurationError(
                f"the journal {path} cannot be created: its folder {path.parent}: "
                f"{exc.strerror or exc}; set journal: in {loaded.path} to a file in a folder "
                "the user running tracker-mail can write"
            ) from None
    elif not path.parent.exists():
        return path  # nothing to read yet, and nothing is created
    if not path.parent.is_dir():
        raise ConfigurationError(
            f"the journal {path} cannot be created: {path.parent} is not a folder; "
            f"set journal: in {loaded.path} to another path"
        )
    if path.parent.stat().st_mode & stat.S_IWOTH:
        # Anyone may create names there (a shared /tmp): a journal file put there first by
        # another user would be theirs to read, and the OAuth2 token caches kept beside it.
        raise ConfigurationError(
            f"the journal {path} is in {path.parent}, which every user may write to; set "
            f"journal: in {loaded.path} to a file in a folder of the user running tracker-mail"
        )
    return path


def postgres_journal(loaded: LoadedConfig) -> PostgresJournal | None:
    """The PostgreSQL journal ``journal:`` names, or None for a SQLite file."""
    where = loaded.config.journal
    return where if isinstance(where, PostgresJournal) else None


def open_journal(loaded: LoadedConfig, path: Path, *, scratch: bool = False) -> Journal:
    """Open the configured journal: in PostgreSQL when ``journal:`` says so, else at ``path``.

    ``scratch``: changes are thrown away at close (``sync --dry-run``); SQLite's through
    :func:`~tracker_mail_plugin.journal.scratch.scratch_copy`, not here.

    Raises:
        ConfigurationError: the journal cannot be used, or its password cannot be read.
        Unreachable: the PostgreSQL server cannot be reached or refused the login.
    """
    where = postgres_journal(loaded)
    if where is None:
        return Journal.open(path)
    password = None
    if where.password is not None:
        try:
            password = where.password.reveal()
        except SecretError as exc:
            raise ConfigurationError(f"journal: password: {exc}") from None
    return Journal.open_postgres(where.url, password, scratch=scratch)


@contextmanager
def scratch_journal(loaded: LoadedConfig, path: Path) -> Iterator[Journal]:
    """The configured journal for a run that must write nothing (``sync --dry-run``)."""
    if postgres_journal(loaded) is None:
        with scratch_copy(path) as journal:
            yield journal
        return
    with open_journal(loaded, path, scratch=True) as journal:
        yield journal


def journal_exists(loaded: LoadedConfig, path: Path) -> bool:
    """Whether there is a journal to read: a database is always there, a file may not be."""
    return postgres_journal(loaded) is not None or path.exists()


def forwarder_for(loaded: LoadedConfig, mailbox: str) -> Forwarder:
    """Sends a mailbox's forwarded mail through the configured SMTP server, if there is one."""
    smtp = loaded.config.smtp
    if smtp is None:
        return no_forwarding
    bearer = None
    if smtp.auth is not None:
        bearer = provider_for(
            smtp.auth.oauth2,
            journal_path(loaded).parent,
            protocol="smtp",
            username=smtp.username or "",
            name="smtp",
        )
    return SmtpForwarder(smtp, mailbox, bearer=bearer)
