"""Reads tried again, a few times and with growing waits, after a passing failure.

The HTTP boundary never retries on its own, because a repeated write may be a duplicate: the
core asks ``find_by_key`` before it repeats one. A read is different: asking again changes
nothing on the tracker. Without a retry, one 502 from a proxy in front of the tracker leaves
the message for the next run; with it, the read is asked again after 1 s, then 3 s, as
Atlassian's and GitHub's guides ask of clients (back off, then retry).

What is retried is exactly a :class:`~tracker_mail_plugin.RetryLater` (a 5xx, a 408, a read
timeout, a connection dropped after the request went out, an answer that is not JSON). Not
retried here: :class:`~tracker_mail_plugin.Unreachable` (nothing answers at all; the run
stops), rate limits (adapters raise them as subclasses, :class:`RateLimited`, and the run
pauses for the wait the tracker asked), and a ``Retry-After`` longer than ``longest``.

A read that failed every try starts a rest: for ``rest`` seconds reads are not retried, so
an outage fails each message at once instead of costing every message the waits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from tracker_mail_plugin.errors import RetryLater

T = TypeVar("T")

WAITS = (1.0, 3.0)  # seconds before the second and the third try
LONGEST = 10.0  # a Retry-After above this pauses the run instead of this thread
REST = 60.0  # after a read failed every try: no retries for this long


class RateLimited(RetryLater):
    """The tracker refused the request for its rate limit: wait what it said, do not retry."""


class ReadRetry:
    """Runs a read, and runs it again after a passing failure (see the module doc).

    Safe to share between threads: each read keeps its own count of tries.

    Args:
        sleep: waits that many seconds (tests pass a fake clock's).
        monotonic: a clock that never goes back, for the rest after an outage.
        waits: seconds before each further try; its length is the number of retries.
        longest: a ``Retry-After`` above this is not slept: the error goes to the core.
        rest: seconds without retries after a read failed every try.
    """

    def __init__(
        self,
        sleep: Callable[[float], None],
        monotonic: Callable[[], float],
        *,
        waits: Sequence[float] = WAITS,
        longest: float = LONGEST,
        rest: float = REST,
    ):
        self._sleep = sleep
        self._monotonic = monotonic
        self._waits = tuple(waits)
        self._longest = longest
        self._rest = rest
        self._resting_until = float("-inf")
        self._lock = threading.Lock()

    def run(self, read: Callable[[], T]) -> T:
        """``read()``, tried again after each passing failure while waits are left.

        Raises:
            TrackerMailError: what the last try raised.
        """
        for wait in self._waits:
            try:
                return read()
            except RetryLater as exc:
                delay = exc.retry_after if exc.retry_after is not None else wait
                if type(exc) is not RetryLater or delay > self._longest or self._resting():
                    raise
            self._sleep(delay)
        try:
            return read()
        except RetryLater as exc:
            if type(exc) is RetryLater:
                with self._lock:
                    self._resting_until = self._monotonic() + self._rest
            raise

    def _resting(self) -> bool:
        with self._lock:
            return self._monotonic() < self._resting_until
