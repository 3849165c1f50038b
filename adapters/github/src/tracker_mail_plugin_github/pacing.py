"""Time, spacing between requests, and what the rate-limit headers said.

GitHub asks integrations to serialise requests, leave at least a second between writes, and
stop sending while rate limited ("continuing to make requests while you are rate limited may
result in the banning of your integration"). The core runs one message after another and
treats :class:`~tracker_mail_plugin.RetryLater` as "this message later, the next one now",
so the adapter itself must remember a rate limit and refuse the next messages' requests
without sending them. It never sleeps for a rate limit (that can be an hour); it only sleeps
the second between writes. The clock is injected so that tests neither sleep nor race.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Protocol

import requests

from tracker_mail_plugin import RetryLater


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

    def wait(self, kind: str) -> None:
        """Sleep until a request of ``kind`` may start."""
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


class RateGate:
    """Remembers when GitHub will take requests again, per rate-limit resource.

    Args:
        clock: the wall clock the reset times are compared with.
    """

    def __init__(self, clock: Clock):
        self._clock = clock
        self._until: dict[str, float] = {}

    def check(self, resource: str) -> None:
        """Raise RetryLater, without sending anything, while ``resource`` is limited."""
        until = max(self._until.get(resource, 0.0), self._until.get("*", 0.0))
        wait = until - self._clock.time()
        if wait > 0:
            raise RetryLater(
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
        self._until[named] = max(self._until.get(named, 0.0), reset)

    def close(self, seconds: float) -> None:
        """After a rate-limit answer: send nothing at all for ``seconds``."""
        self._until["*"] = max(self._until.get("*", 0.0), self._clock.time() + seconds)
