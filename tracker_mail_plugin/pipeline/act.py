"""Carry out a decision through the tracker adapter, each write exactly once.

Every write is journalled before it is attempted, under an idempotency key derived from the
Message-ID and the action's position. A write whose earlier attempt ended without an answer
(a timeout, a killed process) is looked up with ``find_by_key`` before it is tried again,
so a crash between "the tracker created it" and "we recorded it" never creates it twice.
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass, field

from tracker_mail_plugin.adapter import (
    Capability,
    CommentRef,
    IssueRef,
    NewComment,
    NewIssue,
    Permission,
    TrackerAdapter,
    Upload,
    UserRef,
)
from tracker_mail_plugin.config.model import Policies
from tracker_mail_plugin.errors import PermanentError, RetryLater, UnknownOutcome
from tracker_mail_plugin.journal import Journal, idempotency_key
from tracker_mail_plugin.journal.rows import ActionState, MessageRow
from tracker_mail_plugin.mail.attachments import safe_filename
from tracker_mail_plugin.mail.model import Message
from tracker_mail_plugin.pipeline.checkpoints import Checkpoint, CheckpointHook
from tracker_mail_plugin.pipeline.disposal import Forwarder
from tracker_mail_plugin.rules.decide import Decision, PlannedAction
from tracker_mail_plugin.rules.model import (
    AttachToProject,
    Comment,
    CreateAction,
    CreateIssue,
    CreateRequest,
    Forward,
)

# How many of the files past max_attachments the text names; the rest are counted.
_NAMED_OVER_CAP = 50


@dataclass
class Delivered:
    """What the writes of one message did."""

    created: list[IssueRef] = field(default_factory=list)
    commented: list[CommentRef] = field(default_factory=list)
    attached: int = 0
    forwarded: int = 0
    denied: str | None = None  # the sender may not do this: the message is unprocessed

    @property
    def results(self) -> list[IssueRef | CommentRef]:
        """The issues created and the comments added, in that order."""
        return [*self.created, *self.commented]


@dataclass(frozen=True)
class Delivery:
    """Everything needed to carry out one message's decision."""

    message: Message
    raw: bytes
    row: MessageRow
    decision: Decision
    sender: UserRef | None
    replies_to: IssueRef | None
    reopen: bool = False


