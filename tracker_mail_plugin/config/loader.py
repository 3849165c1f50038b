"""Load ``rules.yaml``: every problem found at once, each with its line and column.

The order: YAML syntax, then the rule language in ``when``/``then`` strings (turned into the
YAML form), then the typed models, then checks across sections (a mailbox naming a tracker
that does not exist, a forward with no smtp). Nothing is connected to or changed here.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
from dataclasses import dataclass, field, replace
from pathlib import Path as FilePath
from typing import Any

from pydantic import BaseModel, ValidationError

from tracker_mail_plugin.config.model import (
    POLICY_KEYS,
    SECRET_KEY,
    Config,
    ForwardTo,
    MoveTo,
    Policies,
)
from tracker_mail_plugin.config.problems import ConfigProblem, at, from_validation_error, show_path
from tracker_mail_plugin.config.secrets import SECRET_HOW_TO, Secret
from tracker_mail_plugin.config.yamlmarks import Marks, Path, YamlSyntaxError, load_with_marks
from tracker_mail_plugin.rules.dsl import (
    RuleSyntaxError,
    parse_actions,
    parse_conditions,
    parse_rule_line,
)
from tracker_mail_plugin.rules.model import Comment, CreateIssue, CreateRequest, Forward
from tracker_mail_plugin.trust.verify import VERIFY_NEEDS

DEFAULT_CONFIG = "rules.yaml"
SYSTEM_CONFIG = "/etc/tracker-mail/rules.yaml"
CONFIG_ENV = "TRACKER_MAIL_CONFIG"


class ConfigFileError(Exception):
    """The configuration file has errors; ``problems`` lists every one of them."""

    def __init__(self, problems: list[ConfigProblem]):
        # Every problem in the text too: where no command prints ``problems`` (a test's
        # CrashHarness, a traceback), a count alone would not say what to fix.
        lines = "".join(f"\n  {problem}" for problem in problems)
        super().__init__(f"{len(problems)} problem(s) in the configuration:{lines}")
        self.problems = problems


@dataclass(frozen=True)
class LoadedConfig:
    """A valid configuration, where it came from, and warnings worth showing."""

    config: Config
    path: str
    warnings: tuple[ConfigProblem, ...] = ()
    rule_sources: tuple[tuple[Path, str], ...] = ()
    marks: Marks = field(default_factory=Marks, compare=False, repr=False)
    # Merged once per mailbox: the pipeline asks for them for every message.
    _policies: dict[str, Policies] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def policies(self, mailbox: str) -> Policies:
        """The mailbox's policies over ``defaults`` (already validated at load)."""
        found = self._policies.get(mailbox)
        if found is None:
            found = self._policies[mailbox] = self.config.policies_for(mailbox)
        return found


def config_path(given: str | None) -> FilePath:
    """``-c``, else ``$TRACKER_MAIL_CONFIG``, else ``rules.yaml`` here, else the system one.

    When neither ``rules.yaml`` here nor the system file exists, ``rules.yaml``: the error
    then names both places.
    """
    chosen = given or os.environ.get(CONFIG_ENV)
    if chosen:
        return FilePath(chosen)
    for candidate in (FilePath(DEFAULT_CONFIG), FilePath(SYSTEM_CONFIG)):
        if candidate.exists():
            return candidate
    return FilePath(DEFAULT_CONFIG)


def load_config(path: str | FilePath) -> LoadedConfig:
    """Read and validate a configuration file; raises ConfigFileError listing all problems."""
    name = str(path)
    try:
        text = FilePath(path).read_text(encoding="utf-8")
    except OSError as exc:
        looked = (
            f"; looked for ./{DEFAULT_CONFIG} and {SYSTEM_CONFIG}: give one with -c FILE"
            if name == DEFAULT_CONFIG and isinstance(exc, FileNotFoundError)
            else ""
        )
        raise ConfigFileError(
            [ConfigProblem(name, 0, 0, f"cannot read the file: {exc.strerror or exc}{looked}")]
        ) from None
    except UnicodeDecodeError:
        raise ConfigFileError([ConfigProblem(name, 1, 1, "the file is not UTF-8 text")]) from None
    return _anchored(load_config_text(text, name), FilePath(path).resolve().parent)


