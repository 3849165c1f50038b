"""``tracker-mail check``: every problem first, then the verdict, which comes last.

Offline (always): the file, each tracker's adapter and options, what the rules need from the
adapter, the journal, local mailbox folders, dispositions, unset ``{env:}`` variables and the
warnings (:mod:`~tracker_mail_plugin.commands.offline`). Then, unless ``--offline``, a log-in
to every tracker, asking it about the names the rules use, to every mailbox, and to the
journal's database when it is in PostgreSQL.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

import yaml

from tracker_mail_plugin.adapter import Capability, Requirements, TrackerAdapter
from tracker_mail_plugin.assemble import (
    forwarder_for,
    journal_location,
    journal_path,
    open_journal,
    open_source,
    postgres_journal,
)
from tracker_mail_plugin.commands.check_report import CheckReport
from tracker_mail_plugin.commands.offline import offline_problems
from tracker_mail_plugin.commands.receive import spool_path
from tracker_mail_plugin.config.loader import (
    ConfigFileError,
    LoadedConfig,
    config_path,
    load_config,
)
from tracker_mail_plugin.config.model import Mailbox, Trust
from tracker_mail_plugin.config.problems import ConfigProblem
from tracker_mail_plugin.errors import ConfigurationError, ExitCode, TrackerMailError
from tracker_mail_plugin.forward import SmtpForwarder
from tracker_mail_plugin.journal import SCHEMA_VERSION
from tracker_mail_plugin.needs import requirements
from tracker_mail_plugin.registry import untranslated
from tracker_mail_plugin.rules.normal import rules_to_yaml


def command(args: argparse.Namespace) -> ExitCode:
    """``tracker-mail check [--show] [--offline]``: problems first, the verdict last."""
    path = str(config_path(args.config))
    report = CheckReport(path, args.log_format, sys.stdout, sys.stderr, args.offline)
    loaded = load_reporting(path, report)
    if loaded is None:
        return ExitCode.CONFIGURATION
    report.overview(summary(loaded), loaded, describe_mailboxes(loaded))
    if args.show:
        report.rules(normalised_rules(loaded), rules_by_mailbox(loaded))
    problems, adapters = offline_problems(loaded)
    for warning in [*loaded.warnings, *(p for p in problems if p.severity == "warning")]:
        report.problem(warning, loaded)
    errors = sorted((p for p in problems if p.severity == "error"), key=_place)
    if errors:
        for problem in errors:
            report.problem(problem, loaded)
        report.verdict(_count(path, len(errors)), ExitCode.CONFIGURATION)
        return ExitCode.CONFIGURATION
    if args.offline:
        report.verdict(f"{path}: valid (offline: {_NOT_CONNECTED})", ExitCode.OK)
        return ExitCode.OK
    code = check_live(loaded, adapters, report)
    if code == ExitCode.OK:
        report.verdict(f"{path}: valid; every tracker and mailbox answered", code)
    else:
        why = _NOT_READY.get(code, _NOT_READY[ExitCode.CONFIGURATION])
        if code == ExitCode.UNREACHABLE and report.unreached:
            why = f"cannot reach {', '.join(report.unreached)} (above); nothing was touched"
        report.verdict(f"{path}: not ready: {why}", code)
    return code


# Through the core's scrubbing handler: a library's exception may carry credentials.
logger = logging.getLogger("tracker_mail")

_NOT_CONNECTED = (
    "nothing was connected to; projects, issue types and log-ins are checked without --offline"
)
_NOT_READY = {
    ExitCode.CONFIGURATION: "fix the problems above; nothing was touched",
    ExitCode.UNREACHABLE: "a tracker or mailbox cannot be reached (above); nothing was touched",
    ExitCode.SOME_FAILED: "an adapter failed (above); nothing was touched",
}


def _place(problem: ConfigProblem) -> tuple[int, int]:
    return problem.line, problem.column  # in file order: fixed from the top down


def _count(path: str, count: int) -> str:
    return f"{path}: {count} error{'s' if count != 1 else ''}; nothing was touched"


def load_reporting(path: str, report: CheckReport) -> LoadedConfig | None:
    """The configuration, or None after saying every problem and the verdict."""
    try:
        return load_config(path)
    except ConfigFileError as exc:
        for problem in exc.problems:
            report.problem(problem)
        report.verdict(_count(path, len(exc.problems)), ExitCode.CONFIGURATION)
        return None


def summary(loaded: LoadedConfig) -> str:
    """A few lines saying what the file configures."""
    config = loaded.config
    lines = [f"Trackers ({len(config.trackers)}):"]
    lines += [f"  {name}: adapter {tracker.adapter}" for name, tracker in config.trackers.items()]
    lines.append(f"Mailboxes ({len(config.mailboxes)}):")
    lines += [f"  {name}: {text}" for name, text in describe_mailboxes(loaded).items()]
    if config.companies:
        lines.append(f"Companies: {', '.join(config.companies)}")
    return "\n".join(lines)


def describe_mailboxes(loaded: LoadedConfig) -> dict[str, str]:
    """Each mailbox in a few words: where, which tracker, its rules and its policies."""
    config = loaded.config
    described = {}
    for name, mailbox in config.mailboxes.items():
        rules = config.rules_for(name)
        own = "own" if mailbox.rules is not None else "top-level"
        policies = loaded.policies(name)
        where = _where(mailbox)
        if mailbox.protocol == "pipe":  # no path written: the spool beside the journal
            where = f"pipe {spool_path(loaded, name, journal_location(loaded))}"
        described[name] = (
            f"{where} -> {mailbox.tracker}; {len(rules)} {own} rule(s); "
            f"unknown senders: {policies.unknown_user}; {_trust(policies.trust)}"
        )
    return described


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


def rules_by_mailbox(loaded: LoadedConfig) -> dict[str, Any]:
    """Each mailbox's rules in normalised form, as data."""
    config = loaded.config
    return {name: rules_to_yaml(config.rules_for(name)) for name in config.mailboxes}


