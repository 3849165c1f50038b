"""Write ``examples/18-winmail-tnef.eml``: an Outlook mail whose files travel inside winmail.dat.

Outlook (with "Rich Text" format, or through some Exchange connectors) does not attach files as
MIME parts: it packs them into one ``application/ms-tnef`` part called ``winmail.dat``. This
script is a small TNEF *writer* (the format is specified in [MS-OXTNEF]) so that the example
carries real TNEF bytes without copying anybody's mail.

The TNEF stream::

    uint32  signature   0x223E9F78
    uint16  key         any non-zero value (only legacy clients ever used it)
    record  ...

and every record::

    uint8   level       0x01 attLevelMessage, 0x02 attLevelAttachment
    uint32  attribute   low word: attribute id, high word: attribute type (atp*)
    uint32  length      length of the data
    bytes   data
    uint16  checksum    sum of the data bytes, modulo 65536

All integers are little-endian. Message-level records come first (TNEF version, OEM code page,
message class, ...), then, per file, the attachment records in the order Outlook writes them:
``attAttachRenddata`` (which opens a new attachment), ``attAttachTitle`` (the 8.3 name),
``attAttachModifyDate``, ``attAttachData`` (the file's bytes) and ``attAttachment``, a list of
MAPI properties with the real (long, Unicode) name in ``PR_ATTACH_LONG_FILENAME`` and the media
type in ``PR_ATTACH_MIME_TAG``.

Usage (from the repository root)::

    python examples/tools/make_winmail.py          # rewrite the .eml, then verify it
    python examples/tools/make_winmail.py --check  # only verify that the committed file is current

Verification decodes the written file with Python's ``email`` package and ``tnefparse`` and
fails unless it gets back exactly the files below.
"""

from __future__ import annotations

import argparse
import base64
import email
import struct
import sys
from email import policy
from pathlib import Path

EML = Path(__file__).resolve().parent.parent / "18-winmail-tnef.eml"

# The files packed into winmail.dat: (long name, 8.3 name, media type, bytes).
FILES: tuple[tuple[str, str, str, bytes], ...] = (
    (
        "Zählerstände Oktober.csv",
        "ZHLERS~1.CSV",
        "text/csv",
        "Zähler;Stand 01.10.2026;Stand 31.10.2026;Verbrauch kWh\r\n"
        "Halle 1;120345;128911;8566\r\n"
        "Halle 2;98012;101230;3218\r\n"
        "Büro;40177;41020;843\r\n".encode(),
    ),
    (
        "meeting-notes.txt",
        "MEETIN~1.TXT",
        "text/plain",
        b"Facilities meeting, Tuesday 10 November 2026\r\n"
        b"\r\n"
        b"1. Dock door camera was offline on 4 November; Harbourview to check the switch port.\r\n"
        b"2. New badge readers for hall 2 ordered, delivery in week 48.\r\n"
        b"3. Next meter reading on 1 December.\r\n",
    ),
)

TNEF_SIGNATURE = 0x223E9F78
TNEF_KEY = 0x4D2A

LEVEL_MESSAGE = 0x01
LEVEL_ATTACHMENT = 0x02

# Attribute types (atp*) and ids, combined as (type << 16) | id.
ATP_STRING, ATP_DATE, ATP_SHORT, ATP_BYTE, ATP_WORD, ATP_DWORD = 0x1, 0x3, 0x4, 0x6, 0x7, 0x8
ATT_SUBJECT = (ATP_STRING << 16) | 0x8004
ATT_DATE_SENT = (ATP_DATE << 16) | 0x8005
ATT_MESSAGE_CLASS = (ATP_WORD << 16) | 0x8008
ATT_PRIORITY = (ATP_SHORT << 16) | 0x800D
ATT_ATTACH_DATA = (ATP_BYTE << 16) | 0x800F
ATT_ATTACH_TITLE = (ATP_STRING << 16) | 0x8010
ATT_ATTACH_MODIFY_DATE = (ATP_DATE << 16) | 0x8013
ATT_ATTACH_RENDDATA = (ATP_BYTE << 16) | 0x9002
ATT_ATTACHMENT = (ATP_BYTE << 16) | 0x9005
ATT_TNEF_VERSION = (ATP_DWORD << 16) | 0x9006
ATT_OEM_CODEPAGE = (ATP_BYTE << 16) | 0x9007

