"""``tracker-mail explain``: show how messages are read and what would be done with them.

Nothing is written anywhere. With ``-c rules.yaml`` the message is decided as ``sync``
would decide it: the tracker is asked (reads only) whether the sender has an account and
which issue a reply answers, through the same look-ups ``sync`` uses, and the journal (a
scratch copy of it, when there is one) threads replies to the issues of earlier mail.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tracker_mail_plugin.adapter import IssueRef, TrackerAdapter, UserRef
from tracker_mail_plugin.assemble import (
    build_adapter_or_raise,
    journal_exists,
    journal_path,
    scratch_journal,
)
from tracker_mail_plugin.commands.common import quiet_on_closed_pipe
from tracker_mail_plugin.commands.output import say_problems
from tracker_mail_plugin.config.loader import ConfigFileError, LoadedConfig, load_config
from tracker_mail_plugin.config.model import Policies
from tracker_mail_plugin.errors import ExitCode, TrackerMailError
from tracker_mail_plugin.explanation import as_json, as_text
from tracker_mail_plugin.journal import Journal
from tracker_mail_plugin.mail import Message, parse_message
from tracker_mail_plugin.pipeline.act import left_out, refusal
from tracker_mail_plugin.pipeline.facts import (
    Lookup,
    authentication_for,
    facts_for,
    find_sender,
    look_up,
)
from tracker_mail_plugin.pipeline.replies import candidates_in_order
from tracker_mail_plugin.registry import untranslated
from tracker_mail_plugin.rules.decide import (
    Decision,
    Facts,
    decide,
    offline_reply_target,
    shadowed,
)
from tracker_mail_plugin.rules.model import Comment, CreateAction, Rule
from tracker_mail_plugin.sources import read_paths
from tracker_mail_plugin.trust import DnsFunc

# Through the core's scrubbing handler: a library's exception may carry credentials.
logger = logging.getLogger("tracker_mail")


@dataclass(frozen=True)
class _Setting:
    """The configuration, mailbox and (unless offline) tracker messages are decided with."""

    loaded: LoadedConfig
    mailbox: str
    adapter: TrackerAdapter | None
    # Offline: the adapter built but never asked, for its own reference forms (pure).
    forms: TrackerAdapter | None = None


def command(args: argparse.Namespace) -> ExitCode:
    """Explain every message under ``args.paths``; exit 1 if a file is not mail."""
    setting = _setting(args) if args.config else None
    if isinstance(setting, ExitCode):
        return setting
    with _threads(setting) as journal, quiet_on_closed_pipe():
        return _explain_all(args, setting, journal)
    return ExitCode.OK  # the reader went away (`explain … | head`): nothing more to say


@contextlib.contextmanager
def _threads(setting: _Setting | None) -> Iterator[Journal | None]:
    """A scratch copy of the journal, for threading replies as ``sync`` does; None: no file."""
    if setting is None:
        yield None
        return
    try:
        path = journal_path(setting.loaded, create=False)
    except TrackerMailError:
        yield None
        return
    if not journal_exists(setting.loaded, path):
        yield None
        return
    try:
        with scratch_journal(setting.loaded, path) as journal:
            yield journal
    except TrackerMailError as exc:
        print(f"tracker-mail explain: journal not read: {exc}", file=sys.stderr)
        yield None


def _explain_all(
    args: argparse.Namespace, setting: _Setting | None, journal: Journal | None
) -> ExitCode:
    failed = 0
    first = True
    for item in read_paths(args.paths):
        if item.raw is None:
            failed += 1
            print(f"tracker-mail explain: {item.label}: {item.error}", file=sys.stderr)
            continue
        message = parse_message(item.raw)
        decision = None
        if setting is not None:
            decision = decide_offline(
                setting.loaded, setting.mailbox, message, args.sender_known, args.company,
                setting.adapter, raw=item.raw, journal=journal, forms=setting.forms,
            )  # fmt: skip
        if (args.format or args.log_format) == "json":  # --format wins, else --log-format
            print(as_json(item.label, message, decision))
        else:
            print(("" if first else "\n") + as_text(item.label, message, decision))
        first = False
    return ExitCode.SOME_FAILED if failed else ExitCode.OK


def _setting(args: argparse.Namespace) -> _Setting | ExitCode:
    """The configuration and mailbox explain matches against, or an exit code."""
    try:
        loaded = load_config(args.config)
    except ConfigFileError as exc:
        say_problems(exc.problems, args.log_format, sys.stderr)
        return ExitCode.CONFIGURATION
    mailboxes = list(loaded.config.mailboxes)
    mailbox = args.mailbox or mailboxes[0]
    if mailbox not in mailboxes:
        unknown = (
            f"tracker-mail explain: no mailbox {mailbox!r}; the file has: {', '.join(mailboxes)}"
        )
        say_problems([unknown], args.log_format, sys.stderr)
        return ExitCode.CONFIGURATION
    tracker = loaded.config.mailboxes[mailbox].tracker
    if args.offline:
        return _Setting(loaded, mailbox, None, _forms_reader(loaded, tracker))
    return _Setting(loaded, mailbox, _reader(loaded, tracker))


def _reader(loaded: LoadedConfig, tracker: str) -> TrackerAdapter | None:
    """The tracker's adapter for read-only questions, or None (said on stderr) if unusable."""
    try:
        return build_adapter_or_raise(loaded, tracker)
    except TrackerMailError as exc:
        print(f"tracker-mail explain: tracker {tracker} not consulted: {exc}", file=sys.stderr)
        return None


