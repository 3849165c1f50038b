"""What ``check`` can find out without connecting: adapters' options, the journal, folders.

Each check answers positioned problems (errors and warnings) for ``check`` to print before
its verdict. Nothing here writes: the journal's folder is looked at, never created.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from tracker_mail_plugin.adapter import TrackerAdapter
from tracker_mail_plugin.assemble import (
    adapter_option_problems,
    build_adapter,
    journal_location,
    postgres_journal,
)
from tracker_mail_plugin.config.auth import Auth
from tracker_mail_plugin.config.environment import missing_variables
from tracker_mail_plugin.config.loader import LoadedConfig
from tracker_mail_plugin.config.model import Mailbox
from tracker_mail_plugin.config.problems import ConfigProblem, at
from tracker_mail_plugin.config.yamlmarks import Path as DataPath
from tracker_mail_plugin.needs import capability_problems
from tracker_mail_plugin.pipeline.disposal import disposition_for
from tracker_mail_plugin.rules.model import CreateIssue, CreateRequest
from tracker_mail_plugin.sources.base import MailSource, describe

_DISPOSAL_KEYS = ("on_success", "on_unprocessed", "on_failure")

# Local parts of shared addresses that are often a mailing list or a Google Group rather
# than a mailbox; list mail carries List-Id and is dropped as bulk.
_SHARED_NAMES = frozenset(
    {
        "bugs", "bug", "support", "help", "helpdesk", "issues", "tickets", "dev", "devel",
        "developers", "team", "list", "lists", "all", "staff", "feedback", "security", "ops",
    }
)  # fmt: skip
_LIST_DOMAINS = ("googlegroups.com",)
_LIST_HOST_PREFIXES = ("lists.", "groups.", "list.")


def offline_problems(
    loaded: LoadedConfig,
) -> tuple[list[ConfigProblem], dict[str, TrackerAdapter]]:
    """Every problem found without connecting, and the adapters built (when they could be)."""
    problems = [p for name in loaded.config.trackers for p in adapter_option_problems(loaded, name)]
    adapters: dict[str, TrackerAdapter] = {}
    if not problems:
        adapters = {name: build_adapter(loaded, name) for name in loaded.config.trackers}
        problems += capability_problems(loaded, adapters)
    problems += journal_problems(loaded)
    for name, mailbox in loaded.config.mailboxes.items():
        problems += _folder_problems(loaded, name, mailbox)
        problems += _disposal_problems(loaded, name, mailbox)
        problems += list_mail_warnings(loaded, name)
    problems += oauth2_library_problems(loaded)
    problems += journal_driver_problems(loaded)
    problems += missing_variables(loaded)
    return problems, adapters


# The oauth2 extra's libraries are imported only when a mailbox logs in; without this, a
# missing one showed first in the run after `check --offline` called the file valid.
_PROVIDER_LIBRARIES = {"microsoft": ("msal", "msal"), "google": ("google.auth", "google-auth")}


def oauth2_library_problems(loaded: LoadedConfig) -> list[ConfigProblem]:
    """A mailbox (or ``smtp``) signing in with Microsoft or Google without their library."""
    logins: list[tuple[DataPath, str, Auth | None]] = [
        (("mailboxes", name), f"mailbox '{name}'", box.auth)
        for name, box in loaded.config.mailboxes.items()
    ]
    if loaded.config.smtp is not None:
        logins.append((("smtp",), "smtp", loaded.config.smtp.auth))
    problems = []
    for where, label, auth in logins:
        if auth is None or auth.oauth2.provider not in _PROVIDER_LIBRARIES:
            continue
        module, package = _PROVIDER_LIBRARIES[auth.oauth2.provider]
        if _installed(module):
            continue
        problems.append(
            at(
                loaded.path,
                loaded.marks,
                (*where, "auth", "oauth2", "provider"),
                f"{label}: provider: {auth.oauth2.provider} needs the {package} package, "
                "which is not installed here: pip install 'tracker-mail-plugin[oauth2]' "
                "(from a checkout of tracker-mail: pip install './[oauth2]')",
            )
        )
    return problems


def journal_driver_problems(loaded: LoadedConfig) -> list[ConfigProblem]:
    """A journal in PostgreSQL without psycopg, which is imported only when a run opens it."""
    if postgres_journal(loaded) is None or _installed("psycopg"):
        return []
    return [
        at(
            loaded.path,
            loaded.marks,
            ("journal", "url"),
            "the journal is in PostgreSQL, which needs the psycopg package, not installed "
            "here: pip install 'tracker-mail-plugin[postgres]' (from a checkout of "
            "tracker-mail: pip install './[postgres]')",
        )
    ]


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # the parent package (google) is missing too
        return False


def journal_problems(loaded: LoadedConfig) -> list[ConfigProblem]:
    """Whether the journal can be opened or created where ``journal:`` says."""
    path = journal_location(loaded)
    where: DataPath = ("journal",)
    if path.exists():
        if not path.is_file():
            return [at(loaded.path, loaded.marks, where, f"the journal {path} is not a file")]
        if not os.access(path, os.R_OK | os.W_OK):
            return [_journal(loaded, path, f"{path} cannot be written by this user")]
        return []
    ancestor = path.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return [_journal(loaded, path, f"{ancestor} is a file, not a folder")]
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return [_journal(loaded, path, f"this user cannot create files in {ancestor}")]
    return []


def _journal(loaded: LoadedConfig, path: Path, why: str) -> ConfigProblem:
    return at(
        loaded.path,
        loaded.marks,
        ("journal",),
        f"the journal {path} cannot be created: {why}; set journal: to a file in a folder "
        "the user running tracker-mail can write",
    )


def _folder_problems(loaded: LoadedConfig, name: str, mailbox: Mailbox) -> list[ConfigProblem]:
    """A local mailbox's path: a Maildir or a folder must be a folder, an mbox a file."""
    if mailbox.protocol not in ("maildir", "mbox", "directory") or mailbox.path is None:
        return []
    path = Path(os.path.expanduser(mailbox.path))
    wanted = "file" if mailbox.protocol == "mbox" else "folder"
    found = path.is_file() if wanted == "file" else path.is_dir()
    if found:
        return []
    state = "does not exist" if not path.exists() else f"is not a {wanted}"
    return [
        at(
            loaded.path,
            loaded.marks,
            ("mailboxes", name, "path"),
            f"mailbox '{name}': {path} {state}; a {mailbox.protocol} mailbox reads a {wanted}",
        )
    ]


