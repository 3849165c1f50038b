r"""Translate a Python regular expression into RE2 syntax with the same meaning, or refuse it.

Rules are written in Python's syntax (the README and every existing ``rules.yaml`` use it), and
they must keep matching what they matched. The pattern is parsed by Python's own parser, so
the tree is exactly what Python would run, and every node is written out in RE2 syntax:

- ``\w``, ``\d``, ``\s`` become the explicit ranges Python's ``re`` uses (RE2's own are
  ASCII-only, and its Unicode tables are of another version);
- ``\b`` and ``\B`` (ASCII-only in RE2) are decided from the neighbouring pattern items when
  they say which kind of character is on one side; the other side is then either known too, or
  the edge of the whole pattern, where one character of context is matched and cut off again;
- backreferences, lookaround, conditionals, atomic groups and possessive quantifiers have no
  linear-time equivalent and are refused with the construct's name and position.
"""

from __future__ import annotations

import re
import re._constants as sre  # Python's own parse tree: the exact meaning Python gives a pattern
import re._parser as sre_parse
from dataclasses import dataclass, replace
from typing import Any

from tracker_mail_plugin.rules.charclasses import class_body, complement, is_word, ranges

_NEVER = r"[^\x{0}-\x{10ffff}]"
_FLAG_LETTERS = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"))
_CATEGORIES = {
    sre.CATEGORY_DIGIT: ("d", False),
    sre.CATEGORY_NOT_DIGIT: ("d", True),
    sre.CATEGORY_WORD: ("w", False),
    sre.CATEGORY_NOT_WORD: ("w", True),
    sre.CATEGORY_SPACE: ("s", False),
    sre.CATEGORY_NOT_SPACE: ("s", True),
}
_WORDNESS = {
    sre.CATEGORY_DIGIT: True,
    sre.CATEGORY_WORD: True,
    sre.CATEGORY_SPACE: False,
    sre.CATEGORY_NOT_WORD: False,
}
# Constructs RE2 cannot run in linear time: (what people call it, where to look in the source).
_REFUSED: dict[Any, tuple[str, str]] = {
    sre.GROUPREF: ("a backreference (\\1, (?P=name))", r"\\[1-9]|\(\?P="),
    sre.GROUPREF_EXISTS: ("a conditional group (?(1)…)", r"\(\?\("),
    sre.ATOMIC_GROUP: ("an atomic group (?>…)", r"\(\?>"),
    sre.POSSESSIVE_REPEAT: ("a possessive quantifier (*+, ++, ?+)", r"[*+?}]\+"),
    "lookahead": ("a lookahead (?=…) or (?!…)", r"\(\?[=!]"),
    "lookbehind": ("a lookbehind (?<=…) or (?<!…)", r"\(\?<[=!]"),
    "end": ("$ without multi-line mode", r"\$"),
    "boundary": ("\\b or \\B between two parts that may be either letters or not", r"\\[bB]"),
    "ascii": ("the ASCII flag (?a)", r"\(\?[a-zA-Z]*a"),
}
_GENERAL_REASON = (
    "RE2 has no backreferences, lookaround, conditionals, atomic groups or possessive quantifiers"
)
_REASONS = {
    "boundary": "RE2's own \\b knows only ASCII letters, so a \\b is translated from its "
    "neighbours in the pattern",
    "ascii": "rules use Python's Unicode classes",
    "end": "RE2's $ outside multi-line mode is only the very end of the text",
}
_HINTS = {
    "boundary": "put \\b at the start or end of the pattern, or next to a letter, digit or "
    "punctuation, e.g. \\b(?:foo|bar)\\b",
    "ascii": "write the class out, e.g. [0-9] or [A-Za-z0-9_]",
}


class Refused(ValueError):
    """A construct the linear-time engine does not have; ``position`` is 0-based in the source."""

    def __init__(self, construct: str, position: int | None, hint: str, reason: str = ""):
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"uses {construct}{where}")
        self.construct = construct
        self.position = position
        self.hint = hint
        self.reason = reason or _GENERAL_REASON


