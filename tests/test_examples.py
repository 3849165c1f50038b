# Field-by-field tests of the bundled sample messages in examples/.
#
# Every expected value below is what the message itself says (the text, names and bytes that
# were written into the .eml), never a copy of the parser's output. Attachment bytes come from
# the original payloads: literals for the small text files and the PNG, and for the PDF and the
# forwarded message an independent reference decode (Python's email package / the raw bytes).
#
# Two tolerances, both deliberate:
# * trailing whitespace at the very end of body/full_body is ignored (RFC 2046 gives the line
#   break before a boundary to the boundary, so whether the text "ends with a newline" is moot);
# * a closing formula ("Kind regards,\nName", "Viele Grüße\nBernd", ...) may be counted as
#   part of the signature or as part of the new text: `signoff` names those trailing lines and
#   the body may end either with or without them. Everything else in `body` is exact.
from __future__ import annotations

import base64
import datetime as dt
import email
import hashlib
import re
from dataclasses import dataclass
from email import policy
from pathlib import Path

import pytest

from tests.example_replies import REPLY_EXAMPLES, case_fields
from tracker_mail_plugin.mail import Address, Automated, RefKind, parse_message

EXAMPLES = Path(__file__).parent.parent / "examples"

SUPPORT = Address("Harbourview IT Support", "support@example.com")
SUPPORT_BARE = Address("", "support@example.com")
PRIYA = Address("Priya Raman", "priya.raman@brightwater.example.org")
GRACE = Address("Grace Adeyemi", "grace.adeyemi@meridian.example.net")


def _tz(hours: int) -> dt.timezone:
    return dt.timezone(dt.timedelta(hours=hours))


# --------------------------------------------------------------------------------------------
# The texts exactly as written into the examples (line endings "\n").

TEXT_01 = """\
Hello,

since this morning the label printer in warehouse B only prints blank
labels. What we tried so far:

- replaced the label roll
- power-cycled the printer
- printed a test page from the driver (also blank)

The printer is on 10.20.4.17 and shows no error on its display. Could
someone have a look today? We have 140 parcels waiting to go out.

Cheers
Priya
"""

TEXT_03 = """\
Hello,

we are hiring twelve people in January and need laptops for them. Could you
send us a quote for:

* 12 x 14" laptop, 16 GB RAM, 512 GB SSD
* 12 x USB-C docking station
* 3 years on-site warranty

Delivery to our Leeds office by 8 January 2027 at the latest.

Thank you,
Marco

Marco Bianchi
Procurement, Kestrel Engineering Ltd
"""

TEXT_04 = """\
Здравствуйте!

После вчерашнего обновления VPN-клиент не подключается к серверу.
Появляется ошибка «Сертификат сервера недействителен».

Ноутбук: инвентарный номер HV-2231, Windows 11.

С уважением,
Анна Смирнова
бухгалтерия
"""

TEXT_05 = """\
Bonjour,

La facture n° 2026-1187 du 1er décembre mentionne la référence
« HV-ZX-4410 » au lieu de « HV-ZX-4401 ». Pourriez-vous nous envoyer
une facture corrigée ?

Merci d'avance et bonne journée,

Renée Lefèvre
Atelier Lumière, comptabilité
"""

TEXT_06 = """\
ハーバービュー株式会社
サポートご担当者様

いつもお世話になっております。
11月分の請求書を紛失してしまいました。
お手数ですが、再発行をお願いできますでしょうか。

よろしくお願いいたします。
山田 花子
"""

TEXT_07 = """\
Hallo zusammen,

der Drucker im Büro 3.07 zeigt „Papierstau in Fach 2“, obwohl kein Papier
festhängt. Wir haben alle Klappen geöffnet und geprüft – ohne Erfolg.
Fehlercode laut Display: E-52 (siehe Handbuch S. 114, „Sensorfehler“).

Grüße aus Köln
Jörg
"""

NEW_08 = """\
Guten Morgen,

anbei der Prüfbericht der Klimaanlage im Serverraum und die aktuellen
Zählerstände. Die Wartung ist abgeschlossen, es wurden keine Mängel
festgestellt."""
TEXT_08 = NEW_08 + "\n\n-- \nKatrin Brandt\nKältetechnik Nord GmbH\n"

TEXT_09 = """\
Hi team,

could you put our new logo on the ticket portal login page? Here it is:

[cid:image001.png@01DD4F1A.2B6C8E90]

The colours must not be changed.

Grace Adeyemi
Meridian Facilities
"""

TEXT_10 = """\
FYI: the courier says nobody was at the loading dock on Wednesday. Can
we open a ticket for the dock door camera? It seems to have been offline
that afternoon.

Omar
"""

NEW_11 = """\
Hi Alice,

thanks, the new PDF opens fine in the viewer and in the browser. You can
close the ticket.

Bob"""
TEXT_11 = (
    NEW_11
    + """

On Mon, 2 Nov 2026 at 10:00, Alice Moreau <alice@example.com> wrote:

> Hi Bob,
>
> I have re-generated invoice 2026-1187 and attached it again. Could you
> check whether it opens now?
>
> Alice
> --
> Alice Moreau
> Harbourview IT Support
>
"""
)

