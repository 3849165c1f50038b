"""What machine-written mail says: bounce and auto-reply wording, read in bounded time.

Many delivery reports carry no ``multipart/report`` and no ``X-Failed-Recipients`` (Domino,
qmail, Yahoo, Exchange relayed through a gateway), and many auto-replies carry no RFC 3834
header: only their words give them away. Words are weak evidence on their own, because a
person may quote or forward a bounce, or write "out of office" in a sentence. So:

- a bounce's wording counts only from a sender that sends bounces (a daemon address, a
  "Mail Delivery System" name, an empty return path), or when both the subject and the first
  lines of the body are a bounce's and the subject is not a reply or a forward;
- an auto-reply is recognised by its subject's *first* words only ("Automatic reply:",
  "Abwesenheitsnotiz:", "自动回复"), never by its body, so "Re: Automatic reply: …" from a
  person stays a person's mail.

Subjects are cut to 400 characters and matched by anchored alternations of fixed phrases
(no nested repetition, so bounded work; Python's ``re`` is used because these run on every
message and cost a third of an RE2 call); bodies are searched line by line for fixed phrases
in the first ``BODY_LINES`` unquoted lines only.
"""

from __future__ import annotations

import re

from tracker_mail_plugin.mail.model import Address

BODY_LINES = 40
"""How many non-blank lines at the top of a body are searched for a bounce's wording."""

_MAX_LINE = 400  # a longer line is a payload, not a sentence of a delivery report

# The first line of the text a delivery report's author (an MTA) writes; lower-case.
_BOUNCE_PHRASES = (
    # Postfix
    "this is the mail system at host",
    "i'm sorry to have to inform you that your message could not",
    # Exim
    "this message was created automatically by mail delivery software",
    "a message that you sent could not be delivered to one or more of its",
    "message delivery to the following address",
    # qmail
    "this is the qmail-send program at",
    "i'm afraid i wasn't able to deliver your message",
    # Sendmail
    "the original message was received at",
    "----- the following addresses had permanent fatal errors -----",
    "----- transcript of session follows -----",
    "this is a warning message only",
    "you do not need to resend your message",
    # Exchange, Outlook.com, Microsoft 365
    "delivery has failed to these recipients or groups",
    "delivery has failed to these recipients or distribution lists",
    "your message did not reach some or all of the intended recipients",
    "your message couldn't be delivered",
    "your message could not be delivered",
    "the following recipient(s) cannot be reached",
    "delivery to the following recipients has been delayed",
    "delivery to these recipients or groups is delayed",
    "the following message to <",
    # Domino
    "was not delivered to:",
    "your message was not delivered to",
    # Gmail
    "delivery to the following recipient failed permanently",
    "delivery to the following recipients failed",
    "your message wasn't delivered to",
    "there was a temporary problem delivering your message",
    "delivery to the following recipient has been delayed",
    "message not delivered",
    # Yahoo, AOL
    "sorry, we were unable to deliver your message",
    "message from yahoo.com",
    # Generic: Courier, Zimbra, hosted relays
    "your message could not be delivered to",
    "could not be delivered to the following recipients",
    "unable to deliver your message",
    "the following addresses had delivery problems",
    "the following address(es) failed",
    "message delivery has been delayed",
    "this is an automatically generated delivery status notification",
    "this is an automatically generated delivery status notification.",
    "this is an automated message created by mail delivery software",
    "this is a delivery failure notification message",
    "your mail was not delivered to the following address",  # NetZero, Juno
    "unable to deliver message to",  # Yahoo's qmail, InterScan
    "i wasn't able to deliver the following message",
    "did not reach the following recipient",  # Exchange 5.5
    "could not deliver message to the following recipient",
    "your message has not been delivered",
    "------ failed recipients ------",
    "we will continue to try to deliver your message",
)

# A forwarded or quoted copy begins: the report's own text is above it.
_COPY_MARKERS = (
    "forwarded message",
    "original message",
    "begin forwarded message",
    "weitergeleitete nachricht",
    "message transféré",
)

