"""The ``tracker-mail`` command: argument parsing only; each command lives in ``commands/``.

Exit codes (the contract cron and mail servers rely on, :class:`~.errors.ExitCode`): 0 all
done; 1 some messages or inputs failed; 2 configuration or usage error (a run it stops keeps
what it finished); 3 a mailbox or tracker cannot be reached; 4 messages were quarantined; 75
temporary failure in pipe mode.
"""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tracker_mail_plugin import __version__
from tracker_mail_plugin.commands import (
    adapters,
    check,
    explain,
    login,
    receive,
    retry,
    status,
    sync,
)
from tracker_mail_plugin.commands import watch as watch_command
from tracker_mail_plugin.commands.completion import completion_script
from tracker_mail_plugin.commands.retry import RETRIABLE
from tracker_mail_plugin.config.loader import CONFIG_ENV, DEFAULT_CONFIG, SYSTEM_CONFIG
from tracker_mail_plugin.errors import ConfigurationError, ExitCode
from tracker_mail_plugin.journal.rows import MessageState
from tracker_mail_plugin.logs import setup_logging

_COMMANDS: dict[str, Callable[[argparse.Namespace], ExitCode]] = {
    "explain": explain.command,
    "check": check.command,
    "sync": sync.command,
    "watch": watch_command.command,
    "receive": receive.command,
    "status": status.status_command,
    "retry": retry.command,
    "adapters": adapters.command,
    "login": login.command,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tracker-mail",
        description="Turn mailboxes into issues, requests and comments in your issue tracker.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _shared_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    explain = commands.add_parser(
        "explain",
        help="show how messages are parsed and what would be done with them (changes nothing)",
        description=(
            "Parse mail files and show what tracker-mail reads in them: addresses, body "
            "after quote removal, attachments, automated class, issue references, defects. "
            "Directories are searched for .eml files and Maildirs; files starting with "
            "'From ' are read as mbox. Nothing is changed; with -c the mailbox's tracker is "
            "asked, read-only, about the sender and the issue a reply answers (not with "
            "--offline)."
        ),
    )
    explain.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="FILE|DIR",
        help="a .eml file, an mbox file, a Maildir, or a folder of them",
    )
    explain.add_argument(
        "--format",
        choices=("text", "json"),
        default=None,
        help=(
            "text for people (default; json with --log-format json); json prints one object "
            "per message per line"
        ),
    )
    explain.add_argument(
        "-c",
        "--config",
        default=argparse.SUPPRESS,
        help="rules.yaml to match against (without it, only parsing is shown)",
    )
    _logging_options(explain)
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
            "Validate the configuration: a summary, then every problem at once with its line "
            "and column, then the verdict, last. Offline too: the adapters' options, the "
            "journal path, local mailbox folders, dispositions and unset {env:} variables; "
            "without --offline, a log-in to every tracker (its projects and issue types) and "
            "mailbox. Nothing is touched. Exit 0 valid, 2 problems, 3 unreachable."
        ),
    )
    _config_option(check)
    check.add_argument(
        "--show", action="store_true", help="print every rule in its normalised YAML form"
    )
    check.add_argument(
        "--offline",
        action="store_true",
        help="connect to nothing (adapters' options, journal, folders are still checked)",
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
            "turned into an issue, and when reading the message got stuck past "
            "max_processing_seconds (the attempt is counted). Never 1, which would bounce "
            "the mail. A relative spool path is relative to the configuration file."
        ),
    )
    _config_option(receive)
    receive.add_argument("--mailbox", required=True, help="the profile whose rules apply")
    _status_parsers(commands)
    commands.add_parser(
        "adapters",
        help="list installed tracker adapters and load errors",
        description=(
            "List every installed tracker adapter (the names to write as adapter: in "
            "rules.yaml), its package and version, and why one fails to load. Exit 1 when one "
            "does."
        ),
    )
    completion = commands.add_parser(
        "completion",
        help="print a shell completion script (bash or zsh)",
        description=(
            "Print a completion script for the shell. bash: "
            "`tracker-mail completion bash > /etc/bash_completion.d/tracker-mail`; zsh: "
            '`tracker-mail completion zsh > "${fpath[1]}/_tracker-mail"`, then start a new '
            "shell."
        ),
    )
    completion.add_argument("shell", choices=("bash", "zsh"))
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
        description=textwrap.fill(
            "Fetch new mail from each mailbox, decide with the rules, create issues and "
            "comments, then move or flag the mail. Prints one summary line per mailbox where "
            "something happened, nothing otherwise (cron mails any output); -v adds a line "
            "per message.",
            79,
        ),  # filled here: the raw formatter that keeps the exit code table would not
        epilog=EXIT_CODES.rsplit("\n", 1)[0],  # 75 is receive's alone
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _config_option(sync)
    sync.add_argument("--mailbox", action="append", help="only this mailbox (repeatable)")
    sync.add_argument(
        "--dry-run",
        action="store_true",
        help=(
            "say what would be done, asking the tracker (read-only) whether each project "
            "exists and the sender may act; writes nothing, not even the journal"
        ),
    )
    sync.add_argument(
        "--limit", type=_at_least(1), help="process at most N messages per mailbox (1 or more)"
    )
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
    sync.add_argument(
        "--metrics-file",
        type=Path,
        metavar="PATH",
        help=(
            "write this run's metrics for node_exporter's textfile collector (replaced "
            "atomically; also after a failed run; not with --dry-run)"
        ),
    )