NEW_12 = """\
Hi Lena,

I have re-issued your token; please try again in ten minutes. If it still
fails, send me a screenshot of the error message.

Tom Okafor
IT Operations, Harbourview"""
TEXT_12 = (
    NEW_12
    + """

-----Original Message-----
From: Lena Fischer <lena.fischer@kestrel.example.net>
Sent: Tuesday, November 3, 2026 8:12 AM
To: Harbourview IT Support <support@example.com>
Subject: VPN token expired

Hello,

my VPN token expired over the weekend and I cannot log in from home.
Could you renew it?

Lena
"""
)

NEW_13 = """\
Hallo Herr Groß,

vielen Dank für die schnelle Hilfe. Nach dem Neustart läuft die Kasse
wieder, das Ticket kann geschlossen werden.

Mit freundlichen Grüßen
Sabine Müller
Bäckerei Müller"""
TEXT_13 = (
    NEW_13
    + """

________________________________
Von: Jürgen Groß <juergen.gross@example.com>
Gesendet: Montag, 2. November 2026 15:42
An: Sabine Müller <Sabine.Mueller@bäckerei-müller.example.org>
Cc: Harbourview IT Support <support@example.com>
Betreff: Kassensystem startet nicht

Hallo Frau Müller,

bitte halten Sie den Einschaltknopf der Kasse zehn Sekunden lang gedrückt
und starten Sie sie danach neu. Melden Sie sich, falls das nicht hilft.

Viele Grüße
Jürgen Groß
Harbourview IT Support
"""
)

NEW_14 = """\
Hallo Lena,

das Update hat funktioniert, der Scanner schickt die Dokumente wieder an
die Sammeladresse. Danke für die Hilfe!

Viele Grüße
Bernd"""
TEXT_14 = (
    NEW_14
    + """

Am Mo., 2. Nov. 2026 um 14:05 Uhr schrieb Lena Vogel <lena@example.com>:

> Hallo Bernd,
>
> ich habe eben ein Firmware-Update auf den Scanner gespielt. Kannst du
> bitte noch einmal einen Testscan an scan@example.net schicken?
>
> Viele Grüße
> Lena
"""
)

TEXT_15 = """\
Thank you for your message. I am out of the office until Monday,
16 November 2026, with limited access to e-mail.

For urgent matters in the warehouse please contact Tom Okafor
(tom.okafor@brightwater.example.org, +44 113 496 0731).
"""

TEXT_16 = """\
This is the mail system at host mx1.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<no-such-user@brightwater.example.org>: host
    mail.brightwater.example.org[198.51.100.23] said: 550 5.1.1
    <no-such-user@brightwater.example.org>: Recipient address rejected: User
    unknown in virtual mailbox table (in reply to RCPT TO command)
"""

NEW_17 = """\
Hi all,

after upgrading to 4.2 our CSV import rejects files that use semicolons
as separators. The same file imports fine with 4.1.3. Error message:

    ImportError: expected ',' in line 1, found ';'

Is this a known regression? I could not find an issue for it."""
FOOTER_17 = """\
_______________________________________________
widgets-users mailing list -- widgets-users@lists.example.org
To unsubscribe send an email to widgets-users-leave@lists.example.org
"""
# Two inline text/plain parts (the author's, then the list footer), joined by one blank line.
TEXT_17 = NEW_17 + "\n\n-- \nHannah Lee\nData team, Example Net" + "\n\n" + FOOTER_17

TEXT_18 = """\
Hi,

please find attached the meter readings for October and the notes from
Tuesday's meeting.

Grace Adeyemi
Meridian Facilities
"""

NEW_19 = """\
The fire is out, but the printer still smells of smoke and we do not want
to switch it on again. Please send someone to collect it; it is in room
3.12 next to the kitchen.

Priya"""
TEXT_19 = (
    NEW_19
    + """

On 01/11/2026 13:00, Redmine wrote:
> Issue #42 has been reported by Alice Moreau.
>
> ----------------------------------------
> Bug #42: Printer on fire
> https://redmine.example.com/issues/42
>
> * Author: Alice Moreau
> * Status: New
> * Priority: Urgent
> * Assignee: Support team
> * Category: Hardware
> ----------------------------------------
> Customer called: flames coming out of the printer in room 3.12. Fire
> brigade has been informed.
>
>
> --
> You have received this notification because you have either subscribed
> to it, or are involved in it.
> To change your notification preferences, please click here:
> https://redmine.example.com/my/account
"""
)

TEXT_20 = """\
Hi,

since pull request example-org/webshop#12 was merged this morning, every
checkout ends with HTTP 500. I have added the stack trace to OPS-1234.
Rolling back to the previous build fixes it.

Kenji
"""

TEXT_21 = """\
Hello,

the "forgot password" link on the portal sends me an e-mail, but the link
in that e-mail says "token expired" even when I click it right away.

Olga Petrova
"""

# --------------------------------------------------------------------------------------------
# Attachment payloads as they were encoded into the examples.

