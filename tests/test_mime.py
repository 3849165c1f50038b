import base64
import hashlib

from tests.mailfactory import multipart, part, raw_mail
from tracker_mail_plugin.mail import parse_message
from tracker_mail_plugin.mail.mime import parse_content_header


def mixed(*parts: bytes, subtype: str = "mixed") -> bytes:
    ctype, body = multipart(subtype, list(parts))
    return raw_mail({"MIME-Version": "1.0", "Content-Type": ctype}, body)


def b64_part(headers: str, content: bytes) -> bytes:
    return part(headers + "\nContent-Transfer-Encoding: base64", base64.encodebytes(content))


def test_attachment_bytes_are_kept_exactly():
    content = bytes(range(256)) * 41
    message = parse_message(
        mixed(
            part("Content-Type: text/plain", "see attached"),
            b64_part('Content-Type: application/octet-stream; name="dump.bin"', content),
        )
    )
    (attachment,) = message.attachments
    assert attachment.content == content
    assert attachment.size == len(content)
    assert attachment.sha256 == hashlib.sha256(content).hexdigest()
    assert message.body == "see attached"


def test_rfc2231_filename_with_continuations_and_charset():
    headers = (
        "Content-Type: application/pdf\n"
        "Content-Disposition: attachment;\n"
        " filename*0*=utf-8''Rechnung%20M%C3%A4rz;\n"
        " filename*1*=%20%E2%82%AC.pdf"
    )
    message = parse_message(mixed(b64_part(headers, b"%PDF-1.4")))
    assert message.attachments[0].filename == "Rechnung März €.pdf"


def test_rfc2047_encoded_filename_in_quotes():
    headers = 'Content-Type: image/png; name="=?UTF-8?B?0YTQvtGC0L4ucG5n?="'
    message = parse_message(mixed(b64_part(headers, b"\x89PNG")))
    assert message.attachments[0].filename == "фото.png"


def test_filename_with_path_and_control_characters_is_made_safe():
    headers = 'Content-Type: text/x-log\nContent-Disposition: attachment; filename="..\\\\..\\\\evil\x07.log"'
    message = parse_message(mixed(part(headers, "log line")))
    assert message.attachments[0].filename == "evil_.log"


def test_nameless_attachment_gets_a_name_from_its_type():
    message = parse_message(
        mixed(
            part("Content-Type: text/plain", "body"),
            b64_part("Content-Type: image/png", b"\x89PNG"),
        )
    )
    assert message.attachments[0].filename == "attachment-1.png"


def test_zero_byte_attachment_is_dropped_and_reported():
    message = parse_message(
        mixed(
            part("Content-Type: text/plain", "body"),
            part('Content-Type: application/pdf; name="empty.pdf"', ""),
        )
    )
    assert message.attachments == ()
    assert "dropped the empty attachment 'empty.pdf' (0 bytes)" in message.defects


def test_every_plain_part_joined_in_order_and_empty_ones_skipped():
    message = parse_message(
        mixed(
            part("Content-Type: text/plain", "first part"),
            part("Content-Type: text/plain", "   \r\n"),
            b64_part('Content-Type: application/pdf; name="a.pdf"', b"%PDF"),
            part(
                "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable",
                "second =E9",
            ),
        )
    )
    assert message.full_body == "first part\n\nsecond é"
    assert [a.filename for a in message.attachments] == ["a.pdf"]


def test_text_part_marked_as_attachment_stays_out_of_the_body():
    message = parse_message(
        mixed(
            part("Content-Type: text/plain", "the body"),
            part(
                "Content-Type: text/plain\nContent-Disposition: attachment; filename=notes.txt",
                "attached notes",
            ),
        )
    )
    assert message.full_body == "the body"
    assert message.attachments[0].filename == "notes.txt"
    assert message.attachments[0].content == b"attached notes"


def test_alternative_prefers_plain_text():
    message = parse_message(
        mixed(
            part("Content-Type: text/plain; charset=utf-8", "plain version"),
            part("Content-Type: text/html; charset=utf-8", "<p>html version</p>"),
            subtype="alternative",
        )
    )
    assert message.full_body == "plain version"


def test_empty_plain_part_falls_back_to_html():
    message = parse_message(
        mixed(
            part("Content-Type: text/plain", "\r\n"),
            part("Content-Type: text/html", "<p>only the <b>html</b> has text</p>"),
            subtype="alternative",
        )
    )
    assert message.full_body == "only the **html** has text"


