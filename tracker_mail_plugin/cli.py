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

from tracker_mail_plugin import __version__
from tracker_mail_plugin.check import check_config
from tracker_mail_plugin.config.loader import (
    CONFIG_ENV,
    DEFAULT_CONFIG,
    ConfigFileError,
    LoadedConfig,
    config_path,
    load_config,
)
from tracker_mail_plugin.explain import as_json, as_text, decide_offline
from tracker_mail_plugin.mail import parse_message
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
    return parser


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
        return EXIT_OK if loaded is not None else EXIT_USAGE
    _parser().print_help(sys.stderr)
    return EXIT_USAGE


def _explain_config(args: argparse.Namespace) -> tuple[LoadedConfig, str] | int:
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
    return loaded, mailbox


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
            loaded, mailbox = context
            decision = decide_offline(loaded, mailbox, message, args.sender_known, args.company)
        if args.format == "json":
            print(as_json(item.label, message, decision))
        else:
            print(("" if first else "\n") + as_text(item.label, message, decision))
        first = False
    return EXIT_SOME_FAILED if failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
