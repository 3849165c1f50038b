r"""How ``tracker-mail explain`` shows a message and its decision: JSON and text.

The JSON form is a stable interface (one object per line, keys listed in the README); the
text form is for people and may change. Neither lets mail text drive the terminal: the text
form shows control characters and bidi overrides as escapes (``\x1b``, ``\u202e``), the
JSON form escapes C1 controls and DEL as JSON does C0 ones.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tracker_mail_plugin.mail import Address, Message
from tracker_mail_plugin.mail.safe_text import for_terminal
from tracker_mail_plugin.rules.decide import Decision

_BODY_PREVIEW_LINES = 40


def explanation(label: str, message: Message, decision: Decision | None = None) -> dict[str, Any]:
    """The JSON-ready explanation of one message.

    Rule fields (``reply_to_issue``, ``matched_rule``, ``actions``, ``skipped_reason``,
    ``outcome``, ``trace``) are null or empty when no configuration was given.
    """
    return _parsed(label, message) | _decided(decision)


def _decided(decision: Decision | None) -> dict[str, Any]:
    if decision is None:
        return {
            "reply_to_issue": None,
            "matched_rule": None,
            "actions": [],
            "skipped_reason": None,
            "outcome": None,
            "author": None,
            "trace": [],
            "notes": [],
            "authentication": None,
        }
    return {
        "reply_to_issue": decision.reply_to,
        "matched_rule": decision.matched_rule,
        "actions": [planned.as_json() for planned in decision.actions],
        "skipped_reason": decision.skipped_reason,
        "outcome": decision.outcome,
        "author": decision.author,
        "trace": [
            {
                "rule": rule.rule,
                "held": rule.held,
                "checks": [
                    {"condition": c.description, "held": c.held, "reason": c.reason}
                    for c in rule.checks
                ],
            }
            for rule in decision.trace
        ],
        "notes": list(decision.notes),
        "authentication": _authentication(decision),
    }


def _authentication(decision: Decision) -> dict[str, Any] | None:
    """The trust gate's verdict and what it did (``effect``), or None when not judged."""
    if decision.authentication is None:
        return None
    return decision.authentication.as_json() | {"effect": decision.trust_effect}


def _parsed(label: str, message: Message) -> dict[str, Any]:
    return {
        "file": label,
        "message_id": message.message_id,
        "message_id_synthesised": message.message_id_synthesised,
        "subject": message.subject,
        "from": _address(message.from_),
        "to": [_address(a) for a in message.to],
        "cc": [_address(a) for a in message.cc],
        "reply_to": [_address(a) for a in message.reply_to],
        "date": message.date.isoformat() if message.date else None,
        "in_reply_to": message.in_reply_to,
        "references": list(message.references),
        "body": message.body,
        "full_body": message.full_body,
        "attachments": [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
                "inline": a.inline,
            }
            for a in message.attachments
        ],
        "automated": message.automated.value if message.automated else None,
        "reference_candidates": [
            {
                k: v
                for k, v in (
                    ("kind", r.kind.value),
                    ("source", r.source),
                    ("text", r.text),
                    ("number", r.number),
                    ("project", r.project),
                    ("tracker", r.tracker),
                )
                if v is not None
            }
            for r in message.reference_candidates
        ],
        "defects": list(message.defects),
        "size": message.size,
        "sha256": message.sha256,
    }


def _address(address: Address | None) -> dict[str, str] | None:
    return {"name": address.name, "address": address.address} if address else None


def as_json(label: str, message: Message, decision: Decision | None = None) -> str:
    """One line of JSON for one message."""
    text = json.dumps(explanation(label, message, decision), ensure_ascii=False)
    return _C1_AND_DEL.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


# json.dumps escapes C0 controls but writes DEL and C1 controls (CSI is U+009B) as they are.
_C1_AND_DEL = re.compile("[\x7f-\x9f]")


def as_text(label: str, message: Message, decision: Decision | None = None) -> str:
    """A readable summary for a person at a terminal."""
    lines = [f"== {label}"]
    lines += _field_lines(message)
    lines += _attachment_lines(message)
    lines.append("Defects:     " + ("none" if not message.defects else ""))
    lines += [f"  - {d}" for d in message.defects]
    lines += _body_lines(message)
    lines += _decision_lines(decision)
    return for_terminal("\n".join(lines))


