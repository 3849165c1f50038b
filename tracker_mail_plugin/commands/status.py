"""``tracker-mail status`` and ``retry``: what the journal says, and a message made new again."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from tracker_mail_plugin.assemble import journal_path
from tracker_mail_plugin.commands.common import load_or_report
from tracker_mail_plugin.config.loader import LoadedConfig
from tracker_mail_plugin.errors import ExitCode
from tracker_mail_plugin.journal import Journal
from tracker_mail_plugin.journal.rows import MessageRow, MessageState
from tracker_mail_plugin.pipeline.states import StateKeeper


def status_command(args: argparse.Namespace) -> ExitCode:
    """``tracker-mail status``."""
    loaded = load_or_report(args.config)
    if loaded is None:
        return ExitCode.CONFIGURATION
    show_status(loaded, sys.stdout)
    return ExitCode.OK


def retry_command(args: argparse.Namespace) -> ExitCode:
    """``tracker-mail retry ID``."""
    loaded = load_or_report(args.config)
    if loaded is None:
        return ExitCode.CONFIGURATION
    ok = retry(loaded, args.id, sys.stdout, sys.stderr)
    return ExitCode.OK if ok else ExitCode.CONFIGURATION


def show_status(loaded: LoadedConfig, out: TextIO, limit: int = 20) -> None:
    """Counts by state, the messages that failed or were quarantined, the latest ones."""
    path = journal_path(loaded)
    with Journal.open(path) as journal:
        status = journal.status(limit)
        failed, quarantined = journal.failed(), journal.quarantined()
    counts = ", ".join(f"{state.value} {count}" for state, count in sorted(status.counts.items()))
    print(f"journal {path}: {counts or 'empty'}", file=out)
    for title, rows in (
        ("Quarantined (retry with: tracker-mail retry ID)", quarantined),
        ("Failed, will be retried", failed),
    ):
        if rows:
            print(f"{title}:", file=out)
            for row in rows:
                print(f"  {_line(row)}\n      last error: {row.last_error}", file=out)
    if status.recent:
        print("Recent:", file=out)
        for row in status.recent:
            print(f"  {_line(row)}", file=out)


def _line(row: MessageRow) -> str:
    outcome = (row.decision or {}).get("actions") or (row.decision or {}).get("reason") or ""
    shown = "; ".join(outcome) if isinstance(outcome, list) else str(outcome)
    return (
        f"#{row.id} {row.mailbox} {row.state.value} attempts {row.attempts} "
        f"<{row.message_id}> {shown}".rstrip()
    )


def retry(loaded: LoadedConfig, row_id: int, out: TextIO, err: TextIO) -> bool:
    """Make a journalled message new again, so that the next sync processes it."""
    with Journal.open(journal_path(loaded)) as journal:
        row = journal.get(row_id)
        if row is None:
            print(f"tracker-mail retry: no message #{row_id} in the journal", file=err)
            return False
        StateKeeper(journal).requeue(row)
    where = (
        ""
        if row.state != MessageState.QUARANTINED
        else (" If it was moved to the quarantine folder, move it back to the mailbox's folder;")
    )
    print(
        f"#{row_id} <{row.message_id}> will be processed by the next sync of {row.mailbox}."
        f"{where} Writes already confirmed are not repeated.",
        file=out,
    )
    return True
