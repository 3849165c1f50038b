"""The reply examples (``examples/31-…`` to ``examples/40-…``): what each message says.

Kept apart from ``test_examples.py`` so that the table of replies of every kind reads in one
place; ``test_examples.py`` adds them to its cases and checks them field by field like every
other example. ``headers`` and ``full_body`` are what the .eml files were written from;
``body`` is the sender's new text, ``signoff`` its closing lines that may go either way.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tracker_mail_plugin.mail import Address

SUPPORT = ("Harbourview IT Support", "support@example.com")

TEXT_31 = """\
Добрый день!

Перезагрузка помогла, VPN снова подключается. Заявку можно закрыть.

Анна

пн, 2 нояб. 2026 г., 10:15 пользователь Harbourview IT Support <support@example.com> написал:

> Здравствуйте, Анна!
>
> Пожалуйста, перезагрузите ноутбук и попробуйте снова.
>
> С уважением,
> Служба поддержки
"""
NEW_31 = (
    "Добрый день!\n\nПерезагрузка помогла, VPN снова подключается. Заявку можно закрыть.\n\nАнна"
)

TEXT_32 = """\
Buongiorno,

la stampante ora funziona, ma il vassoio 2 continua a segnalare carta
esaurita anche quando è pieno.

Grazie,
Marco

Il giorno gio 5 nov 2026 alle ore 09:12 Harbourview IT Support <
support@example.com> ha scritto:

> Buongiorno Marco,
>
> abbiamo aggiornato il driver della stampante. Può riprovare?
>
"""
NEW_32 = """\
Buongiorno,

la stampante ora funziona, ma il vassoio 2 continua a segnalare carta
esaurita anche quando è pieno.

Grazie,
Marco"""

HTML_33 = """\
<html><head><meta charset="utf-8"></head><body>
<p>Bonjour,</p>
<p>Merci, la facture corrig&eacute;e est bien arriv&eacute;e.</p>
<p>Ren&eacute;e</p>
<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">
<p><b>De&nbsp;:</b> Harbourview IT Support &lt;mailto:support@example.com&gt;<br>
<b>Envoy&eacute;&nbsp;:</b> lundi 2 novembre 2026 10:00<br>
<b>&Agrave;&nbsp;:</b> Ren&eacute;e Lef&egrave;vre &lt;renee.lefevre@atelier.example.org&gt;<br>
<b>Objet&nbsp;:</b> RE: Facture 2026-1187</p>
</div>
<p>Bonjour Madame Lef&egrave;vre,</p>
<p>Veuillez trouver ci-joint la facture corrig&eacute;e.</p>
</body></html>
"""
NEW_33 = "Bonjour,\n\nMerci, la facture corrigée est bien arrivée.\n\nRenée"

TEXT_34 = """\
On 03/11/2026 09:40, Harbourview IT Support wrote:
> Hi Omar,
>
> the dock door camera was offline on Wednesday between 13:00 and 17:30
> because of a power cut. Was anything delivered in that window?

Yes: two pallets from Northwind at about 14:20. The driver says he rang
the bell twice. Can we get the footage from the yard camera instead?

Omar
"""
NEW_34 = """\
Yes: two pallets from Northwind at about 14:20. The driver says he rang
the bell twice. Can we get the footage from the yard camera instead?

Omar"""

TEXT_35 = """\
Hallo,

Am 04.11.2026 um 08:30 schrieb Harbourview IT Support:
> Welches Modell hat der Drucker?

Ein Kyocera ECOSYS M2540dn.

> Seit wann tritt der Fehler auf?

Seit dem Update am Montag.

> Erscheint ein Fehlercode?

Ja, E-52.

Grüße
Jörg
"""
NEW_35 = """\
Hallo,

Ein Kyocera ECOSYS M2540dn.

Seit dem Update am Montag.

Ja, E-52.

Grüße
Jörg"""

TEXT_36 = """\
Hola, ya funciona el escáner. ¡Gracias!

Enviado desde mi iPhone

