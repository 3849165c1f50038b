"""Evaluate a rule's conditions against a message, saying why each one held or not.

Pure functions of (message, sender facts, companies): no tracker, no mailbox, no clock. The
reason strings are what ``explain`` shows, so they quote what was looked for and where.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from tracker_mail_plugin.mail.model import Address, Message
from tracker_mail_plugin.rules.model import Conditions, Words
from tracker_mail_plugin.rules.patterns import compile_pattern, first_keyword

_DELIVERY_HEADERS = ("delivered-to", "x-original-to", "envelope-to")


@dataclass(frozen=True, slots=True)
class SenderFacts:
    """What the tracker (or the command line, offline) says about the sender.

    ``None`` means "not known here": a condition on it does not hold, and says so.
    """

    known: bool | None = None
    company: str | None = None


@dataclass(frozen=True, slots=True)
class Check:
    """One condition's outcome: what was checked, whether it held, and why."""

    description: str
    held: bool
    reason: str


@dataclass
class Evaluation:
    """The checks of one rule in order, and the regex groups its conditions captured."""

    checks: list[Check] = field(default_factory=list)
    groups: dict[str, str] = field(default_factory=dict)

    @property
    def held(self) -> bool:
        """True when every check held."""
        return all(check.held for check in self.checks)


@dataclass(frozen=True, slots=True)
class Context:
    """Everything a condition may look at."""

    message: Message
    facts: SenderFacts
    companies: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]  # name -> (domains, projects)


def evaluate(conditions: Conditions, context: Context) -> Evaluation:
    """Check every condition that is set; an empty ``when`` always holds."""
    result = Evaluation()
    for name, check in _CHECKS.items():
        value = getattr(conditions, name)
        if value is not None:
            result.checks.append(check(value, conditions, context, result.groups))
    for name in ("any", "all"):
        groups = getattr(conditions, name)
        if groups is not None:
            result.checks.append(_combine(name, groups, context, result.groups))
    if conditions.not_ is not None:
        inner = evaluate(conditions.not_, context)
        shown = "; ".join(c.description for c in inner.checks)
        result.checks.append(Check(f"not ({shown})", not inner.held, _summary(inner.checks)))
    return result


def _combine(
    kind: str, groups: list[Conditions], context: Context, captured: dict[str, str]
) -> Check:
    inner = [evaluate(group, context) for group in groups]
    held = any(e.held for e in inner) if kind == "any" else all(e.held for e in inner)
    for evaluation in inner:
        if evaluation.held:
            captured.update(evaluation.groups)
    parts = [f"[{'yes' if e.held else 'no'}: {_summary(e.checks)}]" for e in inner]
    return Check(f"{kind} of {len(groups)} groups", held, " ".join(parts))


def _summary(checks: list[Check]) -> str:
    return "; ".join(f"{c.description}: {'yes' if c.held else 'no'}" for c in checks) or "always"


# --- text conditions -------------------------------------------------------------------


def find_keyword(keywords: Words, text: str, whole_words: bool) -> str | None:
    """The first keyword present in ``text`` (Unicode case folded), or ``None``."""
    return first_keyword(keywords, text.casefold(), whole_words)


def _quote(text: str, limit: int = 60) -> str:
    """The start of ``text`` on one line (runs of white space as one space), for a reason.

    Only the words that show are taken: splitting a whole body into words cost a Python
    string per word, 600 MB for 22 MB of short words, again for every check that failed.
    """
    words: list[str] = []
    length = -1
    for found in _WORD.finditer(text):
        words.append(text[found.start() : min(found.end(), found.start() + limit + 1)])
        length += 1 + len(words[-1])
        if length > limit:
            break
    flat = " ".join(words)
    return f'"{flat[:limit]}…"' if len(flat) > limit else f'"{flat}"'


_WORD = re.compile(r"\S+")


