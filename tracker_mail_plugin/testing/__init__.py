"""The test kit shipped for adapter authors and for the core's own tests.

- :class:`RecordingAdapter`: a tracker double (users, projects, permissions, issues), in
  memory or shared through a JSON file, that records every call and fails on demand.
- :class:`FakeMailbox`: an in-memory mail source that commits like an IMAP server.
- :class:`AdapterContract`: the pytest base class each adapter's tests subclass.
- :class:`CrashHarness`: a fake mailbox, any adapter and a journal, run in this process and
  killed at a checkpoint on demand (:class:`Crash`, :data:`CHECKPOINTS`).
- :func:`failing_server`: a local HTTP server answering 500/401 or never, and
  :func:`answer_lost_proxy`: a relay that loses the answers of writes, for adapters tested
  against real servers.
- :mod:`~tracker_mail_plugin.testing.openapi`: holds a faked tracker's requests and answers
  to the vendor's OpenAPI description (``pip install tracker-mail-plugin[openapi]``), and
  :func:`~tracker_mail_plugin.testing.beside.run_beside` runs cases beside a conftest, to
  show such a check failing the test that drifted.

``AdapterContract`` needs pytest, and the harness the whole sync; both are imported on first
use, so that importing the recording adapter (e.g. through an entry point) imports neither.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from tracker_mail_plugin.testing.failing import (
    TrackerFailure,
    answer_lost_proxy,
    failing_server,
)
from tracker_mail_plugin.testing.mailbox import Disposed, FakeMailbox
from tracker_mail_plugin.testing.recording import RecordingAdapter, RecordingConfig
from tracker_mail_plugin.testing.state import (
    Call,
    Fault,
    FaultKind,
    StoredComment,
    StoredFile,
    StoredIssue,
    StoredProject,
    StoredUser,
    TrackerState,
)

if TYPE_CHECKING:
    from tracker_mail_plugin.testing.contract import AdapterContract, every_record, no_network
    from tracker_mail_plugin.testing.harness import CHECKPOINTS, Crash, CrashHarness

_LAZY = {
    "AdapterContract": "contract",
    "every_record": "contract",
    "no_network": "contract",
    "CHECKPOINTS": "harness",
    "Crash": "harness",
    "CrashHarness": "harness",
}

__all__ = [
    "CHECKPOINTS",
    "AdapterContract",
    "Call",
    "Crash",
    "CrashHarness",
    "Disposed",
    "FakeMailbox",
    "Fault",
    "FaultKind",
    "RecordingAdapter",
    "RecordingConfig",
    "StoredComment",
    "StoredFile",
    "StoredIssue",
    "StoredProject",
    "StoredUser",
    "TrackerFailure",
    "TrackerState",
    "answer_lost_proxy",
    "every_record",
    "failing_server",
    "no_network",
]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        module = importlib.import_module(f"tracker_mail_plugin.testing.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
