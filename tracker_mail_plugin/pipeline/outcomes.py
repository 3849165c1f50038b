"""One log line per message: what became of it, for ``sync -v`` and log collectors.

Text logs read ``support #12 alice@example.com "Printer on fire": created 7 <url>``; JSON
logs carry the same as separate fields (``mailbox``, ``id``, ``sender``, ``subject``,
``outcome``, ``issue``, ``url``, ``reason``), so a collector can filter on them without
parsing a sentence. Senders and subjects come from mail anyone can send: they are cut to
one short line without control or format characters before they reach a log.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from tracker_mail_plugin.adapter import CommentRef, IssueRef
from tracker_mail_plugin.mail import Message
from tracker_mail_plugin.mail.safe_text import bounded

logger = logging.getLogger("tracker_mail")

SENDER_LENGTH = 80
SUBJECT_LENGTH = 100
# Error texts can quote the tracker's answer at length; a log line shows the gist.
REASON_LENGTH = 300


@dataclass(frozen=True)
class Outcome:
    """What became of one message in a run.

    Attributes:
        mailbox: the mailbox's name.
        id: the message's journal id (``tracker-mail status``, ``retry``); None when the
            message was never journalled (too large to download).
        sender: the From address, cleaned and bounded.
        subject: the subject, cleaned and bounded.
        outcome: ``created``, ``commented``, ``dropped``, ``unprocessed``, ``failed``,
            ``quarantined``… (several joined by ``", "``).
        issue: the key of the issue created or commented, when there is one.
        url: its link, when the tracker gave one.
        reason: why it was not imported, or the error.
    """

    mailbox: str
    id: int | None
    sender: str
    subject: str
    outcome: str
    issue: str | None = None
    url: str | None = None
    reason: str | None = None

    def text(self) -> str:
        """The line people read."""
        if self.id is None and not (self.sender or self.subject):
            line = f"{self.mailbox} - (not downloaded): "  # too large: only its size is known
        else:
            number = f"#{self.id}" if self.id is not None else "-"
            line = f'{self.mailbox} {number} {self.sender or "(no sender)"} "{self.subject}": '
        line += self.outcome
        line += "".join(f" {part}" for part in (self.issue, self.url) if part)
        return f"{line} ({self.reason})" if self.reason else line


def outcome_for(
    mailbox: str, row_id: int | None, message: Message | None, outcome: str, **details: str | None
) -> Outcome:
    """An :class:`Outcome` with the message's sender and subject made safe to show."""
    sender = message.from_.address if message is not None and message.from_ else ""
    subject = message.subject if message is not None else ""
    reason = details.pop("reason", None)
    return Outcome(
        mailbox,
        row_id,
        bounded(sender, SENDER_LENGTH),
        bounded(subject, SUBJECT_LENGTH),
        outcome,
        reason=bounded(reason, REASON_LENGTH) if reason else None,
        **details,
    )


def issue_fields(results: list[IssueRef | CommentRef]) -> dict[str, str | None]:
    """``issue`` and ``url`` for the issues created or commented (several joined by ``, ``)."""
    issues = [r.issue if isinstance(r, CommentRef) else r for r in results]
    keys = ", ".join(dict.fromkeys(i.key for i in issues)) or None
    urls = ", ".join(dict.fromkeys(i.url for i in issues if i.url)) or None
    return {"issue": keys, "url": urls}


def report(outcome: Outcome, level: int = logging.INFO) -> None:
    """Log the line; :mod:`tracker_mail_plugin.logs` turns the fields into JSON keys."""
    if not logger.isEnabledFor(level):
        return  # without -v: no line and no fields made, for each of thousands of messages
    logger.log(level, "%s", outcome.text(), extra={"outcome": asdict(outcome)})
