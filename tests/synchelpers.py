"""Run the sync in-process against a FakeMailbox and a RecordingAdapter."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from tracker_mail_plugin.adapter import Permission
from tracker_mail_plugin.config.loader import LoadedConfig, load_config_text
from tracker_mail_plugin.journal import Journal
from tracker_mail_plugin.mail import Message
from tracker_mail_plugin.pipeline.checkpoints import Checkpoint
from tracker_mail_plugin.pipeline.run import MailboxParts, MailboxRun
from tracker_mail_plugin.pipeline.summary import Summary
from tracker_mail_plugin.testing import FakeMailbox, RecordingAdapter


class Crash(BaseException):
    """Stands for kill -9 at a checkpoint: nothing after it runs, nothing catches it."""


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
class World:
    """A mailbox, a tracker and a journal that survive "crashes" between runs."""

    tmp: Path
    policies: str = "    on_success: {move: Processed}"
    rules: str = DEFAULT_RULES
    mailbox: FakeMailbox = field(default_factory=FakeMailbox)
    tracker: RecordingAdapter = field(default_factory=RecordingAdapter)
    forwarded: list[tuple[str, str]] = field(default_factory=list)
    crash_at: str | None = None

    def __post_init__(self) -> None:
        self.journal = Journal.open(self.tmp / "journal.sqlite3")
        for project in ("it", "general", "other"):
            self.tracker.add_project(project)
        self.alice = self.tracker.add_user("alice@example.com", "Alice Example")
        for project in ("it", "general"):
            self.tracker.grant(self.alice, project, Permission.CREATE_ISSUE, Permission.COMMENT)

    @property
    def loaded(self) -> LoadedConfig:
        text = RULES.format(
            policies=self.policies,
            rules=textwrap.indent(textwrap.dedent(self.rules).strip("\n"), "      "),
        )
        return load_config_text(text, "rules.yaml")

    def _forward(self, message: Message, raw: bytes, to: str, reason: str) -> None:
        self.forwarded.append((to, reason))

    def _checkpoint(self, name: Checkpoint) -> None:
        if name == self.crash_at:
            raise Crash(name)

    def sync(self, dry_run: bool = False, limit: int | None = None) -> Summary:
        loaded = self.loaded
        summary = Summary("inbox")
        context = MailboxParts(
            "inbox", loaded, loaded.policies("inbox"), self.mailbox, self.tracker, self.journal,
            self._forward, self._checkpoint, dry_run,
        )  # fmt: skip
        self.mailbox.open()
        try:
            MailboxRun(context, summary).run(limit)
        finally:
            self.mailbox.close()
        return summary

    def crash(self, at: str) -> None:
        """Run, dying at ``at``; the next ``sync`` runs normally."""
        self.crash_at = at
        try:
            self.sync()
        except Crash:
            pass
        else:  # pragma: no cover - a test setup mistake
            raise AssertionError(f"the run never reached {at}")
        finally:
            self.crash_at = None
