"""``tracker-mail check``: validate the configuration and say what it sets up."""

from __future__ import annotations

from typing import TextIO

import yaml

from tracker_mail_plugin.config.loader import ConfigFileError, LoadedConfig, load_config
from tracker_mail_plugin.config.model import Mailbox
from tracker_mail_plugin.rules.normal import rules_to_yaml


def check_config(path: str, show: bool, out: TextIO, err: TextIO) -> LoadedConfig | None:
    """Print every problem (to ``err``) or a summary (to ``out``); None when invalid."""
    try:
        loaded = load_config(path)
    except ConfigFileError as exc:
        for problem in exc.problems:
            print(problem, file=err)
        count = len(exc.problems)
        print(f"{path}: {count} error{'s' if count != 1 else ''}; nothing was touched", file=err)
        return None
    for warning in loaded.warnings:
        print(warning, file=err)
    print(summary(loaded), file=out)
    if show:
        print(normalised_rules(loaded), file=out, end="")
    return loaded


def summary(loaded: LoadedConfig) -> str:
    """A few lines saying what the file configures."""
    config = loaded.config
    lines = [f"{loaded.path}: valid"]
    lines.append(f"Trackers ({len(config.trackers)}):")
    lines += [f"  {name}: adapter {tracker.adapter}" for name, tracker in config.trackers.items()]
    lines.append(f"Mailboxes ({len(config.mailboxes)}):")
    for name, mailbox in config.mailboxes.items():
        rules = config.rules_for(name)
        own = "own" if mailbox.rules is not None else "top-level"
        policies = loaded.policies(name)
        lines.append(
            f"  {name}: {_where(mailbox)} -> {mailbox.tracker}; {len(rules)} {own} rule(s); "
            f"unknown senders: {policies.unknown_user}"
        )
    if config.companies:
        lines.append(f"Companies: {', '.join(config.companies)}")
    return "\n".join(lines)


def _where(mailbox: Mailbox) -> str:
    if mailbox.protocol in ("imap", "pop3"):
        folder = f" folder {mailbox.folder}" if mailbox.protocol == "imap" else ""
        return (
            f"{mailbox.protocol} {mailbox.username}@{mailbox.host}:{mailbox.effective_port}"
            f" ({mailbox.security}){folder}"
        )
    return f"{mailbox.protocol} {mailbox.path}"


def normalised_rules(loaded: LoadedConfig) -> str:
    """Each mailbox's rules in normalised YAML form (``check --show``)."""
    config = loaded.config
    data = {name: rules_to_yaml(config.rules_for(name)) for name in config.mailboxes}
    text: str = yaml.safe_dump(
        {"rules by mailbox": data}, sort_keys=False, allow_unicode=True, default_flow_style=False
    )
    return text
