"""``tracker-mail status``: what the journal says about each message, as a table or JSON.

The first line counts messages by journal state (the names ``--state`` takes); the table
below has one row per message, newest change first, with its state in plain words and
what came of it: the issue created or commented, or why not.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from tracker_mail_plugin.adapter import CommentRef, IssueRef
from tracker_mail_plugin.assemble import journal_exists, journal_path, open_journal
from tracker_mail_plugin.commands.common import load_or_report, quiet_on_closed_pipe
from tracker_mail_plugin.commands.table import Column, render
from tracker_mail_plugin.config.loader import LoadedConfig
from tracker_mail_plugin.errors import ExitCode
from tracker_mail_plugin.journal.rows import MessageRow, MessageState
from tracker_mail_plugin.mail.safe_text import bounded

# A state as people say it; ``--state`` takes the journal's own names, shown in the counts.
PLAIN_STATE = {
    MessageState.FETCHED: "waiting",  # for the next sync: interrupted, or queued by retry
    MessageState.DECIDED: "in progress",
    MessageState.ACTED: "done, not yet moved",
    MessageState.DISPOSED: "done",
    MessageState.UNPROCESSED: "not imported",
    MessageState.FAILED: "failed, will retry",
    MessageState.QUARANTINED: "quarantined",
}
DEFAULT_LIMIT = 50
_COLUMNS = (
    Column("ID"),
    Column("MAILBOX"),
    Column("STATE"),
    Column("ATTEMPTS"),
    Column("DATE (UTC)"),
    Column("SENDER", shrinks=3, least=12),
    Column("SUBJECT", shrinks=1, least=10),
    Column("RULE", shrinks=4, least=8),
    Column("RESULT", shrinks=2, least=20),
)
# Cells are cut to these before the terminal's width is considered: a row stays readable.
_SENDER, _SUBJECT, _RULE, _RESULT = 40, 60, 30, 100
# The RULE cell of a reply made a comment by the replies policy, before any rule.
REPLY = "(reply)"


def status_command(args: argparse.Namespace) -> ExitCode:
    """``tracker-mail status``."""
    loaded = load_or_report(args.config, args.log_format)
    if loaded is None:
        return ExitCode.CONFIGURATION
    unknown = [m for m in args.mailbox or () if m not in loaded.config.mailboxes]
    if unknown:
        known = ", ".join(loaded.config.mailboxes)
        print(
            f"tracker-mail status: no mailbox {unknown[0]!r}; the file has: {known}",
            file=sys.stderr,
        )
        return ExitCode.CONFIGURATION
    states = [MessageState(s) for s in args.state or ()]
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    # Whoever asked for JSON logs reads stdout with the same collector: JSON rows too.
    form = args.format or ("json" if args.log_format == "json" else "text")
    with quiet_on_closed_pipe():
        show_status(
            loaded,
            sys.stdout,
            states,
            args.mailbox or (),
            args.limit or None,
            form,
            width,
            search=args.search,
        )
    return ExitCode.OK


def show_status(
    loaded: LoadedConfig,
    out: TextIO,
    states: list[MessageState] | None = None,
    mailboxes: tuple[str, ...] | list[str] = (),
    limit: int | None = DEFAULT_LIMIT,
    form: str = "text",
    width: int | None = None,
    *,
    search: str | None = None,
) -> None:
    """Counts by state, then one row per message (newest change first), narrowed if asked.

    ``width``: the terminal's; the subject is cut first to fit it. None: not a terminal.
    ``search``: only messages whose sender, subject or Message-ID contains this text.
    """
    path = journal_path(loaded, create=False)
    if not journal_exists(loaded, path):  # no run yet: say so, without creating a journal to say it
        if form == "text":
            print(f"journal {path}: empty (no sync has run yet)", file=out)
        return
    with open_journal(loaded, path) as journal:
        counts = journal.status(0).counts
        rows = journal.listing(states or (), mailboxes, limit, search)
        results = journal.results([row.id for row in rows])
        where = journal.path  # the file, or the PostgreSQL URL
    entries = [_entry(loaded, row, results.get(row.id, [])) for row in rows]
    if form == "json":
        for entry in entries:
            print(json.dumps(entry, ensure_ascii=False), file=out)
        return
    shown = ", ".join(f"{state.value} {count}" for state, count in sorted(counts.items()))
    print(f"journal {where}: {shown or 'empty'}", file=out)
    if entries:
        for line in render(_COLUMNS, [_cells(entry) for entry in entries], width):
            print(line, file=out)
    if limit is not None and len(rows) == limit:
        print(f"(the latest {limit}; --limit 0 shows all)", file=out)


def _entry(
    loaded: LoadedConfig, row: MessageRow, results: list[IssueRef | CommentRef]
) -> dict[str, Any]:
    """What ``status`` says about one message (the JSON object; the table shows the same)."""
    mailbox = loaded.config.mailboxes.get(row.mailbox)
    decision = row.decision or {}
    issues = []
    for result in results:
        issue = result.issue if isinstance(result, CommentRef) else result
        issues.append({"key": issue.key, "url": issue.url, "comment": issue is not result})
    return {
        "id": row.id,
        "mailbox": row.mailbox,
        "state": row.state.value,
        "state_text": _plain_state(row, decision),
        "attempts": row.attempts,
        "max_attempts": loaded.policies(row.mailbox).max_attempts if mailbox else None,
        "date": row.updated_at.isoformat(timespec="seconds"),
        "sender": bounded(row.sender, 200),
        "subject": bounded(row.subject, 200),
        "message_id": bounded(row.message_id, 200),
        "issues": issues,
        # Which rule took it (None: none matched, or it was judged before any rule), and
        # the issue a reply answered: what people ask when mail landed somewhere unexpected.
        "rule": decision.get("matched_rule"),
        "reply_to": decision.get("reply_to"),
        "author": decision.get("author"),
        # The mail as its mailbox names it (Maildir file key, IMAP UIDVALIDITY:UID, ...).
        "location": bounded(row.source_id, 200),
        # Unprocessed and quarantined mail keep "reason"; dropped mail its decision's reason.
        "reason": decision.get("reason") or decision.get("skipped_reason"),
        "last_error": row.last_error,
    }


def _plain_state(row: MessageRow, decision: Mapping[str, Any]) -> str:
    """The state in people's words; mail that was dropped (automated, a rule) says so."""
    if row.state == MessageState.DISPOSED and decision.get("outcome") == "drop":
        return "dropped"
    return PLAIN_STATE[row.state]


