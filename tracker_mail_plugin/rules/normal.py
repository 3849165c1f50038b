"""Rules in their normalised YAML form, as ``check --show`` prints them.

Whatever form a rule was written in (one DSL line, ``when``/``then`` strings, YAML), this is
the one shape it means; reading this form back gives the same rule.
"""

from __future__ import annotations

from typing import Any

from tracker_mail_plugin.rules.model import Conditions, Rule, RuleAction


def rule_to_yaml(rule: Rule) -> dict[str, Any]:
    """The rule as YAML-ready data: defaults left out, actions as ``{name: options}``."""
    data: dict[str, Any] = {}
    if rule.name:
        data["name"] = rule.name
    when = conditions_to_yaml(rule.when)
    if when:
        data["when"] = when
    data["then"] = [_action(action) for action in rule.then]
    if rule.continue_:
        data["continue"] = True
    return data


def conditions_to_yaml(conditions: Conditions) -> dict[str, Any]:
    """Conditions without unset keys and defaults."""
    return conditions.model_dump(by_alias=True, exclude_defaults=True)


def _action(action: RuleAction) -> Any:
    """``ignore`` alone, or ``{create_issue: {project: x}}`` with only the options set."""
    options = action.model_dump(by_alias=True, exclude_defaults=True, exclude={"action"})
    return {action.action: options} if options else action.action


def rules_to_yaml(rules: list[Rule]) -> list[dict[str, Any]]:
    """Every rule of a list in normalised form."""
    return [rule_to_yaml(rule) for rule in rules]