@dataclass(frozen=True, slots=True)
class Translation:
    """An RE2 pattern, and which of its groups are context to cut off the reported match."""

    pattern: str
    prefix_group: int | None
    suffix_groups: tuple[int, ...]
    names: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Flags:
    ignorecase: bool
    multiline: bool


def translate(source: str, flags: int = 0) -> Translation:
    """``source`` (Python syntax, compiled with ``flags``) in RE2 syntax; raises on errors.

    Raises:
        re.error: the pattern is not valid Python syntax.
        Refused: it uses a construct RE2 does not have.
    """
    parsed = sre_parse.parse(source, flags)
    state_flags = parsed.state.flags
    if state_flags & (re.ASCII | re.LOCALE):
        raise _refused(source, "ascii")
    emitter = _Emitter(source, {n: k for k, n in parsed.state.groupdict.items()})
    ctx = _Flags(bool(state_flags & re.IGNORECASE), bool(state_flags & re.MULTILINE))
    body = emitter.sequence(list(parsed), ctx, at_start=True, at_end=True)
    letters = "".join(letter for flag, letter in _FLAG_LETTERS if state_flags & flag)
    return Translation(
        (f"(?{letters})" if letters else "") + body,
        emitter.prefix_group,
        tuple(emitter.suffix_groups),
        frozenset(parsed.state.groupdict),
    )


def _refused(source: str, kind: Any) -> Refused:
    construct, token = _REFUSED[kind]
    found = re.search(token, source)
    position = found.start() if found else None
    return Refused(construct, position, _HINTS.get(kind, ""), _REASONS.get(kind, ""))


def _literal(code: int) -> str:
    char = chr(code)
    return char if char.isascii() and char.isalnum() else rf"\x{{{code:x}}}"


def _category(code: Any) -> str:
    kind, negated = _CATEGORIES[code]
    spans = ranges(kind)
    return class_body(complement(spans) if negated else spans)


def _word_class(*, word: bool) -> str:
    spans = ranges("w")
    return f"(?-i:[{class_body(spans if word else complement(spans))}])"