def _decision_lines(decision: Decision | None) -> list[str]:
    if decision is None:
        return ["Rules:       none given (-c rules.yaml shows which rule would match and why)"]
    lines = _trust_lines(decision)
    lines.append("Rules:" + ("" if decision.trace else "       not tried"))
    for rule in decision.trace:
        lines.append(f"  {rule.rule}: {'MATCHED' if rule.held else 'no'}")
        lines += [
            f"    - {c.description}: {'yes' if c.held else 'no'} ({c.reason})" for c in rule.checks
        ]
        if not rule.checks:
            lines.append("    - no conditions: always holds")
    lines += [f"Note:        {note}" for note in decision.notes]
    verdict = {
        "act": "act",
        "drop": "drop (not imported; the message counts as done)",
        "unprocessed": "unprocessed",
    }
    why = f" ({decision.skipped_reason})" if decision.skipped_reason else ""
    lines.append(f"Decision:    {verdict[decision.outcome]}{why}")
    if decision.author != "sender" and decision.actions:  # nothing is created otherwise
        lines.append(f"Created as:  {decision.author.replace('_', ' ')}")
    lines += [f"  - {planned.describe()}" for planned in decision.actions]
    return lines


def _trust_lines(decision: Decision) -> list[str]:
    verdict = decision.authentication
    if verdict is None:
        return []
    state = "authenticated" if verdict.authenticated else "NOT authenticated"
    how = f" by {verdict.method}" if verdict.method else ""
    return [
        f"Sender:      {state}{how} (require: {verdict.required}); {verdict.reason}",
        f"  effect:    {decision.trust_effect}",
    ]


def _field_lines(message: Message) -> list[str]:
    synthesised = (
        "  (none in the mail; made from its sha256)" if message.message_id_synthesised else ""
    )
    refs = ", ".join(f"{r.text} [{r.kind.value}, {r.source}]" for r in message.reference_candidates)
    return [
        f"Message-ID:  {message.message_id}{synthesised}",
        f"Subject:     {message.subject}",
        f"From:        {message.from_ or '(none)'}",
        f"To:          {', '.join(map(str, message.to)) or '(none)'}",
        *([f"Cc:          {', '.join(map(str, message.cc))}"] if message.cc else []),
        f"Date:        {message.date.isoformat() if message.date else '(none or unreadable)'}",
        f"Automated:   {message.automated.value if message.automated else 'no'}",
        f"References:  {refs or 'none (a new issue, not a reply)'}",
    ]


def _attachment_lines(message: Message) -> list[str]:
    if not message.attachments:
        return ["Attachments: none"]
    lines = [f"Attachments: {len(message.attachments)}"]
    for a in message.attachments:
        inline = ", inline" if a.inline else ""
        lines.append(
            f"  - {a.filename} ({a.content_type}, {_size(a.size)}{inline}) sha256 {a.sha256[:16]}…"
        )
    return lines


def _body_lines(message: Message) -> list[str]:
    body = message.body.split("\n") if message.body else []
    removed = len(message.full_body.split("\n")) - len(body) if message.full_body else 0
    note = f"; {removed} quoted or signature lines removed" if removed > 0 else ""
    lines = [f"Body:        {len(body)} lines{note}"]
    lines += [f"  | {line}" for line in body[:_BODY_PREVIEW_LINES]]
    if len(body) > _BODY_PREVIEW_LINES:
        lines.append(
            f"  | … {len(body) - _BODY_PREVIEW_LINES} more lines (--format json shows all)"
        )
    return lines


def _size(size: int) -> str:
    # Decimal units, as the size settings read them (max_attachment_size: 50KB is 50,000
    # bytes): a file shown as 51.2 KB beside "over the 50 kB limit" read as a contradiction.
    if size < 1000:
        return f"{size} B"
    if size < 10**6:
        return f"{size / 1000:.1f} kB"
    return f"{size / 10**6:.1f} MB"
