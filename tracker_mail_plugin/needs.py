"""What the rules and policies need from a tracker's adapter, checked before any mail is read.

``check`` reports these with their place in ``rules.yaml``; ``sync`` refuses to start a
mailbox whose adapter cannot do what its rules ask.
"""

from __future__ import annotations

from tracker_mail_plugin.adapter import Capability, Requirements, TrackerAdapter
from tracker_mail_plugin.config.loader import LoadedConfig
from tracker_mail_plugin.config.problems import ConfigProblem, at
from tracker_mail_plugin.config.yamlmarks import Path
from tracker_mail_plugin.rules.model import (
    AttachToProject,
    Comment,
    CreateAction,
    CreateIssue,
    CreateRequest,
)


def capability_problems(
    loaded: LoadedConfig, adapters: dict[str, TrackerAdapter]
) -> list[ConfigProblem]:
    """Rules and policies that ask a tracker for something its adapter does not do."""
    config = loaded.config
    found: list[ConfigProblem] = []
    for mailbox_name, mailbox in config.mailboxes.items():
        adapter = adapters[mailbox.tracker]
        policies = loaded.policies(mailbox_name)
        base: Path = ("mailboxes", mailbox_name)
        rules_path: Path = (*base, "rules") if mailbox.rules is not None else ("rules",)
        for index, rule in enumerate(config.rules_for(mailbox_name)):
            for action in rule.then:
                needed = _capability_for(action)
                if needed is not None and not adapter.supports(needed):
                    found.append(at(loaded.path, loaded.marks, (*rules_path, index),
                        f"{rule.label(index)}: {action.action} is not supported by the "
                        f"{adapter.name} adapter of tracker '{mailbox.tracker}'"))  # fmt: skip
        needs = [("unknown_user", Capability.CREATE_USER, policies.unknown_user == "create_user")]
        needs.append(("replies", Capability.REOPEN, policies.replies.closed_issue == "reopen"))
        for key, capability, wanted in needs:
            if wanted and not adapter.supports(capability):
                found.append(at(loaded.path, loaded.marks, (*base, key),
                    f"mailbox '{mailbox_name}': {key} needs {capability.value}, which the "
                    f"{adapter.name} adapter does not support"))  # fmt: skip
        problem = workers_problem(mailbox_name, policies.workers, adapter)
        if problem:
            found.append(at(loaded.path, loaded.marks, (*base, "workers"), problem))
    return found


def workers_problem(mailbox: str, workers: int, adapter: TrackerAdapter) -> str | None:
    """Why ``workers`` cannot be used with ``adapter``, if it cannot."""
    if workers <= 1 or adapter.thread_safe:
        return None
    return (
        f"mailbox '{mailbox}': workers: {workers} needs an adapter that may be called from "
        f"several threads at once, and the {adapter.name} adapter does not declare it is "
        "(thread_safe); use workers: 1"
    )


def _capability_for(action: object) -> Capability | None:
    if isinstance(action, CreateRequest):
        return Capability.CREATE_REQUEST
    if isinstance(action, AttachToProject):
        return Capability.ATTACH_TO_PROJECT
    return None


def requirements(loaded: LoadedConfig, tracker: str) -> Requirements:
    """Every name the rules of the mailboxes feeding ``tracker`` use."""
    config = loaded.config
    issues: set[tuple[str, str | None]] = set()
    requests: set[tuple[str, str | None]] = set()
    attach: set[str] = set()
    fields: set[str] = set()
    labels: dict[str, set[str]] = {}
    create_users_in: set[str] = set()
    request_fields: dict[tuple[str, str | None], set[str]] = {}
    private_issues = private_comments = False
    for name, mailbox in config.mailboxes.items():
        if mailbox.tracker != tracker:
            continue
        creates_users = loaded.policies(name).unknown_user == "create_user"
        for rule in config.rules_for(name):
            for action in rule.then:
                if isinstance(action, CreateIssue):
                    issues.add((action.project, action.type))
                    private_issues |= action.private
                elif isinstance(action, CreateRequest):
                    requests.add((action.project, action.request_type))
                    request_fields.setdefault((action.project, action.request_type), set()).update(
                        _set_fields(action)
                    )
                elif isinstance(action, AttachToProject):
                    attach.add(action.project)
                elif isinstance(action, Comment):
                    private_comments |= action.private
                if isinstance(action, CreateAction):
                    fields |= set(action.custom_fields)
                    labels.setdefault(action.project, set()).update(action.labels)
                    if creates_users:
                        create_users_in.add(action.project)
    return Requirements(
        frozenset(issues),
        frozenset(requests),
        frozenset(attach),
        frozenset(fields),
        {project: frozenset(names) for project, names in labels.items() if names},
        frozenset(create_users_in),
        private_issues,
        private_comments,
        {target: frozenset(names) for target, names in request_fields.items() if names},
    )


def _set_fields(action: CreateRequest) -> set[str]:
    """The fields a request rule sets beyond summary and description."""
    names = set(action.custom_fields)
    for name in ("priority", "labels"):
        if getattr(action, name) or name in action.fields_from_body:
            names.add(name)
    return names
