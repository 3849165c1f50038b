"""Read mail from local paths: single ``.eml`` files, folders of them, Maildirs and mboxes.

Used by ``explain`` (and by anyone testing rules on saved mail). Each message comes with a
label saying where it was found, so that an error names the exact file.
"""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tracker_mail_plugin.mail.sniff import NotMail, not_mail

_MAIL_SUFFIXES = (".eml", ".mbox", ".mail")


class NotMailError(Exception):
    """A path that holds no mail message, with a sentence saying why."""


@dataclass(frozen=True, slots=True)
class LocalMessage:
    """One message read from disk, or the reason it could not be read."""

    label: str
    raw: bytes | None
    error: str | None = None


def read_paths(paths: list[Path]) -> Iterator[LocalMessage]:
    """Yield every message under ``paths`` in a stable order; problems come as errors."""
    for path in paths:
        yield from _read_path(path)


def _read_path(path: Path) -> Iterator[LocalMessage]:
    if not path.exists():
        yield LocalMessage(str(path), None, "no such file or directory")
    elif path.is_dir() and is_maildir(path):
        yield from _read_maildir(path)
    elif path.is_dir() and path.name in ("cur", "new") and is_maildir(path.parent):
        # A Maildir's own folder: its files are messages whatever their names (`…:2,S`).
        yield from _read_maildir_folder(path)
    elif path.is_dir():
        yield from _read_folder(path)
    else:
        yield from _read_file(path)


def is_maildir(path: Path) -> bool:
    """Whether ``path`` is a Maildir: a directory with cur/, new/ and tmp/."""
    return all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def _read_maildir(path: Path) -> Iterator[LocalMessage]:
    for sub in ("new", "cur"):
        yield from _read_maildir_folder(path / sub)


def _read_maildir_folder(path: Path) -> Iterator[LocalMessage]:
    for item in sorted(path.iterdir()):
        if item.is_file() and not item.name.startswith("."):
            yield from _read_file(item)


def _read_folder(path: Path) -> Iterator[LocalMessage]:
    found = False
    for item in sorted(path.rglob("*")):
        if item.is_dir() and is_maildir(item):
            found = True
            yield from _read_maildir(item)
        elif item.is_file() and item.name.lower().endswith(_MAIL_SUFFIXES):
            if any(is_maildir(parent) for parent in item.parents if path in parent.parents):
                continue
            found = True
            yield from _read_file(item)
    if not found:
        yield LocalMessage(str(path), None, "no .eml files, Maildirs or mboxes in this directory")


def _read_file(path: Path) -> Iterator[LocalMessage]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        yield LocalMessage(str(path), None, f"cannot read: {exc.strerror or exc}")
        return
    if raw.startswith(b"From "):
        yield from _read_mbox(path)
        return
    problem = not_mail_reason(raw)
    yield LocalMessage(str(path), None if problem else raw, problem)


def _read_mbox(path: Path) -> Iterator[LocalMessage]:
    box = mailbox.mbox(path, create=False)
    try:
        for index, key in enumerate(box.iterkeys(), start=1):
            raw = box.get_bytes(key)
            problem = not_mail_reason(raw)
            yield LocalMessage(f"{path}#{index}", None if problem else raw, problem)
    finally:
        box.close()


def not_mail_reason(raw: bytes) -> str | None:
    """Why ``raw`` is not a mail message, or ``None`` when it plausibly is one.

    The rule the parser reads mail by (:mod:`tracker_mail_plugin.mail.sniff`), so that
    ``explain`` reads whatever ``sync`` would process.
    """
    return _REASONS[problem] if (problem := not_mail(raw)) else None


_REASONS = {
    NotMail.EMPTY: "empty file, not a mail message",
    NotMail.BINARY: "binary file, not a mail message",
    NotMail.NO_HEADER: "does not start with a mail header (Name: value); not a mail message",
}
