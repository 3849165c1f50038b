"""``tracker-mail sync``: run every (or the chosen) mailbox, each on its own, and exit well.

Mailboxes are independent: one that cannot be reached does not stop the others. The exit
code is the most serious outcome: 2 configuration, 3 unreachable, 1 some messages will be
retried, 0 all done.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tracker_mail_plugin.config.loader import LoadedConfig
from tracker_mail_plugin.connect import build_adapter_or_raise, journal_path, open_source
from tracker_mail_plugin.errors import ConfigurationError, TrackerMailError, Unreachable
from tracker_mail_plugin.forward import SmtpForwarder, no_forwarding
from tracker_mail_plugin.journal import Journal
from tracker_mail_plugin.live import workers_problem
from tracker_mail_plugin.lock import MailboxLock
from tracker_mail_plugin.sources.base import Move
from tracker_mail_plugin.sources.pipe import PipeSource
from tracker_mail_plugin.sync import Context, Forwarder, MailboxRun, Summary

logger = logging.getLogger("tracker_mail")

# Test hook: the exactly-once tests kill the run at a named point (see sync.py/act.py).
KILL_AT_ENV = "TRACKER_MAIL_TEST_KILL_AT"
_SEVERITY = {0: 0, 1: 1, 3: 2, 2: 3}


@dataclass(frozen=True)
class SyncOptions:
    """Command-line choices for one ``sync``."""

    dry_run: bool = False
    limit: int | None = None
    wait: bool = False


def checkpoint(name: str) -> None:
    """Die here, as ``kill -9`` would, when a crash test asks for it."""
    if os.environ.get(KILL_AT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def sync(
    loaded: LoadedConfig, mailboxes: Sequence[str], options: SyncOptions
) -> tuple[list[Summary], int]:
    """Run each mailbox; returns their summaries and the exit code."""
    path = journal_path(loaded)
    summaries = [_one(loaded, name, options, path) for name in mailboxes]
    if not options.dry_run:
        with Journal.open(path) as journal:
            pruned = journal.prune(loaded.config.journal_keep_days)
        if pruned:
            logger.info(
                "journal: forgot %d finished messages older than %s days",
                pruned,
                loaded.config.journal_keep_days,
            )
    code = max((s.exit_code for s in summaries), key=lambda c: _SEVERITY.get(c, 0), default=0)
    return summaries, code


def _one(
    loaded: LoadedConfig, name: str, options: SyncOptions, path: os.PathLike[str] | str
) -> Summary:
    summary = Summary(name)
    start = time.monotonic()
    lock_path = type(journal_path(loaded))(f"{path}.{name}.lock")
    with MailboxLock(lock_path, wait=options.wait) as lock:
        if not lock.acquired:
            summary.busy = True
            return summary
        try:
            _run(loaded, name, options, path, summary)
        except ConfigurationError as exc:
            summary.exit_code, summary.error = 2, str(exc)
        except Unreachable as exc:
            summary.exit_code, summary.error = 3, str(exc)
        except TrackerMailError as exc:
            summary.exit_code, summary.error = 1, str(exc)
    summary.seconds = time.monotonic() - start
    if summary.exit_code == 0 and summary.failed:
        summary.exit_code = 1
    return summary


EX_TEMPFAIL = 75  # sysexits.h: the mail server keeps the message and delivers it again


def receive(loaded: LoadedConfig, name: str, raw: bytes) -> tuple[Summary, int]:
    """Process one piped message; 75 only when nothing was committed to the tracker.

    Exit 0 means the mail server may forget the message: it is in the tracker, deliberately
    dropped, or kept in the spool directory (unprocessed or quarantined).
    """
    summary = Summary(name)
    confirmed = 0
    try:
        confirmed = _receive(loaded, name, raw, summary)
    except TrackerMailError as exc:  # configuration, unreachable: the mail server retries
        summary.error = str(exc)
        logger.error("not received: %s", exc)
        return summary, EX_TEMPFAIL
    if summary.failed and not confirmed:
        return summary, EX_TEMPFAIL
    return summary, 0


def _receive(loaded: LoadedConfig, name: str, raw: bytes, summary: Summary) -> int:
    config = loaded.config
    mailbox = config.mailboxes[name]
    policies = loaded.policies(name)
    path = journal_path(loaded)
    spool = Path(os.path.expanduser(mailbox.path)) if mailbox.path else path.parent / "spool" / name
    source = PipeSource(raw, spool, max_message_size=policies.max_message_size)
    adapter = build_adapter_or_raise(loaded, mailbox.tracker)
    forward: Forwarder = SmtpForwarder(config.smtp, name) if config.smtp else no_forwarding
    with Journal.open(path) as journal, source:
        context = Context(name, loaded, policies, source, adapter, journal, forward, checkpoint)
        run = MailboxRun(context, summary)
        run.run(None)
        if summary.failed and run.actor.confirmed:
            source.dispose(source.id, Move("Failed"))  # half done: keep it, and say so
            source.commit()
            logger.error("partly processed and kept in %s; see tracker-mail status", spool)
    return run.actor.confirmed


def _run(
    loaded: LoadedConfig,
    name: str,
    options: SyncOptions,
    path: os.PathLike[str] | str,
    summary: Summary,
) -> None:
    config = loaded.config
    mailbox = config.mailboxes[name]
    policies = loaded.policies(name)
    adapter = build_adapter_or_raise(loaded, mailbox.tracker)
    problem = workers_problem(name, policies.workers, adapter)
    if problem:
        raise ConfigurationError(problem)
    forward: Forwarder = SmtpForwarder(config.smtp, name) if config.smtp else no_forwarding
    source = open_source(mailbox, policies.max_message_size)
    with Journal.open(path) as journal, source:
        context = Context(
            name, loaded, policies, source, adapter, journal, forward, checkpoint, options.dry_run
        )
        MailboxRun(context, summary).run(options.limit)