def _contains(where: str, texts: Callable[[Message], str]) -> Callable[..., Check]:
    def check(
        keywords: Words, conditions: Conditions, context: Context, _: dict[str, str]
    ) -> Check:
        whole = conditions.match == "word"
        shown = ", ".join(keywords)
        description = f"{where} contains '{shown}'"
        text = texts(context.message)
        found = find_keyword(keywords, text, whole)
        how = "as a word" if whole else "anywhere"
        if found is not None:
            return Check(description, True, f"'{found}' found {how}")
        return Check(description, False, f"none found {how} in {_quote(text)}")

    return check


def _all_headers(message: Message) -> str:
    return "\n".join(f"{name}: {value}" for name, value in message.headers)


def _header_values(name: str) -> Callable[[Message], str]:
    return lambda message: "\n".join(message.header_all(name))


def _headers_contains(
    value: Words | dict[str, Words],
    conditions: Conditions,
    context: Context,
    groups: dict[str, str],
) -> Check:
    if isinstance(value, list):
        return _contains("headers", _all_headers)(value, conditions, context, groups)
    for header, keywords in value.items():
        check = _contains(f"header {header}", _header_values(header))
        result = check(keywords, conditions, context, groups)
        if not result.held:
            return result
    return Check(
        f"headers {', '.join(value)} contain the keywords", True, "every listed header matched"
    )


def _matches(where: str, texts: Callable[[Message], str]) -> Callable[..., Check]:
    def check(pattern: str, _: Conditions, context: Context, groups: dict[str, str]) -> Check:
        text = texts(context.message)
        found = compile_pattern(pattern).search(text)
        description = f"{where} matches /{pattern}/"
        if found is None:
            return Check(description, False, f"no match in {_quote(text)}")
        groups.update(found.groups)
        return Check(description, True, f"matched {_quote(found.text)}")

    return check


def _full_text(message: Message) -> str:
    return "\n".join((message.subject, message.full_body, _all_headers(message)))


# --- address conditions ---------------------------------------------------------------


def _address_matches(address: str, pattern: str) -> bool:
    pattern = pattern.strip().lower()
    if "@" in pattern and not any(ch in pattern for ch in "*?["):
        return address == pattern or without_plus(address) == pattern
    return fnmatch.fnmatchcase(address, pattern)


def without_plus(address: str) -> str:
    """``support+billing@example.com`` -> ``support@example.com``."""
    local, at, domain = address.partition("@")
    return f"{local.split('+', 1)[0]}{at}{domain}"


def _addresses(where: str, pick: Callable[[Message], tuple[Address, ...]]) -> Callable[..., Check]:
    def check(patterns: Words, _: Conditions, context: Context, __: dict[str, str]) -> Check:
        addresses = [a.address for a in pick(context.message)]
        description = f"{where} is '{', '.join(patterns)}'"
        for address in addresses:
            if any(_address_matches(address, p) for p in patterns):
                return Check(description, True, f"{address} matches")
        shown = ", ".join(addresses) or "no address"
        return Check(description, False, f"{shown} does not match")

    return check


def _sender(message: Message) -> tuple[Address, ...]:
    return (message.from_,) if message.from_ else ()


def delivered_addresses(message: Message) -> list[str]:
    """Where the mail was delivered: Delivered-To and friends, else To and Cc."""
    found = [
        v.strip().strip("<>").lower() for h in _DELIVERY_HEADERS for v in message.header_all(h)
    ]
    return found or [a.address for a in (*message.to, *message.cc)]


def _delivered_to(patterns: Words, _: Conditions, context: Context, __: dict[str, str]) -> Check:
    addresses = delivered_addresses(context.message)
    description = f"delivered to '{', '.join(patterns)}'"
    for address in addresses:
        if any(_address_matches(address, p) for p in patterns):
            return Check(description, True, f"delivered to {address}")
    return Check(description, False, f"delivered to {', '.join(addresses) or 'nobody known'}")


def _plus(tags: Words, _: Conditions, context: Context, __: dict[str, str]) -> Check:
    found = [a.partition("@")[0].partition("+")[2] for a in delivered_addresses(context.message)]
    found = [tag for tag in found if tag]
    wanted = {t.casefold() for t in tags}
    description = f"plus tag is '{', '.join(tags)}'"
    hits = [tag for tag in found if tag.casefold() in wanted]
    if hits:
        return Check(description, True, f"delivered to a +{hits[0]} address")
    return Check(description, False, f"plus tags: {', '.join(found) or 'none'}")


