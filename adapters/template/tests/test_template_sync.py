"""End to end: mail in the kit's private Dovecot, ``tracker-mail sync``, the template tracker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from tracker_mail_plugin.cli import main
from tracker_mail_plugin.testing.dovecot import Account, Dovecot
from tracker_mail_plugin.testing.mailfactory import raw_mail

from tracker_mail_plugin_template.store import FileStore

pytestmark = pytest.mark.servers


def test_a_mail_in_dovecot_becomes_one_issue(
    dovecot: Dovecot, dovecot_account: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TM_TEST_IMAP_PASSWORD", dovecot_account.password)
    tracker = tmp_path / "tracker.json"
    FileStore(tracker).add_user("alice@example.com", "alice")
    config = {
        "version": 1,
        "journal": str(tmp_path / "journal.sqlite3"),
        "trackers": {
            "files": {
                "adapter": "template",
                "path": str(tracker),
                "projects": ["support"],
            }
        },
        "mailboxes": {
            "inbox": {
                "protocol": "imap",
                "host": "127.0.0.1",
                "port": dovecot.ports.imaps,
                "security": "ssl",
                "ca_file": str(dovecot.ca_file),
                "username": dovecot_account.user,
                "password": {"env": "TM_TEST_IMAP_PASSWORD"},
                "tracker": "files",
                "on_success": {"move": "Processed"},
                "rules": ["then create issue in project support"],
            }
        },
    }
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(config))
    dovecot.append(dovecot_account, [raw_mail({"Subject": "Printer on fire"})])

    assert main(["sync", "-c", str(tmp_path / "rules.yaml")]) == 0
    assert main(["sync", "-c", str(tmp_path / "rules.yaml")]) == 0  # nothing new

    issues = json.loads(tracker.read_text())["issues"]
    assert [(i["project"], i["title"], i["reporter"]) for i in issues.values()] == [
        ("support", "Printer on fire", "alice")
    ]
