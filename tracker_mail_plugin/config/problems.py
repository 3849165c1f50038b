"""Configuration problems: where they are and what to do, in one plain sentence each."""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from tracker_mail_plugin.config.yamlmarks import Marks, Path


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong (or doubtful) in the file, with its position."""

    file: str
    line: int
    column: int
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        if self.line == 0:  # about the whole file (it cannot be read): no position to give
            return f"{self.file}: {prefix}{self.message}"
        return f"{self.file}:{self.line}:{self.column}: {prefix}{self.message}"


def at(file: str, marks: Marks, path: Path, message: str, *, key: bool = False) -> ConfigProblem:
    """A problem positioned at ``path`` (or its nearest written ancestor)."""
    _, mark = marks.nearest(path, prefer_key=key)
    return ConfigProblem(file, mark.line, mark.column, message)


def show_path(path: Path) -> str:
    """``("mailboxes", "support", "rules", 0, "when")`` -> ``mailboxes.support.rules[0].when``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def from_validation_error(
    file: str, marks: Marks, error: ValidationError, root: type[BaseModel], base: Path = ()
) -> list[ConfigProblem]:
    """Turn pydantic's errors into positioned sentences, one per place in the file."""
    by_place: dict[Path, list[ErrorDetails]] = {}
    for detail in error.errors(include_url=False):
        path = base + _data_path(detail["loc"])
        by_place.setdefault(path, []).append(detail)
    problems = []
    for path, details in by_place.items():
        key = any(d["type"] == "extra_forbidden" for d in details)
        sentence = _sentence(path, details, root, base)
        problems.append(at(file, marks, path, sentence, key=key))
    return problems


def _data_path(loc: tuple[str | int, ...]) -> Path:
    """Drop pydantic's union branch names (``literal[...]``, ``Move``) from a location."""
    return tuple(p for p in loc if isinstance(p, int) or not _is_branch_label(p))


def _is_branch_label(part: str) -> bool:
    return "[" in part or part[:1].isupper() or part in ("function-before", "function-after")


def _sentence(path: Path, details: list[ErrorDetails], root: type[BaseModel], base: Path) -> str:
    where = show_path(path) or "the file"
    first = details[0]
    if first["type"] == "extra_forbidden":
        return _unknown_key(path, root, base)
    if first["type"] in ("union_tag_invalid", "union_tag_not_found") and path[-1:] == ("oauth2",):
        # The only tagged union outside the rules: auth.oauth2's provider.
        return f"{where}: provider must be one of generic, microsoft, google"
    if first["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return _unknown_action(where, first)
    messages = [_plain(d) for d in details]
    if len(messages) > 1:
        return f"{where}: " + "; or ".join(dict.fromkeys(messages))
    return f"{where}: {messages[0]}"


def _plain(detail: ErrorDetails) -> str:
    kind, message = detail["type"], detail["msg"]
    if kind == "missing":
        return "required, but missing"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return "should be a mapping (key: value lines)"
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    if kind == "literal_error":
        return message.replace("Input should be", "should be")
    return message[:1].lower() + message[1:]


def _unknown_action(where: str, detail: ErrorDetails) -> str:
    from tracker_mail_plugin.rules.model import ACTION_MODELS

    given = detail.get("input")
    if isinstance(given, dict) and len(given) == 1:
        tag = str(next(iter(given)))
    elif isinstance(given, str):
        tag = given
    else:
        names = ", ".join(ACTION_MODELS)
        return f"{where}: write an action as one of {names}, e.g. {{create_issue: {{project: x}}}}"
    return f"{where}: unknown action '{tag}'" + _did_you_mean(tag, list(ACTION_MODELS))


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; expected one of: {', '.join(sorted(choices))}"


_NOUNS = {
    "Config": "top-level key",
    "Conditions": "condition",
    "Rule": "rule key (name, when, then, continue)",
    "Mailbox": "mailbox setting",
    "Policies": "policy",
    "Replies": "replies setting",
    "Trust": "trust setting",
    "AutomatedPolicies": "automated class",
    "Company": "company setting",
    "Smtp": "smtp setting",
}


def _unknown_key(path: Path, root: type[BaseModel], base: Path) -> str:
    model = _model_at(root, path[len(base) : -1])
    word = str(path[-1])
    if model is None:
        return f"{show_path(path)}: unknown key"
    names = [
        f.alias or name
        for name, f in model.model_fields.items()
        if name not in ("action", "policies")
    ]
    if model.__name__ == "Mailbox":
        from tracker_mail_plugin.config.model import POLICY_KEYS

        names += sorted(POLICY_KEYS)
    noun = _NOUNS.get(model.__name__) or _action_noun(model)
    return f"{word}: unknown {noun}" + _did_you_mean(word, names)


def _action_noun(model: type[BaseModel]) -> str:
    action = model.model_fields.get("action")
    return f"option of {action.default}" if action is not None else "key"


def _model_at(root: type[BaseModel], loc: Path) -> type[BaseModel] | None:
    """Follow field annotations from ``root`` along ``loc`` to the model found there."""
    current: Any = root
    for part in loc:
        current = _step(current, part)
        if current is None:
            return None
    model = _first_model(current, None)
    return model


def _step(current: Any, part: str | int) -> Any:
    model = _first_model(current, part)
    if model is not None and isinstance(part, str):
        for name, info in model.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        from tracker_mail_plugin.rules.model import ACTION_MODELS

        return ACTION_MODELS.get(part)  # the tag of an action in `then`
    for arg in _args(current):
        if isinstance(part, int) and typing.get_origin(arg) is list:
            return typing.get_args(arg)[0]
        if isinstance(part, str) and typing.get_origin(arg) is dict:
            return typing.get_args(arg)[1]
    return None


def _args(annotation: Any) -> list[Any]:
    """The alternatives of an annotation, with Annotated and Optional unwrapped."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _args(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [inner for arg in typing.get_args(annotation) for inner in _args(arg)]
    return [annotation]


def _first_model(annotation: Any, part: str | int | None) -> type[BaseModel] | None:
    for arg in _args(annotation):
        is_model = isinstance(arg, type) and issubclass(arg, BaseModel)
        if is_model and (part is None or isinstance(part, str)):
            return arg  # type: ignore[no-any-return]
    return None
