"""Answers kept for the adapter's life, shared by the threads ``workers`` runs.

Each key is computed by one thread while the others asking for the same key wait for its
answer (so four workers starting together read a list once, and the requests a run sends do
not depend on timing); different keys are computed side by side. A computation that raises
stores nothing: the next caller tries again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """A thread-safe cache computing each key once."""

    def __init__(self) -> None:
        self._values: dict[K, V] = {}
        self._computing: dict[K, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: K, compute: Callable[[], V]) -> V:
        """The value for ``key``, computing it with ``compute`` when it is not known yet."""
        with self._guard:
            if key in self._values:
                return self._values[key]
            lock = self._computing.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._values:  # computed while this thread waited
                    return self._values[key]
            value = compute()
            with self._guard:
                self._values[key] = value
                self._computing.pop(key, None)
            return value

    def put(self, key: K, value: V) -> None:
        """Record ``value`` for ``key`` (learnt another way)."""
        with self._guard:
            self._values[key] = value

    def forget(self, key: K) -> None:
        """Drop what is known of ``key``: the next :meth:`get` computes it anew."""
        with self._guard:
            self._values.pop(key, None)