CSV_08 = (
    "Datum;Zähler;Stand kWh\r\n2026-10-01;Serverraum;48213,4\r\n2026-11-01;Serverraum;49870,9\r\n"
).encode()
PNG_09 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAALElEQVR42mP438PA0NCABQExdjkIhUUOzkKXQ+a"
    "gyKGZgJDDtBYqh9WtQDkAoKZEWQolsFIAAAAASUVORK5CYII="
)
TNEF_CSV_18 = (
    "Zähler;Stand 01.10.2026;Stand 31.10.2026;Verbrauch kWh\r\n"
    "Halle 1;120345;128911;8566\r\n"
    "Halle 2;98012;101230;3218\r\n"
    "Büro;40177;41020;843\r\n"
).encode()
TNEF_TXT_18 = (
    b"Facilities meeting, Tuesday 10 November 2026\r\n"
    b"\r\n"
    b"1. Dock door camera was offline on 4 November; Harbourview to check the switch port.\r\n"
    b"2. New badge readers for hall 2 ordered, delivery in week 48.\r\n"
    b"3. Next meter reading on 1 December.\r\n"
)
PDF_08_NAME = "Prüfbericht Klimaanlage – Serverraum Köln (Oktober 2026).pdf"
EML_10_NAME = "Missed pickup on 4 November.eml"

REDMINE_42 = "redmine.issue-42.20261101120000.1@redmine.example.com"


@dataclass(frozen=True)
class Case:
    subject: str
    from_: Address | None
    date: dt.datetime | None
    message_id: str | None  # None: the message has no Message-ID, one must be synthesised
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    full_body: str | None = None  # None: checked by a dedicated test (HTML conversion)
    body: str | None = None
    signoff: str = ""  # trailing lines of `body` that may count as signature
    # (filename, content_type, inline, content_id) in MIME order
    attachments: tuple[tuple[str, str, bool, str | None], ...] | None = ()
    automated: Automated | None = None
    # (kind, text, number, project, tracker) found in the subject, in order of appearance
    subject_refs: tuple[tuple[RefKind, str, int | None, str | None, str | None], ...] = ()