> El 5 nov 2026, a las 11:02, Harbourview IT Support <support@example.com> escribió:
>
> Hola José, hemos reiniciado el servidor de escaneo. ¿Puede probar otra vez?
"""
NEW_36 = "Hola, ya funciona el escáner. ¡Gracias!"

TEXT_37 = """\
Hello,

could you please move our weekly backup window from Friday 22:00 to
Saturday 02:00? The new ERP batch job runs on Friday nights now.

Kind regards,

Grace Adeyemi
Facilities Manager | Meridian Facilities Ltd
T: +44 161 496 0123
M: +44 7700 900456
www.meridian.example.net
"""
NEW_37 = """\
Hello,

could you please move our weekly backup window from Friday 22:00 to
Saturday 02:00? The new ERP batch job runs on Friday nights now.

Kind regards,"""

TEXT_38 = """\
Hi, this came in to our shared mailbox; it looks like a phishing attempt.
Can you block the sender?

Sent from my iPhone

Begin forwarded message:

> From: "Accounts Payable" <ap@invoices-billing.example.net>
> Date: 6 November 2026 at 08:14:55 GMT
> To: office@meridian.example.net
> Subject: Overdue invoice - action required
>
> Please open the attached invoice and pay within 24 hours.
"""
NEW_38 = """\
Hi, this came in to our shared mailbox; it looks like a phishing attempt.
Can you block the sender?

Begin forwarded message:

> From: "Accounts Payable" <ap@invoices-billing.example.net>
> Date: 6 November 2026 at 08:14:55 GMT
> To: office@meridian.example.net
> Subject: Overdue invoice - action required
>
> Please open the attached invoice and pay within 24 hours."""

TEXT_39 = """\
The new badge works at the main entrance but not at the car park gate.

Regards
Hiroshi



From:\tHarbourview IT Support <support@example.com>
To:\tHiroshi Tanaka/Kestrel@Kestrel
Date:\t04.11.2026 16:20
Subject:\tRe: Access badge



Hello Hiroshi, your new badge is active from tomorrow morning.
"""
NEW_39 = (
    "The new badge works at the main entrance but not at the car park gate.\n\nRegards\nHiroshi"
)

TEXT_40 = """\
サポートご担当者様

再発行いただいた請求書を受け取りました。ありがとうございました。

山田

差出人: Harbourview IT Support <support@example.com>
送信日時: 2026年11月5日 10:00
宛先: 山田 花子 <hanako.yamada@example.jp>
件名: RE: 請求書の再発行

山田様

