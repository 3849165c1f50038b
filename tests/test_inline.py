"""Inline images: the Content-ID reaches the upload, and references in text are rewritten."""

from __future__ import annotations

import base64

from tracker_mail_plugin import Upload
from tracker_mail_plugin.inline import inline_images
from tracker_mail_plugin.mail import parse_message
from tracker_mail_plugin.testing.mailfactory import multipart, part, raw_mail

CID = "image001.png@01DA1234.56789AB0"
SHOT = Upload.from_bytes("image001.png", b"\x89PNG", "image/png")
SHOT = Upload(SHOT.filename, SHOT.content_type, SHOT.size, SHOT.sha256, b"\x89PNG", CID)
LOG = Upload.from_bytes("crash.log", b"Traceback", "text/plain")


def textile(upload: Upload) -> str:
    return f"!{upload.filename}!"


def outlook_mail() -> bytes:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(20)).decode()
    html = part("Content-Type: text/html; charset=utf-8", f'<p>Look:<img src="cid:{CID}"></p>')
    image = part(
        'Content-Type: image/png; name="image001.png"\nContent-Transfer-Encoding: base64\n'
        f'Content-ID: <{CID}>\nContent-Disposition: inline; filename="image001.png"',
        png,
    )
    related_type, related = multipart("related", [html, image], boundary="REL")
    plain = part("Content-Type: text/plain; charset=utf-8", f"Look:[cid:{CID}] there")
    nested = f"Content-Type: {related_type}\r\n\r\n".encode() + related
    alternative_type, body = multipart("alternative", [plain, nested], boundary="ALT")
    return raw_mail({"Content-Type": alternative_type, "MIME-Version": "1.0"}, body)


def test_an_inline_images_content_id_reaches_its_upload():
    message = parse_message(outlook_mail())

    [attachment] = message.attachments
    upload = Upload.from_attachment(attachment)

    assert message.body == f"Look:[cid:{CID}] there"
    assert upload.content_id == CID
    assert Upload.from_bytes("x.txt", b"x").content_id is None


def test_each_form_a_mail_leaves_becomes_the_trackers_image():
    text = f"Outlook:[cid:{CID}]\nHTML: [image: image001.png]\nbare cid:{CID} end"

    assert inline_images(text, [LOG, SHOT], textile) == (
        "Outlook:!image001.png!\nHTML: !image001.png!\nbare !image001.png! end"
    )


def test_a_reference_no_upload_answers_stays_as_it_was():
    text = "[cid:other@x] [image: Chart] [image: crash.log] mail cid:other@x"

    assert inline_images(text, [LOG, SHOT], textile) == text
    assert inline_images(f"[cid:{CID}]", [LOG], textile) == f"[cid:{CID}]"


def test_an_image_name_two_uploads_could_answer_is_left_alone():
    twin = Upload(SHOT.filename, SHOT.content_type, SHOT.size, SHOT.sha256, b"\x89PNG", "b@y")

    assert inline_images("[image: image001.png]", [SHOT, twin], textile) == (
        "[image: image001.png]"
    )
    assert inline_images("[cid:b@y]", [SHOT, twin], lambda u: u.content_id or "") == ("b@y")
