"""A message the parser could not read still shows its sender and subject in status."""

from __future__ import annotations

from tracker_mail_plugin.mail import unparsed_message
from tracker_mail_plugin.mail.peek import HEAD_BYTES, VALUE_BYTES, peek


def test_the_first_from_and_subject_lines_are_decoded() -> None:
    raw = (
        b"Received: from x\r\nFrom: =?utf-8?q?J=C3=BCrgen?= <J@Example.COM>\r\n"
        b"Subject: =?utf-8?b?R3LDvMOfZQ==?= aus Berlin\r\nSubject: second\r\n\r\n"
        b"Subject: in the body\r\n"
    )
    sender, subject = peek(raw)
    assert sender is not None
    assert (sender.name, sender.address) == ("Jürgen", "j@example.com")
    assert subject == "Grüße aus Berlin"


def test_nothing_past_the_header_block_or_the_first_bytes_is_read() -> None:
    assert peek(b"X-A: 1\r\n\r\nFrom: body@example.com\r\nSubject: body\r\n") == (None, "")
    late = b"X-Pad: " + b"a" * HEAD_BYTES + b"\r\nSubject: too late\r\n\r\n"
    assert peek(late) == (None, "")


def test_a_huge_subject_is_cut_before_it_is_decoded() -> None:
    raw = b"Subject: " + b"=?utf-8?q?x?= " * 100_000 + b"\r\n\r\nbody"
    _, subject = peek(raw)
    assert 0 < len(subject) <= VALUE_BYTES


def test_an_unread_message_carries_what_was_peeked() -> None:
    message = unparsed_message(b"From: a@example.com\nSubject: stuck\n\nbody", "parsing hung")
    assert message.from_ is not None
    assert (message.from_.address, message.subject) == ("a@example.com", "stuck")
    assert message.body.endswith("body")
