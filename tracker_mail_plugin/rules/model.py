"""Typed rules: conditions (``when``) and actions (``then``), one model for YAML and the DSL.

Both forms of a rule end up here: the ``when … then …`` language is parsed into the same
dictionaries the YAML form is written in, and pydantic validates both the same way, so a
rule means one thing whichever way it was written.
"""

from __future__ import annotations

import string
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from tracker_mail_plugin.rules.patterns import PatternError, compile_pattern


def _as_list(value: Any) -> Any:
    """A single keyword, address or domain may be written without a list."""
    if isinstance(value, (str, int)):
        return [str(value)]
    return value


def _as_text(value: Any) -> Any:
    """Project ids may be written as numbers (``project: 2``); they are names to us."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _compile(value: Any) -> Any:
    """Refuse a pattern at load time, not when the first mail arrives."""
    if not isinstance(value, str):
        return value
    try:
        compile_pattern(value)
    except PatternError as exc:
        raise ValueError(str(exc)) from None
    return value


Words = Annotated[list[Annotated[str, Field(min_length=1)]], BeforeValidator(_as_list)]
Text = Annotated[str, BeforeValidator(_as_text)]
Regex = Annotated[str, BeforeValidator(_compile)]
AutomatedClass = Literal["loop", "bounce", "auto_replied", "auto_generated", "bulk", "any"]


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, hide_input_in_errors=True
    )


class Conditions(_Strict):
    """Everything listed must hold; ``any``/``all``/``not`` combine groups."""

    subject_contains: Words | None = None
    body_contains: Words | None = None
    headers_contains: Words | dict[str, Words] | None = None
    contains: Words | None = None
    match: Literal["word", "substring"] = "word"
    subject_matches: Regex | None = None
    body_matches: Regex | None = None
    from_: Words | None = Field(default=None, alias="from")
    from_domain: Words | None = None
    to: Words | None = None
    cc: Words | None = None
    delivered_to: Words | None = None
    plus: Words | None = None
    sender: Literal["known", "unknown"] | None = None
    company_matches_project: Text | None = None
    has_attachments: bool | None = None
    automated: Annotated[list[AutomatedClass], BeforeValidator(_as_list)] | None = None
    any: list[Conditions] | None = None
    all: list[Conditions] | None = None
    not_: Conditions | None = Field(default=None, alias="not")

    def named_groups(self) -> set[str]:
        """Names of the regex groups this condition tree can supply as ``{match.NAME}``."""
        names: set[str] = set()
        for pattern in (self.subject_matches, self.body_matches):
            if pattern:
                names |= compile_pattern(pattern).names
        for child in (self.any or []) + (self.all or []):
            names |= child.named_groups()
        return names


FieldName = Literal["priority", "type", "assignee", "labels", "category", "due_date", "private"]


class CreateAction(_Strict):
    """What creating an issue and creating a service-desk request have in common."""

    project: Text
    title: str = "{subject}"
    priority: str | None = None
    labels: Words = []
    custom_fields: dict[str, Text] = {}
    fields_from_body: list[FieldName] = []


class CreateIssue(CreateAction):
    """Create an issue (any type: bug, task, story…) in a project."""

    action: Literal["create_issue"] = "create_issue"
    type: str | None = None
    assignee: str | None = None
    private: bool = False


class CreateRequest(CreateAction):
    """Create a service-desk request (TargetProcess ``create request in project``)."""

    action: Literal["create_request"] = "create_request"
    request_type: str | None = None


class Comment(_Strict):
    """Add the message as a comment to the issue it replies to."""

    action: Literal["comment"] = "comment"
    private: bool = False


class AttachToProject(_Strict):
    """Attach the message itself, as an ``.eml`` file, to a project."""

    action: Literal["attach_to_project"] = "attach_to_project"
    project: Text


class Forward(_Strict):
    """Forward the message to an address."""

    action: Literal["forward"] = "forward"
    to: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]


class Ignore(_Strict):
    """Do nothing with the message; it goes to the mailbox's ``on_unprocessed`` policy."""

    action: Literal["ignore"] = "ignore"
    reason: str | None = None


ACTION_MODELS: dict[str, type[_Strict]] = {
    "create_issue": CreateIssue,
    "create_request": CreateRequest,
    "comment": Comment,
    "attach_to_project": AttachToProject,
    "forward": Forward,
    "ignore": Ignore,
}
# The one value an action may be written with instead of a mapping: `forward: a@b`.
_SHORTHAND = {"attach_to_project": "project", "forward": "to", "ignore": "reason"}


def _tag_action(value: Any) -> Any:
    """``{create_issue: {...}}`` or ``"ignore"`` -> ``{"action": "create_issue", ...}``."""
    if isinstance(value, str) and value in ACTION_MODELS:
        return {"action": value}
    if isinstance(value, dict) and len(value) == 1:
        ((name, options),) = value.items()
        if name in ACTION_MODELS:
            if options is None:
                options = {}
            elif not isinstance(options, dict) and name in _SHORTHAND:
                options = {_SHORTHAND[name]: options}
            if isinstance(options, dict):
                return {"action": name, **options}
    return value


RuleAction = Annotated[
    CreateIssue | CreateRequest | Comment | AttachToProject | Forward | Ignore,
    Field(discriminator="action"),
    BeforeValidator(_tag_action),
]

_PLACEHOLDERS = frozenset({"subject", "from.address", "from.name", "from.domain", "mailbox"})


class Rule(_Strict):
    """``when`` the conditions hold, ``then`` do the actions; stop unless ``continue``."""

    name: str | None = None
    when: Conditions = Conditions()
    then: Annotated[list[RuleAction], Field(min_length=1)]
    continue_: bool = Field(default=False, alias="continue")

    @model_validator(mode="after")
    def _known_placeholders(self) -> Rule:
        groups = self.when.named_groups()
        for action in self.then:
            for value in _template_values(action):
                for field in _placeholders(value):
                    name = field.removeprefix("match.")
                    if field not in _PLACEHOLDERS and not (
                        field.startswith("match.") and name in groups
                    ):
                        raise ValueError(_placeholder_problem(field, groups))
        return self

    def label(self, index: int) -> str:
        """The rule's name, or ``rule N`` (1-based) when it has none."""
        return self.name or f"rule {index + 1}"


def _template_values(action: BaseModel) -> list[str]:
    values: list[str] = []
    for value in action.__dict__.values():
        if isinstance(value, str):
            values.append(value)
        elif isinstance(value, dict):
            values += [v for v in value.values() if isinstance(v, str)]
    return values


def _placeholders(value: str) -> list[str]:
    try:
        return [field for _, field, _, _ in string.Formatter().parse(value) if field]
    except ValueError:
        raise ValueError(
            f"unbalanced braces in {value!r}; write {{{{ and }}}} for a literal brace"
        ) from None


def _placeholder_problem(field: str, groups: set[str]) -> str:
    if field.startswith("match."):
        known = ", ".join(sorted(groups)) or "none: add a (?P<name>…) group to subject_matches"
        return (
            f"{{{field}}} is not a named group of this rule's regular expressions (known: {known})"
        )
    known = ", ".join(f"{{{p}}}" for p in sorted(_PLACEHOLDERS))
    return f"unknown placeholder {{{field}}}; use one of {known} or {{match.NAME}}"
