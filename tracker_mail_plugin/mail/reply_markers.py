"""Lines that open quoted history or a forward in a reply, in many languages and clients.

Each test looks at one line (or two, for an attribution a client wrapped) cut to
``MAX_EXAMINED_LINE`` characters, with expressions compiled by RE2: the cost per line is
bounded, so reading a message is linear in its length whatever it holds.

- An *attribution* says who wrote what follows: "On … wrote:", "Am … schrieb …:",
  "… пользователь … написал:", "Il giorno … ha scritto:", "… 在 … 写道：".
- A *header block* is the sender's header copied above the history by Outlook, Lotus
  Notes and many webmails: "From:/Sent:/To:/Subject:" in one of many languages, the labels
  sometimes in bold (``**From:**`` once HTML is turned into text), sometimes below a
  separator ("-----Original Message-----", a line of underscores) or a "Message du …" line.
- A *forward* marker ("---------- Forwarded message ---------", Apple Mail's "Begin
  forwarded message:") opens a message the sender passes on: that is substance, not history.
"""

from __future__ import annotations

from dataclasses import dataclass

import re2

from tracker_mail_plugin.mail.utf8_regex import Utf8Pattern

MAX_EXAMINED_LINE = 300
# How far below its first label a header block's other labels may be.
_HEADER_WINDOW = 7
_LABELS_IN_A_HEADER_BLOCK = 3

_OPTIONS = re2.Options()
_OPTIONS.case_sensitive = False


def _compile(pattern: str) -> Utf8Pattern:
    return Utf8Pattern(pattern, _OPTIONS)


_VERBS = (
    r"wrote|writes|schrieb|a\s+écrit|écrit|schreef|escribió|escreveu|ha\s+scritto|scrisse"
    r"|skrev|skrifaði|napisał(?:\(a\))?|napisała|pisze|написал(?:\(а\))?|написала|пишет|написа"
    r"|kirjoitti|írta|napsal(?:\(a\))?|napísal|yazdı|έγραψε|scrie|написав|rašė|rakstīja"
    r"|kirjutas|je\s+napisal|napisao|写道|寫道|のメッセージ|님이\s+작성"
)
# The verb, then at most a name or address, then the colon that ends the line.
_ATTRIBUTION = _compile(rf"(?:{_VERBS})[^\n]{{0,120}}[:：]\s*$")
# Words an attribution starts with when it has no address in it.
_OPENER = _compile(
    r"^\s*(?:On|Am|Le|Op|El|Em|Il|Den|Dnia|W\s+dniu|Dne|Στις|În|Pada|Vào|"
    r"\d{1,4}[./年-])"
)
_DIGIT = _compile(r"\d")
# Gmail in Russian, Japanese and some other languages has no verb: "<date>, <name> <address>:".
_ENDS_WITH_ADDRESS = _compile(r"\d.*@[^\s<>]+>?\)?\s*[:：]\s*$")

_FROM_LABELS = (
    r"From|De|Von|Van|Da|Od|Från|Fra|Frá|Lähettäjä|Feladó|Kimden|Від|От|Kimden|Afzender"
    r"|Remitente|Mittente|Expéditeur|Absender|Nadawca|Avsändare|差出人|发件人|發件人|寄件者"
    r"|보낸\s*사람|Message\s+du|Von\s+meinem"
)
_OTHER_LABELS = (
    r"Sent|Date|To|Cc|Bcc|Subject|Reply-To|Gesendet|Datum|An|Kopie|Betreff|Envoyé|À|A|Cc"
    r"|Objet|Enviado|Enviada\s+em|Enviado\s+el|Para|Assunto|Asunto|Fecha|Inviato|Oggetto"
    r"|Data|Wysłano|Wysłane|Do|DW|Temat|Skickat|Till|Ämne|Sendt|Til|Emne|Verzonden|Aan"
    r"|Onderwerp|Verstuurd|Отправлено|Дата|Кому|Копия|Тема|Надіслано|Тема|Lähetetty"
    r"|Vastaanottaja|Aihe|Elküldve|Címzett|Tárgy|Gönderildi|Kime|Konu|Odesláno|Komu|Předmět"
    r"|送信日時|送信日|宛先|件名|发送时间|發送時間|日期|收件人|主题|主旨|时间|Time"
    r"|날짜|보낸\s*날짜|받는\s*사람|참조|제목"
    r"|Please\s+respond\s+to|bcc|Antwort\s+an|Répondre\s+à"
)
# Outlook in French writes "De :" with a no-break space, which RE2's \s does not match.
_LABEL_TAIL = r"[\s\x{00A0}]*[*_]*[\s\x{00A0}]*[:：]"
_FROM_LINE = _compile(rf"^\s*[*_]*\s*(?:{_FROM_LABELS}){_LABEL_TAIL}")
_OTHER_LINE = _compile(rf"^\s*[*_]*\s*({_OTHER_LABELS}){_LABEL_TAIL}")
# Lotus Notes puts "To" and "cc" without colons on lines of their own, or after a tab.
_LOTUS_LABEL = _compile(r"^\s*(To|cc|bcc|Subject|An|Kopie|Thema|Betreff)(?:\s*:|\t|\s*$)")