CASES: dict[str, Case] = {
    "01-plain.eml": Case(
        subject="Label printer in warehouse B prints blank labels",
        from_=PRIYA,
        to=(SUPPORT,),
        cc=(Address("Tom Okafor", "tom.okafor@brightwater.example.org"),),
        date=dt.datetime(2026, 11, 2, 8, 14, 27, tzinfo=_tz(1)),
        message_id="6b1f0c2e-93d4-4a7e-b8f1-2d5c9e0a7f31@brightwater.example.org",
        full_body=TEXT_01,
        body=TEXT_01,
        signoff="Cheers\nPriya",
    ),
    "02-html-outlook.eml": Case(
        subject="Scanner on 2nd floor not sending to e-mail",
        from_=Address("Whitfield, Dana", "dana.whitfield@brightwater.example.org"),
        to=(SUPPORT,),
        date=dt.datetime(2026, 11, 2, 9, 3, 51, tzinfo=dt.UTC),
        message_id="DB9PR04MB8422C1E4F0A3B7D95E2F6A18C4E12@DB9PR04MB8422.eurprd04.prod.example.org",
    ),
    "03-alternative.eml": Case(
        subject="Quote request: 12 laptops for new starters",
        from_=Address("Marco Bianchi", "marco.bianchi@kestrel.example.net"),
        to=(Address("", "sales@example.com"), Address("Omar Haddad", "omar.haddad@example.com")),
        reply_to=(Address("Kestrel Procurement", "procurement@kestrel.example.net"),),
        date=dt.datetime(2026, 11, 2, 11, 26, 40, tzinfo=_tz(1)),
        message_id="3F9B2C7E-1A4D-4E8B-9C6F-5D2A7B1E0C93@kestrel.example.net",
        full_body=TEXT_03,
        body=TEXT_03,
        signoff="Thank you,\nMarco\n\nMarco Bianchi\nProcurement, Kestrel Engineering Ltd",
    ),
    "04-subject-utf8-base64.eml": Case(
        subject="Не работает VPN после обновления",
        from_=Address("Анна Смирнова", "a.smirnova@example.org"),
        to=(SUPPORT_BARE,),
        date=dt.datetime(2026, 11, 3, 9, 41, 5, tzinfo=_tz(3)),
        message_id="1793688065.481927.7734@webmail.example.org",
        full_body=TEXT_04,
        body=TEXT_04,
        signoff="С уважением,\nАнна Смирнова\nбухгалтерия",
    ),
    "05-subject-latin1-qp.eml": Case(
        subject="Problème de facturation : référence erronée sur la facture de décembre",
        from_=Address("Renée Lefèvre", "renee.lefevre@atelier-lumiere.example.net"),
        to=(Address("Service facturation", "facturation@example.com"),),
        date=dt.datetime(2026, 12, 3, 16, 2, 33, tzinfo=_tz(1)),
        message_id="000a01dd63e5$8c2f1a40$a48d4ec0$@atelier-lumiere.example.net",
        full_body=TEXT_05,
        body=TEXT_05,
        signoff="Merci d'avance et bonne journée,\n\nRenée Lefèvre\nAtelier Lumière, comptabilité",
    ),
    "06-subject-iso2022jp.eml": Case(
        subject="請求書の再発行について",
        from_=Address("山田 花子", "hanako.yamada@sakura-shoji.example.net"),
        to=(SUPPORT_BARE,),
        date=dt.datetime(2026, 11, 4, 10, 15, 0, tzinfo=_tz(9)),
        message_id="20261104101500.7F3A.B1C2D3E4@sakura-shoji.example.net",
        full_body=TEXT_06,
        body=TEXT_06,
        signoff="よろしくお願いいたします。\n山田 花子",
    ),
    "07-8bit-no-charset.eml": Case(
        subject="Drucker meldet Papierstau, obwohl keiner da ist",
        from_=Address("Jörg Weiß", "joerg.weiss@example.org"),
        to=(SUPPORT_BARE,),
        date=dt.datetime(2026, 11, 4, 13, 37, 12, tzinfo=_tz(1)),
        message_id="20261104123712.GA31337@werkstatt.example.org",
        full_body=TEXT_07,
        body=TEXT_07,
        signoff="Grüße aus Köln\nJörg",
    ),
    "08-attachments-rfc2231.eml": Case(
        subject="Prüfbericht Klimaanlage und Zählerstände",
        from_=Address("Katrin Brandt", "k.brandt@kaeltetechnik-nord.example.net"),
        to=(SUPPORT,),
        date=dt.datetime(2026, 11, 5, 7, 58, 44, tzinfo=_tz(1)),
        message_id="e2a7c4d1-5b8f-4c3e-a9d6-7f1b0e2c8a45@kaeltetechnik-nord.example.net",
        full_body=TEXT_08,
        body=NEW_08,
        attachments=(
            (PDF_08_NAME, "application/pdf", False, None),
            ("Zählerstände 2026.csv", "text/csv", False, None),
        ),
    ),
    "09-inline-image.eml": Case(
        subject="New logo for the ticket portal",
        from_=GRACE,
        to=(SUPPORT,),
        date=dt.datetime(2026, 11, 5, 14, 20, 9, tzinfo=dt.UTC),
        message_id="LO2P265MB5120E4A1C3B79D26F5A8E0C1B3D4A@LO2P265MB5120.GBRP265.prod.example.net",
        full_body=TEXT_09,
        body=TEXT_09,
        signoff="Grace Adeyemi\nMeridian Facilities",
        attachments=(("image001.png", "image/png", True, "image001.png@01DD4F1A.2B6C8E90"),),
    ),
    "10-forwarded-rfc822.eml": Case(
        subject="Fwd: Missed pickup on 4 November",
        from_=Address("Omar Haddad", "omar.haddad@example.com"),
        to=(SUPPORT,),
        date=dt.datetime(2026, 11, 6, 9, 12, 55, tzinfo=_tz(1)),
        message_id="a9c3e5f7-2b4d-4f6a-8c1e-3d5b7f9a1c2e@example.com",
        full_body=TEXT_10,
        body=TEXT_10,
        signoff="Omar",
        attachments=((EML_10_NAME, "message/rfc822", False, None),),
    ),
    "11-reply-gmail.eml": Case(
        subject="Re: Broken invoice PDF (ticket #5521)",
        from_=Address("Bob Jensen", "bob.jensen@example.net"),
        to=(Address("Alice Moreau", "alice@example.com"),),
        cc=(SUPPORT_BARE,),
        date=dt.datetime(2026, 11, 2, 10, 32, 18, tzinfo=dt.UTC),
        message_id="CAK4sT9wF7nJ2xQ8mR3yT6vL1cH5gB9dE0aW4kP7oU2iS8zN6rA@mail.example.net",
        in_reply_to="5f2c8e1a-7d3b-4c9f-a6e4-1b8d0f3c7a52@example.com",
        references=(
            "CAK4sT9wD2mH8xP5qL1zR7vN3bJ6fY0cE9aU4gI2oW8tS5kM3nQ@mail.example.net",
            "5f2c8e1a-7d3b-4c9f-a6e4-1b8d0f3c7a52@example.com",
        ),
        full_body=TEXT_11,
        body=NEW_11,
        signoff="Bob",
        subject_refs=((RefKind.NUMBER, "#5521", 5521, None, None),),
    ),
    "12-reply-outlook.eml": Case(
        subject="RE: VPN token expired",
        from_=Address("Tom Okafor", "tom.okafor@example.com"),
        to=(Address("Lena Fischer", "lena.fischer@kestrel.example.net"),),
        cc=(SUPPORT,),
        date=dt.datetime(2026, 11, 3, 9, 5, 31, tzinfo=dt.UTC),
        message_id="PAXPR02MB7310B5E6A9C1D24F07E3A8D5C1F2B@PAXPR02MB7310.eurprd02.prod.example.com",
        in_reply_to="VI1PR08MB5482A7C3E9D1F04B26C8E5A3D9B7F@VI1PR08MB5482.eurprd08.prod.example.net",
        references=(
            "VI1PR08MB5482A7C3E9D1F04B26C8E5A3D9B7F@VI1PR08MB5482.eurprd08.prod.example.net",
        ),
        full_body=TEXT_12,
        body=NEW_12,
        signoff="Tom Okafor\nIT Operations, Harbourview",
    ),
    "13-reply-german-outlook.eml": Case(
        subject="AW: Kassensystem startet nicht",
        from_=Address("Sabine Müller", "sabine.mueller@bäckerei-müller.example.org"),
        to=(Address("Jürgen Groß", "juergen.gross@example.com"),),
        cc=(SUPPORT,),
        date=dt.datetime(2026, 11, 2, 16, 10, 2, tzinfo=_tz(1)),
        message_id="FR3P281MB2174D0B8E6A4C39F15B7E2A6D8C0F@FR3P281MB2174.DEUP281.prod.example.org",
        in_reply_to="5e8b1d3f-9a2c-4f7e-b6d1-0c4a8e2f7b93@example.com",
        references=("5e8b1d3f-9a2c-4f7e-b6d1-0c4a8e2f7b93@example.com",),
        full_body=TEXT_13,
        body=NEW_13,
        signoff="Mit freundlichen Grüßen\nSabine Müller\nBäckerei Müller",
    ),
    "14-reply-german-gmail.eml": Case(
        subject="Re: Scanner sendet keine E-Mails mehr",
        from_=Address("Bernd Köhler", "bernd.koehler@example.net"),
        to=(Address("Lena Vogel", "lena@example.com"),),
        date=dt.datetime(2026, 11, 2, 15, 20, 47, tzinfo=_tz(1)),
        message_id="CAM7qR3xB8vN1pK5wT2zL9hD4fJ6sY0gE3aU7cI1oX5mV8nQ2tW@mail.example.net",
        in_reply_to="9d4a2f7c-1e6b-4c8d-b3a5-7f0e2c9d1b64@example.com",
        references=("9d4a2f7c-1e6b-4c8d-b3a5-7f0e2c9d1b64@example.com",),
        full_body=TEXT_14,
        body=NEW_14,
        signoff="Viele Grüße\nBernd",
    ),
    "15-auto-reply.eml": Case(
        subject=(
            "Automatic reply: [Support - Bug #57] Label printer in warehouse B prints blank labels"
        ),
        from_=PRIYA,
        to=(SUPPORT,),
        date=dt.datetime(2026, 11, 10, 8, 0, 3, tzinfo=_tz(1)),
        message_id="AM9PR06MB7763F1A0B4C82E9D35A6F7C0E2B1D@AM9PR06MB7763.eurprd06.prod.example.org",
        in_reply_to="redmine.journal-318.20261110065958.3@redmine.example.com",
        references=("redmine.journal-318.20261110065958.3@redmine.example.com",),
        full_body=TEXT_15,
        body=TEXT_15,
        automated=Automated.AUTO_REPLIED,
        subject_refs=((RefKind.TRACKER_TAG, "[Support - Bug #57]", 57, "Support", "Bug"),),
    ),
    "16-bounce-dsn.eml": Case(
        subject="Undelivered Mail Returned to Sender",
        from_=Address("Mail Delivery System", "mailer-daemon@mx1.example.com"),
        to=(SUPPORT_BARE,),
        date=dt.datetime(2026, 11, 10, 8, 1, 15, tzinfo=_tz(1)),
        message_id="20261110070115.4QmT0r6Vn5z9sS8@mx1.example.com",
        full_body=TEXT_16,
        body=TEXT_16,
        attachments=None,  # the report parts: see test_bounce_report_parts_stay_out_of_the_body
        automated=Automated.BOUNCE,
    ),
    "17-mailing-list.eml": Case(
        subject="[widgets-users] Release 4.2 breaks CSV import with semicolons",
        from_=Address("Hannah Lee", "hannah.lee@example.net"),
        to=(Address("", "widgets-users@lists.example.org"),),
        date=dt.datetime(2026, 11, 11, 18, 44, 21, tzinfo=_tz(-5)),
        message_id="8e3b1f6a-2c9d-4a7e-b5f0-1d6c3a9e7b24@example.net",
        full_body=TEXT_17,
        body=NEW_17,
        automated=Automated.BULK,
    ),
    "18-winmail-tnef.eml": Case(
        subject="Meter readings for October",
        from_=GRACE,
        to=(SUPPORT,),
        date=dt.datetime(2026, 11, 12, 11, 30, 0, tzinfo=dt.UTC),
        message_id="LO2P265MB5120A7D3C1E94B28F6A0D5E7C3B9F@LO2P265MB5120.GBRP265.prod.example.net",
        full_body=TEXT_18,
        body=TEXT_18,
        signoff="Grace Adeyemi\nMeridian Facilities",
        attachments=(
            ("Zählerstände Oktober.csv", "text/csv", False, None),
            ("meeting-notes.txt", "text/plain", False, None),
        ),
    ),
    "19-redmine-reply.eml": Case(
        subject="Re: [Support - Bug #42] Printer on fire",
        from_=PRIYA,
        to=(Address("Harbourview Redmine", "redmine@example.com"),),
        date=dt.datetime(2026, 11, 1, 13, 47, 9, tzinfo=_tz(1)),
        message_id="d4f7a2c9-8e1b-4b3a-9c5d-6e2f0a8b7c13@brightwater.example.org",
        in_reply_to=REDMINE_42,
        references=(REDMINE_42,),
        full_body=TEXT_19,
        body=NEW_19,
        signoff="Priya",
        subject_refs=((RefKind.TRACKER_TAG, "[Support - Bug #42]", 42, "Support", "Bug"),),
    ),
    "20-jira-github-subject.eml": Case(
        subject="OPS-1234: checkout returns 500 since example-org/webshop#12 was merged",
        from_=Address("Kenji Watanabe", "kenji.watanabe@example.net"),
        to=(SUPPORT,),
        date=dt.datetime(2026, 11, 13, 17, 5, 42, tzinfo=_tz(9)),
        message_id="87h6t2qz4x.fsf@kenji.example.net",
        full_body=TEXT_20,
        body=TEXT_20,
        signoff="Kenji",
        subject_refs=(
            (RefKind.JIRA_KEY, "OPS-1234", 1234, "OPS", None),
            (RefKind.GITHUB, "example-org/webshop#12", 12, "example-org/webshop", None),
        ),
    ),
    "21-no-message-id-broken-date.eml": Case(
        subject="Password reset does not work",
        from_=Address("Olga Petrova", "olga.petrova@example.org"),
        to=(SUPPORT_BARE,),
        date=None,  # "Thu, 31 Nov 2026 25:61:00 +0100" names no real moment
        message_id=None,
        full_body=TEXT_21,
        body=TEXT_21,
        signoff="Olga Petrova",
    ),
}
CASES.update({name: Case(**case_fields(name)) for name in REPLY_EXAMPLES})
NAMES = sorted(CASES)


