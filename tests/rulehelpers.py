"""Helpers for rule tests: a config from YAML text, a decision for a raw message."""

from __future__ import annotations

import textwrap

from tracker_mail_plugin.config.loader import LoadedConfig, load_config_text
from tracker_mail_plugin.mail import parse_message
from tracker_mail_plugin.rules.conditions import SenderFacts
from tracker_mail_plugin.rules.decide import Decision, Facts, decide


def config(text: str) -> LoadedConfig:
    return load_config_text(textwrap.dedent(text), "rules.yaml")


def companies(loaded: LoadedConfig) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    return loaded.config.company_table()


def decision(
    loaded: LoadedConfig,
    raw: bytes,
    mailbox: str = "inbox",
    known: bool | None = True,
    company: str | None = None,
    reply_to: str | None = None,
) -> Decision:
    facts = Facts(SenderFacts(known, company), reply_to, companies(loaded), mailbox)
    return decide(
        parse_message(raw), loaded.config.rules_for(mailbox), loaded.policies(mailbox), facts
    )


def planned(result: Decision) -> list[tuple[str, str | None]]:
    """(action, project) pairs, the shape the seeds describe outcomes in."""
    return [(p.action.action, getattr(p.action, "project", None)) for p in result.actions]
