"""Walk a MIME tree and sort its leaves into body text, HTML and attachments."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field

from tracker_mail_plugin.mail.attachments import make_attachment, safe_filename, unpack_tnef
from tracker_mail_plugin.mail.embedded import extract_files
from tracker_mail_plugin.mail.headers import (
    find_body_start,
    header_text,
    normalise_id,
    split_header_lines,
)
from tracker_mail_plugin.mail.mime import Part
from tracker_mail_plugin.mail.model import Attachment

_TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})


@dataclass
class Contents:
    """What a message's parts hold, in the order the parts appear.

    ``texts`` are the body parts a reader sees, in order, each with whether it is HTML: of
    the versions of a multipart/alternative only the chosen one is there.
    """

    texts: list[tuple[str, bool]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    tnef_text: list[str] = field(default_factory=list)
    tnef_html: list[str] = field(default_factory=list)


def collect(root: Part, defects: list[str]) -> Contents:
    """Sort every leaf of ``root`` into plain text, HTML, or attachments."""
    contents = Contents()
    _walk(root, contents, defects)
    return contents


def _walk(part: Part, contents: Contents, defects: list[str]) -> None:
    if part.children:
        if part.content_type == "multipart/alternative":
            _walk_alternatives(part, contents, defects)
            return
        for child in part.children:
            _walk(child, contents, defects)
        return
    if part.content_type.startswith("multipart/"):
        return  # a multipart whose boundary matched nothing; already reported
    if _is_body_text(part):
        text = part.text(defects)
        if part.params.get("format", "").lower() == "flowed":
            text = unflow(text, part.params.get("delsp", "").lower() == "yes")
        if part.content_type == "text/plain":
            text = _take_embedded_files(text, contents, defects)
        contents.texts.append((text, part.content_type == "text/html"))
        return
    _add_attachment(part, contents, defects)


def _walk_alternatives(part: Part, contents: Contents, defects: list[str]) -> None:
    """Show one version of the same text (RFC 2046 5.1.4): the first in plain text, else HTML.

    Each alternative repeats the same words: two plain-text versions (one a part whose
    missing Content-Type defaults to text/plain) joined showed the text twice. The first
    is the simplest by the RFC's order, and plain text is what an issue shows best. The
    attachments of every version are kept (the images an HTML version shows).
    """
    versions: list[list[tuple[str, bool]]] = []
    for child in part.children:
        found = Contents(attachments=contents.attachments)
        _walk(child, found, defects)
        contents.tnef_text.extend(found.tnef_text)
        contents.tnef_html.extend(found.tnef_html)
        versions.append([(text, is_html) for text, is_html in found.texts if text.strip()])
    plain = [texts for texts in versions if any(not is_html for _, is_html in texts)]
    if len(plain) > 1:
        defects.append("multipart/alternative holds a second plain-text version; kept the first")
    chosen = plain or [texts for texts in versions if texts]
    if chosen:
        contents.texts.extend(chosen[0])


def _take_embedded_files(text: str, contents: Contents, defects: list[str]) -> str:
    """Uuencoded and BinHex files in the text become attachments; the rest is the text."""
    embedded = extract_files(text)
    defects.extend(embedded.problems)
    for name, data in embedded.files:
        filename = safe_filename(name, "application/octet-stream", len(contents.attachments) + 1)
        if not data:
            defects.append(f"dropped the empty file {filename!r} found in the text (0 bytes)")
            continue
        contents.attachments.append(make_attachment(filename, _guess_type(filename), data))
        defects.append(f"decoded the file {filename!r} that was written into the text")
    return embedded.text


def _is_body_text(part: Part) -> bool:
    if part.content_type not in ("text/plain", "text/html"):
        return False
    return part.disposition != "attachment" and not part.filename


def _add_attachment(part: Part, contents: Contents, defects: list[str]) -> None:
    content = part.payload(defects)
    index = len(contents.attachments) + 1
    name = part.filename
    if part.content_type == "message/rfc822" and not name:
        name = _forwarded_name(content)
    filename = safe_filename(name, part.content_type, index)
    if not content:
        defects.append(f"dropped the empty attachment {filename!r} (0 bytes)")
        return
    is_tnef = part.content_type in _TNEF_TYPES or filename.lower() == "winmail.dat"
    if is_tnef and _unpack_winmail(content, contents, defects):
        return
    content_id = part.header("content-id")
    cid = normalise_id(content_id.decode("ascii", "replace")) if content_id else None
    inline = part.disposition == "inline" or (part.disposition is None and cid is not None)
    contents.attachments.append(make_attachment(filename, part.content_type, content, inline, cid))


def _forwarded_name(content: bytes) -> str:
    """Name a forwarded message after its own subject."""
    scratch: list[str] = []
    head_end, _ = find_body_start(content)
    for key, value in split_header_lines(content[:head_end], scratch):
        if key.lower() == "subject":
            subject = header_text(value, scratch).strip()
            if subject:
                return f"{subject}.eml"
    return "forwarded-message.eml"


def _unpack_winmail(content: bytes, contents: Contents, defects: list[str]) -> bool:
    try:
        tnef = unpack_tnef(content)
    except ValueError as exc:
        defects.append(f"{exc}; kept winmail.dat as it is")
        return False
    for name, data in tnef.files:
        filename = safe_filename(name, "application/octet-stream", len(contents.attachments) + 1)
        if not data:
            defects.append(f"dropped the empty attachment {filename!r} from winmail.dat (0 bytes)")
            continue
        contents.attachments.append(make_attachment(filename, _guess_type(filename), data))
    if tnef.text_body.strip():
        contents.tnef_text.append(tnef.text_body)
    if tnef.html_body.strip():
        contents.tnef_html.append(tnef.html_body)
    if tnef.from_rtf:
        defects.append("the body was read from the RTF inside winmail.dat")
    if tnef.problem:
        defects.append(tnef.problem)
    return True


def _guess_type(filename: str) -> str:
    return mimetypes.guess_type(filename, strict=False)[0] or "application/octet-stream"


def unflow(text: str, delsp: bool) -> str:
    """Undo RFC 3676 format=flowed soft line breaks (Thunderbird, Apple Mail)."""
    # Pieces of a joined line are gathered in a list: adding each to a growing string
    # copied it every time, quadratic in a paragraph of thousands of soft-broken lines.
    out: list[tuple[str, list[str]]] = []
    joining = False
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        quote, content = line[:depth], line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing
        soft = content.endswith(" ") and content.rstrip() != "--"
        if soft and delsp:
            content = content[:-1]
        if joining and out and out[-1][0] == quote:
            out[-1][1].append(content)
        else:
            out.append((quote, [content]))
        joining = soft
    joined = ((q, "".join(pieces)) for q, pieces in out)
    return "\n".join(q + (" " if q and c else "") + c for q, c in joined)
