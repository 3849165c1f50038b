"""Every logger of the package goes through the secret-scrubbing formatter."""

import logging
import re
from pathlib import Path

import pytest

from tracker_mail_plugin import logs
from tracker_mail_plugin.testing import recording

PACKAGE = Path(logs.__file__).parent
LEAK = "https://bot:hunter2-secret@tracker.example.com/issues.json?key=abc123secret"


@pytest.fixture
def configured_logging():
    root = logging.getLogger("tracker_mail")
    saved = (root.handlers[:], root.level, root.propagate)
    yield
    root.handlers[:], root.level, root.propagate = saved


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_secret_logged_by_the_recording_tracker_is_scrubbed(
    configured_logging, capsys, log_format
):
    logs.setup_logging(log_format, verbose=True)
    recording.logger.warning("asked %s", LEAK)
    err = capsys.readouterr().err
    assert "tracker.example.com" in err  # the record went through the configured handler
    assert "hunter2-secret" not in err
    assert "abc123secret" not in err


def test_every_logger_of_the_package_is_under_the_configured_one():
    names = re.compile(r"getLogger\(([^)]*)\)")
    found = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in PACKAGE.rglob("*.py")
        for name in names.findall(path.read_text(encoding="utf-8"))
    }
    outside = sorted(f for f in found if not re.search(r': "tracker_mail(\.[a-z_]+)?"$', f))
    assert found
    assert outside == []