def normalised_rules(loaded: LoadedConfig) -> str:
    """Each mailbox's rules in normalised YAML form (``check --show``)."""
    text: str = yaml.safe_dump(
        {"rules by mailbox": rules_by_mailbox(loaded)},
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
    )
    return text


def check_live(
    loaded: LoadedConfig, adapters: dict[str, TrackerAdapter], report: CheckReport
) -> ExitCode:
    """Log in to every tracker (checking the names the rules use) and every mailbox."""
    codes = [
        _check_tracker(name, adapter, requirements(loaded, name), report)
        for name, adapter in adapters.items()
    ]
    codes += [_check_mailbox(loaded, name, report) for name in loaded.config.mailboxes]
    codes.append(_check_journal(loaded, report))
    codes.append(_check_smtp(loaded, report))
    return ExitCode.worst(codes)


def _check_smtp(loaded: LoadedConfig, report: CheckReport) -> ExitCode:
    """The ``smtp`` server forwards go through: connect and log in, send nothing."""
    settings = loaded.config.smtp
    if settings is None:
        return ExitCode.OK
    forwarder = forwarder_for(loaded, "smtp")
    assert isinstance(forwarder, SmtpForwarder)  # noqa: S101 - an smtp section makes one
    where = f"smtp {settings.host}:{settings.port}"
    about = {"host": settings.host, "port": settings.port}
    try:
        forwarder.check()
    except ConfigurationError as exc:
        report.failed(f"smtp: {exc}", "smtp", **about)
        return ExitCode.CONFIGURATION
    except TrackerMailError as exc:
        report.failed(f"smtp: cannot be reached: {exc}", "smtp", reached=False, **about)
        return ExitCode.UNREACHABLE
    login = f"logged in as {settings.username}" if settings.username else "no login configured"
    report.passed(f"{where}: ok ({settings.security}); {login}", "smtp", **about)
    return ExitCode.OK