def _raw(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def _parsed(name: str):
    return parse_message(_raw(name))


def _cases(attribute: str) -> list[str]:
    return [name for name in NAMES if getattr(CASES[name], attribute) is not None]


def test_every_example_has_expectations_and_a_readme_line():
    files = sorted(p.name for p in EXAMPLES.glob("*.eml"))
    assert files == NAMES
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for name in files:
        assert f"`{name}`" in readme


# --------------------------------------------------------------------------------------------
# Headers


@pytest.mark.parametrize("name", NAMES)
def test_subject(name):
    assert _parsed(name).subject == CASES[name].subject


@pytest.mark.parametrize("name", NAMES)
def test_from(name):
    assert _parsed(name).from_ == CASES[name].from_


@pytest.mark.parametrize("name", NAMES)
def test_to_cc_and_reply_to(name):
    message, case = _parsed(name), CASES[name]
    assert (message.to, message.cc, message.reply_to) == (case.to, case.cc, case.reply_to)


@pytest.mark.parametrize("name", NAMES)
def test_message_id(name):
    message, case = _parsed(name), CASES[name]
    if case.message_id is None:
        digest = hashlib.sha256(_raw(name)).hexdigest()
        assert message.message_id == f"sha256-{digest}@tracker-mail.invalid"
        assert message.message_id_synthesised is True
    else:
        assert message.message_id == case.message_id
        assert message.message_id_synthesised is False


@pytest.mark.parametrize("name", NAMES)
def test_date(name):
    message, case = _parsed(name), CASES[name]
    if case.date is None:
        assert message.date is None
    else:
        assert message.date is not None
        assert message.date.tzinfo is not None
        assert message.date == case.date


@pytest.mark.parametrize("name", NAMES)
def test_in_reply_to_and_references(name):
    message, case = _parsed(name), CASES[name]
    assert (message.in_reply_to, message.references) == (case.in_reply_to, case.references)


@pytest.mark.parametrize(
    ("name", "header", "value"),
    [
        ("02-html-outlook.eml", "X-MS-Has-Attach", ""),
        ("04-subject-utf8-base64.eml", "Subject", "Не работает VPN после обновления"),
        ("05-subject-latin1-qp.eml", "X-Mailer", "Microsoft Outlook 16.0"),
        ("06-subject-iso2022jp.eml", "Subject", "請求書の再発行について"),
        ("07-8bit-no-charset.eml", "User-Agent", "ticket-cli/0.3"),
        ("15-auto-reply.eml", "Auto-Submitted", "auto-replied"),
        ("15-auto-reply.eml", "X-Autoreply", "yes"),
        (
            "15-auto-reply.eml",
            "Thread-Topic",
            "[Support - Bug #57] Label printer in warehouse B prints blank labels",
        ),
        ("16-bounce-dsn.eml", "Return-Path", "<>"),
        ("17-mailing-list.eml", "List-Id", "Widgets users <widgets-users.lists.example.org>"),
        ("17-mailing-list.eml", "Precedence", "list"),
        (
            "17-mailing-list.eml",
            "List-Unsubscribe",
            "<mailto:widgets-users-leave@lists.example.org>",
        ),
    ],
)
def test_decoded_header_value(name, header, value):
    assert _parsed(name).header(header) == value


def test_repeated_header_keeps_every_value_in_order():
    assert _parsed("17-mailing-list.eml").header_all("List-Archive") == (
        "<https://lists.example.org/archives/list/widgets-users@lists.example.org/message/"
        "7QZK3V5XW2LJ4NOPR6TB2Y3S5UFHGDIE/>",
        "<https://lists.example.org/archives/list/widgets-users@lists.example.org/>",
    )


@pytest.mark.parametrize("name", NAMES)
def test_size_and_sha256_of_the_raw_message(name):
    raw, message = _raw(name), _parsed(name)
    assert (message.size, message.sha256) == (len(raw), hashlib.sha256(raw).hexdigest())


def test_broken_date_is_reported_as_a_defect():
    defects = _parsed("21-no-message-id-broken-date.eml").defects
    assert any("date" in defect.lower() for defect in defects), defects


# --------------------------------------------------------------------------------------------
# Bodies


@pytest.mark.parametrize("name", _cases("full_body"))
def test_full_body(name):
    assert _parsed(name).full_body.rstrip() == CASES[name].full_body.rstrip()


@pytest.mark.parametrize("name", _cases("body"))
def test_body(name):
    case = CASES[name]
    expected = case.body.rstrip()
    accepted = {expected}
    if case.signoff:
        assert expected.endswith(case.signoff)  # guards the table above
        accepted.add(expected[: -len(case.signoff)].rstrip())
    assert _parsed(name).body.rstrip() in accepted


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        ("11-reply-gmail.eml", "> I have re-generated invoice 2026-1187 and attached it again."),
        ("12-reply-outlook.eml", "my VPN token expired over the weekend"),
        ("13-reply-german-outlook.eml", "bitte halten Sie den Einschaltknopf der Kasse"),
        ("14-reply-german-gmail.eml", "> ich habe eben ein Firmware-Update auf den Scanner"),
        ("19-redmine-reply.eml", "> Customer called: flames coming out of the printer"),
    ],
)
def test_quoted_reply_is_in_full_body_only(name, quoted):
    message = _parsed(name)
    assert quoted in message.full_body
    assert quoted.lstrip("> ") not in message.body
    for header_line in ("wrote:", "schrieb", "-----Original Message-----", "Von:", "Gesendet:"):
        assert header_line not in message.body


