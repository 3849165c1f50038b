"""``tracker-mail explain --offline`` reads Jira's own reference forms, asking nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracker_mail_plugin.cli import main
from tracker_mail_plugin.testing.contract import no_network

RULES = """
version: 1
journal: ./journal.sqlite3
trackers:
  jira:
    adapter: jira
    url: http://127.0.0.1:9
    token: {env: JIRA_PAT}
mailboxes:
  support:
    protocol: maildir
    path: ./mail
    tracker: jira
    rules:
      - then: [{create_issue: {project: OPS, type: Task}}]
"""


def _explain(tmp_path: Path, subject: str, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    (tmp_path / "rules.yaml").write_text(RULES)
    mail = tmp_path / "reply.eml"
    mail.write_bytes(
        f"From: Alice <alice@example.com>\r\nSubject: {subject}\r\n"
        "Message-ID: <r1@example.com>\r\n\r\nStill broken.\r\n".encode()
    )
    code = main(
        ["explain", "--offline", "--format", "json", "-c", str(tmp_path / "rules.yaml"), str(mail)]
    )
    out, _ = capsys.readouterr()
    assert code == 0
    result: dict[str, object] = json.loads(out)
    return result


def test_a_jira_key_in_the_subject_is_a_reply_offline_without_asking_jira(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before, offline explain knew only "#12": "OPS-12" was a new issue there, a comment in
    # sync. The adapter reads its own forms; nothing is asked, and no secret is needed.
    monkeypatch.delenv("JIRA_PAT", raising=False)
    with no_network(monkeypatch):
        explained = _explain(tmp_path, "Re: OPS-12 printer on fire", capsys)
    assert explained["reply_to_issue"] == "OPS-12"
    (action,) = explained["actions"]  # type: ignore[misc]
    assert (action["action"], action["reply_to"]) == ("comment", "OPS-12")
    assert any("not checked against the tracker: offline" in note for note in explained["notes"])  # type: ignore[attr-defined]


def test_a_subject_naming_no_issue_stays_a_new_issue_offline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    explained = _explain(tmp_path, "printer on fire in room 12", capsys)
    assert explained["reply_to_issue"] is None
    (action,) = explained["actions"]  # type: ignore[misc]
    assert action["action"] == "create_issue"