class Actor:
    """Runs decisions for one mailbox against one tracker."""

    def __init__(
        self,
        adapter: TrackerAdapter,
        journal: Journal,
        tracker: str,
        policies: Policies,
        forward: Forwarder,
        checkpoint: CheckpointHook,
        look_up_first: bool = False,
    ):
        self.adapter = adapter
        self.journal = journal
        self.tracker = tracker
        self.policies = policies
        self.forward = forward
        self.checkpoint = checkpoint
        # Look every new write up in the tracker before making it (a new or restored journal).
        self.look_up_first = look_up_first
        self.confirmed = 0  # writes the tracker confirmed in this run
        self._counting = threading.Lock()  # workers deliver at the same time

    def deliver(self, delivery: Delivery) -> Delivered:
        """Carry out every planned action of ``delivery``; raises the adapter's errors."""
        delivered = Delivered()
        author = self._author(delivery)
        delivered.denied = self.refusal(delivery.decision, delivery.replies_to, author)
        if delivered.denied:
            return delivered
        earlier = {a.idempotency_key: a.state for a in self.journal.actions(delivery.row)}
        for index, planned in enumerate(delivery.decision.actions):
            key = idempotency_key(delivery.message.message_id, index)
            started = self.journal.begin_action(
                delivery.row, index, key, planned.action.action, durable=_unfindable(planned)
            )
            if started.state == ActionState.DONE:
                continue
            if self._may_exist(key, earlier, planned) and self._found_earlier(
                key, delivery, delivered
            ):
                continue
            try:
                self._write(planned, key, delivery, author, delivered)
            except UnknownOutcome as exc:
                self.journal.mark_unknown(key, exc)  # the next run asks find_by_key first
                raise
            except (RetryLater, PermanentError):
                # The adapter refused before writing (the tree's contract: a write that may
                # have happened is UnknownOutcome), so there is nothing to look up later.
                self.journal.forget_action(key)
                raise
        return delivered

    def _may_exist(self, key: str, earlier: dict[str, ActionState], planned: PlannedAction) -> bool:
        """Whether the tracker may hold this write already, so it is looked up first.

        An earlier attempt ended without an answer (``started``/``unknown``); or the journal
        is new (a first run, or the old journal was lost) and knows nothing of this write,
        while the mailbox may still hold mail an earlier journal handled. The key comes
        from the message, so it is the same key that earlier run wrote.
        """
        if key in earlier:
            return earlier[key] != ActionState.DONE
        return self.look_up_first and isinstance(planned.action, (CreateAction, Comment))

    # -- who, and may they ------------------------------------------------------------------

    def _author(self, delivery: Delivery) -> UserRef | None:
        """The account the objects are created as; None means the configured account."""
        author = delivery.decision.author
        if author == "sender":
            return delivery.sender
        if author == "new_user" and delivery.message.from_ is not None:
            project = _first_project(delivery.decision.actions)
            if project is not None:
                sender = delivery.message.from_
                return self.adapter.create_user(sender.address, sender.name, project)
        return None

    def refusal(
        self, decision: Decision, replies_to: IssueRef | None, author: UserRef | None
    ) -> str | None:
        """Why the sender may not do what the rules ask, if they may not (asks ``can``)."""
        return refusal(self.adapter, decision, replies_to, author)

    # -- writing ---------------------------------------------------------------------------

    def _found_earlier(self, key: str, delivery: Delivery, delivered: Delivered) -> bool:
        """After an unknown outcome: did the tracker get the write after all?"""
        found = self.adapter.find_by_key(key, issue=delivery.replies_to)
        if found is None:
            return False
        self.journal.finish_action(key, found, self._thread(delivery, found))
        return True

    def _write(
        self,
        planned: PlannedAction,
        key: str,
        delivery: Delivery,
        author: UserRef | None,
        delivered: Delivered,
    ) -> None:
        action = planned.action
        result: IssueRef | CommentRef | str
        if isinstance(action, CreateAction):
            result = self.adapter.create_issue(self._new_issue(planned, key, delivery, author))
            delivered.created.append(result)
        elif isinstance(action, Comment):
            result = self._comment(planned, key, delivery, author)
            delivered.commented.append(result)
        elif isinstance(action, AttachToProject):
            upload = _original(delivery.message, delivery.raw)
            result = self.adapter.attach_to_project(action.project, upload, key)
            delivered.attached += 1
        elif isinstance(action, Forward):
            why = f"rule '{planned.rule}' forwards it"
            self.forward(delivery.message, delivery.raw, action.to, why)
            result = f"forwarded to {action.to}"
            delivered.forwarded += 1
        else:  # pragma: no cover - decide() never plans anything else
            raise TypeError(f"cannot carry out {action!r}")
        self.checkpoint(Checkpoint.AFTER_WRITE)  # the crash window this module exists for
        thread = None if isinstance(result, str) else self._thread(delivery, result)
        self.journal.finish_action(key, result, thread)
        with self._counting:
            self.confirmed += 1

    def _comment(
        self, planned: PlannedAction, key: str, delivery: Delivery, author: UserRef | None
    ) -> CommentRef:
        assert delivery.replies_to is not None  # noqa: S101 - decide() plans comments on replies only
        action = planned.action
        assert isinstance(action, Comment)  # noqa: S101
        if delivery.reopen:
            self.adapter.reopen_issue(delivery.replies_to)
        text, uploads = self._text_and_files(planned.text, delivery, author)
        new = NewComment(text, key, author=author, attachments=uploads, private=action.private)
        return self.adapter.add_comment(delivery.replies_to, new)

    def _new_issue(
        self, planned: PlannedAction, key: str, delivery: Delivery, author: UserRef | None
    ) -> NewIssue:
        action = planned.action
        assert isinstance(action, CreateAction)  # noqa: S101 - _write checked it
        text, uploads = self._text_and_files(planned.text, delivery, author)
        issue = action if isinstance(action, CreateIssue) else None
        request = action if isinstance(action, CreateRequest) else None
        return NewIssue(
            project=action.project,
            title=action.title or delivery.message.subject or "(no subject)",
            text=text,
            idempotency_key=key,
            issue_type=issue.type if issue else None,
            priority=action.priority,
            labels=tuple(action.labels),
            assignee=issue.assignee if issue else None,
            custom_fields=dict(action.custom_fields),
            private=issue.private if issue else False,
            watchers=self._watchers(delivery.message),
            reporter=author,
            attachments=uploads,
            request=request is not None,
            request_type=request.request_type if request else None,
        )

    def _watchers(self, message: Message) -> tuple[UserRef, ...]:
        """CC'd people who have tracker accounts (where the tracker has watchers)."""
        if not self.adapter.supports(Capability.WATCHERS):
            return ()
        found = (self.adapter.find_user(cc.address) for cc in message.cc)
        return tuple(user for user in found if user is not None)

    def _text_and_files(
        self, text: str, delivery: Delivery, author: UserRef | None
    ) -> tuple[str, tuple[Upload, ...]]:
        """The text (with the sender named when created as someone else) and the uploads."""
        message = delivery.message
        if author is None and message.from_ is not None:
            # Created as the configured account: the text says who really wrote it.
            text = f"From: {message.from_}\n\n{text}"
        uploads: list[Upload] = []
        left_out: list[str] = []
        over_cap: list[str] = []
        for attachment in message.attachments:
            reason = _exclusion(attachment.filename, attachment.size, self.policies)
            if reason:
                left_out.append(f"{attachment.filename} ({reason})")
            elif len(uploads) >= self.policies.max_attachments:
                over_cap.append(attachment.filename)
            else:
                uploads.append(Upload.from_attachment(attachment))
        if self.policies.keep_original:
            uploads.append(_original(message, delivery.raw))
        if left_out:
            text += "\n\nNot attached: " + "; ".join(left_out)
        if over_cap:
            text += _over_cap_note(over_cap, self.policies.max_attachments)
        return text, tuple(uploads)

    def _thread(self, delivery: Delivery, result: IssueRef | CommentRef) -> tuple[str, str, str]:
        """What the journal remembers so that later replies thread onto the same issue."""
        issue = result.issue if isinstance(result, CommentRef) else result
        return (delivery.message.message_id, self.tracker, issue.key)


