"""SIGTERM and SIGINT during ``sync``: finish the message in hand, then stop.

A timer's or a container's deadline ends a run with SIGTERM, a person with Ctrl-C. Killed
outright, the run would lose nothing (the journal makes every step exactly-once), but it
would say nothing either, and Ctrl-C would print a traceback. Instead the run is asked to
stop between two messages, as ``watch`` is: the message in hand is finished, disposed of
and journalled, the summary is printed, and one line says that the next run does the rest.
A second signal ends the process at once.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType, TracebackType
from typing import Self

logger = logging.getLogger("tracker_mail")

_STOPPING = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    """Catch SIGTERM and SIGINT while in the ``with`` block; :meth:`asked` says if one came.

    Outside the main thread (where Python cannot install handlers) it catches nothing.
    """

    def __init__(self, command: str):
        self.command = command
        self.signum: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():
            for signum in _STOPPING:
                self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def asked(self) -> bool:
        """Whether a stop signal came: the run stops before its next message."""
        return self.signum is not None

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:  # asked twice: the operator does not want to wait
            raise SystemExit(128 + signum)
        self.signum = signum
        logger.warning(
            "tracker-mail %s: %s: stopping after the message in hand; the next run does the rest",
            self.command,
            signal.Signals(signum).name,
        )
