"""Which existing issue a message answers: the journal's threads, then the tracker's forms."""

from __future__ import annotations

from dataclasses import dataclass

from tracker_mail_plugin.adapter import IssueRef, TrackerAdapter
from tracker_mail_plugin.journal import Journal
from tracker_mail_plugin.mail.model import Message, ReferenceCandidate, RefKind


@dataclass(frozen=True, slots=True)
class Answered:
    """The issue a reply answers, and how it was found.

    Attributes:
        issue: the issue, with its project when the tracker said.
        reopen: it is closed and the reply policy reopens it first.
        in_conversation: found through the journal's threads (earlier mail of this
            conversation made or commented on it), not only named by the mail.
    """

    issue: IssueRef
    reopen: bool = False
    in_conversation: bool = False


def reply_target(
    message: Message,
    adapter: TrackerAdapter,
    journal: Journal | None,
    tracker: str,
    closed_policy: str,
) -> Answered | None:
    """The issue ``message`` replies to (None: not a reply to an existing issue).

    The journal knows the Message-IDs of mail that created or commented on issues (nearest
    In-Reply-To/References first); otherwise each reference candidate goes to the adapter,
    Message-IDs first (a tracker's notification ids are exact), then the subject's forms
    (``#12``, ``ABC-12``), as Redmine's own mail handler does. A candidate naming no
    existing issue is not a reply. A closed issue is answered as ``closed_policy`` says:
    ``comment``, ``reopen``, or ``new_issue`` (then it is not a reply).
    """
    ids = [i for i in (message.in_reply_to, *reversed(message.references)) if i]
    thread = journal.find_thread(ids, tracker=tracker) if journal is not None else None
    ref: IssueRef | None = IssueRef(adapter.name, thread.issue_key) if thread else None
    state = adapter.get_issue(ref) if ref is not None else None
    in_conversation = state is not None
    for candidate in candidates_in_order(message) if state is None else ():
        ref = adapter.parse_reference(candidate)
        # The first candidate naming an issue that exists: "UTF-8 ABC-12" is about ABC-12.
        state = adapter.get_issue(ref) if ref is not None else None
        if state is not None:
            break
    if state is None or (state.closed and closed_policy == "new_issue"):
        return None
    found = IssueRef(state.ref.adapter, state.ref.key, state.ref.url, state.project)
    return Answered(found, state.closed and closed_policy == "reopen", in_conversation)


def candidates_in_order(message: Message) -> list[ReferenceCandidate]:
    """The message's reference candidates, Message-IDs first (a tracker's ids are exact)."""
    return sorted(message.reference_candidates, key=lambda c: c.kind != RefKind.MESSAGE_ID)
