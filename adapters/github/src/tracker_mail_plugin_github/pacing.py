"""Time, spacing between requests, GitHub's write budgets, and what rate limits said.

GitHub asks integrations to serialise requests, leave at least a second between writes,
create content no faster than 80 requests a minute and 500 an hour (its secondary limits),
wait ever longer when a secondary limit repeats, and stop sending while rate limited
("continuing to make requests while you are rate limited may result in the banning of your
integration"). The core treats :class:`~tracker_mail_plugin.RetryLater` with a
``retry_after`` as "pause the run, the rest waits for the next one", so the adapter remembers
a limit and refuses further requests without sending them. It sleeps only for short waits
(the spacing between writes, a minute's budget); a longer one (the hour's budget, a rate
limit) becomes RetryLater. Every object here may be shared by several threads. The clock is
injected so that tests neither sleep nor race.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Protocol

import requests

from tracker_mail_plugin.http.retry import RateLimited


class Clock(Protocol):
    """What the adapter needs of time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (spacing between requests)."""

    def time(self) -> float:
        """The wall clock, epoch seconds (rate-limit resets, token expiry, JWTs)."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def time(self) -> float:
        """``time.time()``."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """``time.sleep(seconds)``."""
        time.sleep(seconds)


class Pacer:
    """Keeps requests of one kind (writes, searches) a minimum interval apart.

    Args:
        clock: the clock to read and sleep on.
        intervals: kind of request to the seconds that must pass between two of them,
            measured from the end of one to the start of the next.
    """

    def __init__(self, clock: Clock, intervals: Mapping[str, float]):
        self._clock = clock
        self._intervals = dict(intervals)
        self._last: dict[str, float] = {}
        # One request of a paced kind at a time, from wait() to done(): two threads must
        # not both find the interval over and send side by side.
        self._turns = {kind: threading.Lock() for kind in self._intervals}

    def turn(self, kind: str) -> threading.Lock | None:
        """The lock a request of ``kind`` holds from :meth:`wait` to :meth:`done`, if paced."""
        return self._turns.get(kind)

    def wait(self, kind: str) -> None:
        """Sleep until a request of ``kind`` may start (call it holding :meth:`turn`)."""
        last = self._last.get(kind)
        interval = self._intervals.get(kind, 0.0)
        if last is None or interval <= 0:
            return
        remaining = last + interval - self._clock.monotonic()
        if remaining > 0:
            self._clock.sleep(remaining)

    def done(self, kind: str) -> None:
        """Note that a request of ``kind`` has just finished."""
        if kind in self._intervals:
            self._last[kind] = self._clock.monotonic()


SECONDARY_WAIT = 60.0  # GitHub: "wait for at least one minute before retrying"
LONGEST_BACKOFF = 3600.0  # repeated secondary limits: never wait more than an hour

# GitHub's secondary limits on content-creating requests: (window in seconds, how many).
CONTENT_BUDGETS: tuple[tuple[float, int], ...] = ((60.0, 80), (3600.0, 500))
LONGEST_SLEEP = 60.0  # a longer wait for the budget pauses the run instead of the thread


class WriteBudget:
    """Counts content-creating requests in sliding windows, so none goes over GitHub's budget.

    Args:
        clock: the wall clock the windows are measured on.
        budgets: ``(window seconds, most requests in it)`` pairs.
    """

    def __init__(self, clock: Clock, budgets: Sequence[tuple[float, int]] = CONTENT_BUDGETS):
        self._clock = clock
        self._budgets = tuple(budgets)
        longest = max(count for _, count in self._budgets)
        self._sent: deque[float] = deque(maxlen=longest)
        self._lock = threading.Lock()

    def take(self) -> None:
        """Claim room for one write: sleep a short wait, raise RetryLater for a long one."""
        with self._lock:
            wait = self._wait()
            if wait > LONGEST_SLEEP:
                window, count = self._full()
                raise RateLimited(
                    f"GitHub's budget of {count} content-creating requests in "
                    f"{_span(window)} is used up; the next write can go in {wait:.0f}s",
                    retry_after=wait,
                )
            if wait > 0:
                self._clock.sleep(wait)
            self._sent.append(self._clock.time())

    def _wait(self) -> float:
        """Seconds until every window has room for one more request."""
        now = self._clock.time()
        waits = [0.0]
        for window, count in self._budgets:
            if len(self._sent) >= count:
                waits.append(self._sent[-count] + window - now)
        return max(waits)

    def _full(self) -> tuple[float, int]:
        now = self._clock.time()
        return max(
            (b for b in self._budgets if len(self._sent) >= b[1]),
            key=lambda b: self._sent[-b[1]] + b[0] - now,
        )


def _span(seconds: float) -> str:
    return "an hour" if seconds == 3600 else "a minute" if seconds == 60 else f"{seconds:g}s"


class RateGate:
    """Remembers when GitHub will take requests again, per rate-limit resource.

    Args:
        clock: the wall clock the reset times are compared with.
    """

    def __init__(self, clock: Clock):
        self._clock = clock
        self._until: dict[str, float] = {}
        self._strikes = 0  # secondary limits in a row, for the exponential back-off
        self._struck = ""  # the kind of request the last one refused
        self._lock = threading.Lock()

    def check(self, resource: str) -> None:
        """Raise RetryLater, without sending anything, while ``resource`` is limited."""
        with self._lock:
            until = max(self._until.get(resource, 0.0), self._until.get("*", 0.0))
        wait = until - self._clock.time()
        if wait > 0:
            raise RateLimited(
                f"GitHub's {resource} rate limit is used up; retry in {wait:.0f}s",
                retry_after=wait,
            )

    def observe(self, response: requests.Response, resource: str) -> None:
        """Read the budget headers: an exhausted budget closes ``resource`` until its reset."""
        named = response.headers.get("x-ratelimit-resource") or resource
        if response.headers.get("x-ratelimit-remaining") != "0":
            return
        try:
            reset = float(response.headers.get("x-ratelimit-reset", ""))
        except ValueError:
            return
        with self._lock:
            self._until[named] = max(self._until.get(named, 0.0), reset)

    def secondary(self, asked: float, kind: str) -> float:
        """After a secondary limit: send nothing at all for a while; returns how long.

        The first time, what GitHub asked (``retry-after``, else a minute); each time it
        repeats without a write getting through in between, twice the last wait (GitHub:
        "wait for an exponentially increasing amount of time"), up to :data:`LONGEST_BACKOFF`.
        """
        with self._lock:
            backoff = min(SECONDARY_WAIT * 2**self._strikes, LONGEST_BACKOFF)
            wait = asked if self._strikes == 0 else max(asked, backoff)
            self._strikes += 1
            self._struck = kind
            until = self._clock.time() + wait
            self._until["*"] = max(self._until.get("*", 0.0), until)
        return wait

    def cleared(self, kind: str) -> None:
        """A request of ``kind`` went through: the back-off starts afresh if it was refused.

        A read getting through says nothing about writes, which content limits are about.
        """
        with self._lock:
            if kind == self._struck:
                self._strikes = 0