def _forms_reader(loaded: LoadedConfig, tracker: str) -> TrackerAdapter | None:
    """The adapter, built without a connection, to read references its own way; or None.

    Building reads the options (an unset secret fails it): then the generic ``#N`` reading
    stands in, as it always did offline.
    """
    try:
        return build_adapter_or_raise(loaded, tracker)
    except (TrackerMailError, ValueError):
        return None


def decide_offline(
    loaded: LoadedConfig,
    mailbox: str,
    message: Message,
    sender_known: bool | None,
    company: str | None,
    adapter: TrackerAdapter | None = None,
    *,
    raw: bytes | None = None,
    dnsfunc: DnsFunc | None = None,
    journal: Journal | None = None,
    forms: TrackerAdapter | None = None,
) -> Decision:
    """Decide without changing anything.

    With an adapter, the tracker is asked (reads only) whether the sender has an account
    and which issue a reply answers; ``sender_known`` given on the command line wins.
    Without one, replies are recognised by ``#N`` and the sender is what the options say.
    The sender passes the trust gate as in ``sync`` (``raw`` and ``dnsfunc`` for
    ``trust: verify``, which asks DNS as ``sync`` does). ``journal``: earlier mail's threads
    (read only); a reply to mail that made or answered an issue is threaded to it.
    ``forms``: without an adapter to ask, one whose ``parse_reference`` reads the references
    (its own forms: Jira keys, ``owner/repo#12``, notification Message-IDs), unchecked.
    """
    notes: list[str] = []
    reply_to: IssueRef | str | None = offline_reply_target(message)
    in_conversation = False
    account: UserRef | None = None  # the sender's, when the tracker was asked and has one
    if adapter is not None:
        sender_known, reply_to, in_conversation, account = _ask_tracker(
            loaded, mailbox, message, adapter, sender_known, notes, journal
        )
    elif journal is not None:
        tracker = loaded.config.mailboxes[mailbox].tracker
        ids = [i for i in (message.in_reply_to, *reversed(message.references)) if i]
        thread = journal.find_thread(ids, tracker=tracker)
        if thread is not None:
            adapter_name = loaded.config.trackers[tracker].adapter
            reply_to, in_conversation = IssueRef(adapter_name, thread.issue_key), True
            notes.append(
                f"the journal threads this reply to issue {thread.issue_key} "
                "(not checked against the tracker: offline)"
            )
    if adapter is None and not in_conversation and forms is not None:
        reply_to = _by_form(message, forms, notes) or reply_to
    verdict = authentication_for(message, raw, loaded, mailbox, dnsfunc)
    facts = facts_for(
        loaded,
        mailbox,
        sender_known,
        reply_to,
        company,
        in_conversation=in_conversation,
        authentication=verdict,
    )
    rules = loaded.config.rules_for(mailbox)
    decision = decide(message, rules, loaded.policies(mailbox), facts)
    if adapter is not None and account is not None and not isinstance(reply_to, str):
        decision = _permitted(decision, adapter, reply_to, account, notes)
    later = list(_shadowed_note(message, rules, decision, facts))
    later += _left_out_note(message, decision, loaded.policies(mailbox))
    if notes or later:
        decision = dataclasses.replace(decision, notes=(*notes, *decision.notes, *later))
    return _oversize(decision, message.size, loaded.policies(mailbox).max_message_size)


def _permitted(
    decision: Decision,
    adapter: TrackerAdapter,
    reply_to: IssueRef | None,
    account: UserRef,
    notes: list[str],
) -> Decision:
    """Ask the tracker, as ``sync`` does before writing, whether the sender may (reads only)."""
    if decision.outcome != "act":
        return decision
    try:
        denied = refusal(adapter, decision, reply_to, account)
    except TrackerMailError as exc:
        notes.append(f"whether the sender may do this was not asked ({exc})")
        return decision
    if denied is None:
        return decision
    return dataclasses.replace(decision, outcome="unprocessed", actions=(), skipped_reason=denied)


def _oversize(decision: Decision, size: int, limit: int) -> Decision:
    """Mail over ``max_message_size`` is never downloaded by sync, so never decided."""
    if size <= limit:
        return decision
    return dataclasses.replace(
        decision,
        outcome="unprocessed",
        actions=(),
        skipped_reason=(
            f"{size} bytes, over max_message_size {limit}: sync does not download it "
            "(on_unprocessed); the rules above say what a larger limit would make of it"
        ),
    )