def _anchored(loaded: LoadedConfig, folder: FilePath) -> LoadedConfig:
    """Relative paths made relative to the configuration's folder, as the journal's is.

    cron starts commands in the home folder and a mail server pipes from its own: a
    ``path: ./mail`` that followed the working folder would name another folder there. So
    do local mailboxes' ``path``, ``{file: …}`` secrets and ``ca_file`` everywhere (also in
    a tracker's options, before its adapter reads them), and the recording tracker's
    ``state_file``.
    """
    mailboxes = dict(loaded.config.mailboxes)
    for name, box in mailboxes.items():
        if box.path is not None and box.protocol not in ("imap", "pop3", "graph"):
            box = box.model_copy(update={"path": _near(folder, box.path)})
        mailboxes[name] = _files_near(box, folder)
    trackers = dict(loaded.config.trackers)
    for name, tracker in trackers.items():
        options = {key: _raw_near(key, value, folder) for key, value in tracker.options.items()}
        # The built-in recording tracker's file, as Getting started writes it (./tracker.json).
        state = options.get("state_file")
        if tracker.adapter == "recording" and isinstance(state, str):
            options["state_file"] = _near(folder, state)
        if options != tracker.options:
            trackers[name] = tracker.model_copy(update=options)
    update: dict[str, Any] = {"mailboxes": mailboxes, "trackers": trackers}
    for key in ("smtp", "journal"):
        update[key] = _files_near(getattr(loaded.config, key), folder)
    if all(update[key] == getattr(loaded.config, key) for key in update):
        return loaded
    return replace(loaded, config=loaded.config.model_copy(update=update))


def _files_near(value: Any, folder: FilePath) -> Any:
    """``value`` (a model, or what a field holds) with its secret files and ``ca_file`` near."""
    if isinstance(value, Secret):
        return value.anchored(folder)
    if isinstance(value, BaseModel):
        update = {}
        for name in type(value).model_fields:
            field = getattr(value, name)
            moved = (
                _near(folder, field)
                if name == "ca_file" and isinstance(field, str)
                else _files_near(field, folder)
            )
            if moved is not field:
                update[name] = moved
        return value.model_copy(update=update) if update else value
    return value


def _raw_near(key: str, value: Any, folder: FilePath) -> Any:
    """A tracker option as written (before its adapter validates it), its files near."""
    if key == "ca_file" and isinstance(value, str):
        return _near(folder, value)
    if isinstance(value, dict):
        if set(value) == {"file"} and isinstance(value["file"], str):
            return {"file": _near(folder, value["file"])}
        return {k: _raw_near(k, v, folder) for k, v in value.items()}
    return value


def _near(folder: FilePath, path: str) -> str:
    """``path`` as written when absolute (or ``~/…``), else inside ``folder``."""
    if FilePath(os.path.expanduser(path)).is_absolute():
        return path
    return str(folder / path)


def load_config_text(text: str, name: str = DEFAULT_CONFIG) -> LoadedConfig:
    """Validate configuration given as text (``name`` is used in messages)."""
    try:
        data, marks = load_with_marks(text)
    except YamlSyntaxError as exc:
        raise ConfigFileError(
            [ConfigProblem(name, exc.mark.line, exc.mark.column, exc.message)]
        ) from None
    problems = [
        at(name, marks, p, f"{show_path(p)}: written twice; the second would win", key=True)
        for p, _ in marks.duplicates
    ]
    if not isinstance(data, dict):
        raise ConfigFileError(
            [
                ConfigProblem(
                    name, 1, 1, "the file should be a mapping with version, trackers, mailboxes"
                )
            ]
        )
    _refuse_literal_secrets(data, (), marks, name, problems)
    sources = _expand_rule_language(data, marks, name, problems)
    problems += _raw_mailbox_checks(data, marks, name)
    config = _validate(data, marks, name, problems)
    if config is not None:
        problems += _cross_checks(config, marks, name)
    errors = [p for p in problems if p.severity == "error"]
    if errors or config is None:
        raise ConfigFileError(sorted(errors, key=lambda p: (p.line, p.column)))
    warnings = tuple(p for p in problems if p.severity == "warning")
    return LoadedConfig(config, name, warnings, tuple(sources), marks)


