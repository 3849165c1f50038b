"""Files written into a text body (uuencode, BinHex 4.0) become attachments."""

import binascii

import pytest

from tests.mailfactory import raw_mail
from tracker_mail_plugin.mail import parse_message
from tracker_mail_plugin.mail.embedded import MAX_FILE_BYTES, _expand_runs, extract_files

# A BinHex 4.0 test vector from a public Rust BinHex reader's unit tests: it uses run-length
# encoding ("N!"), and its data fork is known.
BINHEX = """(This file must be converted with BinHex 4.0)
:$f*TEQKPH#edCA0d,R4iG!#3$L8!N!-TR@dpN!8J5'9XE'mJCR*[E5"dD'8JC'&
dB5"QEh*V)5!pN!9Bm5f3"5")C@aXEb"QFQpY)(4SC5"bCA0[GA*MC5"QEh*V)5!
YN!8SI!:
"""


def _uuencode(name: str, data: bytes) -> str:
    lines = [binascii.b2a_uu(data[i : i + 45]).decode() for i in range(0, len(data), 45)]
    return f"begin 644 {name}\n" + "".join(lines) + "`\nend\n"


def test_uuencoded_file_is_an_attachment_and_leaves_the_text():
    data = bytes(range(256)) * 3
    body = "Here is the log.\n\n" + _uuencode("server.log", data) + "\nThanks, Bob\n"
    message = parse_message(raw_mail({}, body))
    [attachment] = message.attachments
    assert (attachment.filename, attachment.content) == ("server.log", data)
    assert message.full_body == "Here is the log.\n\n\nThanks, Bob"
    assert any("decoded the file 'server.log'" in d for d in message.defects)


def test_binhex_file_is_an_attachment_and_leaves_the_text():
    message = parse_message(raw_mail({}, "The file:\n\n" + BINHEX + "\nBye\n"))
    [attachment] = message.attachments
    assert attachment.filename == "binhex-test.txt"
    assert attachment.content == b"===== Hello from the data fork! ====="
    assert attachment.content_type == "text/plain"
    assert message.full_body == "The file:\n\n\nBye"


def test_damaged_binhex_stays_text_and_says_so():
    damaged = BINHEX.replace("$f*TEQ", "$f*TEZ")
    message = parse_message(raw_mail({}, damaged))
    assert message.attachments == ()
    assert "BinHex 4.0" in message.full_body
    assert any("BinHex block could not be decoded" in d for d in message.defects)


def test_text_that_only_looks_like_uuencode_is_kept():
    body = "begin 644 is how the line starts\nbut this is not uuencoded at all!\nend\n"
    assert extract_files(body).files == []
    body2 = "begin 644 notes.txt\nno end line follows\n"
    assert extract_files(body2).text == body2


def test_run_length_expansion_is_capped():
    # 0x41 then "0x90 0xff" runs: each pair of bytes expands 255 times.
    packed = b"\x01A\x00" + b"A\x90\xff" * (MAX_FILE_BYTES // 255 + 2)
    with pytest.raises(ValueError, match="64 MiB"):
        _expand_runs(packed)


def test_plain_text_without_blocks_is_untouched():
    text = "Nothing to begin with.\nend of story\n"
    result = extract_files(text)
    assert (result.text, result.files) == (text, [])


def test_many_begin_lines_without_end_are_kept_as_text():
    text = "begin 644 a.txt\nM" + "A" * 60 + "\n"
    body = text * 2000
    result = extract_files(body)
    assert (result.text, result.files) == (body, [])
