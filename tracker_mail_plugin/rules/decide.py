"""Decide what a message becomes: a pure function of the message, the rules and the facts.

The order is the one a careful person would follow: machine-written mail first (never let
an auto-responder open an issue), then whether the sender named in From is proven (the
``trust`` gate: an unproven sender is refused or counts as unknown), then the sender's
domain, then unknown senders, then replies to an existing issue, then the rules from top to
bottom (the first that holds wins, unless it says ``continue``). Every step leaves a line in
the trace that ``explain`` prints.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from tracker_mail_plugin.config.model import Policies
from tracker_mail_plugin.mail.model import Message, RefKind
from tracker_mail_plugin.rules.conditions import (
    Check,
    Context,
    SenderFacts,
    domain_matches,
    evaluate,
    normalise_domain,
)
from tracker_mail_plugin.rules.model import (
    Comment,
    CreateIssue,
    CreateRequest,
    Ignore,
    Rule,
    RuleAction,
)
from tracker_mail_plugin.rules.reply_scope import ReplyTarget, reply_refusal
from tracker_mail_plugin.rules.text import message_text, take_fields
from tracker_mail_plugin.trust.verdict import Verdict

Outcome = Literal["act", "drop", "unprocessed"]
# Who the tracker objects are created as: the sender's own account, the configured account
# with the sender named in the text, or a new account for the sender.
Author = Literal["sender", "rule_owner", "new_user"]
_AUTHOR_FOR_POLICY: dict[str, Author] = {"as_rule_owner": "rule_owner", "create_user": "new_user"}


@dataclass(frozen=True, slots=True)
class PlannedAction:
    """One action to run, with its placeholders filled and its text ready."""

    action: RuleAction
    rule: str
    text: str
    fields: Mapping[str, str]
    reply_to: str | None = None

    def describe(self) -> str:
        """A short line for people: ``create_issue in project billing (type: Bug)``."""
        values = self.action.model_dump(exclude_defaults=True, exclude={"action", "title"})
        project = values.pop("project", None)
        where = f" in project {project}" if project is not None else ""
        target = f" on issue {self.reply_to}" if self.reply_to else ""
        extra = ", ".join(f"{k}: {v}" for k, v in values.items() if v not in ([], {}, None))
        return f"{self.action.action}{where}{target}" + (f" ({extra})" if extra else "")

    def as_json(self) -> dict[str, Any]:
        """The action as ``explain --format json`` prints it."""
        return {
            **self.action.model_dump(exclude_defaults=False),
            "rule": self.rule,
            "reply_to": self.reply_to,
            "fields_from_body": dict(self.fields),
        }


@dataclass(frozen=True, slots=True)
class RuleTrace:
    """How one rule fared."""

    rule: str
    held: bool
    checks: tuple[Check, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a message, and why."""

    outcome: Outcome
    actions: tuple[PlannedAction, ...]
    matched_rule: str | None
    skipped_reason: str | None
    reply_to: str | None
    trace: tuple[RuleTrace, ...]
    notes: tuple[str, ...]
    author: Author = "sender"
    authentication: Verdict | None = None
    # What the verdict did to this message, in words (explain shows it beside the verdict).
    trust_effect: str | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """The inputs that are not the message or the rules."""

    sender: SenderFacts = field(default_factory=SenderFacts)
    reply_to: str | None = None
    companies: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)
    mailbox: str = ""
    # What is known of the issue ``reply_to`` names (see rules/reply_scope.py).
    reply_project: str | None = None
    reply_in_conversation: bool = False
    # Whether the sender named in From is proven (the trust gate); None: not judged.
    authentication: Verdict | None = None


def offline_reply_target(message: Message) -> str | None:
    """The issue number a subject names (``#123``, ``[Project - Bug #123]``), if any.

    Used when no adapter is at hand; an adapter also knows its own forms (Jira keys,
    ``owner/repo#12``, notification Message-IDs) and checks that the issue exists.
    """
    for candidate in message.reference_candidates:
        if candidate.kind in (RefKind.NUMBER, RefKind.TRACKER_TAG) and candidate.number is not None:
            return str(candidate.number)
    return None


def decide(message: Message, rules: Sequence[Rule], policies: Policies, facts: Facts) -> Decision:
    """Decide what ``message`` becomes. Pure: no I/O, same inputs give the same decision."""
    notes: list[str] = []
    trusted, effect = _trust_gate(policies, facts, notes)
    decision = _decide(message, rules, policies, trusted, notes)
    if trusted is not facts and decision.author == "new_user":
        # An account made (or found) for an address nobody proved would be that address's
        # account: the very impersonation the gate stops. The configured account writes.
        decision = dataclasses.replace(
            decision,
            author="rule_owner",
            notes=(
                *decision.notes,
                "unauthenticated sender: created as the configured account, not a new user "
                "(no account is made or reused for an address nobody proved)",
            ),
        )
    return dataclasses.replace(
        decision, authentication=facts.authentication, trust_effect=_effect(effect, decision)
    )


