"""Run the sync in-process against a FakeMailbox and a RecordingAdapter (the kit's harness)."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from tracker_mail_plugin.adapter import Permission
from tracker_mail_plugin.testing import FakeMailbox, RecordingAdapter
from tracker_mail_plugin.testing.harness import Crash, CrashHarness

__all__ = ["DEFAULT_RULES", "RULES", "Crash", "World"]

RULES = """
version: 1
trackers:
  rec: {{adapter: recording}}
smtp: {{host: 127.0.0.1, port: 2525, security: none, sender: tracker@example.com}}
mailboxes:
  inbox:
    protocol: maildir
    path: /unused
    tracker: rec
{policies}
    rules:
{rules}
"""

DEFAULT_RULES = """
      - name: printers
        when: {subject_contains: printer}
        then: [{create_issue: {project: it, type: Bug}}]
      - name: the rest
        when: {subject_contains: [help, question]}
        then: [{create_issue: {project: general}}]
"""


@dataclass
class World(CrashHarness):
    """The harness with a RecordingAdapter holding projects it, general, other and Alice."""

    tmp: Path
    policies: str = "    on_success: {move: Processed}"
    rules: str = DEFAULT_RULES
    mailbox: FakeMailbox = field(default_factory=FakeMailbox)
    tracker: RecordingAdapter = field(default_factory=RecordingAdapter)

    def __post_init__(self) -> None:
        super().__init__(self.tracker, "", self.tmp / "journal.sqlite3", mailbox=self.mailbox)
        for project in ("it", "general", "other"):
            self.tracker.add_project(project)
        self.alice = self.tracker.add_user("alice@example.com", "Alice Example")
        for project in ("it", "general"):
            self.tracker.grant(self.alice, project, Permission.CREATE_ISSUE, Permission.COMMENT)

    def config_text(self) -> str:
        return RULES.format(
            policies=self.policies,
            rules=textwrap.indent(textwrap.dedent(self.rules).strip("\n"), "      "),
        )
