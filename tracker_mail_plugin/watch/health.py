"""What ``watch`` knows about each mailbox's health, for readiness checks and metrics.

The watch loop writes here as things happen; an HTTP server (``/readyz``) or a metrics
exporter reads :meth:`Health.snapshot` and :meth:`Health.ready` from another thread, hence
the lock. Times are wall-clock seconds (``time.time()``), which is what people and
Prometheus compare against.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from tracker_mail_plugin.pipeline.summary import Summary

Mode = Literal["idle", "poll"]


@dataclass(frozen=True)
class MailboxHealth:
    """One mailbox as last seen by the watch loop.

    Attributes:
        name: the mailbox's name in rules.yaml.
        mode: ``idle`` (pushed by the IMAP server) or ``poll`` (looked at every
            ``poll_interval`` seconds).
        poll_interval: seconds between looks when polling (and the longest acceptable
            gap between successful runs).
        connected: an IMAP connection is open (always False for polled mailboxes between runs).
        idling: the connection is in IDLE, waiting for the server to announce mail.
        last_poll: when the mailbox was last looked at, successfully or not.
        last_success: when a run last finished without a mailbox or tracker error.
        last_error: why the last run failed; None once a run succeeded again.
        tracker_ok: whether the tracker worked at the last try (None: not tried yet).
        last_tracker_success: when a run last finished with the tracker working.
    """

    name: str
    mode: Mode = "poll"
    poll_interval: float = 60.0
    connected: bool = False
    idling: bool = False
    last_poll: float | None = None
    last_success: float | None = None
    last_error: str | None = None
    tracker_ok: bool | None = None
    last_tracker_success: float | None = None

    def ready(self, now: float) -> bool:
        """Idling on a live connection, or polled successfully within twice the interval."""
        return self.not_ready(now) is None

    def not_ready(self, now: float) -> str | None:
        """Why the mailbox is not ready, in a few words; None when it is."""
        if self.last_error is not None:
            return self.last_error
        if self.tracker_ok is False:
            return "the tracker failed at the last try"
        if self.mode == "idle" and self.idling:
            return None
        if self.last_success is None:
            return "not looked at yet"
        late = now - self.last_success - 2 * self.poll_interval
        return f"last looked at {now - self.last_success:.0f}s ago" if late > 0 else None


class Health:
    """Every watched mailbox's :class:`MailboxHealth`; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._boxes: dict[str, MailboxHealth] = {}
        self._listeners: list[Callable[[Summary], None]] = []

    def subscribe(self, listener: Callable[[Summary], None]) -> None:
        """Call ``listener`` with every finished run's summary (counters for metrics).

        It runs on the watch loop's thread, between two runs: it must be quick.
        """
        self._listeners.append(listener)

    def summary(self, summary: Summary) -> None:
        """A run finished (or found the mailbox busy): tell the listeners."""
        for listener in self._listeners:
            listener(summary)

    def watch(self, name: str, mode: Mode, poll_interval: float) -> None:
        """Start (or, after a reload, restart) following ``name``; its history is kept."""
        with self._lock:
            old = self._boxes.get(name, MailboxHealth(name))
            self._boxes[name] = replace(old, mode=mode, poll_interval=poll_interval)

    def forget_others(self, names: set[str]) -> None:
        """Drop mailboxes no longer watched (after a reload removed them)."""
        with self._lock:
            self._boxes = {k: v for k, v in self._boxes.items() if k in names}

    def connection(self, name: str, *, connected: bool, idling: bool = False) -> None:
        """The IMAP connection opened, closed, entered or left IDLE."""
        self._update(name, connected=connected, idling=idling)

    def ran(self, name: str, error: str | None, tracker_ok: bool | None) -> None:
        """A run ended: ``error`` None for success; ``tracker_ok`` None when not reached."""
        now = time.time()
        changes: dict[str, object] = {"last_poll": now, "last_error": error}
        if error is None:
            changes["last_success"] = now
        if tracker_ok is not None:
            changes["tracker_ok"] = tracker_ok
            if tracker_ok:
                changes["last_tracker_success"] = now
        self._update(name, **changes)

    def snapshot(self) -> dict[str, MailboxHealth]:
        """A consistent copy of every mailbox's state."""
        with self._lock:
            return dict(self._boxes)

    def ready(self, now: float | None = None) -> bool:
        """Every watched mailbox is ready (see :meth:`MailboxHealth.ready`)."""
        moment = time.time() if now is None else now
        boxes = self.snapshot()
        return bool(boxes) and all(box.ready(moment) for box in boxes.values())

    def readiness(self) -> tuple[bool, dict[str, str]]:
        """For ``/readyz``: whether every mailbox is ready, and why each other one is not."""
        now = time.time()
        why = {name: reason for name, box in self.snapshot().items()
               if (reason := box.not_ready(now)) is not None}  # fmt: skip
        return bool(self.snapshot()) and not why, why

    def _update(self, name: str, **changes: object) -> None:
        with self._lock:
            old = self._boxes.get(name, MailboxHealth(name))
            self._boxes[name] = replace(old, **changes)  # type: ignore[arg-type]
