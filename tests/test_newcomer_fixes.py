"""What a newcomer ran into: commands run from another folder, and messages that misled."""

from __future__ import annotations

import importlib.util
import io
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from wcwidth import wcswidth

from tests.mailfactory import raw_mail
from tests.trialbox import trial_mailbox
from tracker_mail_plugin import registry
from tracker_mail_plugin.cli import main
from tracker_mail_plugin.commands.table import Column, render
from tracker_mail_plugin.config.loader import load_config
from tracker_mail_plugin.testing import RecordingAdapter, RecordingConfig


def test_a_relative_mailbox_path_is_relative_to_the_file(tmp_path, monkeypatch, capsys) -> None:
    """cron runs in the home folder: ``path: ./mail`` must still be the file's neighbour."""
    new = trial_mailbox(tmp_path, monkeypatch)
    headers = {"From": "a@example.com", "Subject": "From cron", "Message-ID": "<c@x>"}
    (new / "c.eml").write_bytes(raw_mail(headers, "hi"))
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    code = main(["sync", "-c", "../rules.yaml"])

    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith("support: fetched 1, created 1")
    # The recording tracker's ./tracker.json too: beside the file, not in cron's folder.
    assert (tmp_path / "tracker.json").exists()
    assert not (elsewhere / "tracker.json").exists()


def test_absolute_and_remote_mailboxes_are_left_as_written(tmp_path: Path) -> None:
    config = tmp_path / "rules.yaml"
    config.write_text(
        "version: 1\n"
        "trackers: {t: {adapter: recording}}\n"
        "rules: [{then: [{create_issue: {project: it}}]}]\n"
        "mailboxes:\n"
        "  here: {protocol: directory, path: /srv/mail, tracker: t}\n"
        "  home: {protocol: mbox, path: ~/mail.mbox, tracker: t}\n"
        "  near: {protocol: maildir, path: Maildir, tracker: t}\n"
    )

    boxes = load_config(config).config.mailboxes

    assert boxes["here"].path == "/srv/mail"
    assert boxes["home"].path == "~/mail.mbox"  # expanded where it is opened
    assert boxes["near"].path == str(tmp_path.resolve() / "Maildir")


def test_check_names_the_missing_folder_by_its_full_path(tmp_path, monkeypatch, capsys) -> None:
    trial_mailbox(tmp_path, monkeypatch)
    text = (tmp_path / "rules.yaml").read_text().replace("path: ./mail", "path: ./mial")
    (tmp_path / "rules.yaml").write_text(text)
    monkeypatch.chdir("/")

    assert main(["check", "--offline", "-c", str(tmp_path / "rules.yaml")]) == 2

    err = capsys.readouterr().err
    assert f"{tmp_path.resolve() / 'mial'} does not exist" in err


