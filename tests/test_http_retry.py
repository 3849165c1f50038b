"""Reads tried again after passing failures: how often, how long apart, and what is not."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tracker_mail_plugin import PermanentError, RetryLater, Unreachable
from tracker_mail_plugin.http.retry import RateLimited, ReadRetry


@dataclass
class Clock:
    now: float = 0.0
    slept: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


class Tracker:
    """Answers with the next of ``outcomes``: an exception to raise or a value to return."""

    def __init__(self, *outcomes: object):
        self.outcomes = list(outcomes)
        self.asked = 0

    def read(self) -> object:
        self.asked += 1
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_passing_failure_is_tried_again_after_a_second(clock):
    tracker = Tracker(RetryLater("502"), "answer")
    assert ReadRetry(clock.sleep, clock.monotonic).run(tracker.read) == "answer"
    assert (tracker.asked, clock.slept) == (2, [1.0])


def test_three_tries_then_the_last_error(clock):
    tracker = Tracker(RetryLater("503"))
    with pytest.raises(RetryLater, match="503"):
        ReadRetry(clock.sleep, clock.monotonic).run(tracker.read)
    assert (tracker.asked, clock.slept) == (3, [1.0, 3.0])


def test_a_retry_after_is_the_wait_when_short_and_the_runs_when_long(clock):
    short = Tracker(RetryLater("503", retry_after=7), "answer")
    assert ReadRetry(clock.sleep, clock.monotonic).run(short.read) == "answer"
    assert clock.slept == [7]
    long = Tracker(RetryLater("503", retry_after=11))
    with pytest.raises(RetryLater) as caught:
        ReadRetry(clock.sleep, clock.monotonic).run(long.read)
    assert (long.asked, caught.value.retry_after, clock.slept) == (1, 11, [7])


@pytest.mark.parametrize(
    "error",
    [
        RateLimited("429", retry_after=2),  # the run pauses for the tracker's wait
        Unreachable("refused"),  # nothing answers: the run stops
        PermanentError("400"),  # asking again gets the same answer
    ],
)
def test_rate_limits_unreachable_and_refusals_are_not_retried(clock, error):
    tracker = Tracker(error)
    with pytest.raises(type(error)):
        ReadRetry(clock.sleep, clock.monotonic).run(tracker.read)
    assert (tracker.asked, clock.slept) == (1, [])


def test_after_an_outage_no_retries_until_the_rest_is_over(clock):
    retry = ReadRetry(clock.sleep, clock.monotonic)
    down = Tracker(RetryLater("503"))
    for _ in range(2):
        with pytest.raises(RetryLater):
            retry.run(down.read)
    assert (down.asked, clock.slept) == (3 + 1, [1.0, 3.0])
    clock.now += 60
    assert retry.run(Tracker(RetryLater("502"), "back").read) == "back"
    assert clock.slept == [1.0, 3.0, 1.0]
