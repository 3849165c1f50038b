"""A throwaway copy of the journal, for ``sync --dry-run``: the real one is never written.

Even opening the journal writes to it (SQLite's ``-wal`` and ``-shm`` files, a schema
upgrade, the file itself when it is missing), and a dry run promises to write nothing. It
reads a copy instead, made in a private temporary folder and removed afterwards; with no
journal yet, an empty one in memory.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tracker_mail_plugin.journal.database import journal_fault
from tracker_mail_plugin.journal.store import Journal


@contextmanager
def scratch_copy(path: Path) -> Iterator[Journal]:
    """A journal holding what the one at ``path`` holds; changes to it are thrown away.

    Raises:
        ConfigurationError: the journal cannot be read (with its path and what to do).
    """
    if not path.exists():
        with Journal.open(":memory:") as journal:
            yield journal
        return
    with tempfile.TemporaryDirectory(prefix="tracker-mail-dry-run-") as folder:
        copy = Path(folder) / path.name
        try:
            # The -wal file holds the latest commits until SQLite folds them into the file.
            for suffix in ("", "-wal"):
                if Path(f"{path}{suffix}").exists():
                    shutil.copyfile(f"{path}{suffix}", f"{copy}{suffix}")
        except OSError as exc:
            raise journal_fault(str(path), exc, "read") from exc
        with Journal.open(copy) as journal:
            yield journal
