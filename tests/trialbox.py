"""A Maildir mailbox into the recording tracker, in a test's own folder (CLI tests)."""

from pathlib import Path

import pytest

RULES = """\
version: 1
journal: ./journal.sqlite3
trackers:
  trial: {adapter: recording, state_file: ./tracker.json}
mailboxes:
  support:
    protocol: maildir
    path: ./mail
    tracker: trial
    unknown_user: as_rule_owner
    rules:
      - then: [{create_issue: {project: support}}]
"""


def trial_mailbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``rules.yaml`` and an empty Maildir in ``tmp_path``, which becomes the working folder.

    Returns the Maildir's ``new/`` folder, where mail is delivered.
    """
    monkeypatch.chdir(tmp_path)  # the recording tracker's files are relative to it
    for sub in ("cur", "new", "tmp"):
        (tmp_path / "mail" / sub).mkdir(parents=True)
    (tmp_path / "rules.yaml").write_text(RULES)
    return tmp_path / "mail" / "new"
