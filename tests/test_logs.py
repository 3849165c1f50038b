"""Every logger of the package goes through the secret-scrubbing formatter."""

import logging
import re
from pathlib import Path

import pytest

from tracker_mail_plugin import cli, logs
from tracker_mail_plugin.errors import ExitCode
from tracker_mail_plugin.testing import recording

PACKAGE = Path(logs.__file__).parent
LEAK = "https://bot:hunter2-secret@tracker.example.com/issues.json?key=abc123secret"


@pytest.fixture
def configured_logging():
    root = logging.getLogger("tracker_mail")
    saved = (root.handlers[:], root.level, root.propagate)
    libraries = (logging.root.handlers[:], logging.root.level)
    yield
    root.handlers[:], root.level, root.propagate = saved
    logging.root.handlers[:], logging.root.level = libraries


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


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_library_warning_with_a_secret_is_scrubbed(configured_logging, capsys, log_format):
    logs.setup_logging(log_format)
    # urllib3 logs the URL of a request whose answer it could not read, query and all.
    logging.getLogger("urllib3.connectionpool").warning("Failed to parse headers (url=%s)", LEAK)
    err = capsys.readouterr().err
    assert "tracker.example.com" in err
    assert "hunter2-secret" not in err
    assert "abc123secret" not in err


def test_a_crash_shows_its_traceback_without_the_secret_in_it(
    configured_logging, capsys, monkeypatch
):
    def crash(args):
        raise RuntimeError(f"GET {LEAK} failed")

    monkeypatch.setitem(cli._COMMANDS, "status", crash)
    assert cli.main(["status"]) == ExitCode.SOME_FAILED
    err = capsys.readouterr().err
    assert "unexpected error" in err
    assert "Traceback" in err
    assert "RuntimeError: GET https://***@tracker.example.com" in err
    assert "hunter2-secret" not in err
    assert "abc123secret" not in err
