import datetime as dt
import email.utils
import itertools

import pytest

from tests.mailfactory import raw_mail
from tracker_mail_plugin.mail import Address, headers, parse_message


def test_subject_encoded_words_are_decoded_and_unfolded():
    raw = raw_mail(
        {"Subject": "=?ISO-8859-1?Q?Caf=E9_cr=E8me?=\r\n =?ISO-8859-1?Q?_br=FBl=E9e?= ist da  "}
    )
    assert parse_message(raw).subject == "Café crème brûlée ist da"


def test_multibyte_character_split_across_two_encoded_words():
    # "日本" in UTF-8 is e6 97 a5 e6 9c ac; the split falls inside the second character.
    raw = raw_mail({"Subject": "=?UTF-8?B?5pel5g==?=\r\n =?UTF-8?B?nKw=?="})
    assert parse_message(raw).subject == "日本"


def test_iso_2022_jp_subject():
    import base64

    word = base64.b64encode("会議の件".encode("iso2022_jp")).decode()
    assert parse_message(raw_mail({"Subject": f"=?ISO-2022-JP?B?{word}?="})).subject == "会議の件"


def test_raw_utf8_header_bytes_are_accepted():
    raw = raw_mail({"Subject": "Grüße"})
    message = parse_message(raw)
    assert message.subject == "Grüße"
    assert message.defects == ()


def test_folded_plain_subject_is_joined_with_one_space():
    raw = raw_mail({"Subject": "A long subject\r\n\tthat was folded"})
    assert parse_message(raw).subject == "A long subject that was folded"


def test_addresses_are_lower_cased_and_idna_decoded():
    raw = raw_mail(
        {
            "From": '"Müller, Hans" <Hans.Mueller@XN--MNCHEN-3YA.Example>',
            "To": "=?utf-8?q?J=C3=BCrgen?= <jurgen@Example.COM>, bob@example.org",
            "Cc": "Support <support+billing@example.com>",
            "Reply-To": "noreply@example.net",
        }
    )
    message = parse_message(raw)
    assert message.from_ == Address("Müller, Hans", "hans.mueller@münchen.example")
    assert message.to == (Address("Jürgen", "jurgen@example.com"), Address("", "bob@example.org"))
    assert message.cc == (Address("Support", "support+billing@example.com"),)
    assert message.reply_to == (Address("", "noreply@example.net"),)


@pytest.mark.parametrize(
    "value",
    ["(c):", "undisclosed-recipients:;", '"broken <', ",,,", "Bob <bob@example.com>,"],
)
def test_hostile_address_headers_never_raise(value):
    message = parse_message(raw_mail({"To": value}))
    assert all("@" in a.address for a in message.to)


def test_address_that_python_cannot_parse_is_still_found():
    message = parse_message(raw_mail({"From": "Bob Smith bob@example.com (at work"}))
    assert message.from_ is not None
    assert message.from_.address == "bob@example.com"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<Abc.123@Mail.Example.COM>", "Abc.123@Mail.Example.COM"),
        ("<[abc-def]@microsoft.com>", "[abc-def]@microsoft.com"),
        ("  <spaced @ example.com >  ", "spaced@example.com"),
        ("no-brackets@example.com", "no-brackets@example.com"),
    ],
)
def test_message_id_is_normalised(value, expected):
    assert parse_message(raw_mail({"Message-ID": value})).message_id == expected


def test_missing_message_id_is_synthesised_from_the_bytes():
    raw = raw_mail([("Message-ID", "")])
    message = parse_message(raw)
    assert message.message_id == f"sha256-{message.sha256}@tracker-mail.invalid"
    assert message.message_id_synthesised
    assert parse_message(raw).message_id == message.message_id  # stable across runs


def test_in_reply_to_and_references():
    raw = raw_mail(
        {
            "In-Reply-To": "<b@example.com> (Bob's message of Monday)",
            "References": "<a@example.com>\r\n <B@Example.com> <a@example.com>",
        }
    )
    message = parse_message(raw)
    assert message.in_reply_to == "b@example.com"
    assert message.references == ("a@example.com", "B@Example.com")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon, 2 Nov 2026 10:00:00 +0100", dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)),
        ("Mon, 2 Nov 2026 10:00:00 +0100 (CET)", dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)),
        ("2 Nov 2026 10:00 GMT", dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)),
        ("Mon, 2 Nov 2026 10:00:00 -0000", dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)),
        ("2026-11-02T10:00:00+01:00", dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)),
        ("Monday, 2 Nov 2026 10:00:00 +0100", dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)),
    ],
)
def test_dates_are_read_tolerantly(value, expected):
    date = parse_message(raw_mail({"Date": value})).date
    assert date == expected
    assert date.tzinfo is not None


def test_unreadable_date_is_a_defect_not_an_error():
    message = parse_message(raw_mail({"Date": "last Tuesday, probably"}))
    assert message.date is None
    assert any("unreadable Date header" in d for d in message.defects)


def test_repeated_headers_are_kept_in_order():
    raw = raw_mail(
        [("Received", "from a"), ("Received", "from b"), ("X-Tag", "=?utf-8?q?caf=C3=A9?=")]
    )
    message = parse_message(raw)
    assert message.header_all("received") == ("from a", "from b")
    assert message.header("X-TAG") == "café"
    assert message.header("X-Missing") is None


def test_garbage_header_line_is_skipped_and_reported():
    raw = b"From: a@example.com\r\nthis is not a header\r\nSubject: still read\r\n\r\nbody"
    message = parse_message(raw)
    assert message.subject == "still read"
    assert any("not 'Name: value'" in d for d in message.defects)


def _stdlib_date(value: str) -> dt.datetime | None:
    """How a Date is read without the fast path for the common form."""
    parts = email.utils.parsedate_tz(value)
    if not parts:
        return None
    offset = parts[9]
    zone = dt.UTC if offset is None else dt.timezone(dt.timedelta(seconds=offset))
    try:
        return dt.datetime(*parts[:6], tzinfo=zone)  # type: ignore[misc]
    except ValueError:
        return None


def test_common_date_form_is_read_as_the_stdlib_reads_it() -> None:
    days = ("0", "1", "09", "28", "29", "30", "31", "32")
    months = ("Jan", "Feb", "Apr", "Dec")
    years = ("1000", "1999", "2024", "2023", "9999")
    times = ("00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "07:05:09")
    zones = ("+0000", "-0000", "+0530", "-0800", "+2359", "-2359", "+0100", "-0001")
    checked = 0
    for day, month, year, time, zone in itertools.product(days, months, years, times, zones):
        value = f"Tue, {day} {month} {year} {time} {zone}"
        assert headers._COMMON_DATE.fullmatch(value), value
        assert headers._try_rfc_date(value) == _stdlib_date(value), value
        found = headers.parse_date(value, [])
        if found is not None:
            assert found.utcoffset() == (_stdlib_date(value) or found).utcoffset()
        checked += 1
    assert checked > 1000


def test_other_date_forms_still_go_to_the_stdlib_parser() -> None:
    for value in (
        "Tue, 2 Jan 2024 10:00:00 GMT",
        "2 Jan 24 10:00 +0100",
        "Tue, 2 Jan 2024 10:00:00 +9900",
    ):
        assert headers._COMMON_DATE.fullmatch(value) is None
    assert headers.parse_date("2 Jan 24 10:00 +0100", []) == dt.datetime(
        2024, 1, 2, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))
    )
