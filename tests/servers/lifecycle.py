"""What every private test server shares: ``with Server() as s`` starts it and stops it."""

from __future__ import annotations

from typing import Self


class Lifecycle:
    """A context manager over ``start()`` and ``__exit__``; a failed start cleans up too.

    Subclasses define ``start`` and ``__exit__`` (stop the process, remove its files).
    """

    def start(self) -> None:
        """Start the server and wait until it answers."""
        raise NotImplementedError

    def __exit__(self, *exc: object) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.__exit__()
            raise
        return self
