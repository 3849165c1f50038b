"""RTF, embedded-file and sniffing readers: any input gives an answer, never an exception."""

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker_mail_plugin.mail import parse_message
from tracker_mail_plugin.mail.embedded import extract_files
from tracker_mail_plugin.mail.rtf import read_rtf
from tracker_mail_plugin.mail.sniff import NotMail, not_mail

RTF_PIECES = st.sampled_from(
    [b"{", b"}", b"\\", b"\\'", b"\\'zz", b"\\'e9", b"\\u", b"\\u-3913?", b"\\uc0", b"\\*",
     b"\\htmltag12 ", b"\\htmlrtf", b"\\htmlrtf0", b"\\fromhtml1", b"\\ansicpg99999",
     b"\\fonttbl", b"\\par", b"text", b"\xff\x00", b"\\99999999999"]
)  # fmt: skip
TEXT_PIECES = st.sampled_from(
    ["begin 644 a.bin\n", "M" + "A" * 60 + "\n", "`\n", "end\n", "hello\n", ":\n",
     "(This file must be converted with BinHex 4.0)\n", ":!!!!N!!!:\n", "\x00", "\n"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(RTF_PIECES, max_size=60))
def test_any_rtf_is_read(pieces):
    body = read_rtf(b"{\\rtf1 " + b"".join(pieces))
    assert isinstance(body.html, str)
    assert isinstance(body.text, str)


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXT_PIECES, max_size=40))
def test_any_text_is_searched_for_files(pieces):
    text = "".join(pieces)
    found = extract_files(text)
    assert len(found.text) <= len(text)
    parse_message(b"Subject: x\n\n" + text.encode())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_sniffing_any_bytes_gives_a_verdict(raw):
    verdict = not_mail(raw)
    assert verdict is None or isinstance(verdict, NotMail)
    if verdict is None:
        assert parse_message(raw).headers != ()
