"""max_attachments: a message of thousands of tiny parts becomes at most N tracker uploads."""

import pytest

from tests.mailfactory import multipart, part, raw_mail
from tests.synchelpers import World
from tracker_mail_plugin.config.loader import ConfigFileError, load_config_text

ALICE = "Alice Example <alice@example.com>"


def many_files(count: int, subject: str = "Printer logs") -> bytes:
    files = [
        part(
            f'Content-Type: text/plain; name="f{i}.txt"\n'
            f'Content-Disposition: attachment; filename="f{i}.txt"',
            f"{i}\n",
        )
        for i in range(count)
    ]
    ctype, body = multipart("mixed", [part("Content-Type: text/plain", "see files"), *files])
    return raw_mail({"From": ALICE, "Subject": subject, "Content-Type": ctype}, body)


def issue_after_sync(tmp_path, files: int, policies: str | None = None):
    """The one issue a message with ``files`` attachments became."""
    world = World(tmp_path) if policies is None else World(tmp_path, policies=policies)
    world.mailbox.add(many_files(files))
    world.sync()
    (issue,) = world.tracker.issues().values()
    return issue


def test_ten_thousand_parts_become_the_default_hundred_uploads(tmp_path):
    issue = issue_after_sync(tmp_path, 10_000)
    assert [f.filename for f in issue.attachments] == [f"f{i}.txt" for i in range(100)]
    note = issue.text.split("\n\n")[-1]
    assert note.startswith(
        "Not attached (9900 file(s) over the limit of 100 attachments per message, "
        "max_attachments): f100.txt; f101.txt;"
    )
    assert note.endswith("f149.txt; and 9850 more")


def test_the_cap_is_a_policy_and_excluded_files_do_not_count(tmp_path):
    issue = issue_after_sync(
        tmp_path, 6, "    max_attachments: 3\n    excluded_filenames: ['f0.txt']"
    )
    assert [f.filename for f in issue.attachments] == ["f1.txt", "f2.txt", "f3.txt"]
    assert issue.text.endswith(
        "Not attached: f0.txt (excluded by f0.txt)\n\n"
        "Not attached (2 file(s) over the limit of 3 attachments per message, "
        "max_attachments): f4.txt; f5.txt"
    )


def test_under_the_cap_nothing_is_listed(tmp_path):
    issue = issue_after_sync(tmp_path, 3, "    max_attachments: 3")
    assert len(issue.attachments) == 3
    assert "Not attached" not in issue.text


def test_a_negative_cap_is_a_config_error(tmp_path):
    text = World(tmp_path, policies="    max_attachments: -1").config_text()
    with pytest.raises(ConfigFileError) as caught:
        load_config_text(text, "rules.yaml")
    (problem,) = caught.value.problems
    assert "max_attachments" in str(problem)
    assert str(problem).startswith("rules.yaml:11:")
