"""What a third newcomer, following only the README, ran into; each fix held in place."""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.mailfactory import raw_mail
from tests.trialbox import trial_mailbox
from tracker_mail_plugin.cli import main
from tracker_mail_plugin.testing.dovecot import free_ports

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")

POSTGRES_JOURNAL = """\
version: 1
journal:
  url: postgresql://tracker_mail@127.0.0.1:5432/tracker_mail
  password: {env: TRACKER_MAIL_TEST_PG}
trackers:
  trial: {adapter: recording}
mailboxes:
  support:
    protocol: pipe
    tracker: trial
    rules: [{then: [{create_issue: {project: support}}]}]
"""


def test_offline_check_says_when_the_postgres_driver_is_missing(
    tmp_path, monkeypatch, capsys
) -> None:
    """``check --offline`` called the file valid; the first ``sync`` then stopped on it."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "psycopg" else real(name, *a)
    )
    monkeypatch.setenv("TRACKER_MAIL_TEST_PG", "secret")
    config = tmp_path / "rules.yaml"
    config.write_text(POSTGRES_JOURNAL)

    assert main(["check", "--offline", "-c", str(config)]) == 2

    err = capsys.readouterr().err
    assert (
        f"{config}:3:8: the journal is in PostgreSQL, which needs the psycopg package, not "
        "installed here: pip install 'tracker-mail-plugin[postgres]'"
    ) in err
    assert err.endswith(f"{config}: 1 error; nothing was touched\n")


def test_offline_check_is_content_when_the_driver_is_there(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("TRACKER_MAIL_TEST_PG", "secret")
    config = tmp_path / "rules.yaml"
    config.write_text(POSTGRES_JOURNAL)

    assert main(["check", "--offline", "-c", str(config)]) == 0  # psycopg is a dev dependency

    assert "psycopg" not in capsys.readouterr().err


def _install_section() -> str:
    return README[README.index("None of these packages is on PyPI") : README.index("## Getting")]


def test_the_readme_names_every_extra_a_user_installs() -> None:
    """The install section listed oauth2 and dkim, and the PostgreSQL journal's was missing."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extras = set(pyproject["project"]["optional-dependencies"])
    for_users = extras - {"dev", "testing", "openapi"}  # the test tools' own
    named = set(re.findall(r"\[(\w+)\]", _install_section()))
    assert for_users <= named, f"extras the README does not name: {for_users - named}"


def test_the_recording_trackers_files_are_the_ones_the_readme_names(
    tmp_path, monkeypatch, capsys
) -> None:
    """``check`` and ``sync --dry-run`` left ``tracker.json.calls`` and ``.lock`` unexplained."""
    new = trial_mailbox(tmp_path, monkeypatch)
    (new / "a.eml").write_bytes(raw_mail({"Subject": "Printer on fire"}))
    before = set(tmp_path.iterdir())

    assert main(["check"]) == 0
    assert main(["sync", "--dry-run"]) == 0

    made = {path.name for path in set(tmp_path.iterdir()) - before}
    assert made == {"tracker.json.calls", "tracker.json.lock"}
    recording = README[README.index("Options of `adapter: recording`") :][:900]
    for suffix in (".calls", ".lock"):
        assert f"`<state_file>{suffix}`" in recording
    assert "sync --dry-run" in recording  # and that a dry run writes to it


NO_MATCH = """\
version: 1
trackers:
  trial: {adapter: recording}
mailboxes:
  support:
    protocol: pipe
    tracker: trial
    unknown_user: as_rule_owner
    rules:
      - when subject contains 'invoice' then create issue in project billing
"""


def test_explain_says_who_creates_only_when_something_is_created(tmp_path, capsys) -> None:
    """ "Decision: unprocessed (no rule matched)" was followed by "Created as: rule owner"."""
    config = tmp_path / "rules.yaml"
    config.write_text(NO_MATCH)
    mail = tmp_path / "m.eml"
    mail.write_bytes(raw_mail({"Subject": "Printer on fire"}))
    args = ["explain", "--offline", "--sender-unknown", "-c", str(config), str(mail)]

    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Decision:    unprocessed (no rule matched)" in out
    assert "Created as:" not in out

    mail.write_bytes(raw_mail({"Subject": "Invoice 12"}))
    assert main(args) == 0
    assert "Created as:  rule owner\n  - create_issue in project billing" in capsys.readouterr().out


def test_check_names_a_pipe_mailboxs_spool_folder(tmp_path, capsys) -> None:
    """``check`` said ``alias: pipe None`` for a pipe mailbox without ``path``."""
    config = tmp_path / "rules.yaml"
    config.write_text(NO_MATCH.replace("version: 1\n", "version: 1\njournal: ./journal.sqlite3\n"))

    assert main(["check", "--offline", "-c", str(config)]) == 0

    out = capsys.readouterr().out
    assert f"  support: pipe {tmp_path / 'spool' / 'support'} -> trial;" in out
    assert "None" not in out