_BOUNCE_SUBJECT = re.compile(
    r"(?i)^\s*(?:"
    r"undeliver(?:ed|able)(?: mail| message)?|undelivered mail returned to sender|"
    r"mail delivery failed|delivery status notification|returned mail|failure notice|"
    r"delivery failure(?: notification)?|delivery (?:has )?failed|message delivery failure|"
    r"mail could not be delivered|"
    r"mail system error|non[- ]?deliver(?:y|able)|warning: could not send message for past|"
    r"delivery delayed|delayed mail|mail delivery (?:delayed|problem|failure|warning)|"
    r"delivery notification: delivery has failed|message not delivered|"
    r"unzustellbar|nicht zustellbar|non remis|non recapitabile|no se puede entregar|"
    r"onbestelbaar|niedostarczalne|não é possível entregar|impossible de remettre|"
    r"недоставленное сообщение|не доставлено|配信不能|未送达|無法傳遞"
    # The phrase is the whole subject or its label: "Delivery failure of my parcel" is not.
    r")\s*(?:[:(\-]|$|\d)"
)

_AUTO_REPLY_SUBJECT = re.compile(
    r"(?i)^\s*(?:"
    r"automatic reply|auto[- ]?reply|auto[- ]?response|automated (?:reply|response)|"
    r"automatic response|out of (?:the )?office(?: auto[- ]?reply| reply)?|"
    # Not "Auto:" (Lotus Notes) nor "Abwesend:": a German subject "Auto: Termin" is a car.
    r"abwesenheitsnotiz|automatische antwort|"
    r"réponse automatique|absence du bureau|"
    r"risposta automatica|fuori sede|"
    r"respuesta automática|fuera de la oficina|"
    r"resposta automática|fora do escritório|ausente do escritório|"
    r"automatisch antwoord|afwezig|"
    r"automatyczna odpowiedź|odpowiedź automatyczna|poza biurem|"
    r"автоматический ответ|автоответ|автоматична відповідь|"
    r"automatická odpověď|automatická odpoveď|"
    r"autosvar|automatisk svar|automatiskt svar|automaattinen vastaus|"
    r"automatikus válasz|otomatik yanıt|otomatik cevap|αυτόματη απάντηση|"
    r"自动回复|自動回覆|自動回复|自动答复|自動応答|自動返信|자동 회신|자동 응답"
    r")\s*(?:[:：]|$)"
    # Lotus Notes names the person: "Jane Doe is out of the office." / "… ist außer Haus."
    r"|^[^:：]* (?:is out of the office|ist außer haus|ist nicht im büro)\.?\s*$"
)

_DAEMON_LOCALPARTS = frozenset(
    {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon", "mailer_daemon"}
)
_DAEMON_NAMES = frozenset(
    {
        "mail delivery system",
        "mail delivery subsystem",
        "mail delivery service",
        "mail administrator",
        "mail system",
        "mail delivery",
    }
)


def is_daemon(sender: Address | None) -> bool:
    """Whether the From address is one that mail systems send reports from."""
    if sender is None:
        return False
    local = sender.address.split("@", 1)[0]
    if local in _DAEMON_LOCALPARTS or local.startswith("microsoftexchange"):
        return True
    return sender.name.strip().lower() in _DAEMON_NAMES


def bounce_subject(subject: str) -> bool:
    """Whether the subject is one delivery reports use (not a reply to or forward of one)."""
    return _BOUNCE_SUBJECT.search(subject[:_MAX_LINE]) is not None


def auto_reply_subject(subject: str) -> bool:
    """Whether the subject begins the way auto-responders begin theirs, in many languages."""
    return _AUTO_REPLY_SUBJECT.search(subject[:_MAX_LINE]) is not None


def bounce_wording(body: str) -> bool:
    """Whether the body's own first lines (before any quote or forwarded copy) are a report's."""
    seen = 0
    for line in _head_lines(body):
        lowered = line.strip().lower()
        if not lowered:
            continue
        if lowered.startswith(">") or any(marker in lowered for marker in _COPY_MARKERS):
            return False
        if len(lowered) <= _MAX_LINE and any(p in lowered for p in _BOUNCE_PHRASES):
            return True
        seen += 1
        if seen >= BODY_LINES:
            return False
    return False


def _head_lines(body: str) -> list[str]:
    # Only the top of the body is read: cut before splitting so a huge body costs nothing.
    return body[: BODY_LINES * 200].split("\n")
