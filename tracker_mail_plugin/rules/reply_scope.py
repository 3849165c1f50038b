"""Which existing issues a sender without a tracker account may comment on.

A sender the tracker does not know is written as the configured account (or as an account
made for them), so a reply naming any issue number would let anyone write into any issue,
private ones in projects this mailbox never files into included. ``replies: {from_unknown:
…}`` limits them: to the conversation this tool already made an issue of, or also to the
mailbox's own projects (the default), or not at all (``any``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tracker_mail_plugin.config.model import Policies
from tracker_mail_plugin.rules.model import AttachToProject, CreateAction, Rule


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """What is known about the issue a reply answers.

    Attributes:
        key: the issue's key in the tracker.
        project: its project, when the tracker said (None offline).
        in_conversation: found through the journal: this tool made or commented on it from
            earlier mail of the same conversation.
    """

    key: str
    project: str | None = None
    in_conversation: bool = False


def mailbox_projects(rules: Sequence[Rule]) -> frozenset[str]:
    """The projects the rules file into, as written (templated names cannot be known here)."""
    found: set[str] = set()
    for rule in rules:
        for action in rule.then:
            if isinstance(action, (CreateAction, AttachToProject)) and "{" not in action.project:
                found.add(action.project)
    return frozenset(found)


def reply_refusal(
    target: ReplyTarget, rules: Sequence[Rule], policies: Policies, sender_unknown: bool
) -> str | None:
    """Why an unknown sender may not comment on ``target``; None when they may."""
    scope = policies.replies.from_unknown
    if not sender_unknown or scope == "any" or target.in_conversation:
        return None
    projects = mailbox_projects(rules)
    if scope == "mailbox_projects" and target.project is not None and target.project in projects:
        return None
    where = f"in project {target.project}" if target.project else "in a project not known here"
    allowed = (
        "issues of its own conversations"
        if scope == "conversation"
        else f"issues of its own conversations or of {', '.join(sorted(projects)) or 'no project'}"
    )
    return (
        f"an unknown sender's reply to issue {target.key} ({where}) is refused: such replies "
        f"may only reach {allowed} (replies: {{from_unknown: {scope}}})"
    )
