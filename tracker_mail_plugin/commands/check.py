"""``tracker-mail check``: every problem first, then the verdict, which comes last.

Offline (always): the file, each tracker's adapter and options, what the rules need from the
adapter, the journal, local mailbox folders, dispositions, unset ``{env:}`` variables and the
warnings (:mod:`~tracker_mail_plugin.commands.offline`). Then, unless ``--offline``, a log-in
to every tracker, asking it about the names the rules use, to every mailbox, and to the
journal's database when it is in PostgreSQL.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

import yaml

from tracker_mail_plugin.adapter import Capability, Requirements, TrackerAdapter
from tracker_mail_plugin.assemble import journal_path, open_journal, open_source, postgres_journal
from tracker_mail_plugin.commands.offline import offline_problems
from tracker_mail_plugin.config.loader import (
    ConfigFileError,
    LoadedConfig,
    config_path,
    load_config,
)
from tracker_mail_plugin.config.model import Mailbox, Trust
from tracker_mail_plugin.config.problems import ConfigProblem
from tracker_mail_plugin.errors import ConfigurationError, ExitCode, TrackerMailError
from tracker_mail_plugin.journal import SCHEMA_VERSION
from tracker_mail_plugin.needs import requirements
from tracker_mail_plugin.rules.normal import rules_to_yaml


def command(args: argparse.Namespace) -> ExitCode:
    """``tracker-mail check [--show] [--offline]``: problems first, the verdict last."""
    path = str(config_path(args.config))
    out, err = sys.stdout, sys.stderr
    loaded = load_reporting(path, err)
    if loaded is None:
        return ExitCode.CONFIGURATION
    print(summary(loaded), file=out)
    if args.show:
        print(normalised_rules(loaded), file=out, end="")
    problems, adapters = offline_problems(loaded)
    for warning in [*loaded.warnings, *(p for p in problems if p.severity == "warning")]:
        print(warning, file=err)
    errors = sorted((p for p in problems if p.severity == "error"), key=_place)
    if errors:
        for problem in errors:
            print(problem, file=err)
        print(_count(path, len(errors)), file=err)
        return ExitCode.CONFIGURATION
    if args.offline:
        print(f"{path}: valid (offline: {_NOT_CONNECTED})", file=out)
        return ExitCode.OK
    code = check_live(loaded, adapters, out, err)
    if code == ExitCode.OK:
        print(f"{path}: valid; every tracker and mailbox answered", file=out)
    else:
        print(
            f"{path}: not ready: {_NOT_READY.get(code, _NOT_READY[ExitCode.CONFIGURATION])}",
            file=err,
        )
    return code


_NOT_CONNECTED = (
    "nothing was connected to; projects, issue types and log-ins are checked without --offline"
)
_NOT_READY = {
    ExitCode.CONFIGURATION: "fix the problems above; nothing was touched",
    ExitCode.UNREACHABLE: "a tracker or mailbox cannot be reached (above); nothing was touched",
}


def _place(problem: ConfigProblem) -> tuple[int, int]:
    return problem.line, problem.column  # in file order: fixed from the top down


def _count(path: str, count: int) -> str:
    return f"{path}: {count} error{'s' if count != 1 else ''}; nothing was touched"


def load_reporting(path: str, err: TextIO) -> LoadedConfig | None:
    """The configuration, or None after printing every problem and the verdict."""
    try:
        return load_config(path)
    except ConfigFileError as exc:
        for problem in exc.problems:
            print(problem, file=err)
        print(_count(path, len(exc.problems)), file=err)
        return None


def summary(loaded: LoadedConfig) -> str:
    """A few lines saying what the file configures."""
    config = loaded.config
    lines = [f"Trackers ({len(config.trackers)}):"]
    lines += [f"  {name}: adapter {tracker.adapter}" for name, tracker in config.trackers.items()]
    lines.append(f"Mailboxes ({len(config.mailboxes)}):")
    for name, mailbox in config.mailboxes.items():
        rules = config.rules_for(name)
        own = "own" if mailbox.rules is not None else "top-level"
        policies = loaded.policies(name)
        lines.append(
            f"  {name}: {_where(mailbox)} -> {mailbox.tracker}; {len(rules)} {own} rule(s); "
            f"unknown senders: {policies.unknown_user}; {_trust(policies.trust)}"
        )
    if config.companies:
        lines.append(f"Companies: {', '.join(config.companies)}")
    return "\n".join(lines)


def _trust(trust: Trust) -> str:
    if trust.require == "none":
        return "senders not authenticated (trust: require: none)"
    sources = [*trust.authserv_id, *(f"own {v} check" for v in trust.verify)]
    return (
        f"senders need {trust.require} ({', '.join(sources)}), "
        f"else {trust.unauthenticated.replace('_', ' ')}"
    )


def _where(mailbox: Mailbox) -> str:
    if mailbox.protocol in ("imap", "pop3"):
        folder = f" folder {mailbox.folder}" if mailbox.protocol == "imap" else ""
        return (
            f"{mailbox.protocol} {mailbox.username}@{mailbox.host}:{mailbox.effective_port}"
            f" ({mailbox.security}){folder}"
        )
    if mailbox.protocol == "graph":
        return f"graph {mailbox.username} folder {mailbox.folder} (Microsoft Graph)"
    return f"{mailbox.protocol} {mailbox.path}"


def normalised_rules(loaded: LoadedConfig) -> str:
    """Each mailbox's rules in normalised YAML form (``check --show``)."""
    config = loaded.config
    data = {name: rules_to_yaml(config.rules_for(name)) for name in config.mailboxes}
    text: str = yaml.safe_dump(
        {"rules by mailbox": data}, sort_keys=False, allow_unicode=True, default_flow_style=False
    )
    return text