class _Emitter:
    """Writes a parse tree out in RE2 syntax, counting the capture groups it writes."""

    def __init__(self, source: str, names: dict[int, str]):
        self.source = source
        self.names = names
        self.groups = 0
        self.prefix_group: int | None = None
        self.suffix_groups: list[int] = []
        self.boundaries = 0  # \b and \B seen so far, to point at the one refused

    def sequence(self, items: list[Any], ctx: _Flags, *, at_start: bool, at_end: bool) -> str:
        parts = []
        last = len(items) - 1
        for index, (op, av) in enumerate(items):
            start, end = at_start and index == 0, at_end and index == last
            if op is sre.AT and av in (sre.AT_BOUNDARY, sre.AT_NON_BOUNDARY):
                parts.append(self.boundary(items, index, ctx, start=start, end=end))
            else:
                parts.append(self.item(op, av, ctx, start=start, end=end))
        return "".join(parts)

    def item(self, op: Any, av: Any, ctx: _Flags, *, start: bool, end: bool) -> str:
        if op is sre.LITERAL:
            return _literal(av)
        if op is sre.NOT_LITERAL:
            return f"[^{_literal(av)}]"
        if op is sre.ANY:
            return "."
        if op is sre.IN:
            return _char_class(av, ctx)
        if op is sre.BRANCH:
            alternatives = (self.sequence(a, ctx, at_start=False, at_end=end) for a in av[1])
            return "(?:" + "|".join(alternatives) + ")"
        if op is sre.SUBPATTERN:
            return self.group(av, ctx, start=start, end=end)
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            low, high, inner = av
            body = self.sequence(list(inner), ctx, at_start=False, at_end=False)
            lazy = "?" if op is sre.MIN_REPEAT else ""
            return f"(?:{body}){_quantifier(low, high)}{lazy}"
        if op is sre.AT:
            return self.anchor(av, ctx)
        if op in (sre.ASSERT, sre.ASSERT_NOT):
            raise _refused(self.source, "lookahead" if av[0] == 1 else "lookbehind")
        if op in _REFUSED:
            raise _refused(self.source, op)
        raise Refused(f"an unsupported construct ({op})", None, "")

    def group(self, av: Any, ctx: _Flags, *, start: bool, end: bool) -> str:
        number, add, remove, inner = av
        if (add | remove) & (re.ASCII | re.LOCALE):
            raise _refused(self.source, "ascii")
        inner_ctx = replace(
            ctx,
            ignorecase=_flag(ctx.ignorecase, add, remove, re.IGNORECASE),
            multiline=_flag(ctx.multiline, add, remove, re.MULTILINE),
        )
        name = self.names.get(number) if number is not None else None
        if name is not None:
            # Context characters must not end up inside a named group's value.
            self.groups += 1
            body = self.sequence(list(inner), inner_ctx, at_start=False, at_end=False)
            return f"(?P<{name}>{body})"
        body = self.sequence(list(inner), inner_ctx, at_start=start, at_end=end)
        on = "".join(letter for flag, letter in _FLAG_LETTERS if add & flag)
        off = "".join(letter for flag, letter in _FLAG_LETTERS if remove & flag)
        return f"(?{on}{'-' + off if off else ''}:{body})"

    def anchor(self, code: Any, ctx: _Flags) -> str:
        if code is sre.AT_BEGINNING:
            return "^"
        if code is sre.AT_BEGINNING_STRING:
            return r"\A"
        if code is sre.AT_END_STRING:
            return r"\z"
        if code is sre.AT_END and ctx.multiline:
            return "$"
        raise _refused(self.source, "end")

    def boundary(self, items: list[Any], index: int, ctx: _Flags, *, start: bool, end: bool) -> str:
        r"""``\b`` (or ``\B``) with Python's Unicode idea of a word character."""
        self.boundaries += 1
        wanted_change = items[index][1] is sre.AT_BOUNDARY
        before = _last_kind(items[:index], ctx)
        after = _first_kind(items[index + 1 :], ctx)
        if before is not None and after is not None:
            return "" if (before != after) == wanted_change else _NEVER
        if after is not None and start:
            word_before = after != wanted_change
            self.groups += 1
            self.prefix_group = self.groups
            return (
                f"({_word_class(word=True)})" if word_before else rf"(\A|{_word_class(word=False)})"
            )
        if before is not None and end:
            word_after = before != wanted_change
            self.groups += 1
            self.suffix_groups.append(self.groups)
            return (
                f"({_word_class(word=True)})" if word_after else rf"({_word_class(word=False)}|\z)"
            )
        raise Refused(
            _REFUSED["boundary"][0],
            _boundary_position(self.source, self.boundaries),
            _HINTS["boundary"],
            _REASONS["boundary"],
        )


def _boundary_position(source: str, number: int) -> int | None:
    r"""Where the ``number``-th ``\b`` or ``\B`` (1-based) is, outside character classes."""
    seen, index, in_class = 0, 0, False
    while index < len(source):
        char = source[index]
        if char == "\\":
            if not in_class and source[index + 1 : index + 2] in ("b", "B"):
                seen += 1
                if seen == number:
                    return index
            index += 2
            continue
        if char == "[" and not in_class:
            in_class = True
            index += 2 if source[index + 1 : index + 2] == "]" else 1  # []…] holds a ]
            continue
        in_class = in_class and char != "]"
        index += 1
    return None


def _flag(current: bool, add: int, remove: int, flag: int) -> bool:
    return bool(add & flag) or (current and not remove & flag)


def _quantifier(low: int, high: int) -> str:
    if high is sre.MAXREPEAT:
        return {0: "*", 1: "+"}.get(low, f"{{{low},}}")
    if (low, high) == (0, 1):
        return "?"
    return f"{{{low}}}" if low == high else f"{{{low},{high}}}"


