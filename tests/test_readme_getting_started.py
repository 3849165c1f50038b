"""The README's "Getting started" steps work as written, on the bundled sample mail."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTION = re.compile(r"^## Getting started.*?(?=^## )", re.S | re.M)
FENCE = re.compile(r"^ *```(?P<lang>\w+)\n(?P<body>.*?)^ *```", re.S | re.M)


def _blocks() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = SECTION.search(text)
    assert section, "README.md has no 'Getting started' section"
    return [
        (m["lang"], "\n".join(line[3:] for line in m["body"].splitlines()))
        for m in FENCE.finditer(section.group(0))
    ]


def _commands(blocks: list[tuple[str, str]]) -> list[list[str]]:
    """The shell lines after the install step, without comments."""
    lines: list[list[str]] = []
    for lang, body in blocks[1:]:
        if lang != "sh":
            continue
        for line in body.splitlines():
            line = line.split(" #", 1)[0].strip()
            if line:
                lines.append(shlex.split(line))
    return lines


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    if argv[0] == "tracker-mail":
        argv = [sys.executable, "-m", "tracker_mail_plugin.cli", *argv[1:]]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_a_newcomer_reaches_a_first_import_by_following_the_readme(tmp_path: Path) -> None:
    blocks = _blocks()
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    cwd = tmp_path
    outputs: dict[str, str] = {}
    for argv in _commands(blocks):
        if argv[0] == "cd":
            cwd = cwd / argv[1]
            (cwd / "rules.yaml").write_text(
                next(body for lang, body in blocks if lang == "yaml"), encoding="utf-8"
            )
            continue
        done = _run(argv, cwd)
        assert done.returncode == 0, (argv, done.stdout, done.stderr)
        outputs[" ".join(argv)] = done.stdout
        assert "Traceback" not in done.stderr
    assert "created 3" in outputs["tracker-mail sync -c rules.yaml"]
    assert "Quote request" in outputs["tracker-mail sync -c rules.yaml --dry-run"]
    tracker = json.loads((cwd / "tracker.json").read_text(encoding="utf-8"))
    projects = sorted(issue["project"] for issue in tracker["issues"].values())
    assert projects == ["sales", "support", "support"]
    again = _run(["tracker-mail", "sync", "-c", "rules.yaml"], cwd)
    assert again.returncode == 0
    assert "created 0" in again.stdout or again.stdout == ""
