"""The "tracker" behind the template: accounts and issues in one JSON file.

The file holds ``{"users": {address: login}, "issues": {key: issue}, "next_id": n}``.

In a real adapter this module is the tracker's HTTP API client. Like one, it raises its own
errors (``OSError`` and its subclasses here), which the adapter translates into the core's
error tree at one place (``TemplateAdapter._calling``).
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Data = dict[str, Any]


class FileStore:
    """Accounts, issues and comments, read and written whole under a lock.

    Args:
        path: the JSON file (made on the first write).
    """

    def __init__(self, path: Path):
        self.path = path

    def add_user(self, address: str, login: str) -> None:
        """Make an account (as a person would in the tracker's web pages)."""
        with self.write() as data:
            data["users"][address] = login

    def read(self) -> Data:
        """Everything the file holds."""
        with self._locked():
            return self._load()

    @contextmanager
    def write(self) -> Iterator[Data]:
        """Yield the data to change; it is saved (atomically) when the block returns."""
        with self._locked():
            data = self._load()
            yield data
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(data, stream)
            os.replace(temporary, self.path)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _load(self) -> Data:
        try:
            data: Data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        data.setdefault("next_id", 1)
        data.setdefault("issues", {})
        data.setdefault("users", {})
        return data