# MAPI property types and the attachment properties written here.
PT_LONG, PT_STRING8, PT_UNICODE = 0x0003, 0x001E, 0x001F
PR_ATTACH_EXTENSION = 0x3703
PR_ATTACH_FILENAME = 0x3704
PR_ATTACH_METHOD = 0x3705
PR_ATTACH_LONG_FILENAME = 0x3707
PR_RENDERING_POSITION = 0x370B
PR_ATTACH_MIME_TAG = 0x370E
ATTACH_BY_VALUE = 1

SENT = (2026, 11, 12, 11, 30, 0, 4)  # year, month, day, hour, minute, second, weekday (Thu)
MODIFIED = (2026, 11, 12, 11, 24, 10, 4)


def checksum(data: bytes) -> int:
    """The TNEF record checksum: the sum of the data bytes, modulo 65536."""
    return sum(data) & 0xFFFF


def record(level: int, attribute: int, data: bytes) -> bytes:
    """One TNEF record: level, attribute, length, data, checksum."""
    return (
        struct.pack("<BII", level, attribute, len(data)) + data + struct.pack("<H", checksum(data))
    )


def dtr(parts: tuple[int, ...]) -> bytes:
    """A TNEF date (DTR): seven little-endian uint16 values."""
    return struct.pack("<7H", *parts)


def _padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def mapi_long(prop_id: int, value: int) -> bytes:
    """A PT_LONG MAPI property: tag (type, id) then the 32-bit value."""
    return struct.pack("<HHi", PT_LONG, prop_id, value)


def mapi_string8(prop_id: int, value: str, codepage: str = "cp1252") -> bytes:
    """A PT_STRING8 property: tag, value count (1), length with NUL, bytes padded to 4."""
    data = value.encode(codepage) + b"\0"
    return struct.pack("<HHII", PT_STRING8, prop_id, 1, len(data)) + _padded(data)


def mapi_unicode(prop_id: int, value: str) -> bytes:
    """A PT_UNICODE property: like PT_STRING8 but UTF-16LE with a two-byte NUL."""
    data = value.encode("utf-16-le") + b"\0\0"
    return struct.pack("<HHII", PT_UNICODE, prop_id, 1, len(data)) + _padded(data)


def mapi_props(*props: bytes) -> bytes:
    """A MAPI property list: uint32 count, then the properties."""
    return struct.pack("<I", len(props)) + b"".join(props)


def attachment_records(long_name: str, short_name: str, mime_type: str, data: bytes) -> bytes:
    """The attachment-level records for one file."""
    renddata = struct.pack("<HIHHI", 0x0001, 0xFFFFFFFF, 0xFFFF, 0xFFFF, 0)  # atyp=file
    extension = "." + long_name.rpartition(".")[2]
    props = mapi_props(
        mapi_long(PR_ATTACH_METHOD, ATTACH_BY_VALUE),
        mapi_string8(PR_ATTACH_FILENAME, short_name),
        mapi_unicode(PR_ATTACH_LONG_FILENAME, long_name),
        mapi_string8(PR_ATTACH_EXTENSION, extension),
        mapi_string8(PR_ATTACH_MIME_TAG, mime_type),
        mapi_long(PR_RENDERING_POSITION, -1),
    )
    return b"".join(
        (
            record(LEVEL_ATTACHMENT, ATT_ATTACH_RENDDATA, renddata),
            record(LEVEL_ATTACHMENT, ATT_ATTACH_TITLE, short_name.encode("ascii") + b"\0"),
            record(LEVEL_ATTACHMENT, ATT_ATTACH_MODIFY_DATE, dtr(MODIFIED)),
            record(LEVEL_ATTACHMENT, ATT_ATTACH_DATA, data),
            record(LEVEL_ATTACHMENT, ATT_ATTACHMENT, props),
        )
    )


