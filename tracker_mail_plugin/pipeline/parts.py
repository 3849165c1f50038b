"""What one mailbox's run is given: its configuration, source, tracker, journal and hooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tracker_mail_plugin.adapter import TrackerAdapter
from tracker_mail_plugin.config.loader import LoadedConfig
from tracker_mail_plugin.config.model import Policies
from tracker_mail_plugin.journal import Journal
from tracker_mail_plugin.pipeline.checkpoints import CheckpointHook
from tracker_mail_plugin.pipeline.disposal import Forwarder
from tracker_mail_plugin.pipeline.observer import RunObserver
from tracker_mail_plugin.sources.base import MailSource

# For this long after a journal is created, every new write is looked up in the tracker
# first: a lost journal must not turn the mail still in the mailbox into duplicates.
NEW_JOURNAL_HOURS = 24.0


def never_stop() -> bool:
    """The ``stop`` of a run nothing interrupts."""
    return False


@dataclass
class MailboxParts:
    """The live objects one mailbox's run works with.

    Attributes:
        name: the mailbox's name in the configuration.
        loaded: the configuration.
        policies: the mailbox's effective policies.
        source: the mail source, opened by the caller.
        adapter: the mailbox's tracker adapter.
        journal: the journal, opened by the caller.
        forward: sends mail on (``forward`` actions and dispositions).
        checkpoint: called at each :class:`Checkpoint` (crash tests).
        dry_run: decide and report only; nothing is written anywhere.
        look_up_first: look each new write up in the tracker before making it (a journal
            restored from a backup); a journal less than ``NEW_JOURNAL_HOURS`` old does so
            on its own when processed mail stays in the mailbox.
        observer: told the counts, latencies and tracker calls as they happen (metrics);
            None costs nothing.
        stop: asked between messages; True (``watch`` got a stop signal) ends the run
            there, the message in hand finished, the rest left for the next run.
    """

    name: str
    loaded: LoadedConfig
    policies: Policies
    source: MailSource
    adapter: TrackerAdapter
    journal: Journal
    forward: Forwarder
    checkpoint: CheckpointHook
    dry_run: bool = False
    look_up_first: bool = False
    observer: RunObserver | None = None
    stop: Callable[[], bool] = never_stop
