r"""Signatures without the ``-- `` delimiter: phone sign-offs and contact blocks at the end.

Two kinds are removed from the end of a reply's text, and only those:

- the line a phone or a webmail adds ("Sent from my iPhone", "Envoyé de mon iPhone",
  "Von meinem iPhone gesendet", "Enviado desde mi…", "Inviato da…", "Get Outlook for iOS"…);
- a contact block: the last lines, each short and either a contact line (a phone number, a
  web address, a mail address, "Manager | Company" with bars) or a name, a job title or a
  company, with at least one contact line among them.

Conservative on purpose: a line of real text (long, or ending like a sentence, or neither
a name, a title nor a contact) is never part of a block, so a person's last paragraph
stays; a name alone, or "Thanks,\nJim", is left to the sign-off rules of the reply library.
Lines are examined up to a bounded length with RE2 expressions: linear in the text.
"""

from __future__ import annotations

import re2

from tracker_mail_plugin.mail.utf8_regex import Utf8Pattern

_LONGEST_SIGNATURE_LINE = 72
_MOST_WORDS = 8
_LONGEST_MOBILE_LINE = 80
_TABLE_ROW = "|"

_OPTIONS = re2.Options()
_OPTIONS.case_sensitive = False


def _compile(pattern: str) -> Utf8Pattern:
    return Utf8Pattern(pattern, _OPTIONS)


_MOBILE = _compile(
    r"^\s*(?:Sent\s+from\s+(?:my\s+)?\S.{0,40}|Sent\s+via\s+\S.{0,40}"
    r"|Get\s+Outlook\s+for\s+(?:iOS|Android)|Outlook\s+for\s+(?:iOS|Android)"
    r"|Envoyé\s+(?:de\s+mon|depuis\s+mon|depuis)\s+\S.{0,40}|Von\s+meinem\s+\S.{0,40}\s+gesendet"
    r"|Gesendet\s+(?:von|mit)\s+(?:meinem\s+)?\S.{0,40}|Enviado\s+desde\s+(?:mi\s+)?\S.{0,40}"
    r"|Enviado\s+do\s+(?:meu\s+)?\S.{0,40}|Inviato\s+da\s+\S.{0,40}"
    r"|Verzonden\s+(?:vanaf|met)\s+\S.{0,40}|Verstuurd\s+vanaf\s+(?:mijn\s+)?\S.{0,40}"
    r"|Skickat\s+från\s+(?:min\s+)?\S.{0,40}|Sendt\s+fra\s+(?:min\s+)?\S.{0,40}"
    r"|Wysłane\s+z\s+\S.{0,40}|Отправлено\s+(?:с|из)\s+\S.{0,40}"
    r"|Lähetetty\s+\S.{0,40}|iPhoneから送信|iPadから送信|从我的\s*iPhone\s*发送"
    r"|發自我的\s*iPhone|发自我的\s*iPhone)\s*$"
)
# A number alone must look like a phone number ("+44 …", "(555) …", "0161 …"), not like an
# IP address or a date; after a label ("Tel:", "M") any digits and separators will do.
_PHONE = _compile(
    r"^\s*(?:(?:tel|phone|mobile|mob|cell|fax|direct|office|t|m|p|f|d|o|telefon|handy|mobil"
    r"|tél|téléphone|portable|móvil|teléfono|cellulare|telefono|telefoon|тел)\.?\s*[:.]?\s*"
    r"\+?[\d\s().\-/]{7,30}|[+(0][\d\s().\-/]{6,30})(?:\s*(?:ext|x)\.?\s*\d{1,5})?\s*$"
)
_WEB = _compile(r"^\s*(?:(?:web|www|site|w|internet)\s*[:.]?\s*)?(?:https?://|www\.)\S+\s*$")
_MAIL = _compile(r"^\s*(?:(?:e-?mail|mail|e)\s*[:.]?\s*)?<?[^\s@]+@[^\s@]+\.[^\s@]+>?\s*$")
_RULE_LINE = _compile(r"^[-_=]{10,}$")
_BARS = _compile(r"\S\s+[|•·]\s+\S")
_TITLE = _compile(
    r"\b(?:Manager|Director|Engineer|Officer|Head|Lead|Consultant|Specialist|Administrator"
    r"|Support|Sales|Developer|President|CEO|CTO|CFO|COO|CIO|VP|Assistant|Coordinator|Analyst"
    r"|Architect|Department|Dept|Team|Partner|Founder|Owner|Geschäftsführer|Geschäftsführerin"
    r"|Leiter|Leiterin|Abteilung|Vertrieb|Responsable|Directeur|Directrice|Gerente|Direttore"
    r"|Responsabile|Ingénieur|Ingeniero|Technician|Technicien|Accountant|Procurement)\b"
)
_COMPANY = _compile(
    r"(?:\b(?:Ltd|Limited|GmbH|AG|Inc|Corp|Corporation|LLC|LLP|PLC|SA|SAS|SARL|SpA|BV|NV|Oy"
    r"|AB|Pty|KG|Srl|S\.r\.l|S\.A|B\.V|N\.V|A/S|Co)\b\.?)"
)
_SENTENCE_END = (".", "?", "!", ";", ",", ":")
# A mailing list's footer: "<list> mailing list", its address, its listinfo page.
_LIST_FOOTER = _compile(
    r"mailing\s+list|/listinfo|/mailman/|Mailingliste|liste\s+de\s+diffusion|lista\s+de\s+correo"
)
_LONGEST_FOOTER = 6
_LIST_WORDS = ("list", "mailman")


