"""``tracker-mail sync`` asked to stop (SIGTERM from a timer's deadline, Ctrl-C) mid-message.

The message in hand is finished and moved, one line says the rest is for the next run, no
traceback, exit with the run's own code; the next run does the rest, each message once.
"""

from __future__ import annotations

import signal

import pytest

from tests.test_sync_dovecot import HOLD_SECONDS, Rig, finish, mail, rig, smtp, wait_for
from tests.test_watch_dovecot import titles
from tracker_mail_plugin.testing import FaultKind

__all__ = ["rig", "smtp"]  # fixtures, imported so that pytest sees them here

pytestmark = pytest.mark.servers


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sync_stopped_mid_message_finishes_it_says_so_once_and_the_next_run_does_the_rest(
    rig: Rig, signum: int
) -> None:
    rig.append(mail("Printer one"), mail("Printer two"), mail("Printer three"))
    rig.tracker.fail("create_issue", FaultKind.HANG, times=1, seconds=HOLD_SECONDS)
    running = rig.start()
    wait_for(lambda: rig.tracker.calls("create_issue"), "the sync to reach the tracker")

    running.send_signal(signum)  # handled on the main thread, before the hang looks again
    rig.tracker.release_hangs()
    stopped = finish(running)

    assert stopped.returncode == 0, stopped.output
    assert "Traceback" not in stopped.output
    (said,) = [line for line in stopped.output.splitlines() if "stopping" in line]
    assert f"{signal.Signals(signum).name}: stopping after the message in hand" in said
    assert "the next run does the rest" in said
    assert stopped.summary["created"] == 1
    assert titles(rig) == ["Printer one"]  # the message in hand was finished ...
    assert len(rig.folder("Processed")) == 1  # ... and moved
    assert len(rig.folder("INBOX")) == 2

    rest = rig.sync()

    assert rest.summary["created"] == 2
    assert titles(rig) == ["Printer one", "Printer three", "Printer two"]
    assert len(rig.tracker.calls("create_issue")) == 3
    assert rig.folder("INBOX") == []
    assert rig.status()[0] == {"disposed": 3}