def test_a_missing_imap_username_reads_as_english(tmp_path, capsys) -> None:
    """The error said "a imap mailbox needs username"."""
    config = tmp_path / "rules.yaml"
    config.write_text(
        NO_MATCH.replace(
            "protocol: pipe", "protocol: imap\n    host: 127.0.0.1\n    password: {env: X}"
        )
    )

    assert main(["check", "--offline", "-c", str(config)]) == 2

    err = capsys.readouterr().err
    assert "mailboxes.support: an imap mailbox needs username" in err


def test_explain_says_why_a_reply_becomes_a_new_issue(tmp_path, monkeypatch, capsys) -> None:
    """The README's sample reply names #5521, which the trial tracker lacks; explain said not why."""
    new = trial_mailbox(tmp_path, monkeypatch)
    (new / "a.eml").write_bytes(raw_mail({"Subject": "Printer on fire", "Message-ID": "<a@x>"}))
    assert main(["sync"]) == 0  # issue 1
    reply = tmp_path / "reply.eml"
    note = "Note:        tracker trial: no issue it has is named by #77; not a reply to an existing issue"

    reply.write_bytes(raw_mail({"Subject": "Re: Printer on fire (ticket #77)"}))
    assert main(["explain", "-c", "rules.yaml", str(reply)]) == 0
    out = capsys.readouterr().out
    assert note in out
    assert "  - create_issue in project support" in out

    reply.write_bytes(raw_mail({"Subject": "Re: Printer on fire [#1]"}))
    assert main(["explain", "-c", "rules.yaml", str(reply)]) == 0
    out = capsys.readouterr().out
    assert "no issue it has is named by" not in out
    assert "comment" in out.split("Decision:")[1]


def test_a_forward_without_smtp_says_what_to_add(tmp_path, capsys) -> None:
    """The README's own rule ``then forward to orders@example.com`` stopped with no way on."""
    config = tmp_path / "rules.yaml"
    config.write_text(
        NO_MATCH.replace("create issue in project billing", "forward to a@example.com")
    )

    assert main(["check", "--offline", "-c", str(config)]) == 2

    err = capsys.readouterr().err
    assert "but no smtp server is configured; add an smtp: section (host and sender" in err


SMTP = "smtp: {{host: 127.0.0.1, port: {port}, security: none, sender: tm@example.com{login}}}\n"


def _with_smtp(tmp_path: Path, port: int, login: str = "") -> Path:
    config = tmp_path / "rules.yaml"
    config.write_text(NO_MATCH + SMTP.format(port=port, login=login))
    return config


def test_check_logs_in_to_the_smtp_server_forwards_use(tmp_path, monkeypatch, capsys) -> None:
    """``check`` said valid while the smtp server forwards go through was not there."""
    monkeypatch.setenv("TM_TEST_SMTP", "secret")
    port = free_ports(1)[0]
    config = _with_smtp(tmp_path, port)

    assert main(["check", "--offline", "-c", str(config)]) == 0  # offline: not connected to
    capsys.readouterr()
    assert main(["check", "-c", str(config)]) == 3
    err = capsys.readouterr().err
    assert f"smtp: cannot be reached: SMTP server 127.0.0.1:{port}: " in err
    # The verdict names what is down (it said "a tracker or mailbox", which were fine).
    assert err.endswith(
        f"{config}: not ready: cannot reach the SMTP server (above); nothing was touched\n"
    )

    controller = Controller(_Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert main(["check", "-c", str(config)]) == 0
        assert f"smtp 127.0.0.1:{port}: ok (none); no login configured\n" in capsys.readouterr().out

        config = _with_smtp(tmp_path, port, ", username: tm, password: {env: TM_TEST_SMTP}")
        assert main(["check", "-c", str(config)]) == 2  # aiosmtpd offers no AUTH without TLS
    finally:
        controller.stop()
    assert "the server offers no login" in capsys.readouterr().err


class _Sink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raise AssertionError("check must send nothing")


def test_explain_follows_the_log_format_as_status_does(tmp_path, capsys) -> None:
    """``--log-format json`` made every command's lines JSON but explain's, errors included."""
    config = tmp_path / "rules.yaml"
    config.write_text(NO_MATCH)
    mail = tmp_path / "m.eml"
    mail.write_bytes(raw_mail({"Subject": "Invoice 12"}))

    assert main(["explain", "--log-format", "json", "-c", str(config), str(mail)]) == 0
    [explained] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (explained["subject"], explained["outcome"]) == ("Invoice 12", "act")

    assert main(["explain", "--log-format", "json", "--format", "text", str(mail)]) == 0
    assert capsys.readouterr().out.startswith(f"== {mail}\n")

    missing = str(tmp_path / "nope.yaml")
    assert main(["explain", "--log-format", "json", "-c", missing, str(mail)]) == 2
    [problem] = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert (problem["event"], problem["file"], problem["level"]) == (
        "configuration",
        missing,
        "error",
    )

    args = ["explain", "--log-format", "json", "-c", str(config), "--mailbox", "x", str(mail)]
    assert main(args) == 2
    [unknown] = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert unknown["message"] == "tracker-mail explain: no mailbox 'x'; the file has: support"