def _decide(
    message: Message, rules: Sequence[Rule], policies: Policies, facts: Facts, notes: list[str]
) -> Decision:
    early = _policy_gate(message, policies, facts, notes)
    if early is not None:
        return early
    author: Author = "sender"
    if facts.sender.known is False:
        author = _AUTHOR_FOR_POLICY[policies.unknown_user]
    if facts.reply_to is not None and policies.replies.action == "comment":
        text = message_text(
            message,
            is_reply=True,
            strip_quotes=policies.strip_quotes,
            delimiters=policies.body_delimiters,
        )
        planned = PlannedAction(Comment(), "replies policy", text, {}, facts.reply_to)
        notes.append(
            f"replies to issue {facts.reply_to}: added as a comment (replies: {{action: comment}})"
        )
        decision = Decision("act", (planned,), None, None, facts.reply_to, (), tuple(notes))
    else:
        decision = _apply_rules(message, rules, policies, facts, notes)
    return _scoped(dataclasses.replace(decision, author=author), rules, policies, facts)


def _scoped(
    decision: Decision, rules: Sequence[Rule], policies: Policies, facts: Facts
) -> Decision:
    """A comment by an unknown sender outside what ``replies.from_unknown`` allows: refused."""
    comments = any(isinstance(p.action, Comment) for p in decision.actions)
    if decision.outcome != "act" or not comments or facts.reply_to is None:
        return decision
    target = ReplyTarget(facts.reply_to, facts.reply_project, facts.reply_in_conversation)
    refusal = reply_refusal(target, rules, policies, sender_unknown=decision.author != "sender")
    if refusal is None:
        return decision
    return dataclasses.replace(decision, outcome="unprocessed", actions=(), skipped_reason=refusal)


def _trust_gate(policies: Policies, facts: Facts, notes: list[str]) -> tuple[Facts, str | None]:
    """The facts the rest of the decision reads: an unproven sender is unknown.

    Returns the facts (replaced when the sender counts as unknown) and the effect in words.
    """
    trust = policies.trust
    verdict = facts.authentication
    if trust.require == "none":
        return facts, "none: trust: require: none, the From address alone decides"
    if verdict is not None and verdict.authenticated:
        notes.append(f"sender authenticated by {verdict.method} ({verdict.reason})")
        return facts, "accepted: the sender is written as themselves if the tracker knows them"
    if trust.unauthenticated == "reject":
        return facts, "refused: trust: unauthenticated: reject"
    why = verdict.reason if verdict is not None else "not checked"
    notes.append(
        f"sender not authenticated ({why}); handled as unknown (trust: unauthenticated: as_unknown)"
    )
    unknown = dataclasses.replace(facts.sender, known=False)
    return dataclasses.replace(facts, sender=unknown), "handled as unknown: unknown_user applies"


def _refused(policies: Policies, verdict: Verdict | None) -> bool:
    trust = policies.trust
    proven = verdict is not None and verdict.authenticated
    return trust.require != "none" and trust.unauthenticated == "reject" and not proven


def _effect(effect: str | None, decision: Decision) -> str | None:
    if effect is None or not effect.startswith("handled as unknown"):
        return effect
    if decision.outcome != "act":
        return f"{effect} ({decision.outcome})"
    return f"{effect} (created as {decision.author.replace('_', ' ')})"


def _policy_gate(
    message: Message, policies: Policies, facts: Facts, notes: list[str]
) -> Decision | None:
    def stop(outcome: Outcome, reason: str) -> Decision:
        return Decision(outcome, (), None, reason, facts.reply_to, (), tuple(notes))

    if message.automated is not None:
        policy = getattr(policies.automated, message.automated.value)
        if policy == "drop":
            return stop("drop", f"automated mail ({message.automated.value}); policy: drop")
        if policy == "unprocessed":
            return stop(
                "unprocessed", f"automated mail ({message.automated.value}); policy: unprocessed"
            )
        notes.append(f"automated mail ({message.automated.value}) processed as the policy says")
    if _refused(policies, facts.authentication):
        why = facts.authentication.reason if facts.authentication else "not checked"
        return stop(
            "unprocessed", f"sender not authenticated ({why}); trust: unauthenticated: reject"
        )
    if policies.allowed_domains is not None:
        domain = normalise_domain(message.from_.domain) if message.from_ else ""
        if not any(domain_matches(domain, allowed) for allowed in policies.allowed_domains):
            return stop(
                "unprocessed", f"sender domain {domain or '(none)'} is not in allowed_domains"
            )
    if facts.sender.known is False:
        if policies.unknown_user == "reject":
            return stop("unprocessed", "unknown sender; policy unknown_user: reject")
        notes.append(f"unknown sender; policy unknown_user: {policies.unknown_user}")
    elif facts.sender.known is None:
        notes.append("whether the sender has a tracker account is not known here")
    return None


