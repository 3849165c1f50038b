"""The ``tracker-mail`` command: argument parsing and exit codes only.

Exit codes (the contract cron and mail servers rely on): 0 all done; 1 some messages or
inputs failed; 2 configuration or usage error (nothing touched); 3 a mailbox or tracker
cannot be reached; 75 temporary failure in pipe mode.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tracker_mail_plugin import __version__
from tracker_mail_plugin.adapter import TrackerAdapter
from tracker_mail_plugin.check import check_config
from tracker_mail_plugin.config.loader import (
    CONFIG_ENV,
    DEFAULT_CONFIG,
    ConfigFileError,
    LoadedConfig,
    config_path,
    load_config,
)
from tracker_mail_plugin.connect import build_adapter_or_raise
from tracker_mail_plugin.errors import TrackerMailError
from tracker_mail_plugin.explain import as_json, as_text, decide_offline
from tracker_mail_plugin.live import check_live
from tracker_mail_plugin.logs import setup_logging
from tracker_mail_plugin.mail import parse_message
from tracker_mail_plugin.operate import retry, show_adapters, show_status
from tracker_mail_plugin.runner import EX_TEMPFAIL, SyncOptions, receive, sync
from tracker_mail_plugin.sources import read_paths

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tracker-mail",
        description="Turn mailboxes into issues, requests and comments in your issue tracker.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    explain = commands.add_parser(
        "explain",
        help="show how messages are parsed and what would be done with them (changes nothing)",
        description=(
            "Parse mail files and show what tracker-mail reads in them: addresses, body "
            "after quote removal, attachments, automated class, issue references, defects. "
            "Directories are searched for .eml files and Maildirs; files starting with "
            "'From ' are read as mbox. Nothing is sent anywhere."
        ),
    )
    explain.add_argument("paths", nargs="+", type=Path, metavar="FILE|DIR")
    explain.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people (default); json prints one object per message per line",
    )
    explain.add_argument(
        "-c", "--config", help="rules.yaml to match against (without it, only parsing is shown)"
    )
    explain.add_argument("--mailbox", help="whose rules and policies to use (default: the first)")
    known = explain.add_mutually_exclusive_group()
    known.add_argument(
        "--sender-known",
        dest="sender_known",
        action="store_const",
        const=True,
        help="treat the sender as having a tracker account (offline)",
    )
    known.add_argument(
        "--sender-unknown",
        dest="sender_known",
        action="store_const",
        const=False,
        help="treat the sender as having no tracker account (offline)",
    )
    explain.add_argument("--company", help="the sender's company, for 'company matched to project'")
    explain.add_argument(
        "--offline",
        action="store_true",
        help="do not ask the tracker about the sender or replies (only -c's rules are used)",
    )
    check = commands.add_parser(
        "check",
        help="validate rules.yaml and show what it sets up",
        description=(
            "Validate the configuration: every error is reported at once with its line and "
            "column, and nothing is touched (exit 2). On success, a summary is printed."
        ),
    )
    _config_option(check)
    check.add_argument(
        "--show", action="store_true", help="print every rule in its normalised YAML form"
    )
    check.add_argument(
        "--offline",
        action="store_true",
        help="only validate the file: do not load adapters or connect to anything",
    )
    _sync_parser(commands)
    receive = commands.add_parser(
        "receive",
        help="process one message from standard input (a mail server's pipe or alias)",
        description=(
            "Read one message on standard input and process it with a mailbox profile's "
            "rules (usually `protocol: pipe`). Exit 0 when it is handled, deliberately "
            "dropped or kept in the spool directory; 75 (temporary failure: the mail server "
            "delivers again) only when nothing was written to the tracker."
        ),
    )
    _config_option(receive)
    receive.add_argument("--mailbox", required=True, help="the profile whose rules apply")
    status = commands.add_parser("status", help="show the journal: counts, failures, quarantine")
    _config_option(status)
    retry = commands.add_parser("retry", help="process a journalled message again")
    _config_option(retry)
    retry.add_argument("id", type=int, help="the message number shown by `tracker-mail status`")
    commands.add_parser("adapters", help="list installed tracker adapters and load errors")
    return parser


def _sync_parser(commands: Any) -> None:
    sync = commands.add_parser(
        "sync",
        help="fetch mail and turn it into tracker issues and comments (one run, for cron)",
        description=(
            "Fetch new mail from each mailbox, decide with the rules, create issues and "
            "comments, then move or flag the mail. Exit codes: 0 all done; 1 some messages "
            "failed and will be retried; 2 configuration error (nothing touched); 3 a mailbox "
            "or tracker cannot be reached."
        ),
    )
    _config_option(sync)
    sync.add_argument("--mailbox", action="append", help="only this mailbox (repeatable)")
    sync.add_argument(
        "--dry-run", action="store_true", help="decide and print; no tracker writes, no mail moved"
    )
    sync.add_argument("--limit", type=int, help="process at most N messages per mailbox")
    sync.add_argument(
        "--wait", action="store_true", help="wait for a running sync of the mailbox to finish"
    )
    sync.add_argument("--log-format", choices=("text", "json"), default="text")
    sync.add_argument("-v", "--verbose", action="store_true", help="log every message")


def _config_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "-c",
        "--config",
        help=f"the configuration file (default: ${CONFIG_ENV}, else ./{DEFAULT_CONFIG})",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = _parser().parse_args(argv)
    if args.command == "explain":
        return _explain(args)
    if args.command == "check":
        loaded = check_config(str(config_path(args.config)), args.show, sys.stdout, sys.stderr)
        if loaded is None:
            return EXIT_USAGE
        return EXIT_OK if args.offline else check_live(loaded, sys.stdout, sys.stderr)
    if args.command == "adapters":
        return EXIT_OK if show_adapters(sys.stdout) else EXIT_SOME_FAILED
    if args.command == "receive":
        return _receive(args)
    if args.command in ("sync", "status", "retry"):
        loaded_or_code = _load(args.config)
        if isinstance(loaded_or_code, int):
            return loaded_or_code
        return _operate(args, loaded_or_code)
    _parser().print_help(sys.stderr)
    return EXIT_USAGE


def _receive(args: argparse.Namespace) -> int:
    """Pipe mode: even a configuration error is a temporary failure (the mail is kept)."""
    setup_logging("text", verbose=False)
    loaded = _load(args.config)
    if isinstance(loaded, int) or args.mailbox not in loaded.config.mailboxes:
        print(f"tracker-mail receive: cannot use mailbox {args.mailbox!r}", file=sys.stderr)
        return EX_TEMPFAIL
    summary, code = receive(loaded, args.mailbox, sys.stdin.buffer.read())
    print(summary.line(), file=sys.stderr)
    return code


def _load(given: str | None) -> LoadedConfig | int:
    try:
        return load_config(config_path(given))
    except ConfigFileError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_USAGE


def _operate(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    if args.command == "status":
        show_status(loaded, sys.stdout)
        return EXIT_OK
    if args.command == "retry":
        return EXIT_OK if retry(loaded, args.id, sys.stdout, sys.stderr) else EXIT_USAGE
    names = args.mailbox or list(loaded.config.mailboxes)
    unknown = [n for n in names if n not in loaded.config.mailboxes]
    if unknown:
        known = ", ".join(loaded.config.mailboxes)
        print(
            f"tracker-mail sync: no mailbox {unknown[0]!r}; the file has: {known}", file=sys.stderr
        )
        return EXIT_USAGE
    setup_logging(args.log_format, args.verbose)
    summaries, code = sync(loaded, names, SyncOptions(args.dry_run, args.limit, args.wait))
    for summary in summaries:
        for line in summary.planned:
            print(f"{summary.mailbox}: would {line}" if args.dry_run else line)
        print(summary.line())
    return code


def _explain_config(
    args: argparse.Namespace,
) -> tuple[LoadedConfig, str, TrackerAdapter | None] | int:
    """The configuration and mailbox explain matches against, or an exit code."""
    try:
        loaded = load_config(args.config)
    except ConfigFileError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_USAGE
    mailboxes = list(loaded.config.mailboxes)
    mailbox = args.mailbox or mailboxes[0]
    if mailbox not in mailboxes:
        print(
            f"tracker-mail explain: no mailbox {mailbox!r}; the file has: {', '.join(mailboxes)}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    adapter = None if args.offline else _reader(loaded, loaded.config.mailboxes[mailbox].tracker)
    return loaded, mailbox, adapter


def _reader(loaded: LoadedConfig, tracker: str) -> TrackerAdapter | None:
    """The tracker's adapter for read-only questions, or None (said on stderr) if unusable."""
    try:
        return build_adapter_or_raise(loaded, tracker)
    except TrackerMailError as exc:
        print(f"tracker-mail explain: tracker {tracker} not consulted: {exc}", file=sys.stderr)
        return None


def _explain(args: argparse.Namespace) -> int:
    context = _explain_config(args) if args.config else None
    if isinstance(context, int):
        return context
    failed = 0
    first = True
    for item in read_paths(args.paths):
        if item.raw is None:
            failed += 1
            print(f"tracker-mail explain: {item.label}: {item.error}", file=sys.stderr)
            continue
        message = parse_message(item.raw)
        decision = None
        if context is not None:
            loaded, mailbox, adapter = context
            decision = decide_offline(
                loaded, mailbox, message, args.sender_known, args.company, adapter
            )
        if args.format == "json":
            print(as_json(item.label, message, decision))
        else:
            print(("" if first else "\n") + as_text(item.label, message, decision))
        first = False
    return EXIT_SOME_FAILED if failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
