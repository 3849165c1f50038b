"""Hostile mail found by attacking the parser from outside: each shape is bounded, kept, said.

Every test here failed before its fix: by the product's own time budget (a generous 10 s
where the fixed code needs milliseconds and the old one took from 30 s to hours), or by a
count (candidates, attributes) that was unbounded. The shapes are in ``tests/hostile.py``;
``benchmarks/hostile.py`` measures how their cost grows.
"""

import base64
from pathlib import Path

import pytest

from tests import hostile
from tests.mailfactory import raw_mail
from tracker_mail_plugin.mail import RefKind, parse_message
from tracker_mail_plugin.mail import attachments as attachments_module
from tracker_mail_plugin.mail.html import html_to_text
from tracker_mail_plugin.mail.html_tags import MAX_ATTRIBUTES, cap_attributes
from tracker_mail_plugin.mail.references import MAX_IDS, MAX_SUBJECT, id_references
from tracker_mail_plugin.mail.tnef_check import MAX_OBJECTS, tnef_problem
from tracker_mail_plugin.pipeline.budget import time_budget

GENEROUS = 10.0  # seconds; the fixed code needs milliseconds for each message below


def parsed(raw):
    with time_budget(GENEROUS, "parsing a hostile message"):
        message = parse_message(raw)
    assert not any("the parser failed" in d for d in message.defects), message.defects
    return message


# --- MIME parameters ---------------------------------------------------------------------


def test_a_long_word_in_a_part_header_is_read_in_linear_time():
    message = parsed(hostile.part_header_word(60_000))
    assert message.body == "café"  # the charset before the word still applies


def test_parameters_around_long_runs_of_spaces_are_still_read():
    ctype = "text/plain;" + " " * 60_000 + "charset=iso-8859-1;" + " \t" * 20_000 + "x"
    raw = raw_mail({"Content-Type": ctype, "Content-Transfer-Encoding": "8bit"}, "x")
    message = parsed(raw.replace(b"\r\n\r\nx", b"\r\n\r\ncaf\xe9"))
    assert message.body == "café"


# --- issue references --------------------------------------------------------------------


def test_thousands_of_subject_references_are_cut_to_the_bound_and_said():
    message = parsed(hostile.subject_numbers(60_000))
    numbers = [r.number for r in message.reference_candidates if r.kind is RefKind.NUMBER]
    assert numbers == list(range(MAX_SUBJECT))
    assert any(f"only the first {MAX_SUBJECT} are looked up" in d for d in message.defects)


def test_more_specific_forms_still_claim_their_span():
    subject = "[Support - Bug #7] " * 50 + "#8 ABC-9"
    message = parsed(raw_mail({"Subject": subject}))
    kinds = [r.kind for r in message.reference_candidates]
    assert kinds == [RefKind.TRACKER_TAG] * MAX_SUBJECT
    assert not [r for r in message.reference_candidates if r.number == 8]


def test_a_long_references_header_keeps_the_nearest_ids_and_the_thread_root():
    ids = tuple(f"m{n}@example.com" for n in range(3000))
    defects: list[str] = []
    found = [c.text for c in id_references("reply@example.com", ids, defects)]
    assert len(found) == MAX_IDS
    assert found[:3] == ["reply@example.com", "m2999@example.com", "m2998@example.com"]
    assert found[-1] == "m0@example.com"
    assert "only the nearest 99 and the first are looked up" in defects[0]
    assert id_references(None, ids[:MAX_IDS]) == id_references(None, ids[:MAX_IDS], [])


def test_a_message_with_many_references_says_so():
    refs = " ".join(f"<m{n}@example.com>" for n in range(500))
    message = parsed(raw_mail({"References": refs, "In-Reply-To": "<m499@example.com>"}))
    assert len(message.reference_candidates) == MAX_IDS
    assert len(message.references) == 500  # the header itself is kept whole
    assert any("In-Reply-To and References name 500 messages" in d for d in message.defects)


# --- HTML attributes ---------------------------------------------------------------------


def test_a_tag_with_a_million_bytes_of_attributes_is_parsed_in_linear_time():
    message = parsed(hostile.html_attributes(1_000_000))
    assert message.full_body == "before\n\ninside"
    assert any(f"more than {MAX_ATTRIBUTES} attributes" in d for d in message.defects)