def _apply_rules(
    message: Message, rules: Sequence[Rule], policies: Policies, facts: Facts, notes: list[str]
) -> Decision:
    context = Context(message, facts.sender, facts.companies)
    trace: list[RuleTrace] = []
    planned: list[PlannedAction] = []
    first_match: str | None = None
    for index, rule in enumerate(rules):
        label = rule.label(index)
        evaluation = evaluate(rule.when, context)
        trace.append(RuleTrace(label, evaluation.held, tuple(evaluation.checks)))
        if not evaluation.held:
            continue
        first_match = first_match or label
        values = _values(message, facts, evaluation.groups)
        planned += [_plan(action, label, message, policies, facts, values) for action in rule.then]
        if not rule.continue_:
            break
    return _conclude(planned, first_match, facts, trace, notes)


def shadowed(
    message: Message, rules: Sequence[Rule], decision: Decision, facts: Facts
) -> list[str]:
    """Rules below the one that took the message whose conditions hold too (for ``explain``).

    Rules are tried from the top and the first that holds wins (unless it says
    ``continue``): a rule written below it never sees the message, which is what people
    ask when mail went by the "wrong" rule. Empty when no rule took the message.
    """
    if decision.matched_rule is None or not decision.trace:
        return []
    context = Context(message, facts.sender, facts.companies)
    tried = len(decision.trace)
    return [
        rule.label(index)
        for index, rule in enumerate(rules)
        if index >= tried and evaluate(rule.when, context).held
    ]


def _conclude(
    planned: list[PlannedAction],
    matched: str | None,
    facts: Facts,
    trace: list[RuleTrace],
    notes: list[str],
) -> Decision:
    if matched is None:
        return Decision(
            "unprocessed", (), None, "no rule matched", facts.reply_to, tuple(trace), tuple(notes)
        )
    if any(isinstance(p.action, Comment) and p.reply_to is None for p in planned):
        reason = f"rule '{matched}' adds a comment, but the message replies to no known issue"
        return Decision("unprocessed", (), matched, reason, None, tuple(trace), tuple(notes))
    ignored = [p for p in planned if isinstance(p.action, Ignore)]
    real = tuple(p for p in planned if not isinstance(p.action, Ignore))
    if not real:
        why = (
            ignored[0].action.reason if ignored and isinstance(ignored[0].action, Ignore) else None
        )
        reason = f"ignored by rule '{matched}'" + (f": {why}" if why else "")
        return Decision(
            "unprocessed", (), matched, reason, facts.reply_to, tuple(trace), tuple(notes)
        )
    return Decision("act", real, matched, None, facts.reply_to, tuple(trace), tuple(notes))


def _values(message: Message, facts: Facts, groups: Mapping[str, str]) -> dict[str, Any]:
    sender = message.from_
    return {
        "subject": message.subject,
        "from": types.SimpleNamespace(
            address=sender.address if sender else "",
            name=sender.name if sender else "",
            domain=sender.domain if sender else "",
        ),
        "match": types.SimpleNamespace(**groups),
        "mailbox": facts.mailbox,
    }


def _plan(
    action: RuleAction,
    rule: str,
    message: Message,
    policies: Policies,
    facts: Facts,
    values: dict[str, Any],
) -> PlannedAction:
    filled = _fill(action, values)
    is_comment = isinstance(filled, Comment)
    text = message_text(
        message,
        is_reply=is_comment,
        strip_quotes=policies.strip_quotes,
        delimiters=policies.body_delimiters,
    )
    fields: dict[str, str] = {}
    if isinstance(filled, (CreateIssue, CreateRequest)) and filled.fields_from_body:
        text, fields = take_fields(text, filled.fields_from_body)
        filled = _with_fields(filled, fields)
    return PlannedAction(filled, rule, text, fields, facts.reply_to if is_comment else None)


def _fill(model: BaseModel, values: dict[str, Any]) -> Any:
    """Fill ``{subject}``-style placeholders in every text option of an action."""
    data = model.model_dump(by_alias=True)
    for key, value in data.items():
        if isinstance(value, str):
            data[key] = value.format_map(values)
        elif isinstance(value, list):
            data[key] = [v.format_map(values) if isinstance(v, str) else v for v in value]
        elif isinstance(value, dict):
            data[key] = {
                k: v.format_map(values) if isinstance(v, str) else v for k, v in value.items()
            }
    return type(model).model_validate(data)


def _with_fields(
    action: CreateIssue | CreateRequest, fields: Mapping[str, str]
) -> CreateIssue | CreateRequest:
    """Body fields override the rule's values for the fields the rule allows."""
    data = action.model_dump(by_alias=True)
    for name, value in fields.items():
        if name == "labels":
            data["labels"] = [
                *data.get("labels", []),
                *(v.strip() for v in value.split(",") if v.strip()),
            ]
        elif name == "private" and "private" in data:
            data["private"] = value.strip().lower() in ("1", "yes", "true", "y")
        elif name == "type" and isinstance(action, CreateRequest):
            data["request_type"] = value
        elif name in data or name in ("priority", "type", "assignee"):
            if name in type(action).model_fields:
                data[name] = value
        else:
            data.setdefault("custom_fields", {})[name] = value
    return type(action).model_validate(data)
