"""Header fields: splitting a header block, RFC 2047 words, addresses, message-ids, dates.

Python's ``email`` header registry raises on headers that real mail carries (``To: (c):``,
``Message-ID: <[x]@host>``, unparseable dates), and it is the slowest part of parsing. These
functions read the raw bytes themselves, never raise, and record what they repaired in the
``defects`` list they are given.

Every step is linear in the header's length, and a header is bounded all the same: a field
longer than ``MAX_HEADER_BYTES`` (64 KiB once unfolded; a To list of a thousand recipients
is about 40 KiB) is cut there, with a defect. A Date value is read from its first
``MAX_DATE_CHARS`` (256) characters only.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.utils
import re

from tracker_mail_plugin.mail.charset import decode_header_bytes, decode_text
from tracker_mail_plugin.mail.model import Address
from tracker_mail_plugin.mail.safe_text import one_line

RawHeaders = list[tuple[str, bytes]]

_ENCODED_WORD = re.compile(rb"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=")
_ANGLE_ID = re.compile(r"<([^<>]*)>")
_FIELD_NAME = re.compile(rb"^[!-9;-~]+$")  # RFC 5322 ftext: printable ASCII except ':'

MAX_HEADER_BYTES = 64 * 1024
MAX_DATE_CHARS = 256


def find_body_start(raw: bytes, start: int = 0, end: int | None = None) -> tuple[int, int]:
    """Return (end of the header block, start of the body) within ``raw[start:end]``.

    The block ends at the first empty line; a message without one is all headers.
    """
    stop = len(raw) if end is None else end
    if raw.startswith(b"\r\n", start, stop):
        return start, start + 2
    if raw.startswith(b"\n", start, stop):
        return start, start + 1
    crlf = raw.find(b"\r\n\r\n", start, stop)
    # Only look for a bare-LF blank line before the CRLF one: scanning a whole attachment
    # for "\n\n" that CRLF mail never contains would cost more than parsing the headers.
    lf = raw.find(b"\n\n", start, crlf + 2 if crlf >= 0 else stop)
    if lf >= 0 and (crlf < 0 or lf < crlf):
        return lf, lf + 2
    return (crlf, crlf + 4) if crlf >= 0 else (stop, stop)


def split_header_lines(block: bytes, defects: list[str]) -> RawHeaders:
    """Unfold a header block into (name, raw value) pairs, keeping order and repeats.

    Continuation lines are collected in a list and joined once: joining them one by one
    copies the value each time, quadratic on a header folded over millions of lines.
    """
    fields: list[tuple[str, list[bytes]]] = []
    lines = block.split(b"\n")
    if lines and lines[0].startswith(b"From "):  # mbox separator left in by some tools
        lines = lines[1:]
    for line in lines:
        line = line.rstrip(b"\r")
        if not line:
            continue
        if line[:1] in (b" ", b"\t"):
            if fields:
                fields[-1][1].append(line.strip())
            continue
        name, sep, value = line.partition(b":")
        name = name.strip()
        if not sep or not _FIELD_NAME.match(name):
            defects.append(f"ignored a header line that is not 'Name: value': {_show(line)}")
            continue
        fields.append((name.decode("ascii"), [value.strip()]))
    return [(name, _bounded_value(name, pieces, defects)) for name, pieces in fields]


def _bounded_value(name: str, pieces: list[bytes], defects: list[str]) -> bytes:
    value = pieces[0] if len(pieces) == 1 else b" ".join(pieces)
    if len(value) <= MAX_HEADER_BYTES:
        return value
    defects.append(f"the {name} header is longer than {MAX_HEADER_BYTES // 1024} KiB; cut there")
    return value[:MAX_HEADER_BYTES]


def text_after_fields(block: bytes) -> int | None:
    """Where body text starts inside ``block`` when its sender left out the blank line.

    Lines closing the block that are neither ``Name: value`` fields nor their continuations
    begin the body, as Python's ``email`` reads them; otherwise that text would be dropped as
    bad header lines. A stray line between two fields is still just ignored. Read backwards
    from the end, so a normal block costs one line.
    """
    text_start = None
    end = len(block)
    while end > 0:
        start = block.rfind(b"\n", 0, end) + 1
        line = block[start:end].rstrip(b"\r")
        name, sep, _ = line.partition(b":")
        if (sep and _FIELD_NAME.match(name.strip())) or (start == 0 and line.startswith(b"From ")):
            break  # a field, or the mbox separator split_header_lines skips
        if line and line[:1] not in (b" ", b"\t"):
            text_start = start
        end = start - 1
    return text_start


def looks_like_header_block(data: bytes) -> bool:
    """True when ``data`` begins with a ``Name: value`` line (used for MIME part headers)."""
    first = data.split(b"\n", 1)[0].rstrip(b"\r")
    name, sep, _ = first.partition(b":")
    return bool(sep) and bool(_FIELD_NAME.match(name.strip() or b" "))


def _show(line: bytes, limit: int = 60) -> str:
    text = line.decode("utf-8", errors="replace")
    return repr(text[:limit] + ("…" if len(text) > limit else ""))


def header_text(value: bytes, defects: list[str]) -> str:
    """Decode a raw header value: 8-bit bytes, then RFC 2047 encoded words."""
    if b"=?" in value:
        return _decode_words(value, defects)
    if value.isascii():
        return value.decode("ascii")
    text, problem = decode_header_bytes(value)
    if problem:
        defects.append(f"header with raw 8-bit bytes: {problem}")
    return text


def _decode_words(value: bytes, defects: list[str]) -> str:
    """Decode RFC 2047 words; adjacent words of one charset are joined before decoding.

    Joining first matters: senders split multi-byte characters across words.
    """
    out: list[str] = []
    pending: list[bytes] = []
    pending_charset = ""
    pos = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[pos : match.start()]
        charset = match.group(1).decode("ascii", "replace").lower()
        # words of one charset with only folding whitespace between them are joined
        between_words = not gap.strip(b" \t\r\n")
        if not (pos and pending and between_words and charset == pending_charset):
            _flush(out, pending, pending_charset, defects)
            pending = []
            if gap:
                out.append(header_text(gap, defects) if b"=?" not in gap else _plain(gap))
        pending_charset = charset
        pending.append(_word_bytes(match.group(2), match.group(3), defects))
        pos = match.end()
    _flush(out, pending, pending_charset, defects)
    out.append(_plain(value[pos:]))
    return "".join(out)


def _plain(value: bytes) -> str:
    if value.isascii():  # what the charset chain makes of it too, without its calls
        return value.decode("ascii")
    text, _ = decode_header_bytes(value)
    return text


def _flush(out: list[str], pending: list[bytes], charset: str, defects: list[str]) -> None:
    if not pending:
        return
    text, problem = decode_text(b"".join(pending), charset)
    if problem:
        defects.append(f"encoded header word: {problem}")
    out.append(text)


def _word_bytes(encoding: bytes, payload: bytes, defects: list[str]) -> bytes:
    if encoding in (b"q", b"Q"):
        return binascii.a2b_qp(payload.replace(b"_", b" "), header=False)
    try:  # what base64.b64decode does, without its argument conversions
        return binascii.a2b_base64(payload + b"=" * (-len(payload) % 4))
    except (binascii.Error, ValueError):
        defects.append("a base64 encoded header word was damaged; kept what could be read")
        cleaned = re.sub(rb"[^A-Za-z0-9+/]", b"", payload)
        cleaned = cleaned[: len(cleaned) - len(cleaned) % 4]
        return base64.b64decode(cleaned) if cleaned else b""


# The start of the defect recorded when an address list had to be salvaged address by address:
# what was taken may not be the mailbox the header names (a quoted local part can hold one).
SALVAGED_ADDRESSES = "address header could not be parsed"


def parse_addresses(value: bytes | None, defects: list[str]) -> tuple[Address, ...]:
    """Parse an address list header into Address values, skipping empty groups."""
    if not value:
        return ()
    # Decode 8-bit bytes, but leave RFC 2047 words in place: a decoded display name may
    # contain commas or angle brackets that would split the list wrongly.
    if value.isascii():
        text = value.decode("ascii")
    else:
        text, _ = decode_header_bytes(value)
    pairs = _simple_addresses(text)
    if pairs is None:
        try:
            pairs = email.utils.getaddresses([text])
        except Exception:  # noqa: BLE001 - the stdlib raises several types on garbage
            pairs = []
    found = [_address(name, addr, defects) for name, addr in pairs if _ADDR_SPEC.fullmatch(addr)]
    if len(found) < sum("@" in addr for _, addr in pairs) or (not pairs and "@" in text):
        found = [_address("", addr, defects) for addr in _salvaged_addresses(text)]
        defects.append(f"{SALVAGED_ADDRESSES}; took the addresses in it: {text[:80]!r}")
    return tuple(found)


_NEEDS_FULL_PARSER = re.compile(r'["();:\\]')
_NO_SPACE_OR_ANGLE = re.compile(r"[^<>\s]+")


def _simple_addresses(text: str) -> list[tuple[str, str]] | None:
    """``Name <a@b>, c@d`` lists without quotes, comments or groups, split quickly.

    Most real headers look like this; the stdlib's full RFC 5322 parser costs ten times
    more and is kept for everything else (quoted names with commas, comments, groups).
    Entries are taken apart with ``str`` methods: a lazy name, optional spaces and then ``<``
    backtracked quadratically over a long run of spaces.
    """
    if _NEEDS_FULL_PARSER.search(text):
        return None
    pairs: list[tuple[str, str]] = []
    for entry in text.split(","):
        entry = entry.strip()
        if not entry:
            continue
        pair = _simple_entry(entry)
        if pair is None:
            return None
        pairs.append(pair)
    return pairs


def _simple_entry(entry: str) -> tuple[str, str] | None:
    """``Name <addr>`` or a bare ``local@domain``; ``None`` for anything else."""
    if entry.endswith(">") and entry.count("<") == 1 and entry.count(">") == 1:
        name, _, addr = entry[:-1].partition("<")
        return (name.strip(), addr) if _NO_SPACE_OR_ANGLE.fullmatch(addr) else None
    if "@" in entry[1:-1] and _NO_SPACE_OR_ANGLE.fullmatch(entry):
        return "", entry
    return None


_ADDR_SPEC = re.compile(r"[^\s<>,;:\"()\[\]@]+@[^\s<>,;:\"()@]+")
# The same, or a run of local-part characters with no "@" after it. Searching for _ADDR_SPEC
# alone started again at every character of such a run and scanned to its end each time:
# quadratic in a header holding one long run ("@a/" and 1 MB of dots). Taking the whole run
# as one (discarded) match steps over it in one go; the addresses found are the same.
_ADDR_SPEC_OR_RUN = re.compile(r"[^\s<>,;:\"()\[\]@]+(?:@[^\s<>,;:\"()@]+)?")


def _salvaged_addresses(text: str) -> list[str]:
    """Everything in ``text`` that looks like ``local@domain``, left to right."""
    return [found for found in _ADDR_SPEC_OR_RUN.findall(text) if "@" in found]


def _address(name: str, addr: str, defects: list[str]) -> Address:
    if name.isascii() and "=?" not in name:
        display = one_line(name).strip()  # what header_text gives back for such a name
    else:
        display = one_line(header_text(name.encode("utf-8"), defects)).strip()
    local, _, domain = addr.strip().strip("<>").rpartition("@")
    return Address(
        name=display.strip('"').strip(), address=f"{local.lower()}@{_unicode_domain(domain)}"
    )


def _unicode_domain(domain: str) -> str:
    domain = domain.strip().rstrip(".").lower()
    if "xn--" not in domain:
        return domain
    try:
        return domain.encode("ascii").decode("idna")
    except (UnicodeError, ValueError):
        return domain


def normalise_id(value: str) -> str | None:
    """Normalise one message-id: no angle brackets, no whitespace, otherwise exact.

    Case is kept: message-ids compare octet by octet, and a Content-ID must still match the
    ``cid:`` reference written in the HTML.
    """
    match = _ANGLE_ID.search(value)
    core = match.group(1) if match else value
    core = "".join(core.split()).strip("\"'")
    return core or None


def parse_id_list(value: str) -> tuple[str, ...]:
    """Every message-id in a References-like header, in order, without repeats."""
    found = _ANGLE_ID.findall(value) or [tok for tok in value.split() if "@" in tok]
    ids: list[str] = []
    for token in found:
        normal = normalise_id(f"<{token}>")
        if normal and normal not in ids:
            ids.append(normal)
    return tuple(ids)


# ``[^()]`` rather than ``[^)]``: from every "(" the latter scanned to the end of a value of
# many "(" (quadratic); innermost comments are what real dates carry anyway.
_DATE_NOISE = re.compile(r"\([^()]*\)|\b(?:at|um|le)\b")


def parse_date(value: str | None, defects: list[str]) -> dt.datetime | None:
    """Parse a Date header tolerantly; unknown time zones are taken as UTC."""
    if not value:
        return None
    value = value[:MAX_DATE_CHARS]
    for candidate in (value, _DATE_NOISE.sub(" ", value).replace(",", " ")):
        parsed = _try_rfc_date(candidate) or _try_iso_date(candidate)
        if parsed is not None:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.UTC)
            return parsed
    defects.append(f"unreadable Date header: {value[:60]!r}")
    return None


# The form nearly every mailer writes ("Fri, 19 Jul 2024 08:20:28 +0200"), read without
# the stdlib's general parser; only for what that parser reads the same way: a four-digit
# year (two digits would be shifted into a century), an offset within a day.
_COMMON_DATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov"
    r"|Dec) ([1-9][0-9]{3}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([01][0-9]|2[0-3])([0-5][0-9])"
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


def _try_common_date(found: re.Match[str]) -> dt.datetime | None:
    day, month, year, hour, minute, second, sign, zone_hours, zone_minutes = found.groups()
    offset = int(zone_hours) * 3600 + int(zone_minutes) * 60
    # "-0000" (the sender's zone unknown) is UTC as well, as the stdlib reads it
    zone = (
        dt.timezone(dt.timedelta(seconds=-offset if sign == "-" else offset)) if offset else dt.UTC
    )
    try:
        when = (int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second))
        return dt.datetime(*when, tzinfo=zone)
    except ValueError:  # the 31st of a short month, the 60th second
        return None


def _try_rfc_date(value: str) -> dt.datetime | None:
    common = _COMMON_DATE.fullmatch(value)
    if common is not None:
        return _try_common_date(common)
    try:
        parts = email.utils.parsedate_tz(value)
    except Exception:  # noqa: BLE001 - parsedate_tz raises on some garbage
        return None
    if not parts:
        return None
    offset = parts[9]
    zone = dt.UTC if offset is None else dt.timezone(dt.timedelta(seconds=offset))
    try:
        return dt.datetime(*parts[:6], tzinfo=zone)
    except (ValueError, OverflowError, TypeError):
        return None


def _try_iso_date(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
