"""A time budget for the steps that chew on mail text: the last line against a slow message.

Everything that parses or matches attacker-controlled text is written to be linear or
bounded; this budget catches whatever still is not. It interrupts the step with
:class:`OverBudget` (a ``BaseException``, so that the parser's own last-resort ``except
Exception`` cannot turn it into a half-read message), and the run counts a failed attempt
and goes on with the next message.

It is a POSIX interval timer, so it works on the process's main thread, where every message
is parsed; elsewhere (rules decided on a worker thread with ``workers`` above 1) it does
nothing, and the linear matching alone bounds the step. Python checks for the timer's
signal between bytecodes and inside the ``re`` engine, but not inside one long call into a
C library (an HTML parser working through a pathological document never returns to Python
in between). For the step that reads a message, whose arrival the journal counts before it
starts, :func:`time_budget` with ``hard=True`` also has a watchdog thread end the whole
process when the step is still running well past its budget (see :data:`HARD_STOP_GRACE`):
the next run then finds the attempt counted, as after any crash, and after ``max_attempts``
quarantines the message unread. A run is never stuck on one message.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from tracker_mail_plugin.errors import ExitCode

# How long past its budget a step may stay in one C call before the process is ended: long
# enough that the timer's own interruption always comes first for a step running Python.
HARD_STOP_GRACE = 10.0
# How often the watchdog looks (the hard stop comes at most this much late).
_TICK_SECONDS = 0.5


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
def time_budget(seconds: float | None, what: str, *, hard: bool = False) -> Iterator[None]:
    """Run the block within ``seconds``, or raise :class:`OverBudget` saying ``what``.

    ``hard``: a block stuck in a C call past ``seconds`` + :data:`HARD_STOP_GRACE` ends the
    process (see the module docstring); only for a step whose attempt is journalled first.
    """
    if seconds is None or not _usable():
        yield
        return
    global _installed
    if not _installed:
        signal.signal(signal.SIGALRM, _on_alarm)
        _installed = True
    _state.armed = f"{what} took more than {seconds:g}s"
    if hard:
        _WATCHDOG.arm(seconds + HARD_STOP_GRACE, what)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _state.armed = None
        if hard:
            _WATCHDOG.disarm()


def set_hard_stop_exit(code: ExitCode) -> None:
    """What the process exits with when the watchdog ends it (``receive``: a temporary failure)."""
    _WATCHDOG.exit_code = code


class _Watchdog:
    """One daemon thread, started on first use, that ends the process at an armed deadline.

    Arming and disarming only set two attributes (no system call per message); the thread
    looks twice a second. It needs the interpreter lock to act, which the C libraries that
    can be slow on mail (libxml2 parsing HTML, RE2, hashing) release while they work.
    """

    def __init__(self) -> None:
        self.exit_code = ExitCode.SOME_FAILED
        self._deadline: float | None = None
        self._what = ""
        self._started = False
        self._lock = threading.Lock()

    def arm(self, seconds: float, what: str) -> None:
        self._what = what
        self._deadline = time.monotonic() + seconds
        if not self._started:
            with self._lock:
                if not self._started:
                    threading.Thread(
                        target=self._watch, name="tracker-mail-watchdog", daemon=True
                    ).start()
                    self._started = True

    def disarm(self) -> None:
        self._deadline = None

    def _watch(self) -> None:
        while True:
            time.sleep(_TICK_SECONDS)
            deadline = self._deadline
            if deadline is not None and time.monotonic() > deadline:
                self._stop_process()

    def _stop_process(self) -> None:
        line = (
            f"tracker-mail: {self._what} did not finish {HARD_STOP_GRACE:g}s past its time"
            " budget, inside a call that cannot be interrupted; stopping the process. The"
            " next run counts this attempt and quarantines the message after max_attempts.\n"
        )
        # No logging: its lock may be held by the stuck thread. One write, then exit without
        # running cleanups that could wait on that thread.
        os.write(2, line.encode("utf-8", "replace"))
        os._exit(self.exit_code)


_WATCHDOG = _Watchdog()
