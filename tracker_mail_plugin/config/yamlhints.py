"""Turn PyYAML's syntax errors into the line to fix and what usually causes them.

PyYAML reports where its scanner gave up, which is often the line after the mistake (a key
missing its colon is noticed on the next line) and in its own vocabulary ("block end",
"simple key"). People make a handful of mistakes in a configuration file: an indentation
that does not line up, a tab, a regular expression in double quotes, an unclosed quote, an
unquoted ``: `` inside a value. Each gets its place and a plain sentence.
"""

from __future__ import annotations

from typing import NamedTuple

import yaml


class Mark(NamedTuple):
    """A 1-based line and column."""

    line: int
    column: int


def describe(error: yaml.MarkedYAMLError, text: str) -> tuple[Mark, str]:
    """Where to look and what to write for a syntax error in ``text``."""
    problem = error.problem or str(error)
    at_problem = _mark(error.problem_mark)
    at_context = _mark(error.context_mark) if error.context_mark else at_problem
    lines = text.splitlines()
    if "could not find expected ':'" in problem:
        return at_context, (
            "not valid YAML: this line has no ':' after its key (write `key: value`), or the "
            "line below it is indented too far"
        )
    if "unknown escape character" in problem:
        return at_problem, (
            'not valid YAML: in double quotes a backslash starts an escape, so "\\d" is not '
            "allowed; write regular expressions in single quotes ('ORD-\\d+'), where "
            "backslashes are kept as they are"
        )
    if "'\\t'" in problem:
        return at_problem, "not valid YAML: a tab; YAML indents with spaces only"
    if "end of stream" in problem and "quoted scalar" in (error.context or ""):
        return at_context, "not valid YAML: the quote opened here is never closed"
    if "mapping values are not allowed here" in problem:
        return _mapping_value(at_problem, lines)
    if "expected <block end>" in problem or "expected <block mapping start>" in problem:
        return Mark(at_problem.line, 1), (
            "not valid YAML: this line's indentation does not line up with the "
            "lines above it (the keys of one mapping start in the same column, indented with "
            "spaces)"
        )
    return at_problem, f"not valid YAML: {problem}"


def _mapping_value(at: Mark, lines: list[str]) -> tuple[Mark, str]:
    line = lines[at.line - 1] if 0 < at.line <= len(lines) else ""
    before = line[: at.column - 1]
    if ": " in before.lstrip().lstrip("- "):
        # `then: create issue: in project X`: the second ': ' ends a key nobody meant.
        return at, (
            "not valid YAML: a value containing ': ' must be quoted, e.g. "
            "'create issue in project X: urgent'"
        )
    above = _line_above(lines, at.line)
    where = f"line {above}" if above else "the line above"
    indent = len(line) - len(line.lstrip(" "))
    return Mark(at.line, indent + 1), (
        f"not valid YAML: this line is indented further than {where}, which already has a "
        "value; line up keys of the same mapping in the same column"
    )


def _line_above(lines: list[str], line: int) -> int | None:
    for number in range(line - 1, 0, -1):
        stripped = lines[number - 1].strip()
        if stripped and not stripped.startswith("#"):
            return number
    return None


def _mark(mark: yaml.Mark | None) -> Mark:
    return Mark(mark.line + 1, mark.column + 1) if mark is not None else Mark(1, 1)
