"""A time budget for the steps that chew on mail text: the last line against a slow message.

Everything that parses or matches attacker-controlled text is written to be linear or
bounded; this budget catches whatever still is not. It interrupts the step with
:class:`OverBudget` (a ``BaseException``, so that the parser's own last-resort ``except
Exception`` cannot turn it into a half-read message), and the run counts a failed attempt
and goes on with the next message.

It is a POSIX interval timer, so it works on the process's main thread, where every message
is parsed; elsewhere (rules decided on a worker thread with ``workers`` above 1) it does
nothing, and the linear matching alone bounds the step. Python checks for the timer's
signal between bytecodes and inside the ``re`` engine; a single long C call elsewhere ends
before the step is interrupted.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class OverBudget(BaseException):
    """A step took longer than ``max_processing_seconds``.

    Args:
        message: what took too long, and the limit.
    """


_state = threading.local()
_installed = False


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    what: str | None = getattr(_state, "armed", None)
    # A timer that fires just as its step ends is ignored rather than raised elsewhere.
    if what is not None:
        _state.armed = None
        raise OverBudget(what)


def _usable() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def time_budget(seconds: float | None, what: str) -> Iterator[None]:
    """Run the block within ``seconds``, or raise :class:`OverBudget` saying ``what``."""
    if seconds is None or not _usable():
        yield
        return
    global _installed
    if not _installed:
        signal.signal(signal.SIGALRM, _on_alarm)
        _installed = True
    _state.armed = f"{what} took more than {seconds:g}s"
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _state.armed = None