def refusal(
    adapter: TrackerAdapter, decision: Decision, replies_to: IssueRef | None, author: UserRef | None
) -> str | None:
    """Why the sender may not do what the rules ask, if they may not (asks ``can``, reads only).

    ``author``: the sender's account; the decision's ``author`` says whether they write at all.
    """
    if decision.author != "sender":
        return None  # created as the configured account or a user made for this project
    for planned in decision.actions:
        action = planned.action
        if isinstance(action, CreateAction):
            request = isinstance(action, CreateRequest)
            issue_type = _issue_type(action)
            verb = Permission.CREATE_REQUEST if request else Permission.CREATE_ISSUE
            if not adapter.can(author, verb, action.project, issue_type):
                what = "requests" if request else "issues"
                what = f"{what} of type {issue_type}" if issue_type else what
                return f"the sender may not create {what} in project {action.project}"
        elif isinstance(action, Comment) and replies_to is not None:
            project = replies_to.project or ""
            if not adapter.can(author, Permission.COMMENT, project):
                return f"the sender may not comment on issue {replies_to.key}"
    return None


def _unfindable(planned: PlannedAction) -> bool | None:
    """True for a write ``find_by_key`` cannot find: its ``started`` row is fsynced first.

    Issues and comments carry their key in the tracker, so a ``started`` row lost with a
    power loss is made up for by looking them up (see ``Journal.begin_run``); a forward or
    a file attached to a project cannot be looked up, so its row must be on disk before it
    is sent. None: the journal's default (grouped within a run).
    """
    return None if isinstance(planned.action, (CreateAction, Comment)) else True


def _issue_type(action: CreateAction) -> str | None:
    """The issue type (or the service desk's request type) a create action asks for."""
    if isinstance(action, CreateRequest):
        return action.request_type
    return action.type if isinstance(action, CreateIssue) else None


def _first_project(actions: tuple[PlannedAction, ...]) -> str | None:
    for planned in actions:
        project = getattr(planned.action, "project", None)
        if isinstance(project, str):
            return project
    return None


def left_out(message: Message, policies: Policies) -> list[str]:
    """The files an issue or comment of ``message`` leaves out, each with why (``explain``)."""
    found = []
    for attachment in message.attachments:
        reason = _exclusion(attachment.filename, attachment.size, policies)
        if reason:
            found.append(f"{attachment.filename} ({reason})")
    return found


def _exclusion(filename: str, size: int, policies: Policies) -> str | None:
    """Why a file is left out, in words for the issue's readers; None: it is kept."""
    lowered = filename.lower()
    for pattern in policies.excluded_filenames:
        if fnmatch.fnmatchcase(lowered, pattern.lower()):
            return f"excluded by {pattern}"
    limit = policies.max_attachment_size
    if size > limit:
        shown, most = _megabytes(size), _megabytes(limit)
        if shown == most:  # "0.1 MB, over the 0.1 MB limit" would say nothing
            shown, most = f"{size} bytes", f"{limit} bytes"
        return f"{shown}, over the {most} limit"
    return None


def _over_cap_note(names: list[str], limit: int) -> str:
    """The files past ``max_attachments``, named up to a point: the text stays readable."""
    shown = "; ".join(names[:_NAMED_OVER_CAP])
    more = len(names) - _NAMED_OVER_CAP
    rest = f"; and {more} more" if more > 0 else ""
    return (
        f"\n\nNot attached ({len(names)} file(s) over the limit of {limit} attachments "
        f"per message, max_attachments): {shown}{rest}"
    )


def _megabytes(size: int) -> str:
    if size < 10**6:
        return f"{size / 1000:.0f} kB"
    return f"{size / 10**6:.1f} MB"


def _original(message: Message, raw: bytes) -> Upload:
    """The message itself as an ``.eml`` file (attach_to_project, keep_original)."""
    name = safe_filename(f"{message.subject or 'message'}.eml", "message/rfc822", 1)
    return Upload.from_bytes(name, raw, "message/rfc822")
