"""The user documents name commands, flags, exit codes and links that exist.

Each test reads the documents as a user would and fails when the code and the text part:
a flag renamed or removed, an exit code added without its row, a heading renamed under a
link, a deploy file changed under its description.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from tracker_mail_plugin import cli
from tracker_mail_plugin.errors import ExitCode

ROOT = Path(__file__).resolve().parents[1]
USER_DOCS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "deploy" / "README.md",
    ROOT / "rules.yaml.example",
]
# `tracker-mail COMMAND …` up to the end of an inline code span or of the line.
INVOCATION = re.compile(r"tracker-mail (?P<command>[a-z]+)(?P<rest>[^`\n]*)")
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli._parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("tracker-mail has no subcommands")


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


def _invocations() -> list[tuple[str, str, str]]:
    found = []
    for doc in USER_DOCS:
        for match in INVOCATION.finditer(doc.read_text(encoding="utf-8")):
            found.append((doc.name, match["command"], match["rest"]))
    return found


def test_every_flag_the_documents_give_a_command_is_one_it_takes() -> None:
    commands = _subcommands()
    unknown = []
    checked = 0
    for doc, command, rest in _invocations():
        if command not in commands:
            continue  # prose such as "tracker-mail keeps …", not an invocation
        # A pipe or a second command ends this one's arguments.
        own = re.split(r"\||&&|;|#", rest)[0]
        for flag in FLAG.findall(own):
            checked += 1
            if flag not in _flags(commands[command]):
                unknown.append(f"{doc}: tracker-mail {command} {flag}")
    assert checked > 25  # the pattern still finds the documents' invocations
    assert unknown == []


def test_every_command_the_top_help_lists_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in _subcommands() if f"tracker-mail {name}" not in readme]
    assert missing == []


def test_the_readme_exit_code_table_has_every_code_and_only_those() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("**Exit codes**", 1)[1].split("**`tracker-mail status`**", 1)[0]
    rows = {int(code) for code in re.findall(r"^\| (\d+) \|", section, re.M)}
    assert rows == {int(code) for code in ExitCode}


def test_the_top_help_and_the_readme_give_each_exit_code_the_same_meaning() -> None:
    """The README's table says at least what ``tracker-mail --help`` says for each code."""
    help_text = cli._parser().format_help()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("**Exit codes**", 1)[1].split("**`tracker-mail status`**", 1)[0]
    table = dict(re.findall(r"^\| (\d+) \| (.+) \|$", section, re.M))
    for code, meaning in re.findall(r"^\s+(\d+)\s+(.+)$", help_text.split("exit codes")[1], re.M):
        # The first words of each meaning ("configuration or usage error") are the same.
        assert _words(meaning)[:3] == _words(table[code])[:3], (code, meaning)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _anchors(doc: Path) -> set[str]:
    """GitHub's anchors for the headings of ``doc``: lower case, punctuation dropped."""
    text = FENCE.sub("", doc.read_text(encoding="utf-8"))
    anchors = set()
    for heading in re.findall(r"^#+\s+(.+)$", text, re.M):
        anchors.add(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize(
    "doc", [d for d in USER_DOCS if d.suffix == ".md"], ids=lambda d: str(d.relative_to(ROOT))
)
def test_every_link_between_the_documents_resolves(doc: Path) -> None:
    text = FENCE.sub("", doc.read_text(encoding="utf-8"))
    broken = []
    for match in LINK.finditer(text):
        target = match["target"]
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        where = (doc.parent / path).resolve() if path else doc
        if not where.exists() or (
            anchor and where.suffix == ".md" and anchor not in _anchors(where)
        ):
            broken.append(target)
    assert broken == []


@pytest.mark.parametrize("doc", USER_DOCS, ids=lambda d: str(d.relative_to(ROOT)))
def test_no_product_document_row_ids_in_user_documents(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    # Row ids such as S8 or T5 standing alone (not 0x1b, U+202E, SHA-256 or a Jira key);
    # C0 and C1 are the control-character sets.
    ids = re.findall(r"(?<![\w+-])[A-Z][0-9]{1,2}(?![\w-])", text)
    assert [found for found in ids if found not in ("C0", "C1")] == []


def test_the_deploy_readme_gives_the_watch_unit_watchdog_it_has() -> None:
    unit = (ROOT / "deploy" / "systemd" / "tracker-mail-watch.service").read_text()
    described = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    watchdog = re.search(r"^WatchdogSec=(\d+)$", unit, re.M)
    assert watchdog is not None
    assert f"`WatchdogSec={watchdog[1]}`" in described
    assert re.findall(r"WatchdogSec=(\d+)", described) == [watchdog[1]]
