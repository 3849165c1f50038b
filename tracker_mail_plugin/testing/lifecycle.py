"""What every private test server shares: ``with Server() as s`` starts it and stops it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Self


class PortTaken(RuntimeError):
    """The server could not bind the free port picked for it (another process took it)."""


class Lifecycle(ABC):
    """A context manager over ``start()`` and ``__exit__``; a failed start cleans up too."""

    @abstractmethod
    def start(self) -> None:
        """Start the server and wait until it answers."""

    @abstractmethod
    def __exit__(self, *exc: object) -> None:
        """Stop the server and remove its files."""

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.__exit__()
            raise
        return self
