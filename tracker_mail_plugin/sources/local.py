"""Mail sources on the local disk: a Maildir, an mbox file, a directory of ``.eml`` files.

Useful where a mail server delivers to disk (Postfix to Maildir, fetchmail, procmail) and for
trying rules on saved mail. Moves are renames on the same filesystem, so they are atomic:
a message is in exactly one place at every moment.
"""

from __future__ import annotations

import hashlib
import mailbox
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from tracker_mail_plugin.errors import ConfigurationError, RetryLater
from tracker_mail_plugin.sources.base import (
    Delete,
    Disposition,
    Envelope,
    Fetched,
    FlagSeen,
    Leave,
    MailSource,
    Move,
    SourceCheck,
    file_time,
    is_oversize,
    refuse_oversize,
    require_supported,
    take,
)
from tracker_mail_plugin.sources.files import is_maildir

_INFO = ":2,"  # Maildir: "<unique key>:2,<flags>" once a message is in cur/


class MaildirSource(MailSource):
    """A Maildir; ``Move`` goes to a Maildir++ subfolder (``Processed`` -> ``.Processed``).

    Ids are the Maildir unique keys (the file name before ``:2,``), which stay the same when
    a mail reader moves a message from new/ to cur/ or changes its flags.
    """

    dispositions = frozenset({Leave, Delete, Move, FlagSeen})

    def __init__(self, path: str | Path, *, max_message_size: int | None = None) -> None:
        self._root = Path(path)
        self._max_size = max_message_size
        self._files: dict[str, Path] = {}

    def __repr__(self) -> str:
        return f"MaildirSource({self._root})"

    def identity(self) -> str:
        """``maildir:<absolute path>``."""
        return f"maildir:{self._root.resolve()}"

    def open(self) -> None:
        """Check that the path is a Maildir (cur/, new/ and tmp/)."""
        if not is_maildir(self._root):
            raise ConfigurationError(f"{self._root}: not a Maildir (it needs cur/, new/ and tmp/)")

    def close(self) -> None:
        """Forget what was listed."""
        self._files = {}

    def pending(self, is_done: Callable[[str], bool], limit: int | None = None) -> list[Envelope]:
        """Messages in new/ and cur/ the journal has not done, oldest key first."""
        self._files = self._scan()
        todo = (key for key in sorted(self._files) if not is_done(key))
        return take((self._envelope(key) for key in todo), limit)

    def fetch(self, envelopes: Sequence[Envelope]) -> Iterator[Fetched]:
        """Read each file; a message removed meanwhile by someone else is skipped."""
        refuse_oversize(envelopes)
        for envelope in envelopes:
            path = self._find(envelope.id)
            if path is not None:
                yield Fetched(envelope.id, path.read_bytes(), file_time(path))

    def dispose(self, id: str, disposition: Disposition) -> None:
        """Rename into the subfolder, unlink, or add the ``S`` flag; Leave does nothing.

        A message someone else already removed is left alone.
        """
        path = None if isinstance(disposition, Leave) else self._find(id)
        if path is None:
            return
        match disposition:
            case Move(folder=folder):
                target = self._subfolder(folder) / path.parent.name / path.name
                os.rename(path, target)
            case Delete():
                path.unlink()
            case FlagSeen():
                os.rename(path, self._root / "cur" / _with_seen(path.name))
        del self._files[id]

    def commit(self) -> None:
        """Nothing to do: every disposition was final when it was made."""

    def check(self) -> SourceCheck:
        """The path and the number of messages in it."""
        return SourceCheck(self.identity(), str(self._root), len(self._scan()), ("maildir",))

    def _scan(self) -> dict[str, Path]:
        files: dict[str, Path] = {}
        for sub in ("new", "cur"):
            for entry in os.scandir(self._root / sub):
                if entry.is_file() and not entry.name.startswith("."):
                    files[entry.name.split(":", 1)[0]] = Path(entry.path)
        return files

    def _envelope(self, key: str) -> Envelope:
        size = self._files[key].stat().st_size
        return Envelope(key, size, is_oversize(size, self._max_size))

    def _find(self, key: str) -> Path | None:
        path = self._files.get(key)
        if path is None or not path.exists():
            # A mail reader may have moved it from new/ to cur/ since we listed it.
            self._files = self._scan()
            path = self._files.get(key)
        return path

    def _subfolder(self, folder: str) -> Path:
        target = self._root / f".{_safe_name(folder)}"
        for sub in ("tmp", "new", "cur"):
            (target / sub).mkdir(parents=True, exist_ok=True)
        (target / "maildirfolder").touch()  # marks a Maildir++ subfolder for mail servers
        return target


