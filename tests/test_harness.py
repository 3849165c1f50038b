"""The crash harness shipped in tracker_mail_plugin.testing, with rules given as text."""

import pytest

from tests.mailfactory import raw_mail
from tracker_mail_plugin.config.loader import ConfigFileError
from tracker_mail_plugin.testing import CHECKPOINTS, CrashHarness, RecordingAdapter

CONFIG = """\
version: 1
trackers:
  trial: {adapter: recording}
mailboxes:
  support:
    protocol: maildir
    path: /unused
    tracker: trial
    unknown_user: as_rule_owner
    on_success: {move: Processed}
    rules: ["then create issue in project demo"]
"""


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_a_run_killed_at_any_checkpoint_still_makes_one_issue(tmp_path, checkpoint):
    tracker = RecordingAdapter()
    harness = CrashHarness(tracker, CONFIG, tmp_path / "journal.sqlite3", mailbox_name="support")
    harness.mailbox.add(raw_mail({"Subject": "printer on fire"}))

    harness.crash(checkpoint)
    summary = harness.sync()

    assert [issue.title for issue in tracker.issues().values()] == ["printer on fire"]
    assert list(harness.mailbox.folders) == ["Processed"]
    assert summary.failed == 0


def test_a_checkpoint_the_run_never_reaches_is_a_test_error(tmp_path):
    harness = CrashHarness(
        RecordingAdapter(), CONFIG, tmp_path / "j.sqlite3", mailbox_name="support"
    )
    with pytest.raises(AssertionError, match="never reached the checkpoint 'after_write'"):
        harness.crash("after_write")  # an empty mailbox writes nothing


def test_a_broken_rules_text_says_what_is_wrong(tmp_path):
    # The harness loads its rules as `sync` would; an author sees only the exception.
    broken = CONFIG.replace("{adapter: recording}", "{adapter: recording, token: s3cret}")
    harness = CrashHarness(
        RecordingAdapter(), broken, tmp_path / "j.sqlite3", mailbox_name="support"
    )
    with pytest.raises(ConfigFileError) as raised:
        harness.sync()
    assert str(raised.value).splitlines() == [
        "1 problem(s) in the configuration:",
        "  rules.yaml:3:38: token: a secret must not be written in the file; write a reference "
        "instead, {env: VARIABLE_NAME} to read it from the environment or {file: /path/to/file} "
        "to read it from a file",
    ]
    assert "s3cret" not in str(raised.value)


def test_an_adapter_error_outside_the_tree_is_logged_as_that_adapters_bug(tmp_path, caplog):
    from tracker_mail_plugin.testing import every_record

    class Buggy(RecordingAdapter):
        name = "buggy"

        def create_issue(self, new):
            raise ValueError("Expecting value: line 1 column 1 (char 0)")  # response.json()

    harness = CrashHarness(Buggy(), CONFIG, tmp_path / "j.sqlite3", mailbox_name="support")
    harness.mailbox.add(raw_mail({"Subject": "printer on fire", "Message-ID": "<m1@example.com>"}))
    with every_record(caplog):
        summary = harness.sync()

    assert summary.failed == 1
    [logged] = [r for r in caplog.records if r.getMessage().startswith("unexpected error")]
    assert logged.getMessage() == (
        "unexpected error on m1@example.com: the buggy adapter failed with ValueError, which is "
        "not one of tracker-mail's errors: a bug in the adapter; report it to its authors with "
        "the traceback"
    )
    assert logged.exc_info is not None
