"""Command-line conventions: python -m, options before or after the command, the config
search order, shell completion, help texts."""

import argparse
import subprocess
import sys

import pytest

from tracker_mail_plugin import __version__
from tracker_mail_plugin.cli import _parser, main
from tracker_mail_plugin.config import loader

CONFIG = """\
version: 1
trackers: {t: {adapter: recording}}
mailboxes:
  m: {protocol: directory, path: MAIL, tracker: t, rules: [then ignore]}
"""

READS_CONFIG = {
    "check": [],
    "sync": [],
    "status": [],
    "retry": ["1"],
    "receive": ["--mailbox", "m"],
    "login": ["m"],
    "explain": ["x.eml"],
}


def write(folder, name="rules.yaml"):
    (folder / "mail").mkdir(exist_ok=True)
    path = folder / name
    path.write_text(CONFIG.replace("MAIL", str(folder / "mail")))
    return path


def test_python_m_runs_the_command():
    result = subprocess.run(
        [sys.executable, "-m", "tracker_mail_plugin", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout == f"tracker-mail {__version__}\n"


@pytest.mark.parametrize("command", sorted(READS_CONFIG))
def test_config_verbose_and_log_format_go_before_or_after_the_command(command):
    extra = READS_CONFIG[command]
    before = _parser().parse_args(["-c", "a.yaml", "-v", "--log-format", "json", command, *extra])
    after = _parser().parse_args([command, *extra, "-c", "a.yaml", "-v", "--log-format", "json"])
    for args in (before, after):
        assert (args.config, args.verbose, args.log_format) == ("a.yaml", True, "json")
    plain = _parser().parse_args([command, *extra])
    assert (plain.config, plain.verbose, plain.log_format) == (None, False, "text")


def test_check_reads_the_config_given_before_the_command(tmp_path, capsys):
    path = write(tmp_path)
    assert main(["-c", str(path), "check", "--offline"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"{path}: valid")


def test_the_config_is_looked_for_here_then_in_etc(tmp_path, capsys, monkeypatch):
    here = tmp_path / "here"
    here.mkdir()
    system = write(tmp_path, "system.yaml")
    monkeypatch.setattr(loader, "SYSTEM_CONFIG", str(system))
    monkeypatch.delenv("TRACKER_MAIL_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(here)
    assert main(["check", "--offline"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"{system}: valid")
    write(here)
    assert main(["check", "--offline"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("rules.yaml: valid")


def test_no_config_anywhere_names_both_places(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(loader, "SYSTEM_CONFIG", str(tmp_path / "etc" / "rules.yaml"))
    monkeypatch.delenv("TRACKER_MAIL_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        "rules.yaml: cannot read the file: No such file or directory; looked for "
        f"./rules.yaml and {tmp_path / 'etc' / 'rules.yaml'}: give one with -c FILE"
    )


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "-F _shtab_tracker_mail tracker-mail"), ("zsh", "#compdef tracker-mail")],
)
def test_completion_scripts_know_every_command(shell, marker, capsys):
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert marker in script
    for command in (*READS_CONFIG, "adapters", "completion", "--log-format", "--offline"):
        assert command in script


def subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_has_a_description():
    found = subcommands()
    assert set(READS_CONFIG) | {"adapters", "completion"} <= set(found)
    for name, parser in found.items():
        assert parser.description, name


def test_explain_help_mentions_mbox():
    assert "mbox" in subcommands()["explain"].format_help()