class MboxSource(MailSource):
    """An mbox file, read only: the journal remembers what was done, the file is untouched.

    Ids are the message's position plus a hash of its bytes, so a message rewritten by
    another program is never mistaken for the one that was done.
    """

    dispositions = frozenset({Leave})

    def __init__(self, path: str | Path, *, max_message_size: int | None = None) -> None:
        self._path = Path(path)
        self._max_size = max_message_size
        self._box: mailbox.mbox | None = None
        self._keys: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"MboxSource({self._path})"

    def identity(self) -> str:
        """``mbox:<absolute path>``."""
        return f"mbox:{self._path.resolve()}"

    def open(self) -> None:
        """Open the file (never created, never locked: we do not write to it)."""
        if not self._path.is_file():
            raise ConfigurationError(f"{self._path}: no such mbox file")
        self._box = mailbox.mbox(self._path, create=False)

    def close(self) -> None:
        """Close the file."""
        box, self._box = self._box, None
        if box is not None:
            box.close()
        self._keys = {}

    def pending(self, is_done: Callable[[str], bool], limit: int | None = None) -> list[Envelope]:
        """Messages in file order the journal has not done."""
        return take(self._envelopes(is_done), limit)

    def fetch(self, envelopes: Sequence[Envelope]) -> Iterator[Fetched]:
        """Read each message again: the bytes its id's hash names, or RetryLater.

        A program that rewrites the mbox meanwhile (a mail reader expunging) shifts every
        offset; the hash in the id catches that instead of handing over the wrong message.
        """
        refuse_oversize(envelopes)
        for envelope in envelopes:
            raw = self._session().get_bytes(self._keys[envelope.id])
            if _mbox_id(envelope.id.split(":", 1)[0], raw) != envelope.id:
                raise RetryLater(f"{self._path}: the file changed while it was being read")
            yield Fetched(envelope.id, raw)

    def dispose(self, id: str, disposition: Disposition) -> None:
        """Only Leave: an mbox is shared with other programs and is not rewritten here."""
        require_supported(self, disposition, self.identity(), "an mbox is only read")

    def commit(self) -> None:
        """Nothing to do: nothing was changed."""

    def check(self) -> SourceCheck:
        """The path and the number of messages in it."""
        return SourceCheck(self.identity(), str(self._path), len(self._session()), ("mbox",))

    def _envelopes(self, is_done: Callable[[str], bool]) -> Iterator[Envelope]:
        box = self._session()
        for index, key in enumerate(box.iterkeys(), start=1):
            raw = box.get_bytes(key)
            id = _mbox_id(str(index), raw)
            self._keys[id] = key
            if not is_done(id):
                yield Envelope(id, len(raw), is_oversize(len(raw), self._max_size))

    def _session(self) -> mailbox.mbox:
        if self._box is None:
            raise RuntimeError("the MboxSource is not open")
        return self._box


class DirectorySource(MailSource):
    """A directory of ``.eml`` files (only its top level; ``Move`` makes subdirectories).

    Ids are file names relative to the directory. Moved files go to a subdirectory, which is
    never read as part of the source, so a moved message is not seen again.
    """

    dispositions = frozenset({Leave, Delete, Move})

    def __init__(self, path: str | Path, *, max_message_size: int | None = None) -> None:
        self._root = Path(path)
        self._max_size = max_message_size

    def __repr__(self) -> str:
        return f"DirectorySource({self._root})"

    def identity(self) -> str:
        """``directory:<absolute path>``."""
        return f"directory:{self._root.resolve()}"

    def open(self) -> None:
        """Check that the directory exists."""
        if not self._root.is_dir():
            raise ConfigurationError(f"{self._root}: no such directory")

    def close(self) -> None:
        """Nothing to release."""

    def pending(self, is_done: Callable[[str], bool], limit: int | None = None) -> list[Envelope]:
        """``*.eml`` files by name that the journal has not done."""
        todo = (name for name in self._names() if not is_done(name))
        return take((self._envelope(name) for name in todo), limit)

    def fetch(self, envelopes: Sequence[Envelope]) -> Iterator[Fetched]:
        """Read each file; a file removed meanwhile is skipped."""
        refuse_oversize(envelopes)
        for envelope in envelopes:
            path = self._root / envelope.id
            if path.is_file():
                yield Fetched(envelope.id, path.read_bytes(), file_time(path))

    def dispose(self, id: str, disposition: Disposition) -> None:
        """Move into a subdirectory (never overwriting), delete, or leave."""
        require_supported(self, disposition, self.identity(), "files have no flags")
        path = self._root / id
        if not path.is_file():
            return
        match disposition:
            case Move(folder=folder):
                target = self._root / _safe_name(folder)
                target.mkdir(exist_ok=True)
                os.rename(path, _unused_name(target, path.name))
            case Delete():
                path.unlink()

    def commit(self) -> None:
        """Nothing to do: every disposition was final when it was made."""

    def check(self) -> SourceCheck:
        """The path and the number of ``.eml`` files in it."""
        return SourceCheck(self.identity(), str(self._root), len(self._names()), ("directory",))

    def _names(self) -> list[str]:
        return sorted(
            entry.name
            for entry in os.scandir(self._root)
            if entry.is_file()
            and entry.name.lower().endswith(".eml")
            and not entry.name.startswith(".")
        )

    def _envelope(self, name: str) -> Envelope:
        size = (self._root / name).stat().st_size
        return Envelope(name, size, is_oversize(size, self._max_size))


def _mbox_id(index: str, raw: bytes) -> str:
    return f"{index}:{hashlib.sha256(raw).hexdigest()[:16]}"


def _with_seen(name: str) -> str:
    key, _, flags = name.partition(_INFO)
    return f"{key}{_INFO}{''.join(sorted(set(flags) | {'S'}))}"


def _safe_name(folder: str) -> str:
    """A folder name that stays inside the source (no separators, no dot-names)."""
    if not folder or folder.startswith(".") or any(sep in folder for sep in ("/", "\\", "\0")):
        raise ConfigurationError(
            f"folder {folder!r}: a local folder name must be a plain name "
            "(no slashes, not starting with a dot)"
        )
    return folder


def _unused_name(directory: Path, name: str) -> Path:
    target = directory / name
    stem, suffix = os.path.splitext(name)
    number = 1
    while target.exists():
        target = directory / f"{stem}-{number}{suffix}"
        number += 1
    return target
