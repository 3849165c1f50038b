"""Other projects' mail test sets, run through our parser with Python's ``email`` as a check.

The messages (tests/corpora/cpython-email, mail-parser, flufl-bounce, mail-gem,
mail-mime-parser, php-mime-mail-parser, enmime, james-mime4j, django-mailbox; sources and
licences in each folder's NOTICE.md) were written or collected by the authors of those
projects and include the odd and broken mail they met. For every one: the parser answers
without falling back to the raw text, the body is text without NUL or U+FFFD (none of them
has bytes broken in its own charset), and every attachment has exactly the size ``email``
decodes for that part. flufl.bounce's delivery reports, from servers of every kind, must all
be told from people's mail.
"""

from __future__ import annotations

import email
import email.policy
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

import pytest

from tracker_mail_plugin.mail import Automated, Message, parse_message

CORPORA = Path(__file__).parent / "corpora"
SOURCES = (
    "cpython-email",
    "mail-parser",
    "flufl-bounce",
    "mail-gem",
    "mail-mime-parser",
    "php-mime-mail-parser",
    "enmime",
    "james-mime4j",
    "django-mailbox",
)
MESSAGES = sorted(
    path
    for source in SOURCES
    for path in (CORPORA / source).iterdir()
    if path.name not in ("NOTICE.md", "README.md")
)

# Attachments whose decoded size ``email`` and we legitimately disagree on: ours, and why.
SIZE_DIFFERS = {
    # "[Removed part]" stands where base64 was, twice: email keeps the bytes its lenient
    # decoder makes of it (8), we decode whole groups of valid characters only (6).
    "groupwise_03.txt": [6, 6],
    # Outlook Express for Mac reused the outer boundary for a nested part; email stops at
    # the nested part's final delimiter and loses the image after it, we keep it.
    "msg_15.txt": [21],
    # The PDF's base64 was cut off mid-group ("...ChXZUpYRnh"): email keeps two bytes of the
    # broken group (524), we decode whole groups only (522), as for groupwise_03.
    "malformed-multiple-address-header-values.raw": [18, 522],
    "mime-unquoted-tspecials-param.raw": [522],
    # 'name="7DDA4_foo_9E5D72.zip"' continues Content-Type without indentation: email takes
    # it for the first body line and decodes the headers below it as base64 (63 bytes); we
    # skip that one line, as enmime does, and decode the attachment itself ("<html>\n").
    "bad-header-wrap.raw": [7],
}


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _email_leaf_sizes(message: EmailMessage) -> Counter[int]:
    """Decoded sizes of the leaves email sees outside forwarded messages (kept whole by us)."""
    sizes: Counter[int] = Counter()
    pending = [message]
    while pending:
        part = pending.pop()
        if part.get_content_maintype() == "message":
            continue
        if part.is_multipart():
            pending.extend(part.iter_parts())  # type: ignore[arg-type]
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            sizes[len(payload)] += 1
    return sizes


def _from_mime_part(message: Message, name: str) -> bool:
    """False for files we found inside text or inside winmail.dat, where email sees none."""
    return not any(
        (f"{name!r} that was written into the text" in defect) or "winmail.dat" in defect
        for defect in message.defects
    )


@pytest.mark.parametrize("path", MESSAGES, ids=_id)
def test_message_parses_to_readable_text(path: Path) -> None:
    message = parse_message(path.read_bytes())
    assert not any("the parser failed" in defect for defect in message.defects)
    assert isinstance(message.full_body, str)
    assert "\x00" not in message.full_body
    assert "\x00" not in message.subject
    # Every message here is honest about its charset (or says none and is readable as one).
    assert "\ufffd" not in message.full_body
    assert "\ufffd" not in message.subject


@pytest.mark.parametrize("path", MESSAGES, ids=_id)
def test_attachment_sizes_match_what_email_decodes(path: Path) -> None:
    raw = path.read_bytes()
    message = parse_message(raw)
    expected = _email_leaf_sizes(email.message_from_bytes(raw, policy=email.policy.default))  # type: ignore[arg-type]
    ours = Counter(
        attachment.size
        for attachment in message.attachments
        if not attachment.content_type.startswith("message/")
        and _from_mime_part(message, attachment.filename)
    )
    if path.name in SIZE_DIFFERS:
        assert sorted(ours.elements()) == SIZE_DIFFERS[path.name]
        return
    assert ours <= expected, f"sizes email does not decode: {ours - expected}"


def test_corpus_is_not_empty() -> None:
    counts = Counter(path.parent.name for path in MESSAGES)
    assert all(counts[source] >= 1 for source in SOURCES), counts
    assert sum(counts.values()) >= 220, counts


# flufl.bounce's set holds Mailman's delivery reports and two people's replies to list mail.
PEOPLES_REPLIES = {"groupwise_03.txt", "simple_20.txt"}
FLUFL = sorted((CORPORA / "flufl-bounce").glob("*.txt"))


@pytest.mark.parametrize("path", FLUFL, ids=_id)
def test_delivery_reports_are_never_taken_for_a_persons_mail(path: Path) -> None:
    message = parse_message(path.read_bytes())
    if path.name in PEOPLES_REPLIES:
        assert message.automated is None
    else:
        # Some reports also say Precedence: bulk or Auto-Submitted: auto-replied: any of
        # these keeps them from opening issues; most must be recognised as bounces.
        assert message.automated is not None


def test_most_delivery_reports_are_recognised_as_bounces() -> None:
    kinds = Counter(
        parse_message(path.read_bytes()).automated
        for path in FLUFL
        if path.name not in PEOPLES_REPLIES
    )
    assert kinds[Automated.BOUNCE] >= 100, kinds
