"""The core's AdapterContract and crash harness against the template adapter."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tracker_mail_plugin import Capability, NewIssue, Secret, UnsupportedAction, UserRef
from tracker_mail_plugin.testing import CHECKPOINTS, AdapterContract, CrashHarness, TrackerFailure
from tracker_mail_plugin.testing.mailfactory import raw_mail

from tracker_mail_plugin_template import TemplateAdapter, TemplateConfig
from tracker_mail_plugin_template.store import FileStore

TOKEN = "template-token-never-shown"  # noqa: S105 - a fake, asserted never shown
# What the store raises for each failure the contract asks for (a real adapter's tests make
# its HTTP fake answer 500 or 401, or time out).
RAISES: dict[TrackerFailure, OSError] = {
    TrackerFailure.SERVER_ERROR: OSError(errno.EIO, "I/O error"),
    TrackerFailure.TIMEOUT: TimeoutError("timed out"),
    TrackerFailure.UNAUTHORIZED: PermissionError(errno.EACCES, "permission denied"),
}


class BrokenStore(FileStore):
    """A store that fails every call with ``error``, or (``after_write``) after writing."""

    def __init__(self, store: FileStore, error: OSError, after_write: bool = False):
        super().__init__(store.path)
        self.error, self.after_write = error, after_write

    def read(self) -> Any:
        if self.after_write:
            return super().read()
        raise self.error

    @contextmanager
    def write(self) -> Iterator[Any]:
        if not self.after_write:
            raise self.error
        with super().write() as data:
            yield data
        raise self.error  # written; the answer is lost


# AdapterContract[TemplateAdapter]: the hooks take and give a TemplateAdapter, so that its
# own attributes (``store``) type-check in them.
class TestTemplateContract(AdapterContract[TemplateAdapter]):
    adapter_class = TemplateAdapter
    project = "contract"

    @pytest.fixture(autouse=True)
    def _tracker_file(self, tmp_path: Path) -> None:
        self.path = tmp_path / "tracker.json"

    def valid_config(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "projects": [self.project],
            "token": Secret(value=TOKEN),
        }

    def secret_values(self) -> list[str]:
        return [TOKEN]

    @contextmanager
    def failing(self, failure: TrackerFailure) -> Iterator[TemplateAdapter]:
        adapter = self.make_adapter()
        adapter.store = BrokenStore(adapter.store, RAISES[failure])
        yield adapter

    @contextmanager
    def lose_answer(self, adapter: TemplateAdapter, new: NewIssue) -> Iterator[TemplateAdapter]:
        lossy = self.make_adapter()
        lossy.store = BrokenStore(lossy.store, TimeoutError("timed out"), after_write=True)
        yield lossy

    def project_member(self, adapter: TemplateAdapter) -> UserRef | None:
        adapter.store.add_user("member@example.com", "member")
        return adapter.find_user("member@example.com")


RULES = """\
version: 1
trackers:
  files: {adapter: template, path: /unused, projects: [support]}
mailboxes:
  inbox:
    protocol: maildir
    path: /unused
    tracker: files
    on_success: {move: Processed}
    rules: ["then create issue in project support"]
"""


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_a_run_killed_at_any_checkpoint_makes_one_issue(tmp_path: Path, checkpoint: str) -> None:
    adapter = TemplateAdapter(TemplateConfig(path=tmp_path / "tracker.json", projects=("support",)))
    adapter.store.add_user("alice@example.com", "alice")
    harness = CrashHarness(adapter, RULES, tmp_path / "journal.sqlite3")
    harness.mailbox.add(raw_mail({"Subject": "Printer on fire"}))

    harness.crash(checkpoint)
    harness.sync()

    issues = adapter.store.read()["issues"]
    assert [issue["title"] for issue in issues.values()] == ["Printer on fire"]
    assert list(harness.mailbox.folders) == ["Processed"]


def test_a_field_is_refused_unless_its_capability_is_declared(tmp_path: Path) -> None:
    # A copy that declares a capability (and honours the field) must not be refused by the
    # check it inherited; one that does not declare it refuses instead of dropping the field.
    class WithWatchers(TemplateAdapter):
        capabilities = frozenset({Capability.WATCHERS})

    config = TemplateConfig(path=tmp_path / "tracker.json", projects=("support",))
    bob = UserRef("bob", "bob", "Bob", "bob@example.com")
    new = NewIssue("support", "Printer on fire", "text", "tm-1", watchers=(bob,))

    with pytest.raises(UnsupportedAction, match="cannot add watchers"):
        TemplateAdapter(config).create_issue(new)
    assert WithWatchers(config).create_issue(new).key == "1"