def _disposal_problems(loaded: LoadedConfig, name: str, mailbox: Mailbox) -> list[ConfigProblem]:
    """A disposition the mailbox's protocol cannot apply (a Maildir cannot flag a .eml)."""
    source = _source_class(mailbox.protocol)
    policies = loaded.policies(name)
    problems = []
    for key in _DISPOSAL_KEYS:
        disposition = disposition_for(getattr(policies, key))
        if type(disposition) in source.dispositions:
            continue
        where: DataPath = ("mailboxes", name, key)
        if key not in mailbox.policies:
            if key not in loaded.config.defaults.model_fields_set:
                continue  # a built-in default the protocol cannot do leaves the mail in place
            where = ("defaults", key)
        allowed = ", ".join(sorted(kind.__name__.lower() for kind in source.dispositions))
        problems.append(
            at(
                loaded.path,
                loaded.marks,
                where,
                f"mailbox '{name}': {key}: a {mailbox.protocol} mailbox cannot "
                f"{describe(disposition)}; use one of: {allowed}",
            )
        )
    return problems


def _source_class(protocol: str) -> type[MailSource]:
    from tracker_mail_plugin.sources.graph import GraphSource
    from tracker_mail_plugin.sources.imap import ImapSource
    from tracker_mail_plugin.sources.local import DirectorySource, MaildirSource, MboxSource
    from tracker_mail_plugin.sources.pipe import PipeSource
    from tracker_mail_plugin.sources.pop3 import Pop3Source

    classes: dict[str, type[MailSource]] = {
        "imap": ImapSource,
        "pop3": Pop3Source,
        "graph": GraphSource,
        "maildir": MaildirSource,
        "mbox": MboxSource,
        "directory": DirectorySource,
        "pipe": PipeSource,
    }
    return classes[protocol]


def looks_like_a_list(address: str) -> bool:
    """Whether an address is one that is often a mailing list or a Google Group."""
    local, _, domain = address.lower().rpartition("@")
    if not local:
        return False
    local = local.split("+", 1)[0]
    return (
        local in _SHARED_NAMES or domain in _LIST_DOMAINS or domain.startswith(_LIST_HOST_PREFIXES)
    )


def list_mail_warnings(loaded: LoadedConfig, name: str) -> list[ConfigProblem]:
    """Warn when list mail would be dropped by a mailbox that opens issues from a list address.

    All three hold: the mailbox's rules create issues or requests; list mail (the ``bulk``
    class) is dropped because nobody wrote otherwise; and the mailbox's address is a list's
    kind of address (``bugs@``, ``support@``, a Google Group, ``lists.`` host).
    """
    config = loaded.config
    mailbox = config.mailboxes[name]
    address = mailbox.username or ""
    creates = any(
        isinstance(action, CreateIssue | CreateRequest)
        for rule in config.rules_for(name)
        for action in rule.then
    )
    own = mailbox.policies.get("automated")
    written = (isinstance(own, dict) and "bulk" in own) or (
        own is None and "bulk" in config.defaults.automated.model_fields_set
    )
    dropped = loaded.policies(name).automated.bulk == "drop" and not written
    if not (creates and dropped and looks_like_a_list(address)):
        return []
    problem = at(
        loaded.path,
        loaded.marks,
        ("mailboxes", name),
        f"mailbox '{name}': mail that comes through a mailing list (List-Id) is dropped by "
        f"default, and {address} is often a list or a Google Group; if it is one, its mail "
        "would open no issue: allow it with automated: {bulk: process} on this mailbox "
        "(or write automated: {bulk: drop} to keep dropping it and silence this warning)",
        key=True,
    )
    return [ConfigProblem(problem.file, problem.line, problem.column, problem.message, "warning")]
