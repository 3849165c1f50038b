"""What the rules may not read from the mail itself: who the sender is, which issue it answers.

Who the sender is has two halves: whether the address named in From is proven (the trust
gate, :func:`authentication_for`) and which tracker account it has (:func:`find_sender`).

``sync``, ``receive`` and ``explain`` all ask here, so a message is judged the same way
whether it is imported or explained.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker_mail_plugin.adapter import IssueRef, TrackerAdapter, UserRef
from tracker_mail_plugin.config.loader import LoadedConfig
from tracker_mail_plugin.errors import ConfigurationError
from tracker_mail_plugin.journal import Journal
from tracker_mail_plugin.mail import Message
from tracker_mail_plugin.pipeline.replies import reply_target
from tracker_mail_plugin.rules.conditions import SenderFacts
from tracker_mail_plugin.rules.decide import Facts
from tracker_mail_plugin.trust import DnsFunc, Verdict, VerifierMissing, authenticate


@dataclass(frozen=True, slots=True)
class Lookup:
    """What the tracker (and the journal) said about one message.

    Attributes:
        sender: the sender's account, from the tracker or the configuration's ``users:``.
        reply_to: the existing issue the message answers, if any.
        reopen: that issue is closed and the reply policy reopens it.
        in_conversation: the journal threads the message to that issue.
    """

    sender: UserRef | None
    reply_to: IssueRef | None
    reopen: bool = False
    in_conversation: bool = False


def look_up(
    message: Message,
    adapter: TrackerAdapter,
    journal: Journal | None,
    loaded: LoadedConfig,
    mailbox: str,
    *,
    ask_sender: bool = True,
) -> Lookup:
    """Ask the tracker about the sender (unless ``ask_sender`` is False) and the reply target.

    ``journal``: threads of earlier mail; None when explaining (nothing is journalled then).
    """
    sender = find_sender(message, adapter, loaded) if ask_sender else None
    tracker = loaded.config.mailboxes[mailbox].tracker
    closed = loaded.policies(mailbox).replies.closed_issue
    found = reply_target(message, adapter, journal, tracker, closed)
    if found is None:
        return Lookup(sender, None)
    return Lookup(sender, found.issue, found.reopen, found.in_conversation)


def find_sender(message: Message, adapter: TrackerAdapter, loaded: LoadedConfig) -> UserRef | None:
    """The sender's tracker account; the ``users:`` map names one the tracker does not find."""
    if message.from_ is None:
        return None
    found = adapter.find_user(message.from_.address)
    login = loaded.config.users.get(message.from_.address)
    if found is None and login:
        return UserRef(id=login, login=login, name=message.from_.name, email=message.from_.address)
    return found


def authentication_for(
    message: Message,
    raw: bytes | None,
    loaded: LoadedConfig,
    mailbox: str,
    dnsfunc: DnsFunc | None = None,
) -> Verdict:
    """The trust gate's verdict on the sender, by the mailbox's ``trust`` policy.

    ``raw``: the message's bytes, for ``trust: verify`` (None: stamped results only).
    ``dnsfunc``: the DNS lookup of our own DKIM/ARC checks (tests); None: the system's.
    """
    try:
        return authenticate(message, raw, loaded.policies(mailbox).trust, dnsfunc)
    except VerifierMissing as exc:
        raise ConfigurationError(str(exc)) from None


def facts_for(
    loaded: LoadedConfig,
    mailbox: str,
    sender_known: bool | None,
    reply_to: IssueRef | str | None,
    company: str | None = None,
    *,
    in_conversation: bool = False,
    authentication: Verdict | None = None,
) -> Facts:
    """The facts :func:`~tracker_mail_plugin.rules.decide.decide` reads besides the message.

    ``reply_to``: the issue the tracker found (with its project), or only a key (offline).
    """
    issue = reply_to if isinstance(reply_to, IssueRef) else None
    return Facts(
        sender=SenderFacts(known=sender_known, company=company),
        reply_to=issue.key if issue else reply_to if isinstance(reply_to, str) else None,
        companies=loaded.config.company_table(),
        mailbox=mailbox,
        reply_project=issue.project if issue else None,
        reply_in_conversation=in_conversation,
        authentication=authentication,
    )
