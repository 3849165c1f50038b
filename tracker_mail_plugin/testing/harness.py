"""The crash harness: one mailbox run in this process, killed at a checkpoint on demand.

A :class:`CrashHarness` holds what outlives a crashed ``tracker-mail sync``: a
:class:`~tracker_mail_plugin.testing.FakeMailbox`, the tracker (any adapter instance) and
the journal file. :meth:`CrashHarness.crash` runs until a named checkpoint and stops there
as ``kill -9`` would (nothing after it runs, nothing catches it); the next
:meth:`CrashHarness.sync` is the run after the restart. Asserting that each message still
made exactly one issue is how an adapter shows its ``find_by_key`` closes the window
between "the tracker wrote it" and "the journal knows"::

    harness = CrashHarness(adapter, RULES, tmp_path / "journal.sqlite3")
    harness.mailbox.add(raw_message)
    harness.crash("after_write")
    harness.sync()

The checkpoints are :class:`~tracker_mail_plugin.pipeline.checkpoints.Checkpoint`:
``after_fetch``, ``after_write``, ``after_record``, ``before_commit``, and around each batch
of dispositions ``before_dispose`` and ``after_dispose`` (a name or the enum).
"""

from __future__ import annotations

from pathlib import Path

from tracker_mail_plugin.adapter import TrackerAdapter
from tracker_mail_plugin.config.loader import LoadedConfig, load_config_text
from tracker_mail_plugin.journal import Journal
from tracker_mail_plugin.mail import Message

# The run's internals, imported in this one place so that they can move without the kit's
# users noticing.
from tracker_mail_plugin.pipeline.checkpoints import Checkpoint
from tracker_mail_plugin.pipeline.parts import MailboxParts
from tracker_mail_plugin.pipeline.run import MailboxRun
from tracker_mail_plugin.pipeline.summary import Summary
from tracker_mail_plugin.testing.mailbox import FakeMailbox

__all__ = ["CHECKPOINTS", "Crash", "CrashHarness", "Summary"]

CHECKPOINTS = tuple(Checkpoint)


class Crash(BaseException):
    """Stands for kill -9 at a checkpoint: nothing after it runs, nothing catches it."""


class CrashHarness:
    """A mailbox, a tracker and a journal that survive "crashes" between runs.

    Args:
        tracker: the adapter under test, already configured.
        config: the text of a ``rules.yaml`` whose mailbox ``mailbox_name`` the runs read
            (its protocol and path are not used: the harness's ``mailbox`` stands in); the
            tracker it names is ``tracker``, whatever its ``adapter:`` says.
        journal: the journal's file.
        mailbox: the fake mailbox (a new, empty one by default).
        mailbox_name: the mailbox of ``config`` to run.

    Attributes:
        forwarded: ``(to, reason)`` of each message the runs forwarded.
        crash_at: the checkpoint the next run dies at (None: it runs to the end).
    """

    def __init__(
        self,
        tracker: TrackerAdapter,
        config: str,
        journal: Path,
        *,
        mailbox: FakeMailbox | None = None,
        mailbox_name: str = "inbox",
    ):
        self.tracker = tracker
        self.config = config
        self.journal = Journal.open(journal)
        self.mailbox = mailbox if mailbox is not None else FakeMailbox()
        self.mailbox_name = mailbox_name
        self.forwarded: list[tuple[str, str]] = []
        self.crash_at: Checkpoint | None = None

    def config_text(self) -> str:
        """The ``rules.yaml`` text of the next run (``config``; subclasses may build it)."""
        return self.config

    @property
    def loaded(self) -> LoadedConfig:
        """The next run's configuration, loaded and checked."""
        return load_config_text(self.config_text(), "rules.yaml")

    def sync(
        self, dry_run: bool = False, limit: int | None = None, *, look_up_first: bool = False
    ) -> Summary:
        """One run over the mailbox; what ``tracker-mail sync`` does for it."""
        loaded = self.loaded
        name = self.mailbox_name
        summary = Summary(name)
        parts = MailboxParts(
            name, loaded, loaded.policies(name), self.mailbox, self.tracker, self.journal,
            self._forward, self._checkpoint, dry_run, look_up_first,
        )  # fmt: skip
        self.mailbox.open()
        try:
            MailboxRun(parts, summary).run(limit)
        finally:
            self.mailbox.close()
        return summary

    def crash(self, at: Checkpoint | str) -> None:
        """Run, dying at the checkpoint ``at``; the next ``sync`` runs normally.

        Raises:
            AssertionError: the run ended without reaching ``at``.
        """
        self.crash_at = Checkpoint(at)
        try:
            self.sync()
        except Crash:
            pass
        else:
            raise AssertionError(f"the run never reached the checkpoint {at!r}")
        finally:
            self.crash_at = None

    def _forward(self, message: Message, raw: bytes, to: str, reason: str) -> None:
        self.forwarded.append((to, reason))

    def _checkpoint(self, checkpoint: Checkpoint) -> None:
        if checkpoint == self.crash_at:
            raise Crash(checkpoint.value)
