"""Outlook mail whose only body is compressed RTF inside winmail.dat gets that body."""

import base64
from pathlib import Path

from tests.mailfactory import multipart, part, raw_mail
from tracker_mail_plugin.mail import parse_message
from tracker_mail_plugin.mail.rtf import MAX_DEPTH, read_rtf

WINMAIL = base64.b64decode(
    (Path(__file__).parent / "corpora/tnef/rtf-body-winmail.dat.b64").read_bytes()
)


def _winmail_only(data: bytes) -> bytes:
    ctype, body = multipart(
        "mixed",
        [
            part(
                'Content-Type: application/ms-tnef; name="winmail.dat"\r\n'
                'Content-Disposition: attachment; filename="winmail.dat"\r\n'
                "Content-Transfer-Encoding: base64",
                base64.encodebytes(data).decode(),
            )
        ],
    )
    return raw_mail({"Content-Type": ctype, "Subject": "AW: AW: 64 bit Hypervisor crash"}, body)


def test_real_rtf_only_winmail_body_becomes_the_text():
    message = parse_message(_winmail_only(WINMAIL))
    assert message.full_body.startswith('Hi!\n\nWith\n\nasm volatile("nop" : : : "memory");')
    assert "gcc version 6.3.0 20170516 (Debian 6.3.0-18)" in message.full_body
    assert "-----Ursprüngliche Nachricht-----" in message.full_body
    assert "fonttbl" not in message.full_body
    assert "Times New Roman" not in message.full_body
    assert "the body was read from the RTF inside winmail.dat" in message.defects
    assert message.attachments == ()


ENCAPSULATED = rb"""{\rtf1\ansi\ansicpg1252\fromhtml1 \fbidis \deff0{\fonttbl
{\f0\fswiss\fcharset0 Arial;}}
{\colortbl\red0\green0\blue0;}
\uc1\pard\plain\deftab360 \f0\fs24
{\*\htmltag19 <html>}{\*\htmltag34 <head>}{\*\htmltag41 </head>}
{\*\htmltag50 <body lang="DE">}\htmlrtf {\htmlrtf0
{\*\htmltag64 <p>}\htmlrtf {\htmlrtf0 Gr\'fc\'dfe, der Drucker kostet \u8364?5.\htmlrtf\par}\htmlrtf0
{\*\htmltag72 </p>}
\htmlrtf }\htmlrtf0
{\*\htmltag58 </body>}{\*\htmltag27 </html>}}"""


def test_encapsulated_html_is_given_back_as_html():
    body = read_rtf(ENCAPSULATED)
    assert body.html == (
        '<html><head></head><body lang="DE"><p>Grüße, der Drucker kostet €5.</p></body></html>'
    )
    assert body.text == ""


def test_plain_rtf_gives_its_text_without_tables_or_fallbacks():
    rtf = rb"{\rtf1\ansi{\fonttbl{\f0 Arial;}}{\*\generator Riched20;}\uc1 Caf\'e9 \u1055?\par ok\tab x}"
    body = read_rtf(rtf)
    assert (body.html, body.text) == ("", "Café П\nok\tx")


def test_deeply_nested_groups_are_bounded():
    rtf = b"{\\rtf1 " + b"{" * (MAX_DEPTH * 50) + b"deep" + b"}" * (MAX_DEPTH * 50) + b"}"
    assert read_rtf(rtf).text == "deep"


def test_damaged_rtf_stream_is_reported_not_raised():
    at = WINMAIL.find(b"LZFu")
    damaged = WINMAIL[: at + 20] + bytes(200) + WINMAIL[at + 220 :]
    message = parse_message(_winmail_only(damaged))
    assert message.full_body == ""
    assert any("RTF body inside winmail.dat" in d for d in message.defects)
