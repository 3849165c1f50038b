"""``tracker-mail receive``: one message piped in by a mail server, through the same pipeline.

Exit 0 means the mail server may forget the message: it is in the tracker, deliberately
dropped, or kept in the spool directory (unprocessed or quarantined). Exit 75 (temporary
failure: the server keeps the message and delivers it again later) when:

- the tracker failed and nothing was written to it;
- a local fault stopped the run: the configuration, the journal, or a spool directory that
  cannot be written. The journal remembers every write the tracker confirmed, so the next
  delivery finishes the message without writing anything twice;
- standard input is empty or does not start with a mail header: nothing is done at all (no
  empty issue); the mail server's log and queue show the message for a person to look at.
- reading the message got stuck in a library call past its time budget, and the process
  was ended (see :mod:`tracker_mail_plugin.pipeline.budget`): the attempt is counted, and
  after ``max_attempts`` deliveries the message is quarantined in the spool directory.

Never exit 1: a mail server bounces the message to its sender on that.

The spool directory (``path``; by default ``spool/<mailbox>`` next to the journal) is
resolved against the configuration file's folder when relative, as the journal is.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from tracker_mail_plugin.assemble import (
    build_adapter_or_raise,
    forwarder_for,
    journal_path,
    open_journal,
)
from tracker_mail_plugin.commands.common import load_or_report
from tracker_mail_plugin.commands.output import print_summary, say_problems
from tracker_mail_plugin.config.loader import LoadedConfig
from tracker_mail_plugin.errors import ExitCode, TrackerMailError
from tracker_mail_plugin.logs import setup_logging
from tracker_mail_plugin.pipeline.budget import set_hard_stop_exit
from tracker_mail_plugin.pipeline.checkpoints import kill_if_asked
from tracker_mail_plugin.pipeline.parts import MailboxParts
from tracker_mail_plugin.pipeline.run import MailboxRun
from tracker_mail_plugin.pipeline.summary import Summary
from tracker_mail_plugin.sources.base import Move
from tracker_mail_plugin.sources.pipe import PipeSource, not_mail

logger = logging.getLogger("tracker_mail")


def command(args: argparse.Namespace) -> ExitCode:
    """Pipe mode: even a configuration error is a temporary failure (the mail is kept)."""
    setup_logging(args.log_format, args.verbose)
    loaded = load_or_report(args.config, args.log_format)
    if loaded is None or args.mailbox not in loaded.config.mailboxes:
        said = f"tracker-mail receive: cannot use mailbox {args.mailbox!r}"
        say_problems([said], args.log_format, sys.stderr)
        return ExitCode.TEMPFAIL
    summary, code = receive(loaded, args.mailbox, sys.stdin.buffer.read())
    print_summary(summary, args.log_format, sys.stderr)
    return code


def receive(loaded: LoadedConfig, name: str, raw: bytes) -> tuple[Summary, ExitCode]:
    """Process one piped message; see the module docstring for the exit codes."""
    set_hard_stop_exit(ExitCode.TEMPFAIL)  # a message stuck in the parser: kept, retried
    summary = Summary(name)
    confirmed = 0
    refused = not_mail(raw)
    # Why a message was not received is said once, in the summary line ("stopped: …").
    if refused:
        summary.error = f"{refused}; nothing was done"
        return summary, ExitCode.TEMPFAIL
    try:
        confirmed = _receive(loaded, name, raw, summary)
    except TrackerMailError as exc:  # configuration, journal, spool: the mail server retries
        summary.error = str(exc)
        return summary, ExitCode.TEMPFAIL
    except Exception as exc:  # a bug: still no bounce, which hands the mail back to its sender
        summary.error = f"{type(exc).__name__}: {exc}"
        logger.exception("not received")
        return summary, ExitCode.TEMPFAIL
    if summary.failed and not confirmed:
        return summary, ExitCode.TEMPFAIL
    return summary, ExitCode.OK


def _receive(loaded: LoadedConfig, name: str, raw: bytes, summary: Summary) -> int:
    mailbox = loaded.config.mailboxes[name]
    policies = loaded.policies(name)
    path = journal_path(loaded)
    spool = spool_path(loaded, name, path)
    source = PipeSource(raw, spool, max_message_size=policies.max_message_size)
    adapter = build_adapter_or_raise(loaded, mailbox.tracker)
    with open_journal(loaded, path) as journal, source:
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


def spool_path(loaded: LoadedConfig, name: str, journal: Path) -> Path:
    """The mailbox's spool directory: ``path``, relative to the configuration's folder."""
    given = loaded.config.mailboxes[name].path
    if given is None:
        return journal.parent / "spool" / name
    path = Path(os.path.expanduser(given))
    if not path.is_absolute():  # relative to the configuration file, not to the MTA's cwd
        path = Path(loaded.path).resolve().parent / path
    return path
