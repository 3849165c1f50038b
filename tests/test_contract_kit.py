"""The adapter kit as an author outside this repository uses it: what it catches, what it keeps."""

import logging
import textwrap

import pytest

from tracker_mail_plugin import CheckReport, Requirements, Secret
from tracker_mail_plugin.logs import setup_logging
from tracker_mail_plugin.testing import AdapterContract, RecordingAdapter, every_record
from tracker_mail_plugin.testing.beside import run_beside

TOKEN = "kit-token-3c9e1f"  # noqa: S105 - made up; the test looks for leaks of it


class LeakingAdapter(RecordingAdapter):
    """A recording tracker whose check logs its token: the leak the contract must catch."""

    def check(self, requirements: Requirements | None = None) -> CheckReport:
        token = self.settings.token.reveal() if self.settings.token else ""
        logging.getLogger("tracker_mail.leaking").info("checking with token %s", token)
        return super().check(requirements)


class LeakingContract(AdapterContract):
    adapter_class = LeakingAdapter

    def valid_config(self):
        return {"identity": "kit-bot", "token": Secret(value=TOKEN)}

    def secret_values(self):
        return [TOKEN]


@pytest.mark.parametrize("after_a_command", [False, True])
def test_a_secret_in_the_log_fails_the_contract(caplog, after_a_command):
    if after_a_command:
        setup_logging()  # what every command does: WARNING, no propagation, own handler
    contract = LeakingContract()

    with pytest.raises(AssertionError, match="a secret value is shown"):
        contract.test_secrets_never_shown(contract.make_adapter(), caplog)


def test_every_record_puts_the_logger_back(caplog):
    setup_logging()
    core = logging.getLogger("tracker_mail")

    with every_record(caplog):
        logging.getLogger("tracker_mail.kit").debug("seen")

    assert [record.getMessage() for record in caplog.records] == ["seen"]
    assert (core.level, core.propagate) == (logging.WARNING, False)


CASES = """\
import logging

from tracker_mail_plugin.cli import main


def test_1_a_command_sets_logging_up():
    assert main(["adapters"]) == 0
    assert logging.getLogger("tracker_mail").propagate is False


def test_2_a_later_test_sees_tracker_mail_records(caplog):
    with caplog.at_level(logging.INFO):
        logging.getLogger("tracker_mail.kit").info("seen")
    assert caplog.messages == ["seen"]
"""


def test_the_kit_logging_fixture_keeps_later_tests_seeing_records(tmp_path):
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "conftest.py").write_text(
        "from tracker_mail_plugin.testing.fixtures import tracker_mail_logging  # noqa: F401\n"
    )
    run = tmp_path / "run"
    run.mkdir()

    report = run_beside(tests, textwrap.dedent(CASES), run)

    assert "2 passed" in report, report


class NoScalarContract(LeakingContract):
    adapter_class = RecordingAdapter

    def valid_config(self):
        return {"token": Secret(value=TOKEN)}


def test_a_config_without_scalars_asks_for_wrong_types(caplog):
    contract = NoScalarContract()

    with pytest.raises(AssertionError, match=r"valid_config\(\) has no str, int"):
        contract.test_secrets_never_shown(contract.make_adapter(), caplog)