def _check_journal(loaded: LoadedConfig, report: CheckReport) -> ExitCode:
    """A journal in PostgreSQL: log in, and create or upgrade its tables as ``sync`` would."""
    where = postgres_journal(loaded)
    if where is None:  # a SQLite file: checked offline, nothing to connect to
        return ExitCode.OK
    try:
        with open_journal(loaded, journal_path(loaded)):
            pass
    except ConfigurationError as exc:
        report.failed(f"journal: {exc}", "journal")
        return ExitCode.CONFIGURATION
    except TrackerMailError as exc:
        report.failed(f"journal: cannot be reached: {exc}", "journal", reached=False)
        return ExitCode.UNREACHABLE
    report.passed(
        f"journal {where.url}: ok (PostgreSQL, schema version {SCHEMA_VERSION})",
        "journal",
        schema_version=SCHEMA_VERSION,
    )
    return ExitCode.OK


def _check_tracker(
    name: str, adapter: TrackerAdapter, needs: Requirements, report: CheckReport
) -> ExitCode:
    about = {"tracker": name, "adapter": adapter.name}
    try:
        found = adapter.check(needs)
    except ConfigurationError as exc:
        report.failed(f"tracker {name}: {exc}", "tracker", **about)
        return ExitCode.CONFIGURATION
    except TrackerMailError as exc:
        report.failed(
            f"tracker {name}: cannot be reached: {exc}", "tracker", reached=False, **about
        )
        return ExitCode.UNREACHABLE
    except Exception as exc:
        # Outside the error tree: a bug in the adapter, not in tracker-mail or the file. Said
        # so, with whose it is; the other trackers and the mailboxes are still checked.
        blame = untranslated(exc, adapter)
        if blame is None:
            raise
        logger.exception("tracker %s: the %s adapter's check failed", name, adapter.name)
        report.failed(f"tracker {name}: {blame} above", "tracker", **about)
        return ExitCode.SOME_FAILED
    facts = ", ".join(f"{k} {v}" for k, v in found.facts.items())
    text = f"tracker {name} ({adapter.name}): {'ok' if found.ok else 'PROBLEMS'}; {facts}"
    if found.ok or not report.json:
        # As text the facts line comes first, PROBLEMS or not, with each problem below it.
        report.passed(text, "tracker", facts=dict(found.facts), **about)
    for problem in found.problems:
        report.failed(f"tracker {name}: {problem}", "tracker", facts=dict(found.facts), **about)
    types = sorted({kind for _, kind in needs.issues if kind})
    if types and not adapter.supports(Capability.CHECK_ISSUE_TYPES):
        report.passed(
            f"tracker {name}: issue types {', '.join(types)} not checked: the {adapter.name} "
            "adapter cannot list the tracker's types",
            "issue types",
            unchecked=types,
            **about,
        )
    return ExitCode.OK if found.ok else ExitCode.CONFIGURATION


def _check_mailbox(loaded: LoadedConfig, name: str, report: CheckReport) -> ExitCode:
    mailbox = loaded.config.mailboxes[name]
    about = {"mailbox": name, "protocol": mailbox.protocol}
    if mailbox.protocol == "pipe":
        report.passed(
            f"mailbox {name}: pipe; mail arrives through `tracker-mail receive`", "mailbox", **about
        )
        return ExitCode.OK
    try:
        source = open_source(
            mailbox, loaded.policies(name).max_message_size, journal_path(loaded).parent, name
        )
        with source:
            found = source.check()
    except ConfigurationError as exc:
        report.failed(f"mailbox {name}: {exc}", "mailbox", **about)
        return ExitCode.CONFIGURATION
    except TrackerMailError as exc:
        report.failed(
            f"mailbox {name}: cannot be reached: {exc}", "mailbox", reached=False, **about
        )
        return ExitCode.UNREACHABLE
    capabilities = f"; capabilities {', '.join(found.capabilities)}" if found.capabilities else ""
    tls = f"; {found.tls}" if found.tls else ""
    report.passed(
        f"mailbox {name}: ok; {found.folder}: {found.messages} message(s){tls}{capabilities}",
        "mailbox",
        folder=found.folder,
        messages=found.messages,
        tls=found.tls,
        capabilities=list(found.capabilities),
        **about,
    )
    return ExitCode.OK
