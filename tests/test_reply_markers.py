"""Header blocks, separators, forwards and attributions in the languages the README names."""

import pytest

from tracker_mail_plugin.mail.quotes import strip_quotes

NEW = "Done."
OLD = "The old message."


@pytest.mark.parametrize(
    "block",
    [
        "From: Bob\nSent: Monday\nTo: Alice\nSubject: x",
        "**From:** Bob\n**Sent:** Monday\n**To:** Alice\n**Subject:** x",
        "Von: Bob\nGesendet: Montag\nAn: Alice\nBetreff: x",
        "De : Bob <mailto:bob@example.com>\nEnvoyé : lundi\nÀ : Alice\nObjet : x",
        "De\u00a0: Bob\nEnvoyé\u00a0: lundi\nÀ\u00a0: Alice\nObjet\u00a0: x",
        "De: Bob\nEnviado el: lunes\nPara: Alice\nAsunto: x",
        "De: Bob\nEnviada em: segunda-feira\nPara: Alice\nAssunto: x",
        "Da: Bob\nInviato: lunedì\nA: Alice\nOggetto: x",
        "Van: Bob\nVerzonden: maandag\nAan: Alice\nOnderwerp: x",
        "Fra: Bob\nSendt: mandag\nTil: Alice\nEmne: x",
        "Från: Bob\nSkickat: måndag\nTill: Alice\nÄmne: x",
        "Od: Bob\nWysłano: poniedziałek\nDo: Alice\nTemat: x",
        "Od: Bob\nOdesláno: pondělí\nKomu: Alice\nPředmět: x",
        "Feladó: Bob\nElküldve: hétfő\nCímzett: Alice\nTárgy: x",
        "Lähettäjä: Bob\nLähetetty: maanantai\nVastaanottaja: Alice\nAihe: x",
        "Kimden: Bob\nGönderildi: Pazartesi\nKime: Alice\nKonu: x",
        "От: Bob\nОтправлено: понедельник\nКому: Alice\nТема: x",
        "差出人: Bob\n送信日時: 2026年11月2日\n宛先: Alice\n件名: x",
        "发件人: Bob\n发送时间: 2026年11月2日\n收件人: Alice\n主题: x",
        "보낸 사람: Bob\n날짜: 2026\n받는 사람: Alice\n제목: x",
        "Message du : 02/11/2026 10:00\nDe : Bob\nA : Alice\nObjet : x",
        "From:\tBob Smith/ACME@ACME\nTo:\tAlice\nDate:\t02.11.2026\nSubject:\tx",
    ],
)
def test_header_blocks_cut_the_history(block):
    assert strip_quotes(f"{NEW}\n\n{block}\n\n{OLD}") == NEW


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "-----Reply Message-----",
        "----- Original Message -----",
        "-----Ursprüngliche Nachricht-----",
        "-----Message d'origine-----",
        "----- Mensaje original -----",
        "-----Messaggio originale-----",
        "-----Oorspronkelijk bericht-----",
        "-----Исходное сообщение-----",
    ],
)
def test_separators_cut_the_history(separator):
    assert strip_quotes(f"{NEW}\n\n{separator}\n{OLD}") == NEW


def test_a_line_of_underscores_alone_cuts_nothing():
    text = f"{NEW}\n\n________________________________\n\nMore of my text."
    assert strip_quotes(text).endswith("More of my text.")


@pytest.mark.parametrize(
    "marker",
    [
        "---------- Forwarded message ---------",
        "Begin forwarded message:",
        "-------- Weitergeleitete Nachricht --------",
        "Anfang der weitergeleiteten Nachricht:",
        "-------- Message transféré --------",
        "Début du message réexpédié :",
        "---------- Messaggio inoltrato ----------",
        "---------- Mensaje reenviado ---------",
        "-------- Пересылаемое сообщение --------",
    ],
)
def test_a_forward_stays_whole(marker):
    forward = f"{marker}\nFrom: Bob <bob@example.com>\nDate: Mon, 2 Nov 2026\nSubject: x\nTo: Alice\n\n{OLD}"
    assert strip_quotes(f"Please see below.\n\n{forward}") == f"Please see below.\n\n{forward}"


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, 2 Nov 2026 at 10:00, Bob <bob@example.com> wrote:",
        "Le lun. 2 nov. 2026 à 10:00, Bob <bob@example.com> a écrit :",
        "Il giorno lun 2 nov 2026 alle ore 10:00 Bob <bob@example.com> ha scritto:",
        "Em seg., 2 de nov. de 2026 às 10:00, Bob <bob@example.com> escreveu:",
        "2 нояб. 2026 г., в 10:00, пользователь Bob <bob@example.com> написал:",
        "пн, 2 нояб. 2026 г. в 10:00, Bob <bob@example.com>:",
        "ma 2. marrask. 2026 klo 10.00 Bob (bob@example.com) kirjoitti:",
        "2026. nov. 2., h 10:00 időpontban Bob <bob@example.com> ezt írta:",
        "Bob <bob@example.com> 于2026年11月2日周一 10:00写道：",
        "Am 02.11.2026 um 10:00 schrieb\nBob <bob@example.com>:",
        "Le 2 nov. 2026 à 10:00, Bob <bob@example.com\n> a écrit :",
    ],
)
def test_attributions_and_their_quotes_go(attribution):
    assert strip_quotes(f"{NEW}\n\n{attribution}\n\n> {OLD}\n") == NEW


def test_a_sentence_ending_in_wrote_is_text():
    text = "Here is what the vendor wrote:\n\nThe firmware 2.1 fixes it."
    assert strip_quotes(text) == text


def test_interleaved_answers_stay_and_questions_go():
    text = (
        "Hi,\n\nOn Mon, 2 Nov 2026, Bob <b@example.com> wrote:\n> Model?\n\nHP 4050.\n\n"
        "> Since when?\n\nMonday.\n"
    )
    assert strip_quotes(text) == "Hi,\n\nHP 4050.\n\nMonday."


def test_bottom_posted_answer_stays():
    text = "Bob <b@example.com> wrote:\n> Model?\n\nAn HP 4050, on floor 3."
    assert strip_quotes(text) == "An HP 4050, on floor 3."


@pytest.mark.parametrize(
    "text",
    [
        "Questions from the call:\n\nQ: restart?\nA: yes\nQ: firmware?\nA: 2.1\nQ: cable?\nA: new",
        "In the 2.1 release notes the vendor wrote:\n\nFixes the paper jam on tray 2.",
        "Thanks.\n\nIn the 2.1 release notes the vendor wrote:\n\nFixes the paper jam on tray 2.",
        "Спасибо.\n\nВ 2024 году поставщик написал:\n\nОшибка исправлена в версии 2.1.",
        "It still fails.\n\nServer IP\n10.20.4.17",
        "It still fails.\n\nThe logs are here:\nhttps://files.example.com/logs.zip",
        "It still fails.\n\nPlease call Jim Smith\n+44 113 496 0000",
    ],
)
def test_text_that_looks_like_history_or_a_signature_stays(text):
    assert strip_quotes(text) == text


def test_a_table_at_the_end_is_not_a_signature():
    # An HTML table turned into text ends many Outlook mails; its rows have bars and digits.
    text = "The numbers:\n\n| item | count |\n| --- | --- |\n| toner | 5234 |\n| paper | 4586 |"
    assert strip_quotes(text) == text


def test_a_lone_surrogate_from_an_undecodable_byte_is_read():
    text = "Caf\udce9 is open.\n\nFrom: Bob\nSent: Monday\nTo: Alice\nSubject: x\n\nold"
    assert strip_quotes(text) == "Caf\ufffd is open."