_SEPARATOR = _compile(
    r"^\s*[-_=*>\s]*\s*(?:Original\s+Message|Reply\s+Message|Original\s+Nachricht"
    r"|Ursprüngliche\s+Nachricht|Originalnachricht|Message\s+d'origine|Message\s+original"
    r"|Mensaje\s+original|Messaggio\s+originale|Mensagem\s+original|Mensagem\s+Original"
    r"|Oorspronkelijk\s+bericht|Origineel\s+bericht|Originalmeddelande|Ursprungligt\s+meddelande"
    r"|Oprindelig\s+meddelelse|Opprinnelig\s+melding|Alkuperäinen\s+viesti|Oryginalna\s+wiadomość"
    r"|Wiadomość\s+oryginalna|Исходное\s+сообщение|Původní\s+zpráva|Pôvodná\s+správa"
    r"|Eredeti\s+üzenet|Orijinal\s+Mesaj|原始邮件|原始郵件|元のメッセージ|원본\s*메시지)"
    r"\s*[-_=*\s]*$"
)
_RULE = _compile(r"^\s*(?:_{10,}|-{10,}|={10,})\s*$")

_FORWARD = _compile(
    r"^\s*[-_=*>\s]*\s*(?:Forwarded\s+message|Forwarded\s+Message|Begin\s+forwarded\s+message"
    r"|Forwarded\s+by|Weitergeleitete\s+Nachricht|Anfang\s+der\s+weitergeleiteten\s+Nachricht"
    r"|Weitergeleitet\s+von|Message\s+transféré|Début\s+du\s+message\s+(?:réexpédié|transféré)"
    r"|Messaggio\s+inoltrato|Inizio\s+messaggio\s+inoltrato|Mensaje\s+reenviado"
    r"|Comienzo\s+del\s+mensaje\s+reenviado|Mensagem\s+encaminhada|Início\s+da\s+mensagem"
    r"|Doorgestuurd\s+bericht|Begin\s+doorgestuurd\s+bericht|Vidarebefordrat\s+meddelande"
    r"|Videresendt\s+(?:meddelelse|melding)|Przekazana\s+wiadomość|Wiadomość\s+przekazana"
    r"|Пересылаемое\s+сообщение|Пересланное\s+сообщение|Välitetty\s+viesti"
    r"|Továbbított\s+üzenet|Přeposlaná\s+zpráva|İletilen\s+ileti|転送されたメッセージ"
    r"|転送メッセージ|转发的邮件|轉寄的郵件|전달된\s*메시지)"
)

_QUOTE_PREFIX = ">"
_SENDER = "\0from"  # the label every header block has, in whatever language
# Lotus Notes' labels may stand alone on their line, without a colon.
_BARE = frozenset({"To", "cc", "bcc", "Subject", "An", "Kopie", "Thema", "Betreff"})
_MARKER_STARTS = frozenset("-_=")
# How far into a line a header label's colon can be ("Enviado el:", "**Verzonden:**").
_LABEL_REACH = 32
_CUT = "\u2026"


def examined(line: str) -> str:
    """The part of a line the expressions look at: bounded, so each test costs a constant.

    A longer line is cut and marked as cut, so that it can never end like a marker: no
    attribution or separator is that long, and "On Mon wrote:" followed by a kilobyte of
    spaces and text is text.
    """
    if len(line) <= MAX_EXAMINED_LINE:
        return line
    return line[:MAX_EXAMINED_LINE] + _CUT


@dataclass(frozen=True)
class Shape:
    """What a line could be, told without any expression (see ``shape_of``)."""

    dashed: bool  # starts with dashes, underscores or equals signs: a separator or rule
    labelled: bool  # a colon near the start: a header label ("From:", "差出人:")
    colon_ended: bool  # ends with a colon: an attribution, "Begin forwarded message:"


def shape_of(line: str) -> Shape | None:
    """The kinds of marker a line could be, or None when it can be none (or is quoted).

    Most lines of text have no dashes in front, no colon near the start and none at the end:
    they are skipped here, which saves the expression calls that cost far more per line.
    """
    head = (line if len(line) <= MAX_EXAMINED_LINE else line[:MAX_EXAMINED_LINE]).strip()
    if not head or head[0] == _QUOTE_PREFIX:
        return None
    # Separators, forward markers and rules start with two dashes, underscores or equals
    # signs or more; "-- " is a signature's, and "- item" a list's.
    dashed = len(head) > 2 and head[0] in _MARKER_STARTS and head[1] in _MARKER_STARTS
    near_start = head[:_LABEL_REACH]
    labelled = ":" in near_start or "：" in near_start
    colon_ended = head[-1] in ":："
    if dashed or labelled or colon_ended:
        return Shape(dashed, labelled, colon_ended)
    return None


