"""``tracker-mail sync``: run every (or the chosen) mailbox, each on its own, and exit well.

Mailboxes are independent: one that cannot be reached does not stop the others. The exit
code is the most serious outcome (:meth:`~tracker_mail_plugin.errors.ExitCode.worst`):
configuration, then unreachable, then "messages were quarantined", then "some messages
will be retried", then all done. Only a mailbox where something happened prints its line,
so that cron, which mails any output, stays quiet otherwise.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from tracker_mail_plugin.assemble import (
    build_adapter_or_raise,
    forwarder_for,
    journal_path,
    open_journal,
    open_source,
    postgres_journal,
    scratch_journal,
)
from tracker_mail_plugin.commands.common import load_or_report
from tracker_mail_plugin.commands.output import print_summary, say_problems
from tracker_mail_plugin.commands.stopsignals import StopSignals
from tracker_mail_plugin.config.environment import missing_variables
from tracker_mail_plugin.config.loader import LoadedConfig
from tracker_mail_plugin.errors import ConfigurationError, ExitCode, TrackerMailError
from tracker_mail_plugin.journal.database import JournalUnusable
from tracker_mail_plugin.journal.leases import Lease, LeaseKeeper
from tracker_mail_plugin.journal.postgres import PostgresDatabase
from tracker_mail_plugin.lock import MailboxLock
from tracker_mail_plugin.logs import setup_logging
from tracker_mail_plugin.needs import workers_problem
from tracker_mail_plugin.pipeline.checkpoints import kill_if_asked
from tracker_mail_plugin.pipeline.parts import MailboxParts, never_stop
from tracker_mail_plugin.pipeline.run import MailboxRun
from tracker_mail_plugin.pipeline.summary import Summary
from tracker_mail_plugin.sources.base import MailSource

if TYPE_CHECKING:
    from tracker_mail_plugin.metrics import Metrics

logger = logging.getLogger("tracker_mail")


@dataclass(frozen=True)
class SyncOptions:
    """Command-line choices for one ``sync``."""

    dry_run: bool = False
    limit: int | None = None
    wait: bool = False
    look_up_first: bool = False


def command(args: argparse.Namespace) -> ExitCode:
    """``tracker-mail sync``: run the mailboxes, print a line for each, exit with the worst.

    With ``--metrics-file``, the file is written whatever happened, even when the
    configuration could not be read (the times of the last success are carried over).
    """
    path: Path | None = None if args.dry_run else args.metrics_file
    if path is None:
        return _command(args, None)
    # Imported only when asked for: the client library takes a noticeable part of a second
    # to import, which every piped message (`receive`) would pay otherwise.
    from tracker_mail_plugin.metrics import Metrics, carry_over, write_textfile

    metrics = Metrics()
    carry_over(path, metrics)
    code = _command(args, metrics)
    try:
        write_textfile(path, metrics)
    except ConfigurationError as exc:
        say_problems([f"tracker-mail sync: {exc}"], args.log_format, sys.stderr)
        code = ExitCode.worst((code, exc.exit_code))
    return code


def _command(args: argparse.Namespace, metrics: Metrics | None) -> ExitCode:
    loaded = load_or_report(args.config, args.log_format)
    if loaded is None:
        return ExitCode.CONFIGURATION
    names = args.mailbox or list(loaded.config.mailboxes)
    unknown = [n for n in names if n not in loaded.config.mailboxes]
    if unknown:
        known = ", ".join(loaded.config.mailboxes)
        said = f"tracker-mail sync: no mailbox {unknown[0]!r}; the file has: {known}"
        say_problems([said], args.log_format, sys.stderr)
        return ExitCode.CONFIGURATION
    unset = missing_variables(loaded, names)
    if unset:  # every one at once: cron's empty environment lacks them all, not just one
        say_problems(unset, args.log_format, sys.stderr)
        return ExitCode.CONFIGURATION
    setup_logging(args.log_format, args.verbose)
    options = SyncOptions(args.dry_run, args.limit, args.wait, args.look_up_first)
    summaries, code = sync(loaded, names, options, metrics)
    for summary in summaries:
        # cron mails whatever is printed: a run where nothing happened stays silent.
        if summary.eventful or args.verbose or args.dry_run:
            print_summary(summary, args.log_format, sys.stdout)
    return code


def sync(
    loaded: LoadedConfig,
    mailboxes: Sequence[str],
    options: SyncOptions,
    metrics: Metrics | None = None,
) -> tuple[list[Summary], ExitCode]:
    """Run each mailbox; returns their summaries and the exit code.

    ``metrics``: counts what the runs do, then the journal's backlog; None measures nothing.
    """
    path = journal_path(loaded, create=not options.dry_run)
    if metrics is not None:
        metrics.add_mailboxes(mailboxes)
    summaries: list[Summary] = []
    with StopSignals("sync") as signals:
        for name in mailboxes:
            if signals.asked():  # the other mailboxes wait for the next run
                break
            summaries.append(process_mailbox(loaded, name, options, metrics, stop=signals.asked))
    code = ExitCode.worst(s.exit_code for s in summaries)
    # Housekeeping after a run the journal stopped would only meet the same fault again
    # (and, for a locked journal, wait the whole busy timeout a second time).
    if not options.dry_run and not any(s.journal_unusable for s in summaries):
        try:
            after_runs(loaded, path, metrics)
        except TrackerMailError as exc:  # the journal broke: the summaries still count
            logger.error("%s", exc)
            code = ExitCode.worst((code, exc.exit_code))
    return summaries, code


def after_runs(loaded: LoadedConfig, path: Path, metrics: Metrics | None) -> None:
    """Read the journal's backlog into ``metrics``, and forget old finished messages."""
    with open_journal(loaded, path) as journal:
        if metrics is not None:
            metrics.read_backlog(journal, loaded.config.mailboxes)
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
    metrics: Metrics | None = None,
    source: MailSource | None = None,
    stop: Callable[[], bool] = never_stop,
) -> Summary:
    """One mailbox's pending mail, under its lock; ``sync`` and ``watch`` both call this.

    Args:
        loaded: the configuration.
        name: the mailbox.
        options: the command-line choices.
        metrics: counts what the run does; None measures nothing.
        source: a source the caller keeps open between runs (``watch`` on an IMAP
            connection it idles on); None: one is opened for this run and closed after.
        stop: asked between messages; True ends the run there (a stop signal).
    """
    path = journal_path(loaded, create=not options.dry_run)
    summary = Summary(name, observer=metrics, dry_run=options.dry_run)
    run = _Run(source, stop)
    start = time.monotonic()
    if options.dry_run:  # writes nothing, not even a lock file; a preview may overlap a run
        run.guarded(loaded, name, options, path, summary)
    elif postgres_journal(loaded) is not None:  # several hosts: a lease, not a lock file
        if not run.leased(loaded, name, options, path, summary):
            summary.busy = True
            return summary
    else:
        try:
            with MailboxLock(Path(f"{path}.{name}.lock"), wait=options.wait) as lock:
                if not lock.acquired:
                    summary.busy = True
                    return summary
                run.guarded(loaded, name, options, path, summary)
        except JournalUnusable as exc:  # the lock file, beside the journal, cannot be made
            _stopped(summary, exc)
    summary.seconds = time.monotonic() - start
    summary.exit_code = ExitCode.worst(
        (
            summary.exit_code,
            ExitCode.QUARANTINED if summary.quarantined else ExitCode.OK,
            ExitCode.SOME_FAILED if summary.failed else ExitCode.OK,
        )
    )
    if metrics is not None:
        metrics.run_finished(summary)
    return summary


