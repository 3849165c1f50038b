import pytest

from tests.mailfactory import multipart, part, raw_mail
from tracker_mail_plugin.mail import LOOP_HEADER, Automated, parse_message


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Auto-Submitted": "auto-replied"}, Automated.AUTO_REPLIED),
        ({"Auto-Submitted": 'Auto-Replied; owner-email="x@example.com"'}, Automated.AUTO_REPLIED),
        ({"Auto-Submitted": "auto-generated (warning-timeout)"}, Automated.AUTO_GENERATED),
        ({"Auto-Submitted": "auto-notified"}, Automated.AUTO_GENERATED),
        ({"X-Autoreply": "yes"}, Automated.AUTO_REPLIED),
        ({"X-Autorespond": "Out of office"}, Automated.AUTO_REPLIED),
        ({"Precedence": "auto_reply"}, Automated.AUTO_REPLIED),
        ({"Precedence": "bulk"}, Automated.BULK),
        ({"Precedence": "junk"}, Automated.BULK),
        ({"Precedence": "list"}, Automated.BULK),
        ({"List-Id": "<dev.lists.example.com>"}, Automated.BULK),
        ({"List-Unsubscribe": "<mailto:leave@example.com>"}, Automated.BULK),
        ({LOOP_HEADER: "support@example.com"}, Automated.LOOP),
        ({"Return-Path": "<>", "From": "MAILER-DAEMON@mx.example.com"}, Automated.BOUNCE),
        ({"X-Failed-Recipients": "gone@example.com"}, Automated.BOUNCE),
        # A person's mail: these must NOT be automated.
        ({"Auto-Submitted": "no"}, None),
        ({"X-Auto-Response-Suppress": "All"}, None),
        ({"X-Auto-Response-Suppress": "DR, RN, NRN, OOF, AutoReply"}, None),
        # RFC 5321 sends only notifications with an empty return path (the product list too).
        ({"Return-Path": "<>"}, Automated.AUTO_REPLIED),
        ({"Precedence": "first-class"}, None),
        ({}, None),
    ],
)
def test_automated_class(headers, expected):
    assert parse_message(raw_mail(headers)).automated == expected


def test_loop_wins_over_auto_reply():
    raw = raw_mail({LOOP_HEADER: "1", "Auto-Submitted": "auto-replied", "List-Id": "<x>"})
    assert parse_message(raw).automated is Automated.LOOP


def test_delivery_status_report_is_a_bounce():
    ctype, body = multipart(
        "report",
        [
            part("Content-Type: text/plain", "Delivery failed."),
            part(
                "Content-Type: message/delivery-status",
                "Reporting-MTA: dns; mx.example.com\r\n\r\nAction: failed",
            ),
        ],
    )
    raw = raw_mail(
        {"Content-Type": ctype + "; report-type=delivery-status", "From": "postmaster@example.com"},
        body,
    )
    message = parse_message(raw)
    assert message.automated is Automated.BOUNCE
    assert message.full_body == "Delivery failed."