@pytest.mark.parametrize(
    ("name", "signature"),
    [
        ("08-attachments-rfc2231.eml", "Kältetechnik Nord GmbH"),
        ("17-mailing-list.eml", "Data team, Example Net"),
    ],
)
def test_dash_dash_signature_is_in_full_body_only(name, signature):
    message = _parsed(name)
    assert signature in message.full_body
    assert signature not in message.body


HTML_PRESENT = [
    "Hello Support Team,",
    "The scanner on the 2nd floor stopped sending scans to e-mail on Friday.",
    "Photo of the scanner display showing SMTP error 554",  # <img alt=...>
    "status page",
    "https://status.example.com/incidents/7781",
]
HTML_LIST_ITEMS = [
    "Place a document in the feeder",
    'Choose "Scan to e-mail" and pick any address',
    "Press Start – the display shows the error below",
]
HTML_ABSENT = [
    # <style> (inside an HTML comment, as Outlook writes it) and the VML behaviour style
    "font-family",
    "MsoNormal",
    "panose",
    "WordSection1",
    "behavior:url",
    # <script>
    "trackingPixel",
    "track-open",
    "document.title",
    # <!-- comment --> and <!--[if gte mso 9]> conditional comments
    "remember to attach the scanner log",
    "shapedefaults",
    "spidmax",
    # markup and undecoded entities
    "<p",
    "<td",
    "<o:p",
    "</",
    "&nbsp;",
    "&quot;",
    "&#8211;",
]