@dataclass(frozen=True)
class _Run:
    """What ``watch`` adds to a run: its own open source, and a stop check."""

    source: MailSource | None
    stop: Callable[[], bool]
    lease: Lease | None = None

    def leased(
        self, loaded: LoadedConfig, name: str, options: SyncOptions, path: Path, summary: Summary
    ) -> bool:
        """The run under the mailbox's lease in the PostgreSQL journal; False: held elsewhere."""
        where = postgres_journal(loaded)
        assert where is not None  # noqa: S101 - called only with a PostgreSQL journal
        try:
            with open_journal(loaded, path) as own:
                assert isinstance(own.database, PostgresDatabase)  # noqa: S101 - as configured
                keeper = LeaseKeeper(own.database, name, where.lease_seconds, wait=options.wait)
                with keeper:
                    if keeper.held is None:
                        return False
                    replace(self, lease=keeper.held).guarded(loaded, name, options, path, summary)
        except TrackerMailError as exc:  # the lease could not be taken or given back
            _stopped(summary, exc)
        return True

    def guarded(
        self, loaded: LoadedConfig, name: str, options: SyncOptions, path: Path, summary: Summary
    ) -> None:
        try:
            self._run(loaded, name, options, path, summary)
        except TrackerMailError as exc:
            _stopped(summary, exc)

    def _run(
        self, loaded: LoadedConfig, name: str, options: SyncOptions, path: Path, summary: Summary
    ) -> None:
        mailbox = loaded.config.mailboxes[name]
        policies = loaded.policies(name)
        adapter = build_adapter_or_raise(loaded, mailbox.tracker)
        problem = workers_problem(name, policies.workers, adapter)
        if problem:
            raise ConfigurationError(problem)
        with ExitStack() as stack:
            source = self.source
            if source is None:
                source = open_source(mailbox, policies.max_message_size, path.parent, name)
                stack.enter_context(source)
            journal = stack.enter_context(
                scratch_journal(loaded, path) if options.dry_run else open_journal(loaded, path)
            )
            if self.lease is not None:
                journal.hold(self.lease)
            parts = MailboxParts(
                name, loaded, policies, source, adapter, journal, forwarder_for(loaded, name),
                kill_if_asked, options.dry_run, options.look_up_first, summary.observer,
                self.stop,
            )  # fmt: skip
            MailboxRun(parts, summary).run(options.limit)


def _stopped(summary: Summary, exc: TrackerMailError) -> None:
    """The run ended on ``exc``: its exit code and reason go into the summary."""
    summary.exit_code, summary.error = exc.exit_code, str(exc)
    summary.journal_unusable = isinstance(exc, JournalUnusable)