def _left_out_note(message: Message, decision: Decision, policies: Policies) -> list[str]:
    """The files the issue or comment would go without, and the setting that drops each."""
    writes = any(isinstance(p.action, CreateAction | Comment) for p in decision.actions)
    files = left_out(message, policies) if writes else []
    if not files:
        return []
    return [
        f"not attached (excluded_filenames, max_attachment_size): {'; '.join(files)}; "
        "the issue's text names them"
    ]


def _shadowed_note(
    message: Message, rules: Sequence[Rule], decision: Decision, facts: Facts
) -> Iterator[str]:
    below = shadowed(message, rules, decision, facts)
    if below:
        names = ", ".join(f"'{label}'" for label in below)
        which = (
            f"rules {names} below would match too, but never see"
            if below[1:]
            else (f"rule {names} below would match too, but never sees")
        )
        yield (
            f"{which} this message: rules are tried from the top and "
            f"'{decision.trace[-1].rule}' took it (move the one you mean above it, or give "
            "the rule above `continue: true`)"
        )


def _ask_tracker(
    loaded: LoadedConfig,
    mailbox: str,
    message: Message,
    adapter: TrackerAdapter,
    sender_known: bool | None,
    notes: list[str],
    journal: Journal | None,
) -> tuple[bool | None, IssueRef | str | None, bool, UserRef | None]:
    """What the tracker says: sender known, the issue answered, in conversation, account."""
    tracker = loaded.config.mailboxes[mailbox].tracker
    account = None
    try:
        if sender_known is None and message.from_ is not None:
            account = find_sender(message, adapter, loaded)
            sender_known = account is not None
            notes.append(
                f"tracker {tracker}: the sender {'has an' if sender_known else 'has no'} account"
            )
        lookup = look_up(message, adapter, journal, loaded, mailbox, ask_sender=False)
    except TrackerMailError as exc:
        notes.append(f"tracker {tracker} not consulted ({exc}); facts from the options")
        return sender_known, offline_reply_target(message), False, None
    except Exception as exc:
        blame = untranslated(exc, adapter)
        if blame is None:
            raise
        # The adapter's bug, not the message's: it is explained from the options, as when
        # the tracker cannot be reached, with the traceback logged for the adapter's authors.
        logger.exception("tracker %s: the %s adapter failed", tracker, adapter.name)
        notes.append(f"tracker {tracker} not consulted ({blame} above); facts from the options")
        return sender_known, offline_reply_target(message), False, None
    in_subject = [c.text for c in message.reference_candidates if c.source == "subject"]
    if lookup.reply_to is None and in_subject:
        # Says why a reply the subject names becomes a new issue: the tracker has none such.
        notes.append(
            f"tracker {tracker}: no issue it has is named by {', '.join(in_subject[:3])}; "
            "not a reply to an existing issue"
        )
    elif lookup.reply_to is None and (message.in_reply_to or message.references):
        notes.append(_not_a_reply(tracker, journal))
    elif lookup.reply_to is not None:
        notes.append(_found_how(message, adapter, lookup.reply_to.key, lookup, tracker))
    return sender_known, lookup.reply_to, lookup.in_conversation, account


def _not_a_reply(tracker: str, journal: Journal | None) -> str:
    """Why mail answering other mail opens an issue: what it answers made none."""
    seen = "mail the journal has seen" if journal is not None else "mail (there is no journal)"
    return (
        f"In-Reply-To/References name no {seen} make or answer an issue, nor a notification "
        f"of tracker {tracker}, and the subject names no issue: not a reply to an existing "
        "issue (the issue's number in the subject, e.g. #123, makes it one)"
    )


def _found_how(
    message: Message, adapter: TrackerAdapter, key: str, lookup: Lookup, tracker: str
) -> str:
    """Which reference made the message a reply to issue ``key``, and which lost to it."""
    try:
        named = [(c, adapter.parse_reference(c)) for c in candidates_in_order(message)]
    except (TrackerMailError, ValueError):  # look_up read them already; a note is no reason
        named = []
    others = dict.fromkeys(c.text for c, ref in named if ref is not None and ref.key != key)
    if lookup.in_conversation:
        how = "the journal: In-Reply-To/References name earlier mail that made or answered it"
    else:
        by = next((c for c, ref in named if ref is not None and ref.key == key), None)
        how = f"{by.text} ({by.source})" if by is not None else f"tracker {tracker}"
    lost = (
        f"; {', '.join(list(others)[:3])} not used: the first reference naming an issue "
        "wins (earlier mail of the conversation, then notification Message-IDs, then the "
        "subject)"
        if others
        else ""
    )
    return f"a reply to issue {key}, found by {how}{lost}"


def _by_form(message: Message, forms: TrackerAdapter, notes: list[str]) -> IssueRef | None:
    """The first reference the adapter reads as an issue, Message-IDs first, as sync asks."""
    for candidate in candidates_in_order(message):
        ref = forms.parse_reference(candidate)
        if ref is not None:
            notes.append(
                f"a reply to issue {ref.key} by the form of its reference "
                "(not checked against the tracker: offline)"
            )
            return ref
    return None
