"""`check --offline`: what can be known without connecting, and the verdict last."""

import io

from tracker_mail_plugin.cli import main

CONFIG = """\
version: 1
trackers:
  t: {adapter: recording, token: {env: TM_TEST_TOKEN}}
mailboxes:
  support:
    protocol: imap
    host: imap.example.com
    username: support@example.com
    password: {env: TM_TEST_IMAP_PASSWORD}
    tracker: t
    rules:
      - then create issue in project SUP
journal: JOURNAL
"""


def write(tmp_path, text=CONFIG, journal="journal.sqlite3"):
    path = tmp_path / "rules.yaml"
    path.write_text(text.replace("JOURNAL", journal))
    return path


def errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if ": warning: " not in line]


def test_every_unset_variable_is_reported_at_once(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TM_TEST_TOKEN", raising=False)
    monkeypatch.delenv("TM_TEST_IMAP_PASSWORD", raising=False)
    path = write(tmp_path)
    assert main(["check", "--offline", "-c", str(path)]) == 2
    captured = capsys.readouterr()
    how = (
        "set it where tracker-mail runs (cron and systemd start it with an almost empty "
        "environment: use an environment file, see the README)"
    )
    assert errors(captured.err) == [
        f"{path}:3:40: environment variable TM_TEST_TOKEN is not set; {how}",
        f"{path}:9:21: environment variable TM_TEST_IMAP_PASSWORD is not set; {how}",
        f"{path}: 2 errors; nothing was touched",
    ]
    assert "valid" not in captured.out


def test_sync_reports_every_unset_variable_before_touching_anything(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TM_TEST_TOKEN", raising=False)
    monkeypatch.delenv("TM_TEST_IMAP_PASSWORD", raising=False)
    path = write(tmp_path)
    assert main(["sync", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert "TM_TEST_TOKEN is not set" in err
    assert "TM_TEST_IMAP_PASSWORD is not set" in err
    assert not (tmp_path / "journal.sqlite3").exists()


def test_offline_check_validates_the_adapter_options(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TM_TEST_TOKEN", "x")
    monkeypatch.setenv("TM_TEST_IMAP_PASSWORD", "x")
    path = write(tmp_path, CONFIG.replace("adapter: recording,", "adapter: recording, identiy: x,"))
    assert main(["check", "--offline", "-c", str(path)]) == 2
    err = errors(capsys.readouterr().err)
    assert err[0].startswith(f"{path}:3:")
    assert "identiy: unknown option of" in err[0] or "identiy" in err[0]
    assert err[-1] == f"{path}: 1 error; nothing was touched"


def test_a_journal_that_cannot_be_created_is_named_by_check_and_every_command(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("TM_TEST_TOKEN", "x")
    monkeypatch.setenv("TM_TEST_IMAP_PASSWORD", "x")
    (tmp_path / "afile").write_text("not a folder")
    path = write(tmp_path, journal="afile/journal.sqlite3")
    journal = tmp_path / "afile" / "journal.sqlite3"
    assert main(["check", "--offline", "-c", str(path)]) == 2
    assert errors(capsys.readouterr().err) == [
        f"{path}:13:10: the journal {journal} cannot be created: {tmp_path / 'afile'} is a "
        "file, not a folder; set journal: to a file in a folder the user running "
        "tracker-mail can write",
        f"{path}: 1 error; nothing was touched",
    ]
    for command in (["sync"], ["status"], ["retry", "1"]):
        assert main([*command, "-c", str(path)]) == 2, command
        err = capsys.readouterr().err
        assert "Traceback" not in err
        assert f"the journal {journal} cannot be created" in err, command


def test_a_journal_that_cannot_be_created_defers_piped_mail(tmp_path, capsys, monkeypatch):
    (tmp_path / "afile").write_text("not a folder")
    path = tmp_path / "rules.yaml"
    path.write_text(
        "version: 1\ntrackers: {t: {adapter: recording}}\nmailboxes:\n"
        f"  alias: {{protocol: pipe, path: {tmp_path / 'spool'}, tracker: t, "
        "rules: [then ignore]}\njournal: afile/journal.sqlite3\n"
    )
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"From: a@b.example\n\nhi\n")))
    assert main(["receive", "-c", str(path), "--mailbox", "alias"]) == 75
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"the journal {tmp_path / 'afile' / 'journal.sqlite3'} cannot be created" in err


def test_a_written_disposition_the_protocol_cannot_do_is_an_error(tmp_path, capsys):
    (tmp_path / "mail").mkdir()
    path = tmp_path / "rules.yaml"
    path.write_text(
        "version: 1\ntrackers: {t: {adapter: recording}}\nmailboxes:\n"
        f"  drop:\n    protocol: directory\n    path: {tmp_path / 'mail'}\n    tracker: t\n"
        "    on_success: flag_seen\n    rules: [then ignore]\n"
    )
    assert main(["check", "--offline", "-c", str(path)]) == 2
    assert errors(capsys.readouterr().err) == [
        f"{path}:8:17: mailbox 'drop': on_success: a directory mailbox cannot flag as seen; "
        "use one of: delete, leave, move",
        f"{path}: 1 error; nothing was touched",
    ]


LIST = """\
version: 1
trackers: {t: {adapter: recording}}
mailboxes:
  bugs:
    protocol: imap
    host: imap.example.com
    username: ADDRESS
    password: {env: TM_TEST_IMAP_PASSWORD}
    tracker: t
    unknown_user: as_rule_owner
POLICY    rules:
      - then create issue in project SUP
"""


def list_check(tmp_path, capsys, address, policy=""):
    path = tmp_path / "rules.yaml"
    path.write_text(LIST.replace("ADDRESS", address).replace("POLICY", policy))
    code = main(["check", "--offline", "-c", str(path)])
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if "List-Id" in line]
    return code, warnings, captured.out, path


def test_a_list_like_address_that_drops_list_mail_is_pointed_out(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TM_TEST_IMAP_PASSWORD", "x")
    code, warnings, out, path = list_check(tmp_path, capsys, "bugs@example.com")
    assert code == 0  # a warning, not an error
    assert warnings == [
        f"{path}:4:3: warning: mailbox 'bugs': mail that comes through a mailing list "
        "(List-Id) is dropped by default, and bugs@example.com is often a list or a Google "
        "Group; if it is one, its mail would open no issue: allow it with automated: "
        "{bulk: process} on this mailbox (or write automated: {bulk: drop} to keep dropping it "
        "and silence this warning)"
    ]
    assert out.splitlines()[-1].startswith(f"{path}: valid")
    assert list_check(tmp_path, capsys, "team@googlegroups.com")[1]
    assert list_check(tmp_path, capsys, "dev@lists.example.org")[1]


def test_no_list_warning_for_a_personal_address_or_a_written_policy(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TM_TEST_IMAP_PASSWORD", "x")
    assert list_check(tmp_path, capsys, "anna.schmidt@example.com")[1] == []
    for policy in ("    automated: {bulk: process}\n", "    automated: {bulk: drop}\n"):
        assert list_check(tmp_path, capsys, "bugs@example.com", policy)[1] == []