def winmail_dat(subject: str) -> bytes:
    """The complete TNEF stream for a message with ``FILES`` attached."""
    head = struct.pack("<IH", TNEF_SIGNATURE, TNEF_KEY)
    message = b"".join(
        (
            record(LEVEL_MESSAGE, ATT_TNEF_VERSION, struct.pack("<I", 0x00010000)),
            record(LEVEL_MESSAGE, ATT_OEM_CODEPAGE, struct.pack("<II", 1252, 0)),
            record(LEVEL_MESSAGE, ATT_MESSAGE_CLASS, b"IPM.Microsoft Mail.Note\0"),
            record(LEVEL_MESSAGE, ATT_SUBJECT, subject.encode("cp1252") + b"\0"),
            record(LEVEL_MESSAGE, ATT_DATE_SENT, dtr(SENT)),
            record(LEVEL_MESSAGE, ATT_PRIORITY, struct.pack("<H", 2)),
        )
    )
    return head + message + b"".join(attachment_records(*f) for f in FILES)


SUBJECT = "Meter readings for October"
MESSAGE_ID = "LO2P265MB5120A7D3C1E94B28F6A0D5E7C3B9F@LO2P265MB5120.GBRP265.prod.example.net"
BOUNDARY = "_000_LO2P265MB5120A7D3C1E94B28F6A0D5E7C3B9FLO2P265MB5120GBRP_"
BODY = """\
Hi,

please find attached the meter readings for October and the notes from
Tuesday's meeting.

Grace Adeyemi
Meridian Facilities
"""


def eml() -> bytes:
    """The whole example message, CRLF line endings as Exchange sends it."""
    attachment = base64.encodebytes(winmail_dat(SUBJECT)).decode("ascii")
    text = f"""\
Received: from GBR01-LO2-obe.outbound.example.net
\t(mail-lo2gbr01on2117.outbound.example.net [203.0.113.117])
\tby mx1.example.com (Postfix) with ESMTPS id 4QnLr83Xdz9sT8
\tfor <support@example.com>; Thu, 12 Nov 2026 12:30:02 +0100 (CET)
From: Grace Adeyemi <grace.adeyemi@meridian.example.net>
To: Harbourview IT Support <support@example.com>
Subject: {SUBJECT}
Thread-Topic: {SUBJECT}
Thread-Index: AdtVAf3kQ0yN6c2ZTfeR1b8mLw5x9A==
Date: Thu, 12 Nov 2026 11:30:00 +0000
Message-ID: <{MESSAGE_ID}>
Accept-Language: en-GB, en-US
Content-Language: en-GB
X-MS-Has-Attach: yes
X-MS-TNEF-Correlator: <{MESSAGE_ID}>
Content-Type: multipart/mixed;
\tboundary="{BOUNDARY}"
MIME-Version: 1.0

--{BOUNDARY}
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

{BODY}
--{BOUNDARY}
Content-Type: application/ms-tnef; name="winmail.dat"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="winmail.dat"

{attachment}
--{BOUNDARY}--
"""
    return text.replace("\n", "\r\n").encode("ascii")


def verify(raw: bytes) -> list[str]:
    """Problems found when decoding ``raw`` back (an empty list means it is correct)."""
    from tnefparse import TNEF  # the reference decoder; only needed to verify

    problems = []
    message = email.message_from_bytes(raw, policy=policy.default)
    parts = [p for p in message.walk() if p.get_content_type() == "application/ms-tnef"]
    if len(parts) != 1:
        return [f"expected one application/ms-tnef part, found {len(parts)}"]
    data = parts[0].get_payload(decode=True)
    tnef = TNEF(data, do_checksum=True)
    if any(not obj.good_checksum for obj in tnef.objects):
        problems.append("a TNEF record has a bad checksum")
    got = [(a.long_filename(), a.data) for a in tnef.attachments]
    want = [(name, content) for name, _, _, content in FILES]
    if got != want:
        problems.append(f"tnefparse decoded {[(n, len(d)) for n, d in got]!r}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only verify the committed file")
    args = parser.parse_args(argv)
    raw = eml()
    if args.check:
        if EML.read_bytes() != raw:
            print(f"{EML} is out of date; run {Path(__file__).name} without --check")
            return 1
    else:
        EML.write_bytes(raw)
    problems = verify(EML.read_bytes())
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{EML.name}: {len(FILES)} files in winmail.dat, decoded correctly by tnefparse")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
