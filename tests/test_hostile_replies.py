"""Reply extraction on hostile shapes: every one is read in time linear in its size.

Each shape targets one of the line tests of reply extraction (quotes between answers,
header labels, attributions, separators, phone sign-offs) at a size where anything
quadratic would take minutes; what is asserted is what the body keeps. As in
``test_hostile_mail.py``, no time is asserted: a regression shows as a slow test.
"""

from tests import hostile
from tracker_mail_plugin.mail import parse_message

SIZE = 200_000


def body_of(text: str) -> tuple[str, str]:
    message = parse_message(hostile._mail(b"Subject: hostile\r\n", text.encode()))
    assert not any("the parser failed" in d for d in message.defects), message.defects
    return message.body, message.full_body


def test_thousands_of_answers_between_quotes_are_all_kept():
    pairs = SIZE // 30
    text = "".join(f"> question {n}\nanswer {n}\n" for n in range(pairs))
    body, _ = body_of(text)
    assert body.count("answer") == pairs
    assert "question" not in body


def test_a_mail_of_only_quoted_lines_keeps_its_text():
    body, full_body = body_of(">\n> >\n" * (SIZE // 6))
    assert body.strip()
    assert full_body.count(">") > SIZE // 4


def test_an_endless_attribution_line_is_kept_as_text():
    line = "On " + "a " * (SIZE // 2) + "wrote:"
    body, _ = body_of(f"New text.\n\n{line}\nmore new text\n")
    assert body.startswith("New text.")
    assert "more new text" in body


def test_thousands_of_header_labels_cut_at_the_first_block():
    block = "From: Bob <bob@example.com>\nSent: Monday\nTo: Alice\nSubject: x\n"
    body, _ = body_of("The new text.\n\n" + block * (SIZE // len(block)))
    assert body == "The new text."


def test_thousands_of_sender_labels():
    # None opens a header block (that needs two other labels below the sender); the reply
    # library then cuts at the first "From:" line, as it always did.
    body, full_body = body_of("Hello.\n" + "From: x\n" * (SIZE // 8))
    assert body == "Hello."
    assert full_body.count("From: x") == SIZE // 8


def test_a_huge_separator_line_and_runs_of_dashes_are_read_quickly():
    body, _ = body_of("Fixed.\n\n" + "-" * SIZE + "Original Message" + "-" * 5 + "\nold\n")
    assert body.startswith("Fixed.")


def test_thousands_of_phone_sign_offs_are_all_dropped():
    body, _ = body_of("It works.\n\n" + "Sent from my iPhone\n" * (SIZE // 20))
    assert body == "It works."


def test_thousands_of_attributions_over_blank_lines():
    text = "Hi.\n" + "On 2 Nov 2026 Bob <b@example.com> wrote:\n\n\n" * (SIZE // 45) + "> q\nend\n"
    body, _ = body_of(text)
    assert body.startswith("Hi.")


def test_a_contact_block_of_thousands_of_lines_is_cut_only_after_text():
    lines = "Tel: +44 113 496 0000\n" * (SIZE // 22)
    body, _ = body_of(f"Please call me.\n\nJim Smith\n{lines}")
    assert body == "Please call me."
