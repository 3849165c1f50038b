"""Automated mail recognised by what it says, without giving up a person's mail.

The corpus (tests/corpora/automated, with attribution) holds real delivery reports of several
MTAs and providers, auto-replies in many languages, read receipts, a spam complaint, and
people's mail that quotes or forwards bounces.
"""

from pathlib import Path

import pytest

from tests.mailfactory import raw_mail
from tracker_mail_plugin.mail import Automated, parse_message
from tracker_mail_plugin.mail.machine_text import BODY_LINES, bounce_wording

CORPUS = Path(__file__).parent / "corpora" / "automated"
EXPECTED = [tuple(line.split("\t")) for line in (CORPUS / "expected.tsv").read_text().splitlines()]


@pytest.mark.parametrize(("name", "expected"), EXPECTED)
def test_corpus_message_is_classified_as_labelled(name, expected):
    message = parse_message((CORPUS / name).read_bytes())
    assert (message.automated.value if message.automated else "none") == expected


def test_corpus_has_every_kind():
    kinds = {expected for _, expected in EXPECTED}
    assert kinds == {"bounce", "auto_replied", "auto_generated", "none"}


def _daemon_mail(body: str, subject: str = "Notice") -> bytes:
    return raw_mail({"From": "MAILER-DAEMON@mx.example.org", "Subject": subject}, body)


def test_bounce_wording_from_a_daemon_without_report_headers():
    raw = _daemon_mail("Hi. This is the qmail-send program at mx.example.org.\nGone.\n")
    assert parse_message(raw).automated is Automated.BOUNCE


def test_a_daemon_sender_alone_is_not_a_bounce():
    # A postmaster may write to support like anyone else.
    raw = _daemon_mail("Please reset the password of the shared mailbox.\n")
    assert parse_message(raw).automated is None


def test_bounce_quoted_by_a_person_is_not_a_bounce():
    body = "It bounced:\n> This is the mail system at host mx.example.org.\n> Gone.\n"
    raw = raw_mail({"Subject": "Undelivered Mail Returned to Sender"}, body)
    assert parse_message(raw).automated is None


def test_bounce_forwarded_by_a_person_is_not_a_bounce():
    body = (
        "See below.\n\n---------- Forwarded message ---------\n"
        "This message was created automatically by mail delivery software.\n"
    )
    raw = raw_mail({"Subject": "Mail delivery failed: returning message to sender"}, body)
    assert parse_message(raw).automated is None


def test_bounce_subject_and_wording_from_an_unusual_sender():
    body = "This message was created automatically by mail delivery software.\n"
    raw = raw_mail({"Subject": "Mail delivery failed: returning message to sender"}, body)
    assert parse_message(raw).automated is Automated.BOUNCE


def test_wording_is_read_only_at_the_top_of_the_body():
    filler = "".join(f"line {n}\n" for n in range(BODY_LINES + 5))
    assert not bounce_wording(filler + "This is the mail system at host x.\n")
    assert bounce_wording("This is the mail system at host x.\n" + filler)


@pytest.mark.parametrize(
    "subject",
    [
        "Re: Automatic reply: printer",
        "Fwd: Out of Office: printer",
        "Out of office rota 2027",
        "Auto: Termin in der Werkstatt",
        "AW: Abwesenheitsnotiz: Drucker",
    ],
)
def test_a_person_naming_an_auto_reply_in_the_subject_is_not_one(subject):
    assert parse_message(raw_mail({"Subject": subject}, "Who covers?\n")).automated is None


def test_out_of_office_in_the_text_is_not_an_auto_reply():
    body = "I am out of the office next week.\nAutomatic reply: that is what Jane's said.\n"
    assert parse_message(raw_mail({}, body)).automated is None


def test_auto_reply_with_precedence_bulk_is_an_auto_reply_not_list_mail():
    headers = {"Subject": "Automatic reply: printer", "Precedence": "bulk"}
    assert parse_message(raw_mail(headers)).automated is Automated.AUTO_REPLIED


def test_null_return_path_with_bounce_wording_is_a_bounce():
    body = "Your message could not be delivered to gone@example.com.\n"
    raw = raw_mail({"Return-Path": "<>", "Subject": "Notice"}, body)
    assert parse_message(raw).automated is Automated.BOUNCE


def test_a_huge_subject_is_read_in_bounded_time():
    # The subject is cut before matching, and the patterns have no nested repetition.
    subject = "Automatic " * 20_000
    assert parse_message(raw_mail({"Subject": subject})).automated is None