def is_quoted(line: str) -> bool:
    """A ``>``-quoted line."""
    return line.lstrip(" \t").startswith(_QUOTE_PREFIX)


def is_forward(line: str) -> bool:
    """A line opening a forwarded message."""
    return _FORWARD.found(examined(line))


def attribution_lines(lines: list[str], index: int, *, above_quote: bool = False) -> int:
    """How many lines (1 or 2) make the attribution ending at ``lines[index]``, else 0.

    ``lines[index]`` must end with the colon; a client that wrapped the attribution puts its
    start on the line above ("Am Mo., 4. Juli 2022 um 08:13 Uhr schrieb Rick <" / "rick@…>:").
    Right above a quote, "Bob wrote:" is enough; elsewhere it must name a date or address.
    """
    line = examined(lines[index]).strip()
    if not line.endswith((":", "：")) or is_quoted(line):
        return 0
    alone = _ATTRIBUTION.found(line)
    # With its own date or opener the line is whole; "bob@example.com> wrote:" alone is
    # the second half of one whose first half may be on the line above.
    if alone and _has_date_or_opener(line) and (above_quote or _is_attribution_shaped(line)):
        return 1
    if above_quote and _ENDS_WITH_ADDRESS.found(line):
        return 1
    above = examined(lines[index - 1]).strip() if index > 0 else ""
    if _starts_an_attribution(above):
        joined = f"{above} {line}"
        if _is_attribution(joined, above_quote=above_quote):
            return 2
    if alone and (above_quote or _is_attribution_shaped(line)):
        return 1
    return 0


def _has_date_or_opener(text: str) -> bool:
    return _OPENER.found(text) or _DIGIT.found(text)


def wrapped_into_quote(above: str, quoted: str) -> bool:
    """An attribution whose end the client wrapped onto a line starting with ``>``.

    Gmail in French breaks "… <rick@example.com" / "> a écrit :" at the address's closing
    bracket, so the second half looks like a quoted line.
    """
    above = examined(above).strip()
    if not _starts_an_attribution(above):
        return False
    return _is_attribution(f"{above} {examined(quoted).strip()}", above_quote=True)


def _is_attribution(text: str, *, above_quote: bool) -> bool:
    if _ATTRIBUTION.found(text):
        return _is_attribution_shaped(text)
    return above_quote and _ENDS_WITH_ADDRESS.found(text)


def _starts_an_attribution(line: str) -> bool:
    """The first half of a wrapped attribution: a name or address, a date, no sentence."""
    if not line or is_quoted(line) or line.endswith((".", "!", "?", ":", "：")):
        return False
    return _OPENER.found(line) or "@" in line or line.endswith("<")


def _is_attribution_shaped(text: str) -> bool:
    """An attribution names an address, or opens with a date ("On 2 Nov …", "2026年…").

    "In the 2.1 release notes the vendor wrote:" names neither: it is a sentence.
    """
    return "@" in text or (_OPENER.found(text) and _DIGIT.found(text))


def header_block_at(
    lines: list[str], index: int, labels: dict[int, str | None] | None = None
) -> bool:
    """Whether an Outlook, Lotus Notes or webmail header block starts at ``lines[index]``.

    It takes a sender label ("From:", "Von:", "差出人:") and two other different labels
    within a few lines: "A: yes" / "A: no" / "A: maybe" in a list of questions and answers
    is text, however many lines it has. ``labels`` remembers each line's label between
    calls, so that a run of label lines is read once, not once per window it falls in.
    """
    labels = {} if labels is None else labels
    if _label_at(lines, index, labels) is None:
        return False
    found = {
        _label_at(lines, at, labels) for at in range(index, min(index + _HEADER_WINDOW, len(lines)))
    }
    found.discard(None)
    return _SENDER in found and len(found) >= _LABELS_IN_A_HEADER_BLOCK


def _label_at(lines: list[str], index: int, labels: dict[int, str | None]) -> str | None:
    if index not in labels:
        labels[index] = _label(examined(lines[index]))
    return labels[index]


def _label(line: str) -> str | None:
    """The header label a line starts with ("from" for any sender label), if any."""
    head = line.strip()
    near_start = head[:_LABEL_REACH]
    has_separator = ":" in near_start or "：" in near_start or "\t" in near_start
    if not has_separator and head not in _BARE:
        return None  # no label without a colon, a tab or a line of its own
    if _FROM_LINE.found(line):
        return _SENDER
    for labelled in (_OTHER_LINE, _LOTUS_LABEL):
        label = labelled.first_group(line)
        if label is not None:
            return label.casefold()
    return None


def is_separator(line: str) -> bool:
    """An "-----Original Message-----" line, in any of the languages above."""
    return _SEPARATOR.found(examined(line))


def is_rule(line: str) -> bool:
    """A line of underscores or dashes, which Outlook puts above its header block."""
    return _RULE.found(examined(line))