# Shown by `tracker-mail --help` and `sync --help`; the README has the same table.
EXIT_CODES = """\
exit codes (the most serious one wins, in this order: 2, 3, 4, 1, 0):
  0  all done (or nothing to do)
  1  some messages failed and will be tried again by the next run
  2  configuration or usage error; a run it stops keeps only what it finished
  3  a mailbox or tracker cannot be reached
  4  messages were quarantined: see `tracker-mail status --state quarantined`
 75  receive only: temporary failure, the mail server keeps the mail and retries"""


def _status_parsers(commands: Any) -> None:
    status = commands.add_parser(
        "status",
        help="show the journal: one row per message, what came of it",
        description=(
            "Count the journal's messages by state, then list them newest first: id, "
            "mailbox, state in plain words, attempts of the mailbox's max_attempts, date, "
            "sender, subject, the rule that took it, and the issue created or commented (key "
            "and link) or why not "
            "(the reason, or the last error). A narrow terminal cuts the subject first."
        ),
    )
    _config_option(status)
    status.add_argument(
        "--state",
        action="append",
        type=_journal_state,
        metavar="STATE",
        help=(
            "only messages in this state (repeatable): the journal's names ("
            + ", ".join(state.value for state in MessageState)
            + ") or the table's words (waiting, in-progress, done, not-imported)"
        ),
    )
    status.add_argument("--mailbox", action="append", help="only this mailbox (repeatable)")
    status.add_argument(
        "--search",
        metavar="TEXT",
        help="only messages whose sender, subject or Message-ID contains TEXT (any case)",
    )
    status.add_argument(
        "--format",
        choices=("text", "json"),
        default=None,
        help=(
            "text: a table (default; json with --log-format json); json: one object per "
            "message per line"
        ),
    )
    status.add_argument(
        "--limit",
        type=_at_least(0),
        default=50,
        help="show the latest N messages (default 50; 0: all)",
    )
    retry = commands.add_parser(
        "retry",
        help="queue messages to be processed again by the next sync",
        description=(
            "Make messages new again: their attempts start over and the next `tracker-mail "
            "sync` (cron's, or one run by hand) processes them with the configuration as it "
            "is then. Nothing is processed by retry itself. Writes the tracker already "
            "confirmed are never repeated. Mail that was moved (to the quarantine folder, "
            "say) must be moved back to the mailbox's folder for the sync to find it. After "
            "fixing a rule: tracker-mail retry --state unprocessed && tracker-mail sync"
        ),
    )
    _config_option(retry)
    retry.add_argument(
        "ids", nargs="*", type=int, metavar="ID", help="message ids from `tracker-mail status`"
    )
    retry.add_argument(
        "--state", choices=RETRIABLE, help="every message in this state (instead of IDs)"
    )
    retry.add_argument("--mailbox", action="append", help="only this mailbox (repeatable)")


