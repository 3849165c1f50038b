import pytest

from tracker_mail_plugin.mail import quotes
from tracker_mail_plugin.mail.quotes import strip_quotes

NEW = "The printer on floor 3 is still broken."


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "gmail-en",
            f"{NEW}\n\nOn Mon, 2 Nov 2026 at 10:00, Bob <bob@example.com> wrote:\n> Did you restart it?\n> Bob",
        ),
        (
            "outlook-en",
            f"{NEW}\n\nFrom: Bob <bob@example.com>\nSent: Monday, November 2, 2026 10:00 AM\n"
            "To: Alice <alice@example.com>\nSubject: RE: Printer\n\nDid you restart it?",
        ),
        (
            "original-message",
            f"{NEW}\n\n-----Original Message-----\nFrom: Bob\nDid you restart it?",
        ),
        (
            "outlook-de",
            f"{NEW}\n\nVon: Bob <bob@example.com>\nGesendet: Montag, 2. November 2026 10:00\n"
            "An: Alice <alice@example.com>\nBetreff: AW: Drucker\n\nHaben Sie neu gestartet?",
        ),
        (
            "gmail-de",
            f"{NEW}\n\nAm Mo., 2. Nov. 2026 um 10:00 Uhr schrieb Bob <bob@example.com>:\n> Neu gestartet?",
        ),
        (
            "gmail-fr",
            f"{NEW}\n\nLe lun. 2 nov. 2026 à 10:00, Bob <bob@example.com> a écrit :\n> Redémarré ?",
        ),
        (
            "gmail-nl",
            f"{NEW}\n\nOp ma 2 nov. 2026 om 10:00 schreef Bob <bob@example.com>:\n> Herstart?",
        ),
        (
            "outlook-da",
            f"{NEW}\n\nFra: Bob <bob@example.com>\nSendt: 2. november 2026 10:00\nTil: Alice\nEmne: SV: Printer\n\nGenstart?",
        ),
        (
            "outlook-pl",
            f"{NEW}\n\nOd: Bob <bob@example.com>\nWysłano: poniedziałek, 2 listopada 2026 10:00\nDo: Alice\n"
            "Temat: RE: Drukarka\n\nRestart?",
        ),
        (
            "outlook-sv",
            f"{NEW}\n\nFrån: Bob <bob@example.com>\nSkickat: den 2 november 2026 10:00\nTill: Alice\n"
            "Ämne: SV: Skrivare\n\nOmstart?",
        ),
        (
            "gmail-pl",
            f"{NEW}\n\nW dniu pon., 2 lis 2026 o 10:00 Bob <bob@example.com> napisał(a):\n> Restart?",
        ),
        (
            "gmail-sv",
            f"{NEW}\n\nDen mån 2 nov. 2026 kl 10:00 skrev Bob <bob@example.com>:\n> Omstart?",
        ),
        (
            "gmail-es",
            f"{NEW}\n\nEl lun, 2 nov 2026 a las 10:00, Bob (<bob@example.com>) escribió:\n> ¿Reinicio?",
        ),
        (
            "gmail-ja",
            f"{NEW}\n\n2026年11月2日(月) 10:00 Bob <bob@example.com>:\n> 再起動しましたか？",
        ),
        ("signature", f"{NEW}\n\n-- \nAlice Example\nACME Ltd."),
        ("sent-from-phone", f"{NEW}\n\nSent from my iPhone"),
    ],
)
def test_quoted_history_and_signatures_are_removed(name, text):
    assert strip_quotes(text) == NEW


def test_indentation_of_the_reply_is_kept():
    text = "Output:\n\n    $ lpstat -p\n    printer idle\n\nOn Mon, 2 Nov 2026, Bob <b@example.com> wrote:\n> ok?"
    assert strip_quotes(text) == "Output:\n\n    $ lpstat -p\n    printer idle"


def test_dash_lists_are_not_taken_for_signatures():
    text = "Steps:\n- open the tray\n- pull the paper\n\nOn Mon, 2 Nov 2026, Bob <b@example.com> wrote:\n> ok?"
    assert strip_quotes(text) == "Steps:\n- open the tray\n- pull the paper"


def test_sentence_starting_like_a_sign_off_is_kept():
    text = "Hi,\n\nThanks, the new toner arrived but the printer still jams on every second page.\n\nBest regards,\nAlice"
    assert (
        strip_quotes(text)
        == "Hi,\n\nThanks, the new toner arrived but the printer still jams on every second page."
    )


@pytest.mark.parametrize(
    "text",
    [
        "> everything is quoted\n> nothing new",
        "On Mon, 2 Nov 2026 at 10:00, Bob <bob@example.com> wrote:\n> only a quote",
        "-- \nonly a signature",
    ],
)
def test_never_returns_empty_when_there_is_text(text):
    assert strip_quotes(text).strip()


def test_empty_stays_empty():
    assert strip_quotes("  \n ") == ""


@pytest.mark.parametrize(
    ("text", "suspect"),
    [
        ("Hello\nBest regards\nJane", (6, True)),  # a plain sign-off: cut without the library
        ("Best regards\nJane", (0, False)),  # the first line is never a sign-off
        ("Hello there\n" + "a" * 41 + ": x", (12, False)),  # a label up to 41 characters
        ("Hello there\n" + "a" * 42 + ": x", None),  # longer: text with a colon in it
        ("Text\nsee below :  \nmore", (5, False)),  # a line ending with a colon
        ("：\nx", (0, False)),
        ("Text\n> quoted", (5, False)),
        ("Text\n-- \nsig", (5, False)),
        ("Text\n  **Von:** x", (5, False)),
        ("Fine\nThanks, that fixed it for all of us in the office today\nJane", (5, False)),
        ("plain text only\nno markers", None),
    ],
)
def test_where_the_library_could_start_cutting(text: str, suspect: tuple[int, bool] | None) -> None:
    assert quotes._start_of_suspect_part(text) == suspect