def _char_class(items: list[Any], ctx: _Flags) -> str:
    negated = bool(items) and items[0][0] is sre.NEGATE
    categories, others = [], []
    for op, av in items[1:] if negated else items:
        if op is sre.CATEGORY:
            categories.append(_category(av))
        elif op is sre.LITERAL:
            others.append(_literal(av))
        elif op is sre.RANGE:
            others.append(f"{_literal(av[0])}-{_literal(av[1])}")
        else:
            raise Refused(f"an unsupported character class item ({op})", None, "")
    caret = "^" if negated else ""
    if not ctx.ignorecase or not categories:
        return f"[{caret}{''.join(categories + others)}]"
    # Case folding would add a few non-word characters to \w (U+0345 folds to a Greek iota):
    # the categories are matched without it, the literals with it.
    exact = f"(?-i:[{caret}{''.join(categories)}])"
    if not others:
        return exact
    if not negated:
        return f"(?:{exact}|[{''.join(others)}])"
    return f"[^{''.join(categories + others)}]"  # folds \w too: differs on U+0345 alone


# --- which kind of character is next to a \b ----------------------------------------------

Kind = bool | None  # True: a word character, False: not one, None: could be either


def _same(kinds: list[Kind]) -> Kind:
    return kinds[0] if kinds and all(k is not None and k == kinds[0] for k in kinds) else None


def _char_kind(code: int, ctx: _Flags) -> Kind:
    char = chr(code)
    variants = {char}
    if ctx.ignorecase:
        variants |= {v for v in (char.lower(), char.upper()) if len(v) == 1}
    return _same([is_word(ord(v)) for v in variants])


def _set_kind(items: list[Any], ctx: _Flags) -> Kind:
    kinds: list[Kind] = []
    for op, av in items:
        if op is sre.LITERAL:
            kinds.append(_char_kind(av, ctx))
        elif op is sre.RANGE and av[1] - av[0] <= 1024:
            kinds += [_char_kind(code, ctx) for code in range(av[0], av[1] + 1)]
        elif op is sre.CATEGORY:
            kinds.append(_WORDNESS.get(av))
        else:
            return None
    return _same(kinds)


def _first_kind(items: list[Any], ctx: _Flags) -> Kind:
    """The kind of the first character the items match, if the pattern says."""
    if not items:
        return None
    op, av = items[0]
    if op is sre.AT:
        # After the end of a line or of the text comes a newline or nothing: not a word.
        return False if av in (sre.AT_END, sre.AT_END_STRING) else None
    if _optional(op, av):  # ``\s*\b``: the character is the repeated one's or the next one's
        return _same([_first_kind(list(av[2]), ctx), _first_kind(items[1:], ctx)])
    return _atom_kind(op, av, ctx, _first_kind)


def _last_kind(items: list[Any], ctx: _Flags) -> Kind:
    """The kind of the last character the items matched, if the pattern says."""
    if not items:
        return None
    op, av = items[-1]
    if op is sre.AT:
        # Before the start of a line or of the text is a newline or nothing: not a word.
        return False if av in (sre.AT_BEGINNING, sre.AT_BEGINNING_STRING) else None
    if _optional(op, av):
        return _same([_last_kind(list(av[2]), ctx), _last_kind(items[:-1], ctx)])
    return _atom_kind(op, av, ctx, _last_kind)


def _optional(op: Any, av: Any) -> bool:
    return op in (sre.MAX_REPEAT, sre.MIN_REPEAT) and av[0] == 0


def _atom_kind(op: Any, av: Any, ctx: _Flags, edge: Any) -> Kind:
    if op is sre.LITERAL:
        return _char_kind(av, ctx)
    if op is sre.IN:
        return _set_kind(av, ctx)
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT) and av[0] >= 1:
        kind: Kind = edge(list(av[2]), ctx)
        return kind
    if op is sre.SUBPATTERN:
        inner_ctx = replace(ctx, ignorecase=_flag(ctx.ignorecase, av[1], av[2], re.IGNORECASE))
        kind = edge(list(av[3]), inner_ctx)
        return kind
    if op is sre.BRANCH:
        return _same([edge(list(a), ctx) for a in av[1]])
    return None