def _watch_parser(commands: Any) -> None:
    watch = commands.add_parser(
        "watch",
        help="keep running: turn mail into issues as it arrives (IMAP IDLE, else polling)",
        description=(
            "Run every (or the chosen) mailbox continuously, the way sync does once: IMAP "
            "mailboxes wait for the server to announce mail (IDLE), others are looked at every "
            "poll_interval seconds. SIGTERM or SIGINT finish the message in hand and exit 0; "
            "SIGHUP reloads the configuration (a broken file is reported and the old one "
            "keeps running). Exit 2 for a configuration error at start; 1 when reading a "
            "message got stuck in a C library past its time budget and the process was ended."
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


# The words the status table shows, for --state: people type what they read.
_STATE_WORDS = {
    "waiting": MessageState.FETCHED,
    "in-progress": MessageState.DECIDED,
    "done": MessageState.DISPOSED,
    "not-imported": MessageState.UNPROCESSED,
}


def _at_least(least: int) -> Callable[[str], int]:
    """An argparse type: a whole number not below ``least`` (``--limit -1`` did nothing)."""

    def number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{value} is below {least}")
        return value

    return number


def _journal_state(text: str) -> str:
    """A journal state from its name or the status table's word for it."""
    word = text.strip().lower().replace(" ", "-")
    if word in _STATE_WORDS:
        return _STATE_WORDS[word].value
    if word in {state.value for state in MessageState}:
        return word
    known = [state.value for state in MessageState] + list(_STATE_WORDS)
    raise argparse.ArgumentTypeError(f"{text!r} is not a state; use one of {', '.join(known)}")


def _config_option(command: argparse.ArgumentParser) -> None:
    _shared_options(command, top=False)


def _shared_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """``-c``, ``-v`` and ``--log-format``, before the command or after it.

    The copies after the command default to "not given" so that they never overwrite a
    value given before it.
    """
    parser.add_argument(
        "-c",
        "--config",
        default=None if top else argparse.SUPPRESS,
        help=(
            f"the configuration file (default: ${CONFIG_ENV}, else ./{DEFAULT_CONFIG}, "
            f"else {SYSTEM_CONFIG})"
        ),
    )
    _logging_options(parser, top=top)


def _logging_options(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="log every message",
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text" if top else argparse.SUPPRESS,
        help="text (default) or json: one object per line",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        # A mistake in the mail server's alias line (`receive` without --mailbox) must
        # defer the mail, as a configuration error does: 2 would bounce it to its sender.
        words = sys.argv[1:] if argv is None else argv
        if exc.code == ExitCode.CONFIGURATION and "receive" in words:
            return ExitCode.TEMPFAIL
        raise
    if args.command == "completion":
        print(completion_script(_parser(), args.shell), end="")
        return ExitCode.OK
    run = _COMMANDS.get(args.command or "")
    if run is None:
        _parser().print_help(sys.stderr)
        return ExitCode.CONFIGURATION
    setup_logging(args.log_format, args.verbose)
    try:
        return int(run(args))
    except ConfigurationError as exc:
        # The last net for what no command reported itself (a journal folder that cannot be
        # created, say): a sentence and exit 2, never a traceback.
        for problem in exc.problems:
            print(f"tracker-mail {args.command}: {problem}", file=sys.stderr)
        # A mail server keeps piped mail only on a temporary failure; 2 would bounce it.
        return ExitCode.TEMPFAIL if args.command == "receive" else ExitCode.CONFIGURATION
    except Exception:
        # A bug. Its traceback is wanted in a report, but Python's own printing of it would
        # show the credentials a library put into an exception (a URL, a header): it goes
        # through the scrubbing log handler instead.
        logging.getLogger("tracker_mail").exception(
            "tracker-mail %s: unexpected error (a bug: please report it with this text)",
            args.command,
        )
        return ExitCode.TEMPFAIL if args.command == "receive" else ExitCode.SOME_FAILED


if __name__ == "__main__":
    sys.exit(main())
