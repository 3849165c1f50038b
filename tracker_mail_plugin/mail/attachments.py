"""Attachments: safe file names, hashes, and unpacking of Outlook's winmail.dat (TNEF)."""

from __future__ import annotations

import hashlib
import mimetypes
import re
import unicodedata
from dataclasses import dataclass

from tracker_mail_plugin.mail.model import Attachment
from tracker_mail_plugin.mail.rtf import RtfBody, read_rtf
from tracker_mail_plugin.mail.safe_text import without_format_characters
from tracker_mail_plugin.mail.tnef_check import tnef_problem

_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"|?*\u2028\u2029]')
# Names Windows reserves for devices, with any extension ("nul.txt" is the device too);
# superscript digits count as digits there.
_DEVICE = re.compile(r"(?:con|prn|aux|nul|conin\$|conout\$|(?:com|lpt)[1-9¹²³])(?:\..*)?", re.I)
_MAX_NAME_BYTES = 200  # below every file system's 255, leaving room for a tracker's prefix

# Names for parts that arrive without one; mimetypes gives odd picks for these.
_EXTENSIONS = {
    "message/rfc822": ".eml",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "image/jpeg": ".jpg",
    "application/pkcs7-signature": ".p7s",
    "application/x-pkcs7-signature": ".p7s",
    "message/delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "text/rfc822-headers": ".txt",
    "application/octet-stream": ".bin",
}


# Parts of delivery reports arrive without names; say what they are.
_REPORT_PART_NAMES = {
    "message/delivery-status": "delivery-status",
    "text/rfc822-headers": "original-headers",
    "message/disposition-notification": "disposition-notification",
}


def safe_filename(name: str | None, content_type: str, index: int) -> str:
    """A file name that is safe to store anywhere: no directories, no control characters.

    Format characters (bidi overrides and isolates, zero-width characters) are removed so
    that the name reads as what it is; Windows device names (``con``, ``nul.txt``,
    ``com1``) get a leading ``_``. A missing or empty name becomes
    ``attachment-<index><ext>`` from the content type.
    """
    cleaned = ""
    if name:
        base = re.split(r"[\\/]", name)[-1]
        base = without_format_characters(unicodedata.normalize("NFC", base))
        cleaned = _trim(_UNSAFE.sub("_", base))
        cleaned = cleaned.lstrip("-") or cleaned
        if _DEVICE.fullmatch(cleaned.rstrip(" .")):
            cleaned = f"_{cleaned}"
    if not cleaned:
        stem = _REPORT_PART_NAMES.get(content_type, f"attachment-{index}")
        return f"{stem}{extension_for(content_type)}"
    return _shorten(cleaned)


def _trim(name: str) -> str:
    """``name`` without spaces and dots at either end, in any mix (". ." is not a name).

    Windows drops them from a file name anyway, and a name of only those is no name.
    """
    edge = [char.isspace() or char == "." for char in name]
    start = edge.index(False) if False in edge else len(name)
    end = len(name) - (edge[::-1].index(False) if False in edge else 0)
    return name[start:end]


def extension_for(content_type: str) -> str:
    """The usual file extension for ``content_type`` (``.bin`` when unknown)."""
    return _EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type) or ".bin"


def _shorten(name: str) -> str:
    if len(name.encode("utf-8")) <= _MAX_NAME_BYTES:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 16:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    budget = _MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    return stem.encode("utf-8")[:budget].decode("utf-8", "ignore") + suffix


def make_attachment(
    filename: str,
    content_type: str,
    content: bytes,
    inline: bool = False,
    content_id: str | None = None,
) -> Attachment:
    """Build an Attachment, computing its size and sha256."""
    return Attachment(
        filename=filename,
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        inline=inline,
        content_id=content_id,
    )


@dataclass(frozen=True, slots=True)
class TnefContents:
    """What a winmail.dat carried: files, and a body when Outlook put the text only there."""

    files: tuple[tuple[str, bytes], ...]
    text_body: str
    html_body: str
    from_rtf: bool = False
    problem: str | None = None


# compressed_rtf expands in Python at about 0.5 s per MB written, up to 8 bytes for each
# compressed one, and reading the RTF costs as much again: 2 MiB is at most about 16 s.
MAX_COMPRESSED_RTF = 2 * 2**20


def unpack_tnef(data: bytes) -> TnefContents:
    """Unpack a TNEF blob; raises ValueError when it is not one (the caller keeps it as-is)."""
    from tnefparse import TNEF

    problem = tnef_problem(data)
    if problem is not None:
        raise ValueError(problem)
    try:
        # No checksums: a wrong one only makes tnefparse log a warning per object.
        tnef = TNEF(data, do_checksum=False)
    except Exception as exc:  # tnefparse raises bare ValueError/struct.error/IndexError
        raise ValueError(f"winmail.dat could not be read: {exc}") from exc
    files: list[tuple[str, bytes]] = []
    for index, item in enumerate(tnef.attachments, start=1):
        name = _tnef_name(item) or f"attachment-{index}.bin"
        files.append((name, bytes(item.data or b"")))
    text = _as_text(getattr(tnef, "body", None))
    html = _as_text(getattr(tnef, "htmlbody", None))
    if text.strip() or html.strip():
        return TnefContents(tuple(files), text, html)
    compressed = getattr(tnef, "_rtfbody", None) or b""
    if len(compressed) > MAX_COMPRESSED_RTF:
        raise ValueError(
            f"the RTF body inside winmail.dat is larger than {MAX_COMPRESSED_RTF // 2**20} MiB "
            "compressed, too large to read"
        )
    rtf, problem = _rtf_body(tnef)
    found = bool(rtf.text.strip() or rtf.html.strip())
    return TnefContents(tuple(files), rtf.text, rtf.html, from_rtf=found, problem=problem)


def _rtf_body(tnef: object) -> tuple[RtfBody, str | None]:
    """The HTML or text of the compressed RTF body (used when that is the only body)."""
    empty = RtfBody("", "")
    if not getattr(tnef, "_rtfbody", None):
        return empty, None  # winmail.dat carries no RTF body at all
    try:
        data = tnef.rtfbody  # type: ignore[attr-defined]  # decompressed by compressed_rtf
    except Exception as exc:  # noqa: BLE001 - a damaged RTF stream must not lose the files
        return empty, f"the RTF body inside winmail.dat is damaged ({type(exc).__name__})"
    if not isinstance(data, bytes) or not data.lstrip().startswith(b"{\\rtf"):
        return empty, "the RTF body inside winmail.dat could not be decompressed"
    return read_rtf(data), None


def _tnef_name(item: object) -> str:
    try:
        long_name = item.long_filename()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - tnefparse fails on some property tables
        long_name = None
    name = long_name or getattr(item, "name", None) or ""
    if isinstance(name, bytes):
        name = name.decode("utf-8", errors="replace")
    return str(name).rstrip("\x00").strip()


def _as_text(value: object) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.decode("cp1252", errors="replace")
    return value if isinstance(value, str) else ""
