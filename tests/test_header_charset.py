"""Unlabelled 8-bit headers in a single-byte charset are read in that charset, and said so."""

import pytest

from tracker_mail_plugin.mail import parse_message


def _mail(charset: str, subject: str, name: str, body_charset: str | None = None) -> bytes:
    ctype = f"Content-Type: text/plain; charset={body_charset}\n" if body_charset else ""
    head = f"From: {name} <ivan@example.ru>\nSubject: {subject}\n{ctype}\n"
    return head.encode(charset) + "Текст письма\n".encode(body_charset or "utf-8")


@pytest.mark.parametrize("charset", ["koi8-r", "cp1251"])
def test_short_cyrillic_subject_and_name_are_read_in_the_bodys_charset(charset):
    message = parse_message(_mail(charset, "Привет", "Иван", body_charset=charset))
    assert (message.subject, message.from_.name) == ("Привет", "Иван")
    assert message.full_body == "Текст письма"
    assert any("raw 8-bit bytes and no charset" in d and charset in d for d in message.defects)


@pytest.mark.parametrize(("charset", "codec"), [("koi8-r", "koi8_r"), ("cp1251", "cp1251")])
def test_short_cyrillic_without_any_label_is_guessed(charset, codec):
    message = parse_message(_mail(charset, "Привет", "Иван"))
    assert (message.subject, message.from_.name) == ("Привет", "Иван")
    assert any(f"read as {codec}, guessed" in d for d in message.defects)


def test_long_header_text_goes_to_the_detector():
    subject = "Не работает принтер на втором этаже, помогите пожалуйста"
    message = parse_message(_mail("cp1251", subject, "Иван Петров"))
    assert message.subject == subject
    assert message.from_.name == "Иван Петров"


def test_latin1_headers_stay_as_before():
    raw = "From: Zoë <z@example.fr>\nSubject: Café crème\n\nhello\n".encode("latin-1")
    message = parse_message(raw)
    assert (message.subject, message.from_.name) == ("Café crème", "Zoë")


def test_utf8_headers_need_no_guess():
    raw = "From: Иван <i@example.ru>\nSubject: Привет\n\nhello\n".encode()
    message = parse_message(raw)
    assert message.subject == "Привет"
    assert message.defects == ()