@pytest.mark.parametrize("field", ["full_body", "body"])
def test_html_only_outlook_keeps_text_list_link_table_and_image_alt(field):
    text = getattr(_parsed("02-html-outlook.eml"), field)
    for snippet in HTML_PRESENT:
        assert snippet in text
    for item in HTML_LIST_ITEMS:  # each item on its own line, behind a list marker
        assert re.search(rf"^[ \t]*(?:[-*+]|\d+[.)])[ \t]+{re.escape(item)}[ \t]*$", text, re.M)
    # a table row stays one line, cells in order
    assert re.search(r"^.*Device.*Location.*Asset tag.*$", text, re.M)
    assert re.search(r"^.*Scanner SC-410.*Room 2\.14.*BW-00731.*$", text, re.M)


@pytest.mark.parametrize("field", ["full_body", "body"])
def test_html_only_outlook_drops_style_script_and_comments(field):
    text = getattr(_parsed("02-html-outlook.eml"), field)
    for snippet in HTML_ABSENT:
        assert snippet not in text


def test_forwarded_message_text_stays_out_of_the_body():
    message = _parsed("10-forwarded-rfc822.eml")
    assert "our driver arrived" not in message.full_body
    assert "Missed pickup" not in message.full_body


def test_bounce_report_parts_stay_out_of_the_body():
    message = _parsed("16-bounce-dsn.eml")
    for snippet in ("Reporting-MTA", "Final-Recipient", "Diagnostic-Code", "X-Postfix-Queue-ID"):
        assert snippet not in message.full_body
    assert "redmine.journal-319" not in message.full_body  # the returned headers
    # the report parts are kept as files named after what they are
    assert [(a.filename, a.content_type) for a in message.attachments] == [
        ("delivery-status.txt", "message/delivery-status"),
        ("original-headers.txt", "text/rfc822-headers"),
    ]


