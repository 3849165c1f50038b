"""Handing a mailbox's messages out: one by one, or to workers in an order that keeps sense.

Both schedulers fetch ahead on a thread of their own (:mod:`.prefetch`: the next batch is
downloaded while this one is worked on), have the run read (journal and parse) each message
once, on this thread, and give it with its bytes to the run's handler. With workers, only
this thread and the fetching one talk to the mail source, one at a time: this one orders
(see :mod:`tracker_mail_plugin.pipeline.ordering`), hands out, and applies the
dispositions the workers queue. A configuration or connection error in any worker stops
the hand-outs; messages not yet started are left untouched for the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Protocol

from tracker_mail_plugin.mail import Message
from tracker_mail_plugin.pipeline.disposal import Disposer
from tracker_mail_plugin.pipeline.ordering import Ordering
from tracker_mail_plugin.pipeline.prefetch import Prefetch
from tracker_mail_plugin.pipeline.summary import Progress, Summary
from tracker_mail_plugin.sources.base import Envelope, Fetched, MailSource

logger = logging.getLogger("tracker_mail")

# With workers, at most this many messages per worker are fetched ahead of the slowest one.
_AHEAD_PER_WORKER = 4


class Handler(Protocol):
    """What a scheduler hands each message to (a mailbox run)."""

    def read(self, fetched: Fetched) -> Message | None:
        """Journal the arrival and parse it; None when it could not be read (handled)."""

    def handle(self, fetched: Fetched, message: Message) -> None:
        """Process one message start to finish; its failure never stops the ones behind it."""

    def paused(self) -> bool:
        """True when the tracker asked to wait: nothing more is fetched in this run."""


class OneByOne:
    """Each message finished before the next is fetched; dispositions applied in batches."""

    def __init__(self, source: MailSource, handler: Handler, summary: Summary, disposer: Disposer):
        self.source, self.handler, self.summary = source, handler, summary
        self.disposer = disposer

    def run(self, wanted: Sequence[Envelope], progress: Progress) -> None:
        """Fetch, parse and handle ``wanted`` in order; stop early when paused."""
        ahead = Prefetch(self.source, wanted, self.disposer.source_lock)
        try:
            try:
                for fetched in ahead:
                    self.summary.add("fetched")
                    message = self.handler.read(fetched)
                    if message is not None:
                        self.handler.handle(fetched, message)
                    self.disposer.drain()  # a full batch goes to the source, between messages
                    progress.step()
                    if self.handler.paused():
                        break
            finally:
                ahead.close()
        except Exception:
            # What was finished before the error is disposed of now, as it would have been.
            self.disposer.flush(quietly=True)
            raise


class InParallel:
    """``workers`` messages at a time; see the module docstring.

    Args:
        source: the open mail source (touched by this thread only).
        handler: processes one message, on a worker thread.
        summary: counts fetched messages.
        disposer: queues the workers' dispositions until this thread drains them.
        workers: how many messages at once.
        ordering: which earlier messages each one must wait for.
    """

    def __init__(
        self,
        source: MailSource,
        handler: Handler,
        summary: Summary,
        disposer: Disposer,
        workers: int,
        ordering: Ordering,
    ):
        self.source, self.handler, self.summary = source, handler, summary
        self.disposer, self.workers, self.ordering = disposer, workers, ordering
        self._stopping = False
        disposer.queue_for_owner()

    def run(self, wanted: Sequence[Envelope], progress: Progress) -> None:
        """Hand ``wanted`` out; raise the first configuration or connection error."""
        running: set[Future[None]] = set()
        ahead = Prefetch(self.source, wanted, self.disposer.source_lock)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="tracker-mail") as pool:
            try:
                for fetched in ahead:
                    self.summary.add("fetched")
                    message = self.handler.read(fetched)
                    if message is None:
                        progress.step()
                        continue
                    after = self.ordering.waits_for(message)
                    future = pool.submit(self._handle_after, after, fetched, message)
                    self.ordering.add(message, future)
                    running.add(future)
                    running = self._settle(running, self.workers * _AHEAD_PER_WORKER, progress)
                    if self._stopping or self.handler.paused():
                        break
                self._settle(running, 0, progress)
            except BaseException:
                ahead.close()
                self._wind_down(running, quietly=True)
                raise
            ahead.close()
            self._wind_down(running, quietly=False)

    def _handle_after(
        self, earlier: list[Future[None]], fetched: Fetched, message: Message
    ) -> None:
        wait(earlier)
        if not self._stopping:
            self.handler.handle(fetched, message)

    def _settle(
        self, running: set[Future[None]], at_most: int, progress: Progress
    ) -> set[Future[None]]:
        """Apply queued dispositions; wait until at most ``at_most`` messages are running.

        Raises the first configuration or connection error a worker met, after telling the
        others to start nothing new.
        """
        while True:
            self.disposer.drain()
            done = {f for f in running if f.done()}
            for future in done:
                progress.step()
                error = future.exception()
                if error is not None:
                    self._stopping = True
                    raise error
            running = running - done
            if len(running) <= at_most:
                return running
            wait(running, timeout=0.5, return_when=FIRST_COMPLETED)

    def _wind_down(self, running: set[Future[None]], quietly: bool) -> None:
        """Start nothing new, let what runs finish, apply the dispositions still waiting.

        ``quietly``: an error is already on its way up (see :meth:`Disposer.flush`).
        """
        self._stopping = True  # whatever has not started yet stays in the mailbox
        wait(running)
        self.disposer.flush(quietly=quietly)
