"""The README's first import with the recording tracker works as written."""

import json
import re
import shutil
from pathlib import Path

from tracker_mail_plugin.cli import main

ROOT = Path(__file__).parent.parent


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Trying a configuration without a tracker", 1)[1]
    found = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert found is not None
    return found.group(1)


def test_the_readme_first_import_creates_issues_in_the_recording_tracker(
    tmp_path, capsys, monkeypatch
):
    mail = tmp_path / "mail"
    mail.mkdir()
    for name in ("01-plain.eml", "03-alternative.eml", "08-attachments-rfc2231.eml"):
        shutil.copy(ROOT / "examples" / name, mail / name)
    text = readme_example()
    assert "path: /home/me/mail-to-try" in text
    config = tmp_path / "rules.yaml"
    config.write_text(text.replace("/home/me/mail-to-try", str(mail)))
    monkeypatch.chdir(tmp_path)  # state_file: tracker.json is relative to where it runs

    assert main(["check", "-c", str(config)]) == 0
    assert capsys.readouterr().out.endswith(
        f"{config}: valid; every tracker and mailbox answered\n"
    )
    assert main(["sync", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert "support: fetched 3, created 3," in out
    issues = json.loads((tmp_path / "tracker.json").read_text())["issues"]
    assert sorted(issue["project"] for issue in issues.values()) == ["SUP", "SUP", "SUP"]
    assert main(["status", "-c", str(config)]) == 0
    assert "recording://issues/1" in capsys.readouterr().out
    assert sorted(p.name for p in mail.iterdir()) == sorted(
        ["01-plain.eml", "03-alternative.eml", "08-attachments-rfc2231.eml"]
    )


def test_a_project_the_recording_tracker_lacks_is_named_by_check(tmp_path, capsys):
    mail = tmp_path / "mail"
    mail.mkdir()
    text = readme_example().replace("/home/me/mail-to-try", str(mail))
    config = tmp_path / "rules.yaml"
    config.write_text(text.replace("in project SUP", "in project SUPP"))
    assert main(["check", "-c", str(config)]) == 2
    assert "tracker try: there is no project 'SUPP'\n" in capsys.readouterr().err
