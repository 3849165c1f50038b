"""Raw RFC 5322 bytes to a :class:`Message`. Never raises, whatever the bytes are."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TypeVar

from tracker_mail_plugin.mail.charset import detection_budget, guess_header_charset, header_codec
from tracker_mail_plugin.mail.classify import Content, classify
from tracker_mail_plugin.mail.headers import (
    header_text,
    normalise_id,
    parse_addresses,
    parse_date,
    parse_id_list,
)
from tracker_mail_plugin.mail.html import html_to_text
from tracker_mail_plugin.mail.mime import Part, parse_entity
from tracker_mail_plugin.mail.model import Address, Message
from tracker_mail_plugin.mail.parts import Contents, collect
from tracker_mail_plugin.mail.peek import peek
from tracker_mail_plugin.mail.quotes import strip_quotes
from tracker_mail_plugin.mail.references import id_references, subject_references
from tracker_mail_plugin.mail.safe_text import one_line
from tracker_mail_plugin.mail.sniff import header_start

SYNTHETIC_ID_DOMAIN = "tracker-mail.invalid"

Value = TypeVar("Value", str, bytes)


def parse_message(raw: bytes, sha256: str | None = None) -> Message:
    """Parse one message. Problems are repaired and listed in ``Message.defects``.

    Args:
        raw: The message exactly as fetched from the mailbox.
        sha256: The hex sha256 of ``raw`` when the caller has already computed it (the
            pipeline journals it before parsing); hashing a large message again costs about
            as much as decoding its attachments.

    Returns:
        The parsed message. If the parser itself hits a bug, a minimal message carrying the
        raw text as body and the error in ``defects`` is returned instead of raising, so
        that a mail is never lost to a parser problem.
    """
    raw = bytes(raw)
    sha256 = sha256 or hashlib.sha256(raw).hexdigest()
    try:
        with detection_budget():
            return _parse(raw, sha256)
    except Exception as exc:  # noqa: BLE001 - the last line of defence; see the docstring
        return unparsed_message(raw, f"the parser failed ({type(exc).__name__}: {exc})", sha256)


def _parse(raw: bytes, sha256: str) -> Message:
    defects: list[str] = []
    start = header_start(raw)
    if start:
        defects.append(f"skipped {start} bytes of blank lines or spaces before the headers")
    root = parse_entity(raw, start, len(raw), defects)
    found = guess_header_charset(
        [value for _, value in root.headers], lambda: _declared_charset(root)
    )
    if found is None:
        return _build(raw, sha256, root, defects)
    codec, how = found
    defects.append(f"headers with raw 8-bit bytes and no charset: read as {codec}, {how}")
    with header_codec(codec):
        return _build(raw, sha256, root, defects)


def _build(raw: bytes, sha256: str, root: Part, defects: list[str]) -> Message:
    headers = tuple((name, header_text(value, defects)) for name, value in root.headers)
    first = _first_values(headers)
    first_raw = _first_values(root.headers)
    message_id = normalise_id(first.get("message-id", ""))
    from_ = _one_address(first_raw, defects)
    in_reply_to_all = parse_id_list(first.get("in-reply-to", ""))
    in_reply_to = in_reply_to_all[0] if in_reply_to_all else None
    references = parse_id_list(first.get("references", ""))
    # A subject becomes a tracker title and is shown at terminals: no control characters.
    subject = one_line(first.get("subject", "")).strip()
    contents = collect(root, defects)
    full_body = _full_body(contents, defects)
    return Message(
        message_id=message_id or f"sha256-{sha256}@{SYNTHETIC_ID_DOMAIN}",
        subject=subject,
        from_=from_,
        to=parse_addresses(first_raw.get("to"), defects),
        cc=parse_addresses(first_raw.get("cc"), defects),
        reply_to=parse_addresses(first_raw.get("reply-to"), defects),
        date=parse_date(first.get("date"), defects),
        in_reply_to=in_reply_to,
        references=references,
        headers=headers,
        body=strip_quotes(full_body),
        full_body=full_body,
        attachments=tuple(contents.attachments),
        automated=classify(
            lambda name: first.get(name.lower()),
            root.content_type,
            _report_type(root),
            from_,
            Content(subject, full_body, _part_types(root)),
        ),
        reference_candidates=tuple(
            subject_references(subject, defects) + id_references(in_reply_to, references, defects)
        ),
        defects=_dedupe(defects),
        sha256=sha256,
        size=len(raw),
        message_id_synthesised=message_id is None,
    )


def _first_values(headers: Iterable[tuple[str, Value]]) -> dict[str, Value]:
    """Lower-cased header name -> its first value (later repeats are in ``headers``)."""
    first: dict[str, Value] = {}
    for name, value in headers:
        first.setdefault(name.lower(), value)
    return first


def _one_address(first_raw: dict[str, bytes], defects: list[str]) -> Address | None:
    found = parse_addresses(first_raw.get("from"), defects) or parse_addresses(
        first_raw.get("sender"), defects
    )
    return found[0] if found else None


def _declared_charset(root: Part) -> str | None:
    """The charset the first text part declares (a hint for unlabelled 8-bit headers)."""
    pending = [root]
    while pending:
        part = pending.pop(0)
        if part.content_type.startswith("text/") and part.params.get("charset"):
            return part.params["charset"]
        pending.extend(part.children)
    return None


def _part_types(root: Part) -> frozenset[str]:
    """The content type of every part, the root included."""
    found: set[str] = set()
    pending = [root]
    while pending:
        part = pending.pop()
        found.add(part.content_type)
        pending.extend(part.children)
    return frozenset(found)


def _report_type(root: Part) -> str | None:
    value = root.params.get("report-type")
    return value.lower() if value else None


def _full_body(contents: Contents, defects: list[str]) -> str:
    """The text parts in order (HTML converted); else what a winmail.dat carried."""
    shown = [
        _tidy(html_to_text(text, defects) if is_html else text) for text, is_html in contents.texts
    ]
    shown = [text for text in shown if text.strip()]
    if shown:
        return "\n\n".join(shown)
    for texts, is_html in ((contents.tnef_text, False), (contents.tnef_html, True)):
        usable = [_tidy(html_to_text(text, defects) if is_html else text) for text in texts]
        usable = [text for text in usable if text.strip()]
        if usable:
            return "\n\n".join(usable)
    return ""


def _tidy(text: str) -> str:
    """Trim blank lines around a part and NUL characters trackers refuse."""
    return text.replace("\x00", "").strip("\n").rstrip()


def _dedupe(defects: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(defects))


def unparsed_message(raw: bytes, why: str, sha256: str | None = None) -> Message:
    """A message for bytes that were not (or could not be) parsed: the raw text is the body.

    Nothing is lost and ``why`` is the one defect; the Message-ID is made from the bytes'
    sha256, as for mail without one. Sender and subject are peeked at (:mod:`.peek`).
    """
    sha256 = sha256 or hashlib.sha256(raw).hexdigest()
    text = raw.decode("utf-8", errors="replace")
    sender, subject = peek(raw)  # a bounded look, so that status can name it
    return Message(
        message_id=f"sha256-{sha256}@{SYNTHETIC_ID_DOMAIN}",
        subject=subject,
        from_=sender,
        to=(),
        cc=(),
        reply_to=(),
        date=None,
        in_reply_to=None,
        references=(),
        headers=(),
        body=text,
        full_body=text,
        attachments=(),
        automated=None,
        reference_candidates=(),
        defects=(f"{why}; the raw text is the body",),
        sha256=sha256,
        size=len(raw),
        message_id_synthesised=True,
    )