def _refuse_literal_secrets(
    data: Any, path: Path, marks: Marks, name: str, problems: list[ConfigProblem]
) -> None:
    """A password written in the file is an error at its own line; the value is dropped."""
    if isinstance(data, dict):
        for key, value in data.items():
            if SECRET_KEY.search(str(key)) and isinstance(value, str):
                problems.append(
                    at(
                        name,
                        marks,
                        (*path, key),
                        f"{key}: a secret must not be written in the file; {SECRET_HOW_TO}",
                    )
                )
                data[key] = {"env": "TRACKER_MAIL_REMOVED_LITERAL"}
            else:
                _refuse_literal_secrets(value, (*path, key), marks, name, problems)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            _refuse_literal_secrets(item, (*path, index), marks, name, problems)


def _raw_mailbox_checks(data: dict[str, Any], marks: Marks, name: str) -> list[ConfigProblem]:
    """Checks that need only the raw mailboxes, so they run even when other parts fail."""
    problems: list[ConfigProblem] = []
    mailboxes, trackers = data.get("mailboxes"), data.get("trackers")
    if not isinstance(mailboxes, dict):
        return problems
    known = list(trackers) if isinstance(trackers, dict) else []
    for mailbox_name, mailbox in mailboxes.items():
        if not isinstance(mailbox, dict):
            continue
        base: Path = ("mailboxes", mailbox_name)
        tracker = mailbox.get("tracker")
        if isinstance(tracker, str) and tracker not in known:
            close = difflib.get_close_matches(tracker, known, n=1)
            hint = (
                f"; did you mean '{close[0]}'?"
                if close
                else f"; trackers defined: {', '.join(known) or 'none'}"
            )
            problems.append(
                at(name, marks, (*base, "tracker"), f"unknown tracker '{tracker}'{hint}")
            )
        own = {k: v for k, v in mailbox.items() if k in POLICY_KEYS}
        try:
            Policies.model_validate(own)
        except ValidationError as exc:
            problems += from_validation_error(name, marks, exc, Policies, base)
    return problems


def _rule_lists(data: dict[str, Any]) -> list[Path]:
    lists: list[Path] = [("rules",)] if isinstance(data.get("rules"), list) else []
    mailboxes = data.get("mailboxes")
    if isinstance(mailboxes, dict):
        lists += [
            ("mailboxes", n, "rules")
            for n, m in mailboxes.items()
            if isinstance(m, dict) and isinstance(m.get("rules"), list)
        ]
    return lists


def _expand_rule_language(
    data: dict[str, Any], marks: Marks, name: str, problems: list[ConfigProblem]
) -> list[tuple[Path, str]]:
    """Replace rule-language strings by their YAML form, in place; collect syntax errors."""
    sources: list[tuple[Path, str]] = []
    for list_path in _rule_lists(data):
        rules = _get(data, list_path)
        for index, rule in enumerate(rules):
            path = (*list_path, index)
            if isinstance(rule, str):
                sources.append((path, rule))
                rules[index] = _parse(
                    parse_rule_line, rule, path, marks, name, problems, {"then": ["ignore"]}
                )
            elif isinstance(rule, dict):
                for key, parser, fallback in (
                    ("when", parse_conditions, {}),
                    ("then", parse_actions, ["ignore"]),
                ):
                    if isinstance(rule.get(key), str):
                        sources.append(((*path, key), rule[key]))
                        rule[key] = _parse(
                            parser, rule[key], (*path, key), marks, name, problems, fallback
                        )
    return sources


def _parse(
    parser: Any,
    text: str,
    path: Path,
    marks: Marks,
    name: str,
    problems: list[ConfigProblem],
    fallback: Any,
) -> Any:
    try:
        return parser(text)
    except RuleSyntaxError as exc:
        mark = marks.values.get(path)
        if mark is None or "\n" in text.strip():
            problems.append(at(name, marks, path, f"{show_path(path)}: {exc}"))
        else:
            column = mark.column + exc.column - 1 + (1 if mark.quoted else 0)
            problems.append(
                ConfigProblem(name, mark.line, column, f"{show_path(path)}: {exc.message}")
            )
        return fallback  # keep validating the rest of the file


def _get(data: Any, path: Path) -> Any:
    for part in path:
        data = data[part]
    return data


def _validate(
    data: dict[str, Any], marks: Marks, name: str, problems: list[ConfigProblem]
) -> Config | None:
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems += from_validation_error(name, marks, exc, Config)
        return None
    return config


def _cross_checks(config: Config, marks: Marks, name: str) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for mailbox_name in config.mailboxes:
        base: Path = ("mailboxes", mailbox_name)
        if not config.rules_for(mailbox_name):
            problems.append(
                at(
                    name,
                    marks,
                    base,
                    f"mailbox '{mailbox_name}' has no rules and there are no top-level rules",
                    key=True,
                )
            )
        problems += _policy_checks(config, mailbox_name, marks, name)
        problems += _trust_checks(config, mailbox_name, marks, name)
    problems += _company_checks(config, marks, name)
    return problems


