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
from tracker_mail_plugin.explain import as_json, as_text
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = _parser().parse_args(argv)
    if args.command == "explain":
        return _explain(args.paths, args.format)
    _parser().print_help(sys.stderr)
    return EXIT_USAGE


def _explain(paths: list[Path], output_format: str) -> int:
    failed = 0
    first = True
    for item in read_paths(paths):
        if item.raw is None:
            failed += 1
            print(f"tracker-mail explain: {item.label}: {item.error}", file=sys.stderr)
            continue
        message = parse_message(item.raw)
        if output_format == "json":
            print(as_json(item.label, message))
        else:
            print(("" if first else "\n") + as_text(item.label, message))
        first = False
    return EXIT_SOME_FAILED if failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
