"""The watch loop: one thread waits on every idling connection, a signal pipe and a timer.

Everything runs on the main thread, so the SIGALRM time budget that bounds parsing keeps
working, and a signal only sets a flag (written to a wake-up pipe so that ``select``
returns): a stop signal lets the message in hand finish, be disposed of and journalled,
and the loop then leaves; a second one ends the process at once. SIGHUP reloads
``rules.yaml`` between runs; a broken file is reported and the old one keeps running.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import time
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING

from tracker_mail_plugin.assemble import journal_path
from tracker_mail_plugin.commands.sync import after_runs
from tracker_mail_plugin.config.loader import ConfigFileError, LoadedConfig, load_config
from tracker_mail_plugin.errors import ExitCode, TrackerMailError
from tracker_mail_plugin.watch.health import Health
from tracker_mail_plugin.watch.mailbox import MailboxWatcher
from tracker_mail_plugin.watch.notify import Notifier

if TYPE_CHECKING:
    from tracker_mail_plugin.metrics import Metrics

logger = logging.getLogger("tracker_mail")

# The longest the loop sleeps without looking at its timers (a watchdog ping may be due).
MAX_SLEEP = 60.0
# How often the journal's backlog is read for the metrics (and old messages forgotten).
JOURNAL_EVERY = 60.0


def watchable(
    loaded: LoadedConfig, requested: Sequence[str] | None
) -> tuple[list[str], str | None]:
    """The mailboxes to watch, or what is wrong with the request.

    Without names, every mailbox except ``pipe`` ones (mail is handed to ``receive``).
    """
    mailboxes = loaded.config.mailboxes
    if not requested:
        return [n for n, m in mailboxes.items() if m.protocol != "pipe"], None
    for name in requested:
        if name not in mailboxes:
            return [], f"no mailbox {name!r}; the file has: {', '.join(mailboxes)}"
        if mailboxes[name].protocol == "pipe":
            return [], f"mailbox {name!r} is a pipe: mail reaches it through `tracker-mail receive`"
    return list(dict.fromkeys(requested)), None


class Watch:
    """Runs until a stop signal; see the module docstring.

    Args:
        loaded: the configuration, already loaded and checked.
        requested: the ``--mailbox`` names (None: all).
        health: where each mailbox's state goes (for readiness and metrics).
        notifier: systemd's notify socket (does nothing outside systemd).
        metrics: counts what the runs do (``--metrics-address``); None measures nothing.
    """

    def __init__(
        self,
        loaded: LoadedConfig,
        requested: Sequence[str] | None,
        health: Health,
        notifier: Notifier | None = None,
        metrics: Metrics | None = None,
    ):
        self.loaded = loaded
        self.requested = requested
        self.health = health
        self.notifier = notifier or Notifier()
        self.metrics = metrics
        self.watchers: dict[str, MailboxWatcher] = {}
        self.stopping = False
        self._reload_asked = False
        self._last_journal = 0.0
        self._journal_trouble: str | None = None

    def run(self) -> ExitCode:
        """Watch until SIGTERM or SIGINT; 0 after a clean stop."""
        names, problem = watchable(self.loaded, self.requested)
        if problem or not names:
            logger.error("tracker-mail watch: %s", problem or "no mailbox to watch")
            return ExitCode.CONFIGURATION
        self._count(names)
        self.watchers = {name: self._watcher(name, self.loaded) for name in names}
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        previous = self._install_signals(wake_w)
        try:
            self._loop(wake_r)
        finally:
            self.notifier.stopping()
            for watcher in self.watchers.values():
                watcher.close()
            self._restore_signals(previous)
            os.close(wake_r)
            os.close(wake_w)
        logger.info("tracker-mail watch: stopped")
        return ExitCode.OK

    def _loop(self, wake_r: int) -> None:
        announced = False
        while not self.stopping:
            if self._reload_asked:
                self._reload()
            self._run_due()
            if not announced and not self.stopping:
                self.notifier.ready()  # every mailbox has been looked at once
                self.notifier.status(f"watching {len(self.watchers)} mailboxes")
                announced = True
            self._journal_now_and_then()
            self._wait(wake_r)
            self.notifier.alive()

    def _run_due(self) -> None:
        for watcher in list(self.watchers.values()):
            if self.stopping:
                return
            if watcher.due <= time.monotonic():
                watcher.work(self._between_messages)
                self.notifier.alive()

    def _between_messages(self) -> bool:
        """Asked by a run between two messages: keep the watchdog fed, say if we stop."""
        self.notifier.alive()
        return self.stopping

    def _wait(self, wake_r: int) -> None:
        """Sleep until the next due run, a signal, or news on an idling connection."""
        by_fd: dict[int, MailboxWatcher] = {}
        for watcher in self.watchers.values():
            sock = watcher.socket()
            if sock is not None:
                by_fd[sock.fileno()] = watcher
        next_due = min((w.due for w in self.watchers.values()), default=time.monotonic())
        timeout = min(max(0.0, next_due - time.monotonic()), MAX_SLEEP)
        interval = self.notifier.watchdog_interval
        if interval is not None:
            timeout = min(timeout, interval)
        if self.stopping or self._reload_asked:
            return
        readable, _, _ = select.select([wake_r, *by_fd], [], [], timeout)
        for fd in readable:
            if fd == wake_r:
                _drain(wake_r)
            else:
                by_fd[fd].on_readable()

    # -- signals -----------------------------------------------------------------------------

    def _install_signals(self, wake_w: int) -> dict[int, object]:
        previous: dict[int, object] = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, self._on_stop)
        previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, self._on_hangup)
        previous[-1] = signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        return previous

    def _restore_signals(self, previous: dict[int, object]) -> None:
        wakeup = previous.pop(-1)
        signal.set_wakeup_fd(wakeup if isinstance(wakeup, int) else -1)
        for signum, handler in previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping:  # asked twice: the operator does not want to wait
            raise SystemExit(128 + signum)
        self.stopping = True
        logger.info("tracker-mail watch: stopping after the message in hand")

    def _on_hangup(self, signum: int, frame: FrameType | None) -> None:
        self._reload_asked = True

    # -- reloading ---------------------------------------------------------------------------

    def _reload(self) -> None:
        """Read rules.yaml again; keep the old configuration if the new one is broken."""
        self._reload_asked = False
        self.notifier.reloading()
        try:
            loaded = load_config(self.loaded.path)
        except ConfigFileError as exc:
            for found in exc.problems:
                logger.error("%s", found)
            logger.error(
                "tracker-mail watch: %s is broken; the old rules keep running", self.loaded.path
            )
            self.notifier.ready()
            return
        names, problem = watchable(loaded, self.requested)
        if problem or not names:
            logger.error(
                "tracker-mail watch: %s; the old rules keep running",
                problem or "no mailbox to watch",
            )
            self.notifier.ready()
            return
        self._count(names)
        self._apply(loaded, names)
        self.notifier.ready()
        logger.info("tracker-mail watch: reloaded %s", loaded.path)

    def _apply(self, loaded: LoadedConfig, names: list[str]) -> None:
        kept: dict[str, MailboxWatcher] = {}
        for name in names:
            old = self.watchers.pop(name, None)
            fresh = self._watcher(name, loaded)
            if old is not None and old.connection_settings() == fresh.connection_settings():
                old.reconfigure(loaded)
                kept[name] = old
            else:
                if old is not None:
                    old.close()
                    fresh.carry_trouble(old)  # a fix by reload is said: "working again"
                kept[name] = fresh
        for gone in self.watchers.values():
            gone.close()
        self.watchers = kept
        self.health.forget_others(set(kept))
        self.loaded = loaded

    def _watcher(self, name: str, loaded: LoadedConfig) -> MailboxWatcher:
        return MailboxWatcher(name, loaded, self.health, self.metrics)

    def _count(self, names: Sequence[str]) -> None:
        if self.metrics is not None:
            self.metrics.add_mailboxes(names)

    def _journal_now_and_then(self) -> None:
        """The backlog for the metrics, and old finished messages forgotten."""
        now = time.monotonic()
        if self._last_journal and now - self._last_journal < JOURNAL_EVERY:
            return
        self._last_journal = now
        try:
            after_runs(self.loaded, journal_path(self.loaded), self.metrics)
        except TrackerMailError as exc:
            # Said when it starts, not every minute of a journal that stays unusable (the
            # runs' own lines say it too, once).
            if str(exc) != self._journal_trouble:
                logger.error("%s", exc)
            self._journal_trouble = str(exc)
            return
        self._journal_trouble = None


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass
