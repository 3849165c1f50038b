"""The ``when … then …`` rule language (TargetProcess's form), parsed into YAML-form dicts.

    when subject contains 'Targetprocess, tp' and company matched to project 2
        then attach to project 2 and create request in project 2

Conditions and actions are joined by ``and``; keywords are case-insensitive; values are
numbers, bare words or quoted strings. The parser produces the same dictionaries a person
would write in YAML, so one model validates both. Errors are :class:`RuleSyntaxError` with
the column of the offending word and what was expected there.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(r"""\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([^\s'"]+))""")
_SOURCES = {"subject": "subject", "body": "body", "headers": "headers", "message": "", "mail": ""}
_REQUEST_WORDS = {"request", "requests"}
_ISSUE_WORDS = {"issue", "issues"}


class RuleSyntaxError(ValueError):
    """A rule line that does not parse; ``column`` is 1-based within the text given."""

    def __init__(self, message: str, column: int):
        super().__init__(message)
        self.message = message
        self.column = column

    def __str__(self) -> str:
        return f"column {self.column}: {self.message}"


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    column: int
    quoted: bool

    @property
    def word(self) -> str:
        return "" if self.quoted else self.text.lower()


class _Tokens:
    """A cursor over the tokens of one line."""

    def __init__(self, text: str):
        self.text = text
        self.items = _tokenize(text)
        self.pos = 0

    def peek(self) -> _Token | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def next(self, expected: str) -> _Token:
        token = self.peek()
        if token is None:
            raise RuleSyntaxError(
                f"expected {expected}, found the end of the line", len(self.text) + 1
            )
        self.pos += 1
        return token

    def accept(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token.word in words:
            self.pos += 1
            return True
        return False

    def expect(self, *words: str) -> _Token:
        token = self.next(_one_of(words))
        if token.word not in words:
            raise RuleSyntaxError(_unexpected(token, words), token.column)
        return token

    def value(self, what: str) -> str:
        token = self.next(what)
        if not token.quoted and token.word in ("and", "then", "when"):
            raise RuleSyntaxError(f"expected {what}, found '{token.text}'", token.column)
        return token.text


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while text[pos:].strip():
        match = _TOKEN.match(text, pos)
        if match is None:
            column = pos + len(text[pos:]) - len(text[pos:].lstrip()) + 1
            raise RuleSyntaxError("a quoted value is not closed; add the closing quote", column)
        group = match.lastindex or 3
        raw = match.group(group)
        if group == 3:
            tokens.append(_Token(raw, match.start(group) + 1, quoted=False))
        else:  # the column of the opening quote, 1-based, is the 0-based start of the value
            # Only an escaped quote is unescaped: regular expressions keep their backslashes.
            quote = "'" if group == 1 else '"'
            value = raw.replace("\\" + quote, quote)
            tokens.append(_Token(value, match.start(group), quoted=True))
        pos = match.end()
    return tokens


def _one_of(words: tuple[str, ...]) -> str:
    quoted = [f"'{w}'" for w in words]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _unexpected(token: _Token, words: tuple[str, ...] | list[str]) -> str:
    found = f"'{token.text}'"
    close = difflib.get_close_matches(token.text.lower(), list(words), n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"expected {_one_of(tuple(words))}, found {found}{hint}"


def parse_rule_line(text: str) -> dict[str, Any]:
    """Parse ``[when CONDITIONS] then ACTIONS`` into ``{"when": {...}, "then": [...]}``."""
    tokens = _Tokens(text)
    rule: dict[str, Any] = {}
    if tokens.accept("when"):
        rule["when"] = _conditions(tokens, stop="then")
    first = tokens.peek()
    if first is None or first.word != "then":
        if first is None:
            raise RuleSyntaxError("expected 'then' and the actions", len(text) + 1)
        raise RuleSyntaxError(_unexpected(first, ("when", "then", "and")), first.column)
    tokens.pos += 1
    rule["then"] = _actions(tokens)
    return rule


def parse_conditions(text: str) -> dict[str, Any]:
    """Parse a ``when:`` string (conditions joined by ``and``)."""
    tokens = _Tokens(text)
    tokens.accept("when")
    return _conditions(tokens, stop=None)


def parse_actions(text: str) -> list[Any]:
    """Parse a ``then:`` string (actions joined by ``and``)."""
    tokens = _Tokens(text)
    tokens.accept("then")
    return _actions(tokens)


def _conditions(tokens: _Tokens, stop: str | None) -> dict[str, Any]:
    found = [_condition(tokens)]
    while tokens.accept("and"):
        found.append(_condition(tokens))
    following = tokens.peek()
    if following is not None and following.word != stop:
        expected = ("and", stop) if stop else ("and",)
        raise RuleSyntaxError(_unexpected(following, expected), following.column)
    return _merge(found)


def _merge(found: list[dict[str, Any]]) -> dict[str, Any]:
    """One mapping when every condition is a different key, else ``all: [...]``."""
    keys = [key for item in found for key in item]
    if len(keys) == len(set(keys)):
        return {key: value for item in found for key, value in item.items()}
    return {"all": found}


_CONDITION_STARTS = (
    "subject", "body", "headers", "header", "message", "mail", "from", "to", "cc", "delivered",
    "plus", "sender", "company", "has", "automated", "not",
)  # fmt: skip


def _condition(tokens: _Tokens) -> dict[str, Any]:
    token = tokens.next("a condition")
    word = token.word
    if word == "not":
        return {"not": _condition(tokens)}
    if word in _SOURCES:
        return _text_condition(tokens, _SOURCES[word])
    handler = _CONDITION_HANDLERS.get(word)
    if handler is None:
        raise RuleSyntaxError(_unexpected(token, _CONDITION_STARTS), token.column)
    result: dict[str, Any] = handler(tokens)
    return result


def _keywords(value: str) -> list[str]:
    """TargetProcess lists keywords in one string: ``'Targetprocess, tp'``."""
    return [part.strip() for part in value.split(",") if part.strip()]


def _text_condition(tokens: _Tokens, source: str) -> dict[str, Any]:
    verb = tokens.expect("contains", "contain", "matches", "match")
    if verb.word.startswith("match"):
        if source not in ("subject", "body"):
            raise RuleSyntaxError(
                "only subject and body can be matched with a regular expression", verb.column
            )
        return {f"{source}_matches": tokens.value("a regular expression in quotes")}
    words = _keywords(tokens.value("the keywords in quotes, e.g. 'invoice, billing'"))
    return {f"{source}_contains" if source else "contains": words}


def _header(tokens: _Tokens) -> dict[str, Any]:
    name = tokens.value("a header name")
    tokens.expect("contains", "contain")
    return {"headers_contains": {name: _keywords(tokens.value("the keywords in quotes"))}}


def _address_condition(key: str) -> Any:
    def parse(tokens: _Tokens) -> dict[str, Any]:
        if key == "from" and tokens.accept("domain", "domains"):
            tokens.accept("is", "in")
            return {"from_domain": _keywords(tokens.value("a domain, e.g. 'example.com'"))}
        tokens.accept("is", "in")
        return {key: _keywords(tokens.value("an address"))}

    return parse


def _delivered(tokens: _Tokens) -> dict[str, Any]:
    tokens.expect("to")
    tokens.accept("is")
    return {"delivered_to": _keywords(tokens.value("an address"))}


def _plus(tokens: _Tokens) -> dict[str, Any]:
    tokens.accept("tag")
    tokens.accept("is")
    return {"plus": _keywords(tokens.value("a plus tag, e.g. 'billing'"))}


def _sender(tokens: _Tokens) -> dict[str, Any]:
    tokens.expect("is")
    state = tokens.expect("known", "unknown")
    return {"sender": state.word}


def _company(tokens: _Tokens) -> dict[str, Any]:
    tokens.expect("matched", "matches", "match")
    tokens.accept("to", "with")
    tokens.expect("project")
    return {"company_matches_project": tokens.value("a project id")}


def _has(tokens: _Tokens) -> dict[str, Any]:
    tokens.expect("attachments", "attachment")
    return {"has_attachments": True}


def _automated(tokens: _Tokens) -> dict[str, Any]:
    if tokens.accept("is", "as"):
        return {"automated": _keywords(tokens.value("a class: bounce, auto_replied, bulk, …"))}
    return {"automated": ["any"]}


_CONDITION_HANDLERS: dict[str, Any] = {
    "header": _header,
    "from": _address_condition("from"),
    "to": _address_condition("to"),
    "cc": _address_condition("cc"),
    "delivered": _delivered,
    "plus": _plus,
    "sender": _sender,
    "company": _company,
    "has": _has,
    "automated": _automated,
}

_ACTION_STARTS = ("attach", "create", "comment", "add", "forward", "ignore")


def _actions(tokens: _Tokens) -> list[Any]:
    found = [_action(tokens)]
    while tokens.accept("and"):
        found.append(_action(tokens))
    following = tokens.peek()
    if following is not None:
        raise RuleSyntaxError(_unexpected(following, ("and",)), following.column)
    return found


def _action(tokens: _Tokens) -> Any:
    token = tokens.next("an action")
    word = token.word
    if word == "attach":
        tokens.expect("to")
        tokens.expect("project")
        return {"attach_to_project": {"project": tokens.value("a project id")}}
    if word == "create":
        return _create(tokens)
    if word == "comment":
        return "comment"
    if word == "add":
        tokens.accept("as")
        tokens.expect("comment", "note")
        return "comment"
    if word == "forward":
        tokens.expect("to")
        return {"forward": {"to": tokens.value("an address")}}
    if word == "ignore":
        return "ignore"
    raise RuleSyntaxError(_unexpected(token, _ACTION_STARTS), token.column)


def _create(tokens: _Tokens) -> dict[str, Any]:
    kind_words: list[str] = []
    while (token := tokens.peek()) is not None and token.word != "in":
        if token.word in ("and", "then") and not token.quoted:
            break
        _refuse_near_miss(token)
        kind_words.append(tokens.next("what to create").text)
    if not kind_words:
        raise RuleSyntaxError(
            "expected what to create: issue, request, bug, task, story…", _end(tokens)
        )
    tokens.expect("in")
    tokens.expect("project")
    project = tokens.value("a project id")
    as_type = tokens.value("a type") if tokens.accept("as") else None
    kind = " ".join(kind_words)
    if kind.lower() in _REQUEST_WORDS:
        return {"create_request": _without_none({"project": project, "request_type": as_type})}
    issue_type = as_type if kind.lower() in _ISSUE_WORDS else _singular(kind)
    return {"create_issue": _without_none({"project": project, "type": issue_type})}


# Words a person means after ``create``: the language's own, and the issue types most trackers
# ship. A word one or two typing slips away from one of them is a mistake, not a new type.
_CREATE_WORDS = (
    "request", "issue", "bug", "task", "story", "epic", "feature", "incident", "improvement",
    "question", "problem", "subtask", "defect", "support", "comment", "project",
)  # fmt: skip


def _refuse_near_miss(token: _Token) -> None:
    """Refuse ``create requst``; a quoted word (``create 'Requst'``) is taken as written."""
    if token.quoted:
        return
    word = token.word
    singular = _singular(word).lower()
    if word in _CREATE_WORDS or singular in _CREATE_WORDS or len(word) < 4:
        return
    allowed = 1 if len(word) < 6 else 2
    close = [known for known in _CREATE_WORDS if _distance(singular, known) <= allowed]
    if close:
        raise RuleSyntaxError(
            f"'{token.text}' is not a word of the rule language; did you mean '{close[0]}'? "
            f"(for an issue type with that name, quote it: create '{_singular(token.text)}' "
            "in project …)",
            token.column,
        )


def _distance(first: str, second: str) -> int:
    """Edits (insert, delete, replace, swap two neighbours) from one word to the other.

    Rule words are a few letters long and come from the configuration, not from mail.
    """
    previous2: list[int] = []
    previous = list(range(len(second) + 1))
    for i, a in enumerate(first, 1):
        current = [i]
        for j, b in enumerate(second, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b))
            if i > 1 and j > 1 and a == second[j - 2] and first[i - 2] == b:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


def _end(tokens: _Tokens) -> int:
    token = tokens.peek()
    return token.column if token else len(tokens.text) + 1


def _singular(kind: str) -> str:
    """``bugs`` -> ``Bug``, ``user stories`` -> ``User Story`` (tracker names are titles)."""
    words = kind.split()
    last = words[-1]
    if last.lower().endswith("ies"):
        last = last[:-3] + "y"
    elif last.lower().endswith("s") and not last.lower().endswith("ss"):
        last = last[:-1]
    return " ".join(w[:1].upper() + w[1:] for w in [*words[:-1], last])


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
