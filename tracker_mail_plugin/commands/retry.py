"""``tracker-mail retry``: make messages new again, so that the next ``sync`` processes them.

Retry queues rather than processes: the next sync (cron's, or one run by hand) picks the
messages up under its mailbox lock, with the configuration as it is then, so a rule fixed
after the mail arrived applies. Writes the tracker already confirmed are kept in the
journal and never repeated.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from tracker_mail_plugin.adapter import CommentRef, IssueRef
from tracker_mail_plugin.assemble import journal_path, open_journal
from tracker_mail_plugin.commands.common import load_or_report
from tracker_mail_plugin.config.loader import LoadedConfig
from tracker_mail_plugin.errors import ExitCode
from tracker_mail_plugin.journal import Journal
from tracker_mail_plugin.journal.rows import MessageRow, MessageState
from tracker_mail_plugin.mail.safe_text import bounded
from tracker_mail_plugin.pipeline.states import StateKeeper

RETRIABLE = ("unprocessed", "quarantined", "failed")
# Mail being processed right now (or interrupted mid-way) is resumed by the next sync anyway.
_IN_PROGRESS = (MessageState.FETCHED, MessageState.DECIDED, MessageState.ACTED)


def command(args: argparse.Namespace) -> ExitCode:
    """``tracker-mail retry [ID ...] [--state STATE] [--mailbox NAME]``."""
    if not args.ids and not args.state:
        print(
            "tracker-mail retry: name the messages: IDs from `tracker-mail status`, or "
            f"--state ({'|'.join(RETRIABLE)}), optionally with --mailbox",
            file=sys.stderr,
        )
        return ExitCode.CONFIGURATION
    if args.ids and args.state:
        print("tracker-mail retry: give IDs or --state, not both", file=sys.stderr)
        return ExitCode.CONFIGURATION
    loaded = load_or_report(args.config, args.log_format)
    if loaded is None:
        return ExitCode.CONFIGURATION
    found = retry(loaded, args.ids, args.state, args.mailbox or (), sys.stdout, sys.stderr)
    return ExitCode.OK if found else ExitCode.CONFIGURATION


def retry(
    loaded: LoadedConfig,
    ids: list[int],
    state: str | None,
    mailboxes: tuple[str, ...] | list[str],
    out: TextIO,
    err: TextIO,
) -> bool:
    """Queue the messages named by id, or every one in ``state``; False if an id is unknown."""
    all_found = True
    queued = 0
    with open_journal(loaded, journal_path(loaded)) as journal:
        if state is not None:
            rows = journal.listing([MessageState(state)], mailboxes)
        else:
            rows = []
            for row_id in ids:
                row = journal.get(row_id)
                if row is None or (mailboxes and row.mailbox not in mailboxes):
                    print(f"tracker-mail retry: no message #{row_id} in the journal", file=err)
                    all_found = False
                elif row not in rows:
                    rows.append(row)
        keeper = StateKeeper(journal)
        for row in sorted(rows, key=lambda r: r.id):
            queued += _queue(journal, keeper, row, out)
    if queued:
        print(
            f"{queued} message(s) will be processed by the next sync (tracker-mail sync, or "
            "cron's); writes the tracker already confirmed are not repeated.",
            file=out,
        )
    elif all_found:
        print("nothing to retry", file=out)
    return all_found


def _queue(journal: Journal, keeper: StateKeeper, row: MessageRow, out: TextIO) -> int:
    """Requeue one message and say so; 0 when it is being processed already."""
    name = f'#{row.id} {row.mailbox} "{bounded(row.subject, 60)}"'
    if row.state in _IN_PROGRESS:
        print(f"{name}: in progress; the next sync finishes it", file=out)
        return 0
    made = journal.results([row.id]).get(row.id, []) if row.state == MessageState.DISPOSED else []
    if made:  # a run would find each write done and repeat none: say so instead of queueing
        keys = ", ".join(dict.fromkeys(_key(result) for result in made))
        print(f"{name}: done already ({keys}); nothing to retry", file=out)
        return 0
    disposition, removed = journal.disposition(row)
    keeper.requeue(row)
    where = (
        f"; it was moved ({disposition}): move it back to the mailbox's folder for the sync"
        f" to find it (in the mailbox it was {bounded(row.source_id, 200)})"
        if removed
        else ""
    )
    print(f"{name}: queued{where}", file=out)
    return 1


def _key(result: IssueRef | CommentRef) -> str:
    """``issue 12``, or ``comment on issue 12``."""
    if isinstance(result, CommentRef):
        return f"comment on issue {result.issue.key}"
    return f"issue {result.key}"