def strip_signature(text: str) -> str:
    """``text`` without a phone sign-off line or contact block at its end."""
    lines = text.rstrip().split("\n")
    _drop_list_footer(lines)
    _drop_mobile_lines(lines)
    block = _contact_block_start(lines)
    if block is not None and any(line.strip() for line in lines[:block]):
        del lines[block:]
        _drop_mobile_lines(lines)
    if not any(line.strip() for line in lines):
        return text.strip("\n")
    return "\n".join(lines).rstrip()


def _drop_mobile_lines(lines: list[str]) -> None:
    while lines:
        last = lines[-1]
        if last.strip():
            if len(last) > _LONGEST_MOBILE_LINE or not _MOBILE.found(last):
                return
            if not any(lines[at].strip() for at in range(len(lines) - 1)):
                return  # the line is all the text there is: keep it
        lines.pop()


def _drop_list_footer(lines: list[str]) -> None:
    """Remove a mailing list's footer paragraph: a list name, its address and its page."""
    if not lines or not any(word in lines[-1].casefold() for word in _LIST_WORDS):
        return  # a footer ends with the list's address or page, which names it
    start = len(lines)
    while start > 0 and lines[start - 1].strip() and len(lines) - start < _LONGEST_FOOTER:
        start -= 1
    block = [_bounded(line).strip() for line in lines[start:]]
    if start == 0 or (start > 0 and lines[start - 1].strip()) or not block:
        return
    if not any(_LIST_FOOTER.found(line) for line in block):
        return
    if all(_is_footer_line(line) for line in block):
        del lines[start:]


def _is_footer_line(line: str) -> bool:
    if _WEB.found(line) or _MAIL.found(line) or _RULE_LINE.found(line):
        return True
    return _LIST_FOOTER.found(line) and not line.endswith(_SENTENCE_END)


def _contact_block_start(lines: list[str]) -> int | None:
    """Where the trailing run of signature lines starts, if it is a contact block.

    The run must start with a name, title, company or "Name | Title" line and hold a
    contact line: a link or an address alone below "The logs are here:" is text.
    """
    start = len(lines)
    contact = False
    while start > 0:
        line = lines[start - 1]
        if not line.strip():
            break
        kind = _signature_kind(line)
        if kind is None:
            break
        contact = contact or kind == "contact"
        start -= 1
    if not contact or start == len(lines) or not _opens_a_signature(lines[start]):
        return None
    return start


def _opens_a_signature(line: str) -> bool:
    return _signature_kind(line) == "identity" or _BARS.found(_bounded(line))


def _signature_kind(line: str) -> str | None:
    """The kind of signature line: "contact", "identity" (name, title, company) or None."""
    text = line.strip()
    if len(text) > _LONGEST_SIGNATURE_LINE or text.startswith(_TABLE_ROW):
        return None  # long lines are text; a table row (HTML made into text) is content
    if _may_be_contact(text) and (
        _PHONE.found(text) or _WEB.found(text) or _MAIL.found(text) or _BARS.found(text)
    ):
        return "contact"
    if len(text.split()) > _MOST_WORDS or text.endswith(_SENTENCE_END):
        return None
    if _is_name(text) or _TITLE.found(text) or _COMPANY.found(text):
        return "identity"
    return None


def _may_be_contact(text: str) -> bool:
    """A phone, address, link or bar line has one of these; most lines have none."""
    return any(char.isdigit() or char in "@|•·" for char in text) or "www" in text


def _is_name(text: str) -> bool:
    """Two to four words, each capitalised: "Jim Smith", "Anna M. Smirnova"."""
    words = text.split()
    return 2 <= len(words) <= 4 and all(word[0].isupper() for word in words)


def _bounded(line: str) -> str:
    return line[: _LONGEST_SIGNATURE_LINE * 2]