def _policy_checks(
    config: Config, mailbox_name: str, marks: Marks, name: str
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    base: Path = ("mailboxes", mailbox_name)
    mailbox = config.mailboxes[mailbox_name]
    try:
        policies = config.policies_for(mailbox_name)
    except ValidationError:
        return problems  # already reported
    forwards = [
        k for k in ("on_unprocessed", "on_failure") if isinstance(getattr(policies, k), ForwardTo)
    ]
    if any(isinstance(a, Forward) for r in config.rules_for(mailbox_name) for a in r.then):
        forwards.append("a forward action")
    if forwards and config.smtp is None:
        problems.append(
            at(
                name,
                marks,
                base,
                f"mailbox '{mailbox_name}' forwards mail ({', '.join(forwards)}) "
                "but no smtp server is configured; add an smtp: section (host and sender at "
                "least, see rules.yaml.example) that forwards are sent through",
                key=True,
            )
        )
    if mailbox.protocol in ("pop3", "mbox"):
        for key in ("on_success", "on_unprocessed", "on_failure"):
            if isinstance(getattr(policies, key), MoveTo):
                problems.append(
                    at(
                        name,
                        marks,
                        (*base, key),
                        f"{key}: a {mailbox.protocol} mailbox has no folders to move to; "
                        "use delete or leave",
                    )
                )
    return problems


def _trust_checks(
    config: Config, mailbox_name: str, marks: Marks, name: str
) -> list[ConfigProblem]:
    """Warn where anyone may write as anyone: From alone picks the account written as."""
    try:
        policies = config.policies_for(mailbox_name)
    except ValidationError:
        return []  # already reported
    where = _trust_place(config, mailbox_name)
    if policies.trust.verify and not _can_verify():
        return [at(name, marks, where, f"mailbox '{mailbox_name}': {VERIFY_NEEDS}", key=True)]
    if policies.trust.require != "none" or not _writes_as_sender(config, mailbox_name):
        return []
    problem = at(
        name,
        marks,
        where,
        f"mailbox '{mailbox_name}' writes issues and comments as the account of the address "
        "in From, which anyone can forge; with trust: require: none nothing checks it. "
        "Set e.g. trust: {authserv_id: [your.mx.host], require: dmarc}",
        key=True,
    )
    return [ConfigProblem(problem.file, problem.line, problem.column, problem.message, "warning")]


def _trust_place(config: Config, mailbox_name: str) -> Path:
    """Where the mailbox's trust policy is written: its own, else defaults', else the mailbox."""
    base: Path = ("mailboxes", mailbox_name)
    if "trust" in config.mailboxes[mailbox_name].policies:
        return (*base, "trust")
    if "trust" in config.defaults.model_fields_set:
        return ("defaults", "trust")
    return base


def _can_verify() -> bool:
    """Whether dkimpy and dnspython (``trust: verify``) are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("dkim", "dns"))


def _writes_as_sender(config: Config, mailbox_name: str) -> bool:
    """True when a known sender's own account creates or comments (rules or replies)."""
    if config.policies_for(mailbox_name).replies.action == "comment":
        return True  # a reply to a known issue is a comment by the sender
    writes = (CreateIssue, CreateRequest, Comment)
    return any(isinstance(a, writes) for r in config.rules_for(mailbox_name) for a in r.then)


def _company_checks(config: Config, marks: Marks, name: str) -> list[ConfigProblem]:
    owned = {project for company in config.companies.values() for project in company.projects}
    problems: list[ConfigProblem] = []
    for list_path, rules in [(("rules",), config.rules or [])] + [
        (("mailboxes", n, "rules"), m.rules or []) for n, m in config.mailboxes.items()
    ]:
        for index, rule in enumerate(rules):
            project = rule.when.company_matches_project
            if project is not None and project not in owned:
                problem = at(
                    name,
                    marks,
                    (*list_path, index),
                    f"no company in `companies` owns project {project}; unless the tracker knows "
                    f"organisations, 'company matched to project {project}' never holds",
                )
                problems.append(
                    ConfigProblem(
                        problem.file, problem.line, problem.column, problem.message, "warning"
                    )
                )
    return problems
