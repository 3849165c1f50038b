"""Fetch ahead on a thread of its own, so that downloading never waits for the tracker.

The mail source downloads in batches (one IMAP ``UID FETCH`` per batch); without this, the
next batch is asked for only once every message of the current one went through the
journal, the rules and the tracker. Here a thread pulls messages from ``source.fetch`` into
a bounded queue while the run's thread works on the ones before, in the same order.

The source is not thread-safe: each step of the fetch (one ``next`` on it, which may send a
command) holds ``source_lock``, and so does everything else that talks to the source while
the fetch runs (the disposer's batches). An error met while fetching reaches the run's
thread after the messages fetched before it, where the plain loop would have raised it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tracker_mail_plugin.sources.base import BATCH_MESSAGES, Envelope, Fetched, MailSource

# How many fetched messages may wait: one batch, on top of the one being worked on.
AHEAD = BATCH_MESSAGES
_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_END = object()


class Prefetch:
    """``source.fetch(wanted)`` run on a thread; iterate it once, then :meth:`close` it.

    Args:
        source: the open mail source.
        wanted: what to fetch, in order.
        source_lock: held around every step that talks to the source.
        ahead: how many messages may be fetched before the run's thread takes them.
    """

    def __init__(
        self,
        source: MailSource,
        wanted: Sequence[Envelope],
        source_lock: threading.Lock,
        ahead: int = AHEAD,
    ):
        self._source = source
        self._wanted = wanted
        self._lock = source_lock
        self._queue: queue.Queue[object] = queue.Queue(maxsize=ahead)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._fetch, name="tracker-mail-fetch", daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[Fetched]:
        """The fetched messages in order; raises what fetching raised, where it happened."""
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            assert isinstance(item, Fetched)  # noqa: S101 - only these are queued
            yield item

    def close(self) -> None:
        """Stop fetching (what is not taken stays in the mailbox) and wait for the thread."""
        self._stop.set()
        self._thread.join()

    def _fetch(self) -> None:
        try:
            messages = iter(self._source.fetch(self._wanted))
            while not self._stop.is_set():
                with self._lock:
                    item = next(messages, _END)
                if not self._put(item) or item is _END:
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the run's thread, raised there
            self._put(_Failed(exc))

    def _put(self, item: object) -> bool:
        """Queue ``item`` unless told to stop first; False: stopped."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False