@pytest.mark.parametrize(
    "separator",
    [" ", "/", "\n", '="1"', "='x>y' "],
    ids=["space", "slash", "newline", "quoted", "gt"],
)
def test_every_way_of_writing_many_attributes_is_cut(separator):
    names = separator.join(f"a{n}" for n in range(MAX_ATTRIBUTES * 5))
    markup = "<p>" + "filler " * 4000 + f"</p><div {names}>inside</div><p>after</p>"
    defects: list[str] = []
    capped = cap_attributes(markup, defects)
    assert capped.endswith("<div>inside</div><p>after</p>")
    assert defects == [f"1 HTML tags with more than {MAX_ATTRIBUTES} attributes: their "
                       "attributes were left out"]  # fmt: skip


def test_ordinary_long_tags_and_short_markup_are_left_alone():
    picture = '<img alt="x" src="data:image/png;base64,' + "A" * 100_000 + '"><p>text</p>'
    styled = "<p " + " ".join(f'data-x{n}="<b {n}>"' for n in range(MAX_ATTRIBUTES)) + ">t</p>"
    crowded = "<p " + " ".join(f"a{n}" for n in range(MAX_ATTRIBUTES * 2)) + ">t</p>"
    for markup in (picture, styled * 50, crowded):  # crowded: short, cheap for libxml2
        defects: list[str] = []
        assert cap_attributes(markup, defects) == markup
        assert defects == []
    assert html_to_text(picture) == "[image: x]\n\ntext"


# --- format=flowed -----------------------------------------------------------------------


def test_a_flowed_paragraph_of_800_000_lines_is_joined_in_linear_time():
    message = parsed(hostile.flowed_paragraph(4_800_000))
    assert message.full_body.startswith("new\n> a a a")
    assert message.full_body.count("a") == 800_000


# --- winmail.dat -------------------------------------------------------------------------


def test_a_lying_property_count_keeps_winmail_dat_whole():
    message = parsed(hostile.tnef_property_count(100))
    assert [a.filename for a in message.attachments] == ["winmail.dat"]
    assert message.body == "see attached"
    assert any("winmail.dat claims 4,294,967,280 properties" in d for d in message.defects)


def test_a_winmail_dat_of_tiny_objects_is_kept_whole():
    message = parsed(hostile.tnef_objects(1_000_000))
    assert [a.filename for a in message.attachments] == ["winmail.dat"]
    assert any("too many small parts to unpack" in d for d in message.defects)


def test_the_object_bound_is_above_what_real_files_hold():
    small = hostile.tnef([(1, 0x8008, b"")] * 100)
    assert tnef_problem(small) is None
    assert "too many" in str(tnef_problem(hostile.tnef([(1, 0x8008, b"")] * (MAX_OBJECTS + 2))))
    real = base64.b64decode(
        (Path(__file__).parent / "corpora/tnef/rtf-body-winmail.dat.b64").read_bytes()
    )
    assert tnef_problem(real) is None


def test_an_rtf_body_past_the_bound_keeps_winmail_dat_whole(monkeypatch):
    real = base64.b64decode(
        (Path(__file__).parent / "corpora/tnef/rtf-body-winmail.dat.b64").read_bytes()
    )
    read = parsed(hostile.winmail(real))
    assert read.attachments == ()
    assert "the body was read from the RTF inside winmail.dat" in read.defects
    monkeypatch.setattr(attachments_module, "MAX_COMPRESSED_RTF", 1000)
    message = parsed(hostile.winmail(real))
    assert [a.filename for a in message.attachments] == ["winmail.dat"]
    assert message.attachments[0].size == len(real)
    assert any("larger than 0 MiB compressed" in d for d in message.defects)


# --- quote stripping ---------------------------------------------------------------------


def test_a_line_of_sixteen_million_spaces_before_a_quote_is_read_in_linear_time():
    body = "The new text.\n" + " " * 16_000_000 + "\nRegards,\nBob\n> quoted"
    message = parsed(raw_mail({}, body))
    assert message.body.startswith("The new text.")
    assert "quoted" not in message.body
