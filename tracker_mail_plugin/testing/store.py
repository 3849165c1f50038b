"""Where the recording tracker's state lives: in this process, or in a file processes share.

A call costs what it changes, not what the tracker holds:

- The state is parsed once and kept; it is read again only when another process (or a
  failed call) changed it. Every save bumps a generation number kept in the lock file, so a
  process tells "still what I hold" from "changed since" by reading a few bytes.
- Reads (``reading``) neither copy nor write the state.
- The record of calls, which grows with every call, is a log of JSON lines beside the state
  file, appended to, never rewritten.

With a file, every access holds an exclusive ``fcntl`` lock on ``<state>.lock``; a save
writes a temporary file that ``os.replace`` puts in the state's place, so a process killed with
SIGKILL mid-call leaves the previous state or the next one, never half of one. The
generation is bumped before the state is replaced: a writer killed in between makes the
others re-read a state that did not change, never trust one that did.

A transaction that raises saves nothing, and the state held in memory is dropped, so the
next access starts again from what was last saved (in memory too: the last save is kept as
JSON for this).
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tracker_mail_plugin.testing.state import Call, TrackerState


class StateStore:
    """The recording tracker's state; :meth:`transaction` is the only way to change it.

    Args:
        path: the JSON file to share, or ``None`` to keep the state in this object.
    """

    def __init__(self, path: Path | None):
        self.path = path
        self._lock = threading.Lock()
        self._held: TrackerState | None = None
        self._generation = -1
        self._lock_file = -1  # the open lock file while a file-backed store is held
        # In memory: the last saved state (to start again from after a failed transaction)
        # and the calls.
        self._saved = TrackerState().model_dump_json()
        self._calls: list[Call] = []

    @contextmanager
    def transaction(self) -> Iterator[TrackerState]:
        """Yield the current state; what the block changes is saved only if it returns."""
        with self._exclusive() as generation:
            state = self._current(generation)
            try:
                yield state
            except BaseException:
                self._held = None
                raise
            self._save(state, generation)

    @contextmanager
    def reading(self) -> Iterator[TrackerState]:
        """Yield the current state to read, without a copy: the block must not change it."""
        with self._exclusive() as generation:
            yield self._current(generation)

    def snapshot(self) -> TrackerState:
        """A copy of the current state, calls included."""
        with self.reading() as state:
            copy = state.model_copy(deep=True)
        copy.calls = self.calls()
        return copy

    def record(self, call: Call) -> None:
        """Add ``call`` to the record of calls."""
        with self._exclusive():
            if self.path is None:
                self._calls.append(call)
                return
            # 0600 like the state file: the calls hold what the mail said. Not through a
            # symlink: in a shared folder another user could point it at a file of ours.
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
            calls = os.open(self._calls_path, flags, 0o600)
            with os.fdopen(calls, "a", encoding="utf-8") as log:
                log.write(call.model_dump_json() + "\n")

    def calls(self) -> list[Call]:
        """Every call recorded, oldest first."""
        with self._exclusive():
            if self.path is None:
                return list(self._calls)
            try:
                lines = self._calls_path.read_text(encoding="utf-8").splitlines()
            except FileNotFoundError:
                return []
        # A process killed while appending may leave its last line unfinished: skip it.
        return [Call.model_validate_json(line) for line in lines if line.endswith("}")]

    @property
    def _calls_path(self) -> Path:
        assert self.path is not None  # noqa: S101 - only called with a file
        return self.path.with_name(self.path.name + ".calls")

    @contextmanager
    def _exclusive(self) -> Iterator[int]:
        """Hold the store for this thread (and process); yield the saved generation."""
        with self._lock:
            if self.path is None:
                yield self._generation
                return
            # A separate lock file: the state file itself is replaced on every save, and a
            # lock on a replaced inode would no longer exclude anybody.
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX)
                self._lock_file = lock
                yield _read_generation(lock)
            finally:
                self._lock_file = -1
                os.close(lock)  # closing releases the lock

    @property
    def _lock_path(self) -> Path:
        assert self.path is not None  # noqa: S101 - only called with a file
        return self.path.with_name(self.path.name + ".lock")

    def _current(self, generation: int) -> TrackerState:
        if self._held is None or generation != self._generation:
            text = self._saved if self.path is None else _read_text(self.path)
            self._held = TrackerState() if text is None else TrackerState.model_validate_json(text)
            self._generation = generation
        return self._held

    def _save(self, state: TrackerState, generation: int) -> None:
        text = state.model_dump_json(indent=1)
        if self.path is None:
            self._saved = text
        else:
            generation += 1
            _write_generation(self._lock_file, generation)
            _replace(self.path, text)
        self._held, self._generation = state, generation


def _read_generation(lock: int) -> int:
    text = os.pread(lock, 32, 0).strip()
    return int(text) if text else 0


def _write_generation(lock: int, generation: int) -> None:
    # Written in place (the lock is held on this very file), padded to a fixed width so a
    # shorter number never leaves digits of a longer one behind.
    os.pwrite(lock, f"{generation:020d}\n".encode(), 0)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def _replace(path: Path, text: str) -> None:
    # No fsync: the state must outlive a killed process, not a power cut.
    handle, temporary = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
