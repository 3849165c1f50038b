"""The last step: move, flag, delete or forward the mail, commit, then journal that it was done.

The order is the exactly-once argument's tail: the mail is disposed of only after the
tracker confirmed every write and the journal holds those confirmations on disk, and the
journal records the disposal only after the source committed it (a POP3 delete is real only
at QUIT, an IMAP move at once). A run that dies in between leaves mail whose disposal the
next run finds already made (see :meth:`Disposer.settle_vanished`) or makes again.

Mail is disposed of in batches: the messages finished since the last batch wait until
``DISPOSE_BATCH`` of them are ready (or the run commits), then one fsync makes their
confirmations durable and the source applies each disposition to all of them at once (one
IMAP ``UID MOVE`` over a UID set instead of one per message).

With workers, only the thread that owns the source may touch it: workers queue their
dispositions, and that thread applies them (:meth:`Disposer.drain`).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from tracker_mail_plugin.config.model import DispositionPolicy, ForwardTo, MoveTo, Policies
from tracker_mail_plugin.errors import RetryLater, TrackerMailError, Unreachable
from tracker_mail_plugin.journal.rows import MessageRow, MessageState
from tracker_mail_plugin.mail import Message
from tracker_mail_plugin.pipeline.checkpoints import Checkpoint, CheckpointHook, never
from tracker_mail_plugin.pipeline.states import StateKeeper
from tracker_mail_plugin.sources.base import (
    Delete,
    Disposition,
    Envelope,
    FlagSeen,
    Leave,
    MailSource,
    Move,
    describe,
)

logger = logging.getLogger("tracker_mail")

# A message, its bytes, the address and the reason: sends the mail on (see forward.py).
Forwarder = Callable[[Message, bytes, str, str], None]

# How many finished messages wait to be disposed of together (one fsync, one IMAP command
# per disposition): the round trip per message nearly disappears, and a run that dies has
# at most this many messages to dispose of again.
DISPOSE_BATCH = 100

# A message ready to be disposed of, how, and whether its "acted" state is still to write.
_Ready = tuple[MessageRow, Disposition, bool]

# Journalled messages whose disposal was under way when a run stopped.
_DISPOSING = frozenset(
    {MessageState.DISPOSED, MessageState.UNPROCESSED, MessageState.QUARANTINED, MessageState.ACTED}
)


def disposition_for(policy: DispositionPolicy) -> Disposition:
    """A configured disposition (``delete``, ``{move: X}``…) as the source's value.

    ``{forward: …}`` forwards a copy and leaves the mail where it is.
    """
    if isinstance(policy, MoveTo):
        return Move(policy.move)
    if policy == "delete":
        return Delete()
    if policy == "flag_seen":
        return FlagSeen()
    return Leave()


class Disposer:
    """Disposes of one mailbox run's mail and journals it once the source committed.

    Args:
        mailbox: the mailbox's name, for messages.
        source: the open mail source.
        states: the run's state keeper (the only writer of message states).
        policies: the mailbox's policies (which disposition for which outcome).
        forward: sends ``{forward: …}`` copies.
        checkpoint: called around each batch (crash tests).
    """

    def __init__(
        self,
        mailbox: str,
        source: MailSource,
        states: StateKeeper,
        policies: Policies,
        forward: Forwarder,
        checkpoint: CheckpointHook = never,
    ):
        self.mailbox = mailbox
        self.source = source
        self.states = states
        self.policies = policies
        self.forward = forward
        self.checkpoint = checkpoint
        # Held around every use of the source while a fetch runs on another thread.
        self.source_lock = threading.Lock()
        self._ready: list[_Ready] = []  # confirmed, not yet applied
        self._given: list[tuple[MessageRow, Disposition]] = []  # applied, not yet committed
        self._queued: queue.SimpleQueue[_Ready] | None = None
        # Confirmed messages the source refused to dispose of for now (a 5xx): they stay
        # journalled as acted on, and the next run disposes of them without a tracker call.
        self.left = 0

    def queue_for_owner(self) -> None:
        """From now on, dispositions wait for :meth:`drain` on the thread owning the source."""
        self._queued = queue.SimpleQueue()

    def forward_copy(
        self, message: Message, raw: bytes, policy: DispositionPolicy, why: str
    ) -> bool:
        """Send the copy a ``{forward: …}`` policy asks for; True when one was sent.

        Done before the message's state says it was disposed of: a forward that fails
        leaves the message to be tried again, and one that a crash cuts short is sent
        again, never lost.
        """
        if not isinstance(policy, ForwardTo):
            return False
        self.forward(message, raw, policy.forward, why)
        return True

    def dispose(self, row: MessageRow, policy: DispositionPolicy, *, acted: bool = False) -> None:
        """Move, flag, delete or leave the message as ``policy`` says (forwarding aside).

        ``acted``: the tracker confirmed every write of the message; its ``acted`` state is
        journalled with its batch, in one write for all, before the fsync that precedes the
        disposal (a run killed before that decides again, and finds every write done).
        """
        disposition = disposition_for(policy)
        if not self.source.supports(disposition):
            logger.warning(
                "%s cannot %s; the message is left in place", self.mailbox, describe(disposition)
            )
            disposition = Leave()
        if self._queued is not None:
            self._queued.put((row, disposition, acted))
        else:
            self._ready.append((row, disposition, acted))

    def dispose_again(self, row: MessageRow) -> None:
        """A message handled before (a rerun after a crash, a new UIDVALIDITY): dispose only.

        A ``{forward: …}`` policy was carried out the first time: the mail is left.
        """
        policies = self.policies
        policy: DispositionPolicy = {
            MessageState.UNPROCESSED: policies.on_unprocessed,
            MessageState.QUARANTINED: policies.on_failure,
        }.get(row.state, policies.on_success)
        self.dispose(row, policy)

    def dispose_oversize(self, envelope: Envelope) -> None:
        """Never downloaded, so only its size is known: it can only be left or moved."""
        policy = self.policies.on_unprocessed
        disposition = disposition_for(policy) if isinstance(policy, MoveTo) else Leave()
        if self.source.supports(disposition):
            self.source.dispose(envelope.id, disposition)

    def drain(self) -> None:
        """Take what workers queued; apply a batch once one is full (on the owning thread)."""
        while self._queued is not None:
            try:
                self._ready.append(self._queued.get_nowait())
            except queue.Empty:
                break
        if len(self._ready) >= DISPOSE_BATCH:
            self._apply()

    def flush(self, *, quietly: bool = False) -> None:
        """Apply every disposition waiting, however few (a run that stops early).

        ``quietly``: an error is already on its way up (a dropped connection, say); a
        disposition that fails now is logged rather than raised over it. The message stays
        journalled as acted on, and the next run disposes of it.
        """
        self._quietly(quietly, self._flush)

    def commit(self, checkpoint: CheckpointHook, *, quietly: bool = False) -> None:
        """Apply what is ready, make it final at the source, then journal it in one write.

        ``quietly``: the run is stopping over another error (a broken configuration, the
        tracker unreachable: the mail source still works); a failure here is logged, not
        raised over it, and the next run disposes of what is left.
        """
        self._quietly(quietly, lambda: self._commit(checkpoint, stopping=quietly))

    def _quietly(self, quietly: bool, step: Callable[[], None]) -> None:
        """Run ``step``; with ``quietly``, a failure is logged and left to the next run."""
        try:
            step()
        except TrackerMailError as exc:
            if not quietly:
                raise
            logger.warning("%s: dispositions left for the next run: %s", self.mailbox, exc)

    def _flush(self) -> None:
        self.drain()
        self._apply()

    def _commit(self, checkpoint: CheckpointHook, *, stopping: bool = False) -> None:
        self._flush()
        if stopping and not self._given:
            # Nothing to make final: no need to talk to the source, which may be the very
            # connection that just broke (its failure would be said a second time).
            return
        checkpoint(Checkpoint.BEFORE_COMMIT)
        self.source.commit()
        self.states.all_disposed(
            [
                (row, describe(disposition), isinstance(disposition, (Delete, Move)))
                for row, disposition in self._given
            ]
        )
        self._given.clear()

    def settle_vanished(self, identity: str, present: set[str]) -> None:
        """Journal the disposals an interrupted run made but could not record.

        An IMAP MOVE takes effect at once; a run killed before it journalled the move leaves
        a message that is in ``Processed`` yet "not disposed" in the journal. It is no longer
        in the folder, so it is never fetched again: settle it here.
        """
        for row in self.states.journal.undisposed(self.mailbox, identity):
            # Only messages whose disposal was under way; one requeued by `retry` or still
            # being worked on is not settled just because it is not in this folder now.
            if row.source_id not in present and row.state in _DISPOSING:
                self.states.disposed(row, "left the folder", removed=True)

    def _apply(self) -> None:
        """Fsync the confirmations, then give the source each disposition's messages at once."""
        if not self._ready:
            return
        ready, self._ready = self._ready, []
        self.states.all_acted([row for row, _, acted in ready if acted])
        self.states.journal.make_durable()
        self.checkpoint(Checkpoint.BEFORE_DISPOSE)
        alike: dict[Disposition, list[tuple[MessageRow, Disposition]]] = {}
        for row, disposition, _ in ready:
            alike.setdefault(disposition, []).append((row, disposition))
        for disposition, rows in alike.items():
            try:
                with self.source_lock:
                    self.source.dispose_many([row.source_id for row, _ in rows], disposition)
            except Unreachable:
                raise  # the connection is gone: the run cannot go on
            except RetryLater as exc:
                logger.warning(
                    "%s: %d confirmed message(s) stay in the mailbox for the next run: %s",
                    self.mailbox, len(rows), exc,
                )  # fmt: skip
                self.left += len(rows)
                continue
            self._given += rows
        self.checkpoint(Checkpoint.AFTER_DISPOSE)
