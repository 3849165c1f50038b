"""What one mailbox's run did, counted as it goes; one line of it goes to cron's mail."""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tracker_mail_plugin.errors import ExitCode

if TYPE_CHECKING:
    from tracker_mail_plugin.pipeline.observer import RunObserver

_COUNTS = (
    "fetched", "created", "commented", "attached", "forwarded",
    "unprocessed", "dropped", "failed", "quarantined",
)  # fmt: skip


# A dry run's counts, as what would have been done.
_WOULD = (
    ("would create", "created"), ("would comment", "commented"), ("would attach", "attached"),
    ("would forward", "forwarded"), ("would leave unprocessed", "unprocessed"),
    ("would drop", "dropped"), ("would fail", "failed"), ("would quarantine", "quarantined"),
)  # fmt: skip


class Planned:
    """One line of a dry run: what would become of a message, and the same as fields.

    Args:
        text: the line people read.
        fields: its parts for JSON logs (``subject``, ``from``, ``outcome``, ``what``...).
    """

    def __init__(self, text: str, **fields: Any):
        self.text = text
        self.fields = fields

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Planned({self.text!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Planned):
            return (self.text, self.fields) == (other.text, other.fields)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable fields: not a dictionary key


@dataclass
class Summary:
    """What one mailbox's run did; one line of it goes to cron's mail."""

    mailbox: str
    fetched: int = 0
    created: int = 0
    commented: int = 0
    attached: int = 0
    forwarded: int = 0
    unprocessed: int = 0
    dropped: int = 0
    failed: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    exit_code: ExitCode = ExitCode.OK
    error: str | None = None
    busy: bool = False
    # The run stopped because the journal cannot be used now (locked, full, read-only):
    # the command does no more journal work after it.
    journal_unusable: bool = False
    # The tracker asked us to wait this many seconds (Retry-After); the rest of the mailbox
    # was left for a run after that.
    waiting: float | None = None
    planned: list[Planned] = field(default_factory=list)
    # Told every count as it is made (metrics); None: nobody listens.
    observer: RunObserver | None = field(default=None, repr=False, compare=False)
    dry_run: bool = False  # the counts are what would have been done
    _tally: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, counter: str, amount: int = 1) -> None:
        """Count ``amount`` more under ``counter``; workers count at the same time."""
        with self._tally:
            setattr(self, counter, getattr(self, counter) + amount)
        if self.observer is not None and amount:
            self.observer.counted(self.mailbox, counter, amount)

    @property
    def eventful(self) -> bool:
        """Whether anything happened that cron should mail: a message, a stop, an overlap.

        An overlapping run is said: runs that keep overlapping mean one is stuck or the
        mailbox needs longer than cron's interval.
        """
        counts = (getattr(self, name) for name in _COUNTS)
        stopped = self.error is not None or self.waiting is not None
        return any(counts) or stopped or self.busy

    def line(self) -> str:
        """``support: fetched 4, created 2, … in 1.3s``, or why the run stopped."""
        if self.busy:
            return f"{self.mailbox}: another sync of this mailbox is running; nothing done"
        if self.dry_run:
            counts = ", ".join(
                [f"fetched {self.fetched}"]
                + [f"{verb} {getattr(self, name)}" for verb, name in _WOULD]
            )
        else:
            counts = ", ".join(f"{name} {getattr(self, name)}" for name in _COUNTS)
        tail = ""
        if self.waiting is not None:
            tail += f"; the tracker asked to wait {self.waiting:.0f}s, the rest is left for then"
        wrote = " (dry run: nothing written)" if self.dry_run else ""
        # Why it stopped comes first: after the counts (mostly zeros) it is easily missed.
        head = self.mailbox
        if self.error:
            # An outage needs nobody: say so, or cron's mail reads like a call to act.
            then = "; the next run tries again" if self.exit_code == ExitCode.UNREACHABLE else ""
            head = f"{self.mailbox}: stopped: {self.error}{then}; so far"
        return f"{head}: {counts} in {self.seconds:.1f}s{wrote}{tail}"


class Progress:
    """``support: 120/4000`` on a terminal, for a person working through a large backlog."""

    MINIMUM = 50

    def __init__(self, mailbox: str, total: int):
        self.mailbox, self.total, self.count = mailbox, total, 0
        self.shown = total >= self.MINIMUM and sys.stderr.isatty()

    def step(self) -> None:
        """One more message done."""
        self.count += 1
        if self.shown and (self.count % 10 == 0 or self.count == self.total):
            sys.stderr.write(f"\r{self.mailbox}: {self.count}/{self.total}")
            sys.stderr.flush()

    def done(self) -> None:
        """End the progress line."""
        if self.shown:
            sys.stderr.write("\n")