def _cells(entry: dict[str, Any]) -> list[str]:
    of = f"/{entry['max_attempts']}" if entry["max_attempts"] else ""
    date = entry["date"][:16].replace("T", " ")
    return [
        str(entry["id"]),
        entry["mailbox"],
        entry["state_text"],
        f"{entry['attempts']}{of}",
        date,
        bounded(entry["sender"], _SENDER) or "-",
        bounded(entry["subject"], _SUBJECT) or "-",
        bounded(_rule(entry), _RULE) or "-",
        bounded(_result(entry), _RESULT) or "-",
    ]


def _rule(entry: dict[str, Any]) -> str:
    if entry["state"] in ("fetched", "decided"):
        return ""  # decided again on the next attempt
    if entry["rule"]:
        return str(entry["rule"])
    return REPLY if entry["reply_to"] and entry["issues"] else ""


def _result(entry: dict[str, Any]) -> str:
    """The issues made or commented, else why not: the reason, or the last error."""
    if entry["state"] in ("fetched", "decided"):
        return ""  # what an earlier attempt said no longer holds: it is tried again
    if entry["issues"]:
        seen = dict.fromkeys(
            ("comment on " if i["comment"] else "")
            + " ".join(part for part in (i["key"], i["url"]) if part)
            for i in entry["issues"]
        )
        return ", ".join(seen)
    if entry["state"] in ("failed", "quarantined") and entry["last_error"]:
        return str(entry["last_error"])
    return str(entry["reason"] or "")