# --------------------------------------------------------------------------------------------
# Attachments


@pytest.mark.parametrize("name", _cases("attachments"))
def test_attachment_names_types_and_inline_flags(name):
    got = [(a.filename, a.content_type, a.inline, a.content_id) for a in _parsed(name).attachments]
    assert got == list(CASES[name].attachments)


def _reference_payload(name: str, filename: str) -> bytes:
    """The part's transfer-decoded bytes according to Python's email package."""
    message = email.message_from_bytes(_raw(name), policy=policy.default)
    payloads = [
        part.get_payload(decode=True)
        for part in message.walk()
        if not part.is_multipart() and part.get_filename() == filename
    ]
    assert len(payloads) == 1
    return payloads[0]


def _forwarded_message_bytes() -> bytes:
    """The attached message exactly as it sits between its part header and the boundary."""
    raw = _raw("10-forwarded-rfc822.eml")
    part_header_end = f'filename="{EML_10_NAME}"\n\n'.encode()
    start = raw.index(part_header_end) + len(part_header_end)
    end = raw.index(b"\n--------------8fQ2wLc0ZrT5nJ7yVb3XkP1m--")
    return raw[start:end]


def _expected_payload(name: str, filename: str) -> bytes:
    if filename == PDF_08_NAME:
        data = _reference_payload(name, filename)
        assert data.startswith(b"%PDF-1.4\n")
        assert data.endswith(b"%%EOF\n")
        return data
    if filename == EML_10_NAME:
        data = _forwarded_message_bytes()
        assert data.startswith(b"Return-Path: <dispatch@swiftcourier.example.net>\n")
        assert data.endswith(b"\n\nSwift Courier Dispatch\n")
        return data
    return {
        "Zählerstände 2026.csv": CSV_08,
        "image001.png": PNG_09,
        "Zählerstände Oktober.csv": TNEF_CSV_18,
        "meeting-notes.txt": TNEF_TXT_18,
    }[filename]


ATTACHMENT_FILES = [
    (name, entry[0]) for name in _cases("attachments") for entry in CASES[name].attachments
]


@pytest.mark.parametrize(("name", "filename"), ATTACHMENT_FILES)
def test_attachment_bytes_size_and_sha256(name, filename):
    expected = _expected_payload(name, filename)
    found = [a for a in _parsed(name).attachments if a.filename == filename]
    assert len(found) == 1
    attachment = found[0]
    assert attachment.content == expected
    assert attachment.size == len(expected)
    assert attachment.sha256 == hashlib.sha256(expected).hexdigest()


@pytest.mark.parametrize(
    ("filename", "encoded"), [("Zählerstände 2026.csv", CSV_08), ("image001.png", PNG_09)]
)
def test_literal_payloads_match_what_the_examples_encode(filename, encoded):
    # guards the literals above against the .eml files drifting away from them
    name = "08-attachments-rfc2231.eml" if filename.endswith(".csv") else "09-inline-image.eml"
    assert _reference_payload(name, filename) == encoded


def test_tnef_payloads_match_what_winmail_dat_carries():
    tnefparse = pytest.importorskip("tnefparse")
    data = _reference_payload("18-winmail-tnef.eml", "winmail.dat")
    files = [(a.long_filename(), a.data) for a in tnefparse.TNEF(data).attachments]
    assert files == [
        ("Zählerstände Oktober.csv", TNEF_CSV_18),
        ("meeting-notes.txt", TNEF_TXT_18),
    ]


def test_winmail_dat_is_replaced_by_the_files_inside_it():
    attachments = _parsed("18-winmail-tnef.eml").attachments
    assert "winmail.dat" not in [a.filename for a in attachments]
    assert "application/ms-tnef" not in [a.content_type for a in attachments]


def test_zero_byte_attachment_is_dropped_and_reported():
    message = _parsed("08-attachments-rfc2231.eml")
    assert "Notizen.txt" not in [a.filename for a in message.attachments]
    assert any("Notizen.txt" in defect for defect in message.defects), message.defects


# --------------------------------------------------------------------------------------------
# Classification and references


@pytest.mark.parametrize("name", NAMES)
def test_automated_class(name):
    assert _parsed(name).automated == CASES[name].automated


@pytest.mark.parametrize("name", NAMES)
def test_subject_reference_candidates(name):
    got = [
        (c.kind, c.text, c.number, c.project, c.tracker)
        for c in _parsed(name).reference_candidates
        if c.source == "subject"
    ]
    assert got == list(CASES[name].subject_refs)


@pytest.mark.parametrize("name", NAMES)
def test_message_id_reference_candidates(name):
    case = CASES[name]
    candidates = [c for c in _parsed(name).reference_candidates if c.source != "subject"]
    assert all(c.kind == RefKind.MESSAGE_ID for c in candidates)
    texts = [c.text for c in candidates]
    expected = {case.in_reply_to, *case.references} - {None}
    # each thread id once (an id both in In-Reply-To and References counts once)
    assert sorted(texts) == sorted(expected)
    for candidate in candidates:
        if candidate.source == "in_reply_to":
            assert candidate.text == case.in_reply_to
        else:
            assert candidate.source == "references"
            assert candidate.text in case.references
