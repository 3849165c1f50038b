"""``sync --dry-run``: what a run would do, asked of the tracker without writing anything.

A preview that only ran the rules would promise issues in a project that does not exist,
or from a sender the tracker refuses, and say "fine" when the tracker is down. So before
the first message the tracker is asked to answer at all (unreachable: the run stops, exit
3), and each planned write is checked with read-only questions: ``check`` for the project
and type it names, ``can`` for a sender the rule acts as.
"""

from __future__ import annotations

from tracker_mail_plugin.adapter import Requirements, TrackerAdapter
from tracker_mail_plugin.errors import ConfigurationError
from tracker_mail_plugin.mail import Message
from tracker_mail_plugin.mail.safe_text import bounded
from tracker_mail_plugin.pipeline.act import Actor
from tracker_mail_plugin.pipeline.facts import Lookup
from tracker_mail_plugin.pipeline.outcomes import SENDER_LENGTH, SUBJECT_LENGTH
from tracker_mail_plugin.pipeline.summary import Planned, Summary
from tracker_mail_plugin.rules.decide import Decision, PlannedAction
from tracker_mail_plugin.rules.model import AttachToProject, CreateIssue, CreateRequest

# What the summary counts for each planned write that the tracker would accept.
_WOULD = {
    "create_issue": "created",
    "create_request": "created",
    "comment": "commented",
    "attach_to_project": "attached",
}


class Preview:
    """The tracker's read-only answers for a dry run of one mailbox, asked once each.

    Args:
        adapter: the mailbox's tracker.
        tracker: its name in the configuration, for messages.
    """

    def __init__(self, adapter: TrackerAdapter, tracker: str):
        self.adapter = adapter
        self.tracker = tracker
        self._answers: dict[tuple[str, str, str | None], tuple[str, ...]] = {}

    def reachable(self) -> None:
        """Ask the tracker to answer at all.

        Raises:
            Unreachable: it cannot be reached (the dry run stops, exit 3).
            ConfigurationError: it refuses the credentials, or reports another problem.
        """
        report = self.adapter.check()
        if not report.ok:
            raise ConfigurationError(
                f"tracker {self.tracker}: {problem}" for problem in report.problems
            )

    def problems(self, planned: PlannedAction) -> tuple[str, ...]:
        """What the tracker lacks for this write: a project, an issue or request type."""
        action = planned.action
        if isinstance(action, CreateIssue):
            asked = ("issue", action.project, action.type)
        elif isinstance(action, CreateRequest):
            asked = ("request", action.project, action.request_type)
        elif isinstance(action, AttachToProject):
            asked = ("attach", action.project, None)
        else:
            return ()  # a comment's issue was looked up already; forwards need no tracker
        if asked not in self._answers:
            self._answers[asked] = self.adapter.check(_requirements(*asked)).problems
        return self._answers[asked]

    def plan(
        self, message: Message, decision: Decision, lookup: Lookup, actor: Actor, summary: Summary
    ) -> None:
        """Count what ``decision`` would do and add the message's line to the summary."""
        what = "; ".join(p.describe() for p in decision.actions) or decision.skipped_reason or ""
        outcome, counter = {"drop": ("drop", "dropped")}.get(
            decision.outcome, (decision.outcome, "unprocessed")
        )
        if decision.outcome == "act":
            outcome, what, counter = self._act(decision, lookup, what, actor, summary)
        if counter:
            summary.add(counter)
        summary.planned.append(_line(message, outcome, what))

    def unread(self, message: Message, quarantine: bool, why: str, summary: Summary) -> None:
        """The line of a message the run could not read: it fails, or goes to quarantine.

        ``message``: what a peek at its headers found (see ``unparsed_message``).
        """
        summary.add("quarantined" if quarantine else "failed")
        outcome = "quarantine unread" if quarantine else "fails"
        summary.planned.append(_line(message, outcome, why))

    def _act(
        self, decision: Decision, lookup: Lookup, what: str, actor: Actor, summary: Summary
    ) -> tuple[str, str, str]:
        """``(outcome, what, counter)`` of an ``act`` decision, as the tracker answers."""
        problems = [p for planned in decision.actions for p in self.problems(planned)]
        if problems:
            return "fails", f"{what}: {'; '.join(problems)}", "failed"
        author = lookup.sender if decision.author == "sender" else None
        denied = actor.refusal(decision, lookup.reply_to, author)
        if denied:
            return "unprocessed", denied, "unprocessed"
        for planned in decision.actions:
            summary.add(_WOULD.get(planned.action.action, "forwarded"))
        return "act", what, ""


def _requirements(kind: str, project: str, issue_type: str | None) -> Requirements:
    if kind == "issue":
        return Requirements(issues=frozenset({(project, issue_type)}))
    if kind == "request":
        return Requirements(requests=frozenset({(project, issue_type)}))
    return Requirements(attach_to_project=frozenset({project}))


def _line(message: Message, outcome: str, what: str) -> Planned:
    """A dry run's line for ``message``: subject, sender, what would become of it."""
    sender = str(message.from_) if message.from_ else "(no sender)"
    subject = bounded(message.subject, SUBJECT_LENGTH)
    address = message.from_.address if message.from_ else ""
    text = f"{subject!r} from {bounded(sender, SENDER_LENGTH)}: {outcome}: {what}"
    fields = {"subject": subject, "from": bounded(address, SENDER_LENGTH)}
    return Planned(text, **fields, outcome=outcome, what=what)