def normalise_domain(domain: str) -> str:
    """Lower-case and IDNA-decode a domain (``xn--mnchen-3ya.de`` -> ``münchen.de``)."""
    domain = domain.strip().rstrip(".").lower()
    if "xn--" in domain:
        try:
            return domain.encode("ascii").decode("idna")
        except UnicodeError:
            return domain
    return domain


def domain_matches(domain: str, pattern: str) -> bool:
    """Exact domain, or ``*.example.com`` for any subdomain (not the domain itself)."""
    pattern = normalise_domain(pattern)
    if pattern.startswith("*."):
        return domain.endswith(pattern[1:])
    return domain == pattern


def _from_domain(patterns: Words, _: Conditions, context: Context, __: dict[str, str]) -> Check:
    sender = context.message.from_
    domain = normalise_domain(sender.domain) if sender else ""
    description = f"from domain '{', '.join(patterns)}'"
    if domain and any(domain_matches(domain, p) for p in patterns):
        return Check(description, True, f"sender domain {domain} is listed")
    return Check(description, False, f"sender domain {domain or '(none)'} is not listed")


# --- facts ----------------------------------------------------------------------------


def _sender_known(state: str, _: Conditions, context: Context, __: dict[str, str]) -> Check:
    description = f"sender is {state}"
    known = context.facts.known
    if known is None:
        return Check(
            description, False, "not known here (offline: pass --sender-known or --sender-unknown)"
        )
    actual = "known" if known else "unknown"
    return Check(
        description,
        actual == state,
        f"the tracker has {'an' if known else 'no'} account for the sender",
    )


def sender_company(context: Context) -> str | None:
    """The sender's company: from the tracker if it said, else from ``companies`` domains."""
    if context.facts.company:
        return context.facts.company
    sender = context.message.from_
    domain = normalise_domain(sender.domain) if sender else ""
    for name, (domains, _) in context.companies.items():
        if domain and any(domain_matches(domain, d) for d in domains):
            return name
    return None


def _company(project: str, _: Conditions, context: Context, __: dict[str, str]) -> Check:
    description = f"company matched to project {project}"
    owner = next((n for n, (_, projects) in context.companies.items() if project in projects), None)
    company = sender_company(context)
    if owner is None:
        return Check(description, False, f"no company owns project {project}")
    if company is None:
        return Check(
            description,
            False,
            f"the sender belongs to no known company (project {project} is {owner}'s)",
        )
    return Check(
        description,
        company == owner,
        f"sender's company is {company}, project {project} is {owner}'s",
    )


def _has_attachments(wanted: bool, _: Conditions, context: Context, __: dict[str, str]) -> Check:
    files = [a for a in context.message.attachments if not a.inline]
    description = "has attachments" if wanted else "has no attachments"
    return Check(description, bool(files) == wanted, f"{len(files)} attached file(s)")


def _automated(classes: list[str], _: Conditions, context: Context, __: dict[str, str]) -> Check:
    actual = context.message.automated
    description = f"automated is {', '.join(classes)}"
    held = actual is not None and ("any" in classes or actual.value in classes)
    return Check(
        description, held, f"the message is {actual.value if actual else 'written by a person'}"
    )


_CHECKS: dict[str, Callable[..., Check]] = {
    "subject_contains": _contains("subject", lambda m: m.subject),
    "body_contains": _contains("body", lambda m: m.full_body),
    "headers_contains": _headers_contains,
    "contains": _contains("subject, body or headers", _full_text),
    "subject_matches": _matches("subject", lambda m: m.subject),
    "body_matches": _matches("body", lambda m: m.full_body),
    "from_": _addresses("from", _sender),
    "from_domain": _from_domain,
    "to": _addresses("to", lambda m: m.to),
    "cc": _addresses("cc", lambda m: m.cc),
    "delivered_to": _delivered_to,
    "plus": _plus,
    "sender": _sender_known,
    "company_matches_project": _company,
    "has_attachments": _has_attachments,
    "automated": _automated,
}