def check_live(
    loaded: LoadedConfig, adapters: dict[str, TrackerAdapter], out: TextIO, err: TextIO
) -> ExitCode:
    """Log in to every tracker (checking the names the rules use) and every mailbox."""
    codes = [
        _check_tracker(name, adapter, requirements(loaded, name), out, err)
        for name, adapter in adapters.items()
    ]
    codes += [_check_mailbox(loaded, name, out, err) for name in loaded.config.mailboxes]
    codes.append(_check_journal(loaded, out, err))
    return ExitCode.worst(codes)


def _check_journal(loaded: LoadedConfig, out: TextIO, err: TextIO) -> ExitCode:
    """A journal in PostgreSQL: log in, and create or upgrade its tables as ``sync`` would."""
    where = postgres_journal(loaded)
    if where is None:  # a SQLite file: checked offline, nothing to connect to
        return ExitCode.OK
    try:
        with open_journal(loaded, journal_path(loaded)):
            pass
    except ConfigurationError as exc:
        print(f"journal: {exc}", file=err)
        return ExitCode.CONFIGURATION
    except TrackerMailError as exc:
        print(f"journal: cannot be reached: {exc}", file=err)
        return ExitCode.UNREACHABLE
    print(f"journal {where.url}: ok (PostgreSQL, schema version {SCHEMA_VERSION})", file=out)
    return ExitCode.OK


def _check_tracker(
    name: str, adapter: TrackerAdapter, needs: Requirements, out: TextIO, err: TextIO
) -> ExitCode:
    try:
        report = adapter.check(needs)
    except ConfigurationError as exc:
        print(f"tracker {name}: {exc}", file=err)
        return ExitCode.CONFIGURATION
    except TrackerMailError as exc:
        print(f"tracker {name}: cannot be reached: {exc}", file=err)
        return ExitCode.UNREACHABLE
    facts = ", ".join(f"{k} {v}" for k, v in report.facts.items())
    print(
        f"tracker {name} ({adapter.name}): {'ok' if report.ok else 'PROBLEMS'}; {facts}", file=out
    )
    for problem in report.problems:
        print(f"tracker {name}: {problem}", file=err)
    types = sorted({kind for _, kind in needs.issues if kind})
    if types and not adapter.supports(Capability.CHECK_ISSUE_TYPES):
        print(
            f"tracker {name}: issue types {', '.join(types)} not checked: the {adapter.name} "
            "adapter cannot list the tracker's types",
            file=out,
        )
    return ExitCode.OK if report.ok else ExitCode.CONFIGURATION


def _check_mailbox(loaded: LoadedConfig, name: str, out: TextIO, err: TextIO) -> ExitCode:
    mailbox = loaded.config.mailboxes[name]
    if mailbox.protocol == "pipe":
        print(f"mailbox {name}: pipe; mail arrives through `tracker-mail receive`", file=out)
        return ExitCode.OK
    try:
        source = open_source(
            mailbox, loaded.policies(name).max_message_size, journal_path(loaded).parent, name
        )
        with source:
            found = source.check()
    except ConfigurationError as exc:
        print(f"mailbox {name}: {exc}", file=err)
        return ExitCode.CONFIGURATION
    except TrackerMailError as exc:
        print(f"mailbox {name}: cannot be reached: {exc}", file=err)
        return ExitCode.UNREACHABLE
    capabilities = f"; capabilities {', '.join(found.capabilities)}" if found.capabilities else ""
    tls = f"; {found.tls}" if found.tls else ""
    print(
        f"mailbox {name}: ok; {found.folder}: {found.messages} message(s){tls}{capabilities}",
        file=out,
    )
    return ExitCode.OK