請求書を再発行しましたので、添付をご確認ください。
"""
NEW_40 = (
    "サポートご担当者様\n\n再発行いただいた請求書を受け取りました。ありがとうございました。\n\n山田"
)


def _headers(sender: str, subject: str, date: str, message_id: str, parent: str, to: str) -> str:
    return (
        f"From: {sender}\nTo: {to}\nSubject: {subject}\nDate: {date}\n"
        f"Message-ID: <{message_id}>\nIn-Reply-To: <{parent}>\nReferences: <{parent}>\n"
    )


def _when(*parts: int, hours: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.timezone(dt.timedelta(hours=hours)))


SUPPORT_TO = "Harbourview IT Support <support@example.com>"

# name -> what the file was written from, and the fields it must parse to.
REPLY_EXAMPLES: dict[str, dict[str, Any]] = {
    "31-reply-russian-gmail.eml": {
        "headers": _headers(
            "=?UTF-8?B?0JDQvdC90LAg0KHQvNC40YDQvdC+0LLQsA==?= <anna.smirnova@example.org>",
            "Re: VPN",
            "Mon, 2 Nov 2026 11:03:12 +0300",
            "CAF2ru31x@mail.example.org",
            "ticket-31@example.com",
            SUPPORT_TO,
        ),
        "full_body": TEXT_31,
        "cte": "base64",
        "fields": {
            "subject": "Re: VPN",
            "from_": Address("Анна Смирнова", "anna.smirnova@example.org"),
            "date": _when(2026, 11, 2, 11, 3, 12, hours=3),
            "message_id": "CAF2ru31x@mail.example.org",
            "body": NEW_31,
            "signoff": "Анна",
        },
    },
    "32-reply-italian-wrapped.eml": {
        "headers": _headers(
            "Marco Rossi <marco.rossi@example.org>",
            "Re: Stampante ufficio 2",
            "Thu, 5 Nov 2026 10:41:00 +0100",
            "CAF2it32x@mail.example.org",
            "ticket-32@example.com",
            SUPPORT_TO,
        ),
        "full_body": TEXT_32,
        "fields": {
            "subject": "Re: Stampante ufficio 2",
            "from_": Address("Marco Rossi", "marco.rossi@example.org"),
            "date": _when(2026, 11, 5, 10, 41, 0, hours=1),
            "message_id": "CAF2it32x@mail.example.org",
            "body": NEW_32,
            "signoff": "Grazie,\nMarco",
        },
    },
    "33-reply-french-outlook-html.eml": {
        "headers": _headers(
            "=?iso-8859-1?Q?Ren=E9e_Lef=E8vre?= <renee.lefevre@atelier.example.org>",
            "RE: Facture 2026-1187",
            "Mon, 2 Nov 2026 14:02:44 +0100",
            "PR1P264MB33@example.org",
            "ticket-33@example.com",
            SUPPORT_TO,
        ),
        "full_body": HTML_33,
        "ctype": 'text/html; charset="UTF-8"',
        "crlf": True,
        "fields": {
            "subject": "RE: Facture 2026-1187",
            "from_": Address("Renée Lefèvre", "renee.lefevre@atelier.example.org"),
            "date": _when(2026, 11, 2, 14, 2, 44, hours=1),
            "message_id": "PR1P264MB33@example.org",
            "full_body": None,  # HTML: the text is asserted through body
            "body": NEW_33,
            "signoff": "Renée",
        },
    },
    "34-reply-bottom-posted.eml": {
        "headers": _headers(
            "Omar Haddad <omar.haddad@example.net>",
            "Re: Dock door camera",
            "Tue, 3 Nov 2026 10:05:19 +0000",
            "bottom34@example.net",
            "ticket-34@example.com",
            SUPPORT_TO,
        ),
        "full_body": TEXT_34,
        "cte": "8bit",
        "fields": {
            "subject": "Re: Dock door camera",
            "from_": Address("Omar Haddad", "omar.haddad@example.net"),
            "date": _when(2026, 11, 3, 10, 5, 19, hours=0),
            "message_id": "bottom34@example.net",
            "body": NEW_34,
            "signoff": "Omar",
        },
    },
    "35-reply-interleaved.eml": {
        "headers": _headers(
            "=?UTF-8?Q?J=C3=B6rg_Wei=C3=9F?= <joerg.weiss@example.de>",
            "Re: Drucker im =?UTF-8?Q?B=C3=BCro?= 3.07",
            "Wed, 4 Nov 2026 09:12:40 +0100",
            "inline35@example.de",
            "ticket-35@example.com",
            SUPPORT_TO,
        ),
        "full_body": TEXT_35,
        "fields": {
            "subject": "Re: Drucker im Büro 3.07",
            "from_": Address("Jörg Weiß", "joerg.weiss@example.de"),
            "date": _when(2026, 11, 4, 9, 12, 40, hours=1),
            "message_id": "inline35@example.de",
            "body": NEW_35,
            "signoff": "Grüße\nJörg",
        },
    },
    "36-reply-iphone-spanish.eml": {
        "headers": _headers(
            "=?UTF-8?Q?Jos=C3=A9_Garc=C3=ADa?= <jose.garcia@example.org>",
            "Re: =?UTF-8?Q?Esc=C3=A1ner?=",
            "Thu, 5 Nov 2026 11:30:02 +0100",
            "ios36@example.org",
            "ticket-36@example.com",
            SUPPORT_TO,
        ),
        "full_body": TEXT_36,
        "fields": {
            "subject": "Re: Escáner",
            "from_": Address("José García", "jose.garcia@example.org"),
            "date": _when(2026, 11, 5, 11, 30, 2, hours=1),
            "message_id": "ios36@example.org",
            "body": NEW_36,
        },
    },
    "37-contact-signature.eml": {
        "headers": (
            "From: Grace Adeyemi <grace.adeyemi@meridian.example.net>\nTo: "
            f"{SUPPORT_TO}\nSubject: Backup window\nDate: Fri, 6 Nov 2026 16:45:10 +0000\n"
            "Message-ID: <sig37@meridian.example.net>\n"
        ),
        "full_body": TEXT_37,
        "cte": "7bit",
        "fields": {
            "subject": "Backup window",
            "from_": Address("Grace Adeyemi", "grace.adeyemi@meridian.example.net"),
            "date": _when(2026, 11, 6, 16, 45, 10, hours=0),
            "message_id": "sig37@meridian.example.net",
            "in_reply_to": None,
            "references": (),
            "body": NEW_37,
            "signoff": "Kind regards,",
        },
    },
    "38-forward-in-reply.eml": {
        "headers": (
            "From: Grace Adeyemi <grace.adeyemi@meridian.example.net>\nTo: "
            f"{SUPPORT_TO}\nSubject: Fwd: Overdue invoice - action required\n"
            "Date: Fri, 6 Nov 2026 09:02:33 +0000\nMessage-ID: <fwd38@meridian.example.net>\n"
        ),
        "full_body": TEXT_38,
        "fields": {
            "subject": "Fwd: Overdue invoice - action required",
            "from_": Address("Grace Adeyemi", "grace.adeyemi@meridian.example.net"),
            "date": _when(2026, 11, 6, 9, 2, 33, hours=0),
            "message_id": "fwd38@meridian.example.net",
            "in_reply_to": None,
            "references": (),
            "body": NEW_38,
        },
    },
    "39-reply-lotus-notes.eml": {
        "headers": _headers(
            "Hiroshi Tanaka <hiroshi.tanaka@kestrel.example.net>",
            "Re: Access badge",
            "Wed, 4 Nov 2026 17:01:00 +0100",
            "OF39A1B2C3.D4E5F607-ONC1258A@kestrel.example.net",
            "ticket-39@example.com",
            SUPPORT_TO,
        ),
        "full_body": TEXT_39,
        "cte": "7bit",
        "crlf": True,
        "fields": {
            "subject": "Re: Access badge",
            "from_": Address("Hiroshi Tanaka", "hiroshi.tanaka@kestrel.example.net"),
            "date": _when(2026, 11, 4, 17, 1, 0, hours=1),
            "message_id": "OF39A1B2C3.D4E5F607-ONC1258A@kestrel.example.net",
            "body": NEW_39,
            "signoff": "Regards\nHiroshi",
        },
    },
    "40-reply-japanese-outlook.eml": {
        "headers": _headers(
            "=?UTF-8?B?5bGx55SwIOiKseWtkA==?= <hanako.yamada@example.jp>",
            "=?UTF-8?B?UkU6IOiri+axguabuOOBruWGjeeZuuihjA==?=",
            "Thu, 5 Nov 2026 13:20:00 +0900",
            "TY40P286MB@example.jp",
            "ticket-40@example.com",
            SUPPORT_TO,
        ),
        "full_body": TEXT_40,
        "cte": "base64",
        "fields": {
            "subject": "RE: 請求書の再発行",
            "from_": Address("山田 花子", "hanako.yamada@example.jp"),
            "date": _when(2026, 11, 5, 13, 20, 0, hours=9),
            "message_id": "TY40P286MB@example.jp",
            "body": NEW_40,
            "signoff": "山田",
        },
    },
}


def case_fields(name: str) -> dict[str, Any]:
    """The keyword arguments of ``test_examples.Case`` for one reply example."""
    fields = dict(REPLY_EXAMPLES[name]["fields"])
    parent = f"ticket-{name[:2]}@example.com"
    fields.setdefault("to", (Address(*SUPPORT),))
    fields.setdefault("in_reply_to", parent)
    fields.setdefault("references", (parent,))
    fields.setdefault("full_body", REPLY_EXAMPLES[name]["full_body"])
    return fields
