"""``tracker-mail sync``: run every (or the chosen) mailbox, each on its own, and exit well.

Mailboxes are independent: one that cannot be reached does not stop the others. The exit
code is the most serious outcome (:meth:`~tracker_mail_plugin.errors.ExitCode.worst`):
configuration, then unreachable, then "some messages will be retried", then all done.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from tracker_mail_plugin.assemble import (
    build_adapter_or_raise,
    forwarder_for,
    journal_path,
    open_source,
)
from tracker_mail_plugin.commands.common import load_or_report
from tracker_mail_plugin.config.loader import LoadedConfig
from tracker_mail_plugin.errors import ConfigurationError, ExitCode, TrackerMailError
from tracker_mail_plugin.journal import Journal
from tracker_mail_plugin.lock import MailboxLock
from tracker_mail_plugin.logs import setup_logging
from tracker_mail_plugin.needs import workers_problem
from tracker_mail_plugin.pipeline.checkpoints import kill_if_asked
from tracker_mail_plugin.pipeline.run import MailboxParts, MailboxRun, never_stop
from tracker_mail_plugin.pipeline.summary import Summary
from tracker_mail_plugin.sources.base import MailSource

logger = logging.getLogger("tracker_mail")


@dataclass(frozen=True)
class SyncOptions:
    """Command-line choices for one ``sync``."""

    dry_run: bool = False
    limit: int | None = None
    wait: bool = False
    look_up_first: bool = False


def command(args: argparse.Namespace) -> ExitCode:
    """``tracker-mail sync``: run the mailboxes, print a line for each, exit with the worst."""
    loaded = load_or_report(args.config)
    if loaded is None:
        return ExitCode.CONFIGURATION
    names = args.mailbox or list(loaded.config.mailboxes)
    unknown = [n for n in names if n not in loaded.config.mailboxes]
    if unknown:
        known = ", ".join(loaded.config.mailboxes)
        print(
            f"tracker-mail sync: no mailbox {unknown[0]!r}; the file has: {known}", file=sys.stderr
        )
        return ExitCode.CONFIGURATION
    setup_logging(args.log_format, args.verbose)
    summaries, code = sync(
        loaded, names, SyncOptions(args.dry_run, args.limit, args.wait, args.look_up_first)
    )
    for summary in summaries:
        for line in summary.planned:
            print(f"{summary.mailbox}: would {line}" if args.dry_run else line)
        print(summary.line())
    return code


def sync(
    loaded: LoadedConfig, mailboxes: Sequence[str], options: SyncOptions
) -> tuple[list[Summary], ExitCode]:
    """Run each mailbox; returns their summaries and the exit code."""
    path = journal_path(loaded)
    summaries = [process_mailbox(loaded, name, options) for name in mailboxes]
    code = ExitCode.worst(s.exit_code for s in summaries)
    if not options.dry_run:
        try:
            prune_journal(loaded, path)
        except TrackerMailError as exc:  # the journal broke: the summaries still count
            logger.error("%s", exc)
            code = ExitCode.worst((code, exc.exit_code))
    return summaries, code


def prune_journal(loaded: LoadedConfig, path: Path) -> None:
    """Forget finished messages older than ``journal_keep_days``."""
    with Journal.open(path) as journal:
        pruned = journal.prune(loaded.config.journal_keep_days)
    if pruned:
        logger.info(
            "journal: forgot %d finished messages older than %s days",
            pruned,
            loaded.config.journal_keep_days,
        )


def process_mailbox(
    loaded: LoadedConfig,
    name: str,
    options: SyncOptions,
    source: MailSource | None = None,
    stop: Callable[[], bool] = never_stop,
) -> Summary:
    """One mailbox's pending mail, under its lock; ``sync`` and ``watch`` both call this.

    Args:
        loaded: the configuration.
        name: the mailbox.
        options: the command-line choices.
        source: a source the caller keeps open between runs (``watch`` on an IMAP
            connection it idles on); None: one is opened for this run and closed after.
        stop: asked between messages; True ends the run there (a stop signal).
    """
    path = journal_path(loaded)
    summary = Summary(name)
    start = time.monotonic()
    with MailboxLock(Path(f"{path}.{name}.lock"), wait=options.wait) as lock:
        if not lock.acquired:
            summary.busy = True
            return summary
        try:
            _run(loaded, name, options, path, summary, source, stop)
        except TrackerMailError as exc:
            summary.exit_code, summary.error = exc.exit_code, str(exc)
    summary.seconds = time.monotonic() - start
    if summary.exit_code == ExitCode.OK and summary.failed:
        summary.exit_code = ExitCode.SOME_FAILED
    return summary


def _run(
    loaded: LoadedConfig,
    name: str,
    options: SyncOptions,
    path: Path,
    summary: Summary,
    source: MailSource | None,
    stop: Callable[[], bool],
) -> None:
    mailbox = loaded.config.mailboxes[name]
    policies = loaded.policies(name)
    adapter = build_adapter_or_raise(loaded, mailbox.tracker)
    problem = workers_problem(name, policies.workers, adapter)
    if problem:
        raise ConfigurationError(problem)
    with ExitStack() as stack:
        if source is None:
            source = open_source(mailbox, policies.max_message_size, path.parent, name)
            stack.enter_context(source)
        journal = stack.enter_context(Journal.open(path))
        parts = MailboxParts(
            name, loaded, policies, source, adapter, journal, forwarder_for(loaded, name),
            kill_if_asked, options.dry_run, options.look_up_first, stop,
        )  # fmt: skip
        MailboxRun(parts, summary).run(options.limit)
