"""Broken mail from other projects' test sets that used to lose text or decode it wrong.

Each test reads one message of tests/corpora (see the NOTICE.md beside it) and checks what a
reader of the issue would see; the last tests pin the limits of each repair on small mail.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from tests.mailfactory import raw_mail
from tracker_mail_plugin.mail import parse_message
from tracker_mail_plugin.mail.model import Message

CORPORA = Path(__file__).parent / "corpora"


def corpus(name: str) -> Message:
    return parse_message((CORPORA / name).read_bytes())


def test_multipart_with_no_boundary_line_keeps_its_text():
    # A list stripped the image and left a note where it was; nothing delimits parts.
    message = corpus("cpython-email/msg_17.txt")
    assert message.subject == "Here is your dingus fish"
    assert message.full_body == (
        "Hi there,\n\nThis is the dingus fish.\n\n"
        "[Non-text (image/gif) part of message omitted, filename dingusfish.gif]"
    )
    assert message.attachments == ()
    assert "multipart/mixed without any boundary line; read as text" in message.defects


def test_body_using_another_boundary_than_declared_is_split_at_the_one_used():
    message = corpus("cpython-email/msg_31.txt")  # declares BOUNDARY_, writes --BOUNDARY
    assert message.full_body == "message 1\n\nmessage 2"
    assert any("split at '--BOUNDARY'" in defect for defect in message.defects)


def test_spam_with_mismatched_boundary_shows_its_html_text_not_base64():
    message = corpus("mail-parser/mail_malformed_3.eml")
    assert message.subject == "Ahorre Dinero en su Recibo de Luz"
    assert message.from_ is not None
    assert message.from_.address == "smgsiso@yahoo.com.mx"
    assert "Problemas para visualizar" in message.full_body
    assert "¡Feliz Navidad!" in message.full_body  # Windows-1252, not cp1250's "ˇ"
    assert "PGh0bWw+" not in message.full_body  # the base64 was decoded, not shown
    assert any("does not use; split at '----=_GlSzQZUbRbpVOpy'" in d for d in message.defects)


def test_attachment_after_a_nested_part_that_reused_the_boundary_is_kept():
    message = corpus("cpython-email/msg_15.txt")  # Outlook Express for Mac
    # The reused boundary flattens the alternative into the mixed parts, so both versions
    # show, as in Thunderbird: the same text twice rather than a part lost.
    assert message.full_body == "Some removed test.\n\nSome removed text."
    [attachment] = message.attachments  # its base64 was replaced by words in the sample
    assert (attachment.filename, attachment.content_type) == ("xx.gif", "image/gif")
    assert "parts after the final boundary (a nested part reused it); kept" in message.defects


def test_text_after_the_last_final_boundary_is_still_the_epilogue():
    body = "--B\r\nContent-Type: text/plain\r\n\r\nthe text\r\n--B--\r\nepilogue --B\r\n"
    message = parse_message(raw_mail({"Content-Type": 'multipart/mixed; boundary="B"'}, body))
    assert message.full_body == "the text"
    assert message.attachments == ()
    assert message.defects == ()


def test_text_right_after_the_headers_is_the_body():
    message = corpus("cpython-email/msg_35.txt")
    assert message.subject == "here's something interesting"
    assert [str(address) for address in message.to] == ["bperson@dom.ain"]
    assert message.full_body == "counter to RFC 2822, there's no separating newline here"
    assert any("no blank line after the headers" in defect for defect in message.defects)


def test_part_without_blank_line_after_its_headers_keeps_its_text():
    message = corpus("cpython-email/msg_47.txt")
    assert message.full_body == "bar\n\nbaz"  # the mixed part's HTML shows after its text
    assert message.from_ is not None
    assert message.from_.address == "arthur@example.example"


def test_message_without_any_header_is_all_body():
    message = corpus("cpython-email/msg_19.txt")  # a digest's text, headers lost
    assert message.headers == ()
    assert message.full_body.startswith(
        "Send Ppp mailing list submissions to\n\tppp@zzz.org\n\nTo subscribe or unsubscribe"
    )


def test_uuencoded_mime_part_is_decoded():
    message = corpus("mail-parser/mail_test_15-small-zip.eml")
    assert message.subject == "Urgent Request for Order Quotation"
    assert message.full_body.startswith("Dear Sirs/Madame\n")
    [attachment] = message.attachments
    assert (attachment.filename, attachment.content_type) == (
        "REQUEST FOR QUOTE.zip",
        "application/zip",
    )
    assert attachment.size == len(attachment.content) == 202
    archive = zipfile.ZipFile(io.BytesIO(attachment.content))
    assert archive.read("REQUEST FOR QUOTE.txt").startswith(b"Quotation request: 12 pallets")
    assert message.defects == ()


def test_utf8_text_labelled_gb2312_is_read_as_utf8():
    message = corpus("mail-parser/mail_test_12.eml")
    assert message.subject == "代开各地增值税发票"
    assert str(message.from_) == "张先生 <baoguan@hotmail.com>"
    assert message.full_body.startswith("你好！我公司可代开各类增值税发票，17%专用发票")
    assert "\ufffd" not in message.full_body
    assert "text/plain part: declared GB2312 but the bytes are UTF-8" in message.defects


def test_unlabelled_italian_html_is_windows_1252_not_vietnamese():
    message = corpus("mail-parser/mail_test_2-html-only.eml")
    assert "Domani e martedì la rimonta" in message.full_body
    assert "LUNEDÌ 30 NOVEMBRE 2015" in message.full_body
    assert not any("\u0300" <= char <= "\u036f" for char in message.full_body)  # no combining marks
    assert "text/html part: no charset declared; decoded as cp1252" in message.defects


def test_text_after_the_content_type_does_not_turn_the_body_into_an_attachment():
    message = corpus("mail-gem/content_type_crlf-shortened.eml")
    assert message.subject == "PayPal Account Suspension Notice - PayPal Account Limited"
    assert message.attachments == ()
    assert "It has come to our attention that your **PayPal®** account" in message.full_body
    assert "<font" not in message.full_body  # read as HTML, not as text
    assert "Dear valued **PayPal®** member:" in message.full_body  # <strong><strong>: bold once
    assert any("after the type text/html" in defect for defect in message.defects)


def test_transfer_encoding_with_a_semicolon_or_a_space_is_still_decoded():
    for label in ("quoted-printable;", "Quoted Printable"):
        part = (
            "--B\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
            f"Content-Transfer-Encoding: {label}\r\n\r\nCaf=E9 au lait, s'il vous pla=\r\nit\r\n--B--\r\n"
        )
        raw = raw_mail({"Content-Type": 'multipart/mixed; boundary="B"'}, part)
        assert parse_message(raw).full_body == "Café au lait, s'il vous plait", label


def test_empty_uuencoded_part_is_dropped_as_empty():
    message = corpus("mail-gem/content_transfer_encoding_x_uuencode.eml")
    assert message.attachments == ()
    assert message.defects == (
        "dropped the empty attachment 'PGP_Cmts_on_12-14-01_Pkg.doc' (0 bytes)",
    )
    assert message.full_body.startswith("Attached are the comments of the Public Generating Pool.")


def test_iso_2022_jp_with_microsofts_extra_rows_is_read():
    # php-mime-mail-parser's issue116: one NEC "№" made every strict codec refuse the word,
    # and the escape codes were shown as text ("$B'('%-b(B41").
    message = corpus("php-mime-mail-parser/issue116")
    assert message.subject == "ЖД№41 от 28.09.2016"
    assert message.defects == ()
    # The encoded words of php-mime-mail-parser's MimeHeaderDecoderTest, with its answers.
    for header, expected in (
        ('=?iso-2022-jp?Q?=1B$B-!-"=1B(B?=', "①②"),
        ("=?ISO-2022-JP-MS?B?GyRCLSEtIi1qfGIbKEkxMjM0NRsoQg==?=", "①②㈱髙ｱｲｳｴｵ"),
    ):
        assert parse_message(raw_mail({"Subject": header}, "x")).subject == expected


def test_latin1_text_under_a_utf8_label_is_read_as_latin1():
    message = corpus("php-mime-mail-parser/m0022")  # Windows Live Mail's QP "Det h=E4r"
    assert "Det här är ett flerdelat meddelande" in message.full_body
    assert (
        "text/plain part: declared utf-8 but no character in it is UTF-8; decoded as "
        "windows-1252" in message.defects
    )


def test_alternative_with_two_plain_versions_shows_one():
    message = corpus("enmime/missing-content-type2.raw")  # 2nd version lacks Content-Type
    assert message.full_body == "A text section"
    assert "multipart/alternative holds a second plain-text version; kept the first" in (
        message.defects
    )


def test_unknown_transfer_encoding_is_named_and_the_bytes_kept():
    message = corpus("enmime/unk-encoding-part.raw")  # "base9000"
    [attachment] = message.attachments
    assert attachment.content == b"PGh0bWw+Cg==\n"
    assert "unknown Content-Transfer-Encoding 'base9000'; kept as sent" in message.defects


# --- the limits of each repair ----------------------------------------------------------------


def test_a_stray_line_between_header_fields_is_still_only_ignored():
    raw = b"From: a@example.com\r\nnot a field\r\nSubject: kept\r\n\r\nthe body\r\n"
    message = parse_message(raw)
    assert message.subject == "kept"
    assert message.full_body == "the body"
    assert any("not 'Name: value'" in defect for defect in message.defects)


def test_mbox_separator_line_alone_is_not_taken_for_body_text():
    message = parse_message(b"From someone Sat Jan  3 01:05:34 1996\nSubject: s\n\nbody\n")
    assert message.subject == "s"
    assert message.full_body == "body"


def test_dash_line_without_part_headers_is_not_taken_for_a_boundary():
    body = "Hello\n-----Original Message-----\nFrom: b@example.com\n\nold text\n"
    message = parse_message(raw_mail({"Content-Type": 'multipart/mixed; boundary="X"'}, body))
    assert message.full_body.startswith("Hello\n-----Original Message-----\nFrom: b@example.com")


def test_uuencoded_part_without_end_line_is_kept_as_sent():
    part = (
        "--B\r\nContent-Type: application/octet-stream; name=a.bin\r\n"
        "Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 a.bin\r\n#86)C\r\n--B--\r\n"
    )
    message = parse_message(raw_mail({"Content-Type": 'multipart/mixed; boundary="B"'}, part))
    [attachment] = message.attachments
    assert attachment.content == b"begin 644 a.bin\r\n#86)C"
    assert any("without a complete begin/end block" in defect for defect in message.defects)


def test_broken_iso_2022_jp_is_marked_not_shown_as_escape_codes():
    # 0x7F7F is no character in any JIS table; the rest of the text still reads.
    raw = raw_mail({"Content-Type": "text/plain; charset=iso-2022-jp"}, "\x1b$B\x7f\x7f\x1b(B ok")
    message = parse_message(raw)
    assert message.full_body == "\ufffd ok"
    assert "\x1b" not in message.full_body


def test_utf8_label_with_some_utf8_keeps_it_and_marks_the_broken_bytes():
    part = "Grüße ".encode() + b"\xe4 fin"  # valid UTF-8 and one stray Latin-1 byte
    raw = b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + part
    message = parse_message(raw)
    assert message.full_body == "Grüße \ufffd fin"


def test_alternative_keeps_both_kinds_and_mixed_keeps_every_text():
    alternative = (
        "--A\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
        "--A\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--A--\r\n"
    )
    message = parse_message(
        raw_mail({"Content-Type": 'multipart/alternative; boundary="A"'}, alternative)
    )
    assert message.full_body == "plain"
    assert message.defects == ()
    mixed = alternative.replace("text/html", "text/plain").replace("<p>html</p>", "second")
    message = parse_message(raw_mail({"Content-Type": 'multipart/mixed; boundary="A"'}, mixed))
    assert message.full_body == "plain\n\nsecond"


def test_html_part_after_an_alternative_in_mixed_mail_is_shown():
    # james-mime4j's overlapping-boundaries.msg: the inner boundary is the outer one plus
    # "1"; mime4j decodes part 1.2 as "important stuff". Only plain text was shown before,
    # so an HTML-only part of mixed mail was lost whenever any part had plain text.
    message = corpus("james-mime4j/overlapping-boundaries.msg")
    assert message.full_body == "test...\n\nimportant stuff"
    assert message.defects == ()
    # Two more that lost a part: a QP text/html among plain parts, HTML before an image.
    assert (
        "¡This is a Quoted Printable encoded message!"
        in corpus("cpython-email/msg_10.txt").full_body
    )
    assert corpus("mail-parser/mail_test_14.eml").full_body == "HTML here\n\nPlaintext here."


def test_base64_stops_at_its_padding_and_a_cut_group_is_still_dropped():
    part = (
        "--B\r\nContent-Type: application/octet-stream; name=a.bin\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--B--\r\n"
    )
    for data, expected in (
        ("PGh0bWw+Cg==\r\n--B-->\r\nYWJj", b"<html>\n"),  # junk after the padding
        ("YWJj\r\nZGVmZ", b"abcdef"),  # a lone last character: whole groups only
    ):
        raw = raw_mail({"Content-Type": 'multipart/mixed; boundary="B"'}, part.format(data))
        [attachment] = parse_message(raw).attachments
        assert attachment.content == expected, data