def test_explain_into_a_closed_pipe_ends_quietly() -> None:
    """``tracker-mail explain examples/ | head``: no traceback when the reader is gone."""
    examples = Path(__file__).resolve().parent.parent / "examples"
    command = [sys.executable, "-m", "tracker_mail_plugin", "explain", str(examples)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None
    assert child.stderr is not None
    child.stdout.close()
    err = child.stderr.read()
    child.stderr.close()
    assert (child.wait(), err) == (0, b"")


def test_a_bundled_adapter_not_installed_gets_its_install_command(monkeypatch) -> None:
    monkeypatch.setattr(registry, "installed_names", lambda: ["recording"])

    message = registry.not_installed("redmine")

    assert message.startswith("no tracker adapter named 'redmine' is installed (installed: ")
    assert "pip install ./adapters/redmine" in message
    assert "did you mean 'recording'" not in message  # the closest installed is not meant


def test_a_misspelt_bundled_adapter_is_recognised(monkeypatch) -> None:
    monkeypatch.setattr(registry, "installed_names", lambda: ["recording"])

    message = registry.not_installed("Redmin")

    assert "did you mean 'redmine'?" in message
    assert "pip install ./adapters/redmine" in message
    assert "adapters/Redmin" not in message  # never a path or package from what was typed


def test_an_unknown_adapter_is_not_given_an_install_command(monkeypatch) -> None:
    monkeypatch.setattr(registry, "installed_names", lambda: ["recording"])

    message = registry.not_installed("youtrack")

    assert "pip install" not in message
    assert "did you mean" not in message


def test_status_columns_stay_in_line_after_a_japanese_subject() -> None:
    columns = (Column("SUBJECT", shrinks=1, least=4), Column("RESULT"))
    rows = [["請求書の再発行について", "7"], ["Invoice", "8"]]

    lines = render(columns, rows, None)

    # The result starts in the same terminal cell on every line.
    starts = {wcswidth(line[: line.rindex(" ") + 1]) for line in lines}
    assert starts == {24}


def test_a_wide_subject_is_cut_to_the_cells_it_may_take() -> None:
    columns = (Column("ID"), Column("SUBJECT", shrinks=1, least=4), Column("RESULT"))
    rows = [["1", "請求書の再発行について", "7"]]

    header, row = render(columns, rows, 20)

    assert row.startswith("1   請求書… ")  # 7 cells of the 8 the subject may take
    assert wcswidth(row) <= 20
    assert wcswidth(header[: header.index("RESULT")]) == wcswidth(row[: row.rindex(" ") + 1])


MICROSOFT = """\
version: 1
trackers: {t: {adapter: recording}}
mailboxes:
  helpdesk:
    protocol: imap
    host: outlook.office365.com
    username: helpdesk@contoso.example
    auth:
      oauth2:
        provider: microsoft
        tenant: contoso.example
        client_id: 00000000-0000-0000-0000-000000000000
        client_secret: {file: /dev/null}
    tracker: t
    rules: [{then: [{create_issue: {project: it}}]}]
"""


def test_offline_check_says_when_the_oauth2_library_is_missing(
    tmp_path, monkeypatch, capsys
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "msal" else real(name, *a)
    )
    config = tmp_path / "rules.yaml"
    config.write_text(MICROSOFT)

    assert main(["check", "--offline", "-c", str(config)]) == 2

    err = capsys.readouterr().err
    assert (
        f"{config}:10:19: mailbox 'helpdesk': provider: microsoft needs the msal package, "
        "which is not installed here: pip install 'tracker-mail-plugin[oauth2]'"
    ) in err


def test_offline_check_is_content_when_the_library_is_there(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    config = tmp_path / "rules.yaml"
    config.write_text(MICROSOFT)

    main(["check", "--offline", "-c", str(config)])

    assert "needs the msal package" not in capsys.readouterr().err


def test_receive_without_mailbox_defers_the_mail(capsys) -> None:
    """An alias line missing --mailbox is the operator's mistake: keep the mail (75)."""
    assert main(["receive", "-c", "/etc/tracker-mail/rules.yaml"]) == 75
    assert "the following arguments are required: --mailbox" in capsys.readouterr().err


def test_other_usage_errors_stay_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["sync", "--no-such-option"])
    assert caught.value.code == 2


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["sync", "--limit", "-1"], "argument --limit: -1 is below 1"),
        (["sync", "--limit", "0"], "argument --limit: 0 is below 1"),
        (["status", "--limit", "-3"], "argument --limit: -3 is below 0"),
        (["status", "--limit", "ten"], "argument --limit: 'ten' is not a whole number"),
    ],
)
def test_a_limit_that_would_do_nothing_is_refused(argv, said, capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert said in capsys.readouterr().err


def test_sync_help_lists_only_the_exit_codes_sync_has(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["sync", "--help"])
    out = capsys.readouterr().out
    assert "4  messages were quarantined" in out
    assert "receive only" not in out


def test_watch_says_that_it_runs_even_without_v(tmp_path: Path) -> None:
    """Without -v a quiet watch printed nothing at all: a newcomer could not tell it ran."""
    (tmp_path / "mail").mkdir()
    headers = {"From": "a@example.com", "Subject": "Watched", "Message-ID": "<w@x>"}
    (tmp_path / "mail" / "w.eml").write_bytes(raw_mail(headers, "hi"))
    state = tmp_path / "tracker.json"
    (tmp_path / "rules.yaml").write_text(
        "version: 1\n"
        f"trackers: {{t: {{adapter: recording, state_file: {state}}}}}\n"
        "mailboxes:\n"
        "  local: {protocol: directory, path: mail, tracker: t, poll_interval: 30,\n"
        "          unknown_user: as_rule_owner,\n"
        "          rules: [{then: [{create_issue: {project: it}}]}]}\n"
    )
    command = [sys.executable, "-m", "tracker_mail_plugin", "watch", "-c", "rules.yaml"]
    watch = subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    tracker = RecordingAdapter(RecordingConfig(state_file=state))
    try:
        deadline = time.monotonic() + 60
        while not tracker.issues() and time.monotonic() < deadline:
            time.sleep(0.05)  # the first look is made once the stop signals are handled
    finally:
        watch.send_signal(signal.SIGTERM)
        err = watch.communicate(timeout=60)[1]
    assert watch.returncode == 0, err
    assert err == (
        "tracker-mail watch: watching local (SIGTERM or Ctrl-C stops); -v logs each run that finds mail\n"
    )


def test_receive_says_once_why_it_kept_the_mail(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules.yaml").write_text(
        "version: 1\n"
        "trackers: {trial: {adapter: recording}}\n"
        "mailboxes:\n"
        "  alias: {protocol: pipe, tracker: trial,\n"
        "          rules: [{then: [{create_issue: {project: support}}]}]}\n"
    )
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))

    assert main(["receive", "--mailbox", "alias"]) == 75

    err = capsys.readouterr().err
    assert err.count("standard input is empty") == 1, err
    assert err.startswith("alias: stopped: standard input is empty")
