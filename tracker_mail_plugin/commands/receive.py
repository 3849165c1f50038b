"""``tracker-mail receive``: one message piped in by a mail server, through the same pipeline.

Exit 0 means the mail server may forget the message: it is in the tracker, deliberately
dropped, or kept in the spool directory (unprocessed or quarantined). Exit 75 (temporary
failure: the server delivers again later) only when nothing was written to the tracker.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from tracker_mail_plugin.assemble import build_adapter_or_raise, forwarder_for, journal_path
from tracker_mail_plugin.commands.common import load_or_report
from tracker_mail_plugin.config.loader import LoadedConfig
from tracker_mail_plugin.errors import ExitCode, TrackerMailError
from tracker_mail_plugin.journal import Journal
from tracker_mail_plugin.logs import setup_logging
from tracker_mail_plugin.pipeline.checkpoints import kill_if_asked
from tracker_mail_plugin.pipeline.run import MailboxParts, MailboxRun
from tracker_mail_plugin.pipeline.summary import Summary
from tracker_mail_plugin.sources.base import Move
from tracker_mail_plugin.sources.pipe import PipeSource

logger = logging.getLogger("tracker_mail")


def command(args: argparse.Namespace) -> ExitCode:
    """Pipe mode: even a configuration error is a temporary failure (the mail is kept)."""
    setup_logging("text", verbose=False)
    loaded = load_or_report(args.config)
    if loaded is None or args.mailbox not in loaded.config.mailboxes:
        print(f"tracker-mail receive: cannot use mailbox {args.mailbox!r}", file=sys.stderr)
        return ExitCode.TEMPFAIL
    summary, code = receive(loaded, args.mailbox, sys.stdin.buffer.read())
    print(summary.line(), file=sys.stderr)
    return code


def receive(loaded: LoadedConfig, name: str, raw: bytes) -> tuple[Summary, ExitCode]:
    """Process one piped message; TEMPFAIL only when nothing was committed to the tracker."""
    summary = Summary(name)
    confirmed = 0
    try:
        confirmed = _receive(loaded, name, raw, summary)
    except TrackerMailError as exc:  # configuration, unreachable: the mail server retries
        summary.error = str(exc)
        logger.error("not received: %s", exc)
        return summary, ExitCode.TEMPFAIL
    if summary.failed and not confirmed:
        return summary, ExitCode.TEMPFAIL
    return summary, ExitCode.OK


def _receive(loaded: LoadedConfig, name: str, raw: bytes, summary: Summary) -> int:
    mailbox = loaded.config.mailboxes[name]
    policies = loaded.policies(name)
    path = journal_path(loaded)
    spool = Path(os.path.expanduser(mailbox.path)) if mailbox.path else path.parent / "spool" / name
    source = PipeSource(raw, spool, max_message_size=policies.max_message_size)
    adapter = build_adapter_or_raise(loaded, mailbox.tracker)
    with Journal.open(path) as journal, source:
        parts = MailboxParts(
            name, loaded, policies, source, adapter, journal, forwarder_for(loaded, name),
            kill_if_asked,
        )  # fmt: skip
        run = MailboxRun(parts, summary)
        run.run(None)
        if summary.failed and run.actor.confirmed:
            source.dispose(source.id, Move("Failed"))  # half done: keep it, and say so
            source.commit()
            logger.error("partly processed and kept in %s; see tracker-mail status", spool)
    return run.actor.confirmed