def test_inline_image_with_content_id():
    inner_type, inner = multipart(
        "related",
        [
            part(
                "Content-Type: text/html", '<p>Logo: <img src="cid:logo@x" alt="Company logo"></p>'
            ),
            b64_part(
                'Content-Type: image/png; name="logo.png"\nContent-ID: <logo@x>', b"\x89PNG\r\n"
            ),
        ],
        boundary="REL",
    )
    message = parse_message(raw_mail({"Content-Type": inner_type}, inner))
    (image,) = message.attachments
    assert (image.filename, image.inline, image.content_id) == ("logo.png", True, "logo@x")
    assert message.full_body == "Logo: [image: Company logo]"


def test_forwarded_message_is_kept_as_eml_named_after_its_subject():
    inner = b"From: carol@example.com\r\nSubject: Original problem\r\n\r\nIt broke.\r\n"
    message = parse_message(
        mixed(part("Content-Type: text/plain", "FYI"), part("Content-Type: message/rfc822", inner))
    )
    (eml,) = message.attachments
    assert eml.filename == "Original problem.eml"
    assert eml.content_type == "message/rfc822"
    assert eml.content == inner
    assert message.full_body == "FYI"  # the forwarded text is not mixed into the body


def test_missing_final_boundary_keeps_the_last_part():
    raw = raw_mail(
        {"Content-Type": 'multipart/mixed; boundary="B"'},
        b"--B\r\nContent-Type: text/plain\r\n\r\ntruncated mail\r\n",
    )
    message = parse_message(raw)
    assert message.full_body == "truncated mail"
    assert any("not closed by its final boundary" in d for d in message.defects)


def test_multipart_without_boundary_is_read_as_text():
    message = parse_message(raw_mail({"Content-Type": "multipart/mixed"}, "just text"))
    assert message.full_body == "just text"
    assert any("without a boundary" in d for d in message.defects)


def test_boundary_text_inside_a_line_does_not_split():
    raw = raw_mail(
        {"Content-Type": 'multipart/mixed; boundary="B"'},
        b"--B\r\nContent-Type: text/plain\r\n\r\nsee --B in the middle\r\n--B--\r\n",
    )
    assert parse_message(raw).full_body == "see --B in the middle"


def test_damaged_base64_is_decoded_as_far_as_possible():
    headers = "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64"
    message = parse_message(mixed(part(headers, b"SGVsbG8gd29ybGQ*!")))
    assert message.full_body.startswith("Hello wor")
    assert any("base64" in d for d in message.defects)


def test_deep_nesting_is_cut_off_without_recursion_error():
    body = b""
    for depth in range(200):
        body += (
            f'--B{depth}\r\nContent-Type: multipart/mixed; boundary="B{depth + 1}"\r\n\r\n'.encode()
        )
    raw = raw_mail({"Content-Type": 'multipart/mixed; boundary="B0"'}, body)
    message = parse_message(raw)
    assert any("nesting deeper" in d for d in message.defects)


def test_format_flowed_is_unwrapped():
    headers = "Content-Type: text/plain; charset=utf-8; format=flowed"
    body = "This is a long line that was \r\nwrapped by the client.\r\n> quoted and \r\n> wrapped\r\n-- \r\nsig"
    message = parse_message(raw_mail({"Content-Type": headers.split(": ", 1)[1]}, body))
    assert (
        message.full_body
        == "This is a long line that was wrapped by the client.\n> quoted and wrapped\n-- \nsig"
    )


def test_single_part_message_with_no_content_type_is_plain_text():
    message = parse_message(b"Subject: bare\r\n\r\nLine one\r\nLine two\r\n")
    assert message.full_body == "Line one\nLine two"
    assert message.from_ is None


def test_message_without_blank_line_is_all_headers():
    message = parse_message(b"Subject: only headers\r\nFrom: a@example.com")
    assert message.subject == "only headers"
    assert message.full_body == ""
    assert message.body == ""


def test_smime_signature_is_kept_as_attachment():
    signed_type, signed = multipart(
        "signed",
        [
            part("Content-Type: text/plain", "signed text"),
            b64_part('Content-Type: application/pkcs7-signature; name="smime.p7s"', b"0\x82\x01"),
        ],
        boundary="SIG",
    )
    message = parse_message(
        raw_mail({"Content-Type": signed_type + '; protocol="application/pkcs7-signature"'}, signed)
    )
    assert message.full_body == "signed text"
    assert [(a.filename, a.content_type) for a in message.attachments] == [
        ("smime.p7s", "application/pkcs7-signature")
    ]


def test_nul_bytes_are_removed_from_text():
    message = parse_message(raw_mail({}, b"null\x00byte"))
    assert message.full_body == "nullbyte"


def test_quoted_parameters_lose_their_quotes_and_escapes() -> None:
    ctype, params = parse_content_header(
        b'Application/PDF; name="a\\"b\\\\c.pdf"; charset="utf-8"; x=plain; X=again', []
    )
    assert ctype == "application/pdf"
    assert params == {"name": 'a"b\\c.pdf', "charset": "utf-8", "x": "plain"}
