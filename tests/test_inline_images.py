"""``inline_images``: a mail's ``cid:`` placeholders in a tracker's own inline form."""

from email.message import EmailMessage

from tracker_mail_plugin import Upload, inline_images, parse_message

PNG = b"\x89PNG\r\n\x1a\n"


def shot(name="image001.png", cid="image001.png@01D9A1B2.C3D4E5F0", kind="image/png"):
    return (
        Upload("x", kind, 1, "0", PNG, cid)
        if name == "x"
        else Upload(name, kind, len(PNG), "0", PNG, cid)
    )


def bang(upload):
    return f"!{upload.filename}!"


def test_outlook_plain_text_placeholders_become_the_trackers_form():
    text = "See [cid:image001.png@01D9A1B2.C3D4E5F0] here, not [cid:other@x]."
    assert inline_images(text, [shot()], bang) == "See !image001.png! here, not [cid:other@x]."


def test_the_html_readings_name_by_content_id_or_file_name():
    uploads = [shot(), shot("chart.png", "part2@mail")]
    text = "[image: image001.png] and [image: part2] and [image: Logo]"
    assert inline_images(text, uploads, bang) == "!image001.png! and !chart.png! and [image: Logo]"


def test_two_files_of_one_name_are_not_guessed_and_escape_applies_between():
    uploads = [shot(cid="a@1"), shot(cid="b@2")]
    text = "<[image: image001.png]> [cid:b@2]"
    escaped = inline_images(text, uploads, bang, escape=lambda s: s.replace("<", "&lt;"))
    assert escaped == "&lt;[image: image001.png]> !image001.png!"


def test_without_content_ids_the_text_is_only_escaped():
    plain = Upload.from_bytes("a.png", PNG, "image/png")
    assert plain.content_id is None
    assert inline_images("[cid:a.png@x]", [plain], bang, escape=str.upper) == "[CID:A.PNG@X]"


def test_a_render_that_declines_keeps_the_placeholder():
    assert inline_images("[cid:image001.png@01D9A1B2.C3D4E5F0]", [shot()], lambda u: None) == (
        "[cid:image001.png@01D9A1B2.C3D4E5F0]"
    )


def test_a_parsed_mail_gives_its_uploads_their_content_ids():
    message = EmailMessage()
    message["From"] = "ann@example.com"
    message["Subject"] = "screenshot"
    message.set_content("Look: [cid:image001.png@01D9A1B2.C3D4E5F0]\n")
    message.add_related(
        PNG, maintype="image", subtype="png", cid="<image001.png@01D9A1B2.C3D4E5F0>",
        filename="image001.png",
    )  # fmt: skip
    parsed = parse_message(message.as_bytes())
    uploads = [Upload.from_attachment(a) for a in parsed.attachments]
    assert [(u.filename, u.content_id) for u in uploads] == [
        ("image001.png", "image001.png@01D9A1B2.C3D4E5F0")
    ]
    assert uploads[0] == Upload.from_bytes("image001.png", PNG, "image/png")  # ids do not compare
    assert inline_images(parsed.body, uploads, bang).startswith("Look: !image001.png!")
