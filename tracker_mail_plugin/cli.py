"""The ``tracker-mail`` command: argument parsing only; each command lives in ``commands/``.

Exit codes (the contract cron and mail servers rely on, :class:`~.errors.ExitCode`): 0 all
done; 1 some messages or inputs failed; 2 configuration or usage error (nothing touched);
3 a mailbox or tracker cannot be reached; 75 temporary failure in pipe mode.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tracker_mail_plugin import __version__
from tracker_mail_plugin.commands import adapters, check, explain, login, receive, status, sync
from tracker_mail_plugin.commands import watch as watch_command
from tracker_mail_plugin.config.loader import CONFIG_ENV, DEFAULT_CONFIG
from tracker_mail_plugin.errors import ExitCode

_COMMANDS: dict[str, Callable[[argparse.Namespace], ExitCode]] = {
    "explain": explain.command,
    "check": check.command,
    "sync": sync.command,
    "watch": watch_command.command,
    "receive": receive.command,
    "status": status.status_command,
    "retry": status.retry_command,
    "adapters": adapters.command,
    "login": login.command,
}


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
    _watch_parser(commands)
    receive = commands.add_parser(
        "receive",
        help="process one message from standard input (a mail server's pipe or alias)",
        description=(
            "Read one message on standard input and process it with a mailbox profile's "
            "rules (usually `protocol: pipe`). Exit 0 when it is handled, deliberately "
            "dropped or kept in the spool directory; 75 (temporary failure: the mail server "
            "keeps it and delivers again) when the tracker failed before anything was "
            "written, on a local fault (configuration, journal, a spool that cannot be "
            "written; the journal keeps a redelivery from writing anything twice), and for "
            "empty input or input that does not start with a mail header, which is never "
            "turned into an issue. Never 1, which would bounce the mail. A relative spool "
            "path is relative to the configuration file."
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
    login = commands.add_parser(
        "login",
        help="sign a user in once for a mailbox with flow: device_code",
        description=(
            "For a mailbox whose OAuth2 flow is device_code (Microsoft 365, delegated): "
            "print the verification URL and a code, wait until a user of the mailbox has "
            "entered it in a browser and signed in, and keep the sign-in in the state "
            "folder, readable by its owner only. Later runs refresh it by themselves. "
            "MAILBOX is a mailbox's name, or smtp for the forwarding server. Exit codes: "
            "0 signed in, or no login is needed; 2 unknown mailbox, configuration error or "
            "sign-in refused; 3 Entra ID cannot be reached."
        ),
    )
    _config_option(login)
    login.add_argument("mailbox", metavar="MAILBOX", help="the mailbox's name in rules.yaml")
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
    sync.add_argument(
        "--look-up-first",
        action="store_true",
        help=(
            "ask the tracker about every new write before making it (after restoring an old "
            "journal from a backup; a journal less than a day old does it by itself)"
        ),
    )
    sync.add_argument("--log-format", choices=("text", "json"), default="text")
    sync.add_argument("-v", "--verbose", action="store_true", help="log every message")


def _watch_parser(commands: Any) -> None:
    watch = commands.add_parser(
        "watch",
        help="keep running: turn mail into issues as it arrives (IMAP IDLE, else polling)",
        description=(
            "Run every (or the chosen) mailbox continuously, the way sync does once: IMAP "
            "mailboxes wait for the server to announce mail (IDLE), others are looked at every "
            "poll_interval seconds. SIGTERM or SIGINT finish the message in hand and exit 0; "
            "SIGHUP reloads the configuration (a broken file is reported and the old one "
            "keeps running). Exit 2 for a configuration error at start."
        ),
    )
    _config_option(watch)
    watch.add_argument("--mailbox", action="append", help="only this mailbox (repeatable)")
    watch.add_argument(
        "--metrics-address",
        type=watch_command.metrics_address,
        metavar="HOST:PORT",
        help="serve /metrics, /healthz and /readyz here (for example 127.0.0.1:9100)",
    )
    watch.add_argument("--log-format", choices=("text", "json"), default="text")
    watch.add_argument("-v", "--verbose", action="store_true", help="log every message")


def _config_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "-c",
        "--config",
        help=f"the configuration file (default: ${CONFIG_ENV}, else ./{DEFAULT_CONFIG})",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = _parser().parse_args(argv)
    run = _COMMANDS.get(args.command or "")
    if run is None:
        _parser().print_help(sys.stderr)
        return ExitCode.CONFIGURATION
    return int(run(args))


if __name__ == "__main__":
    sys.exit(main())
