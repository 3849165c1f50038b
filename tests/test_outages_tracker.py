"""The tracker failing for some messages under ``tracker-mail watch``, then recovering.

The recording tracker (kept in a state file, so the test breaks the watch process's
tracker from outside) answers 500, asks to retry later, or times out after the write was
sent, for one issue creation. ``sync`` leaves such a message to the next cron run; a watch
idling on IMAP must come back to it by itself, not only when new mail arrives or when IDLE
is renewed half an hour later.
"""

from __future__ import annotations

import pytest
import requests

from tests.servers.dovecot import free_ports
from tests.test_sync_dovecot import Rig, mail, rig, smtp, wait_for
from tests.test_watch_dovecot import IDLING, Watching, start, titles, watching
from tracker_mail_plugin.testing import FaultKind

__all__ = ["rig", "smtp", "watching"]  # fixtures, imported so that pytest sees them here

pytestmark = pytest.mark.servers


@pytest.mark.parametrize("kind", [FaultKind.SERVER_ERROR, FaultKind.RETRY_LATER, FaultKind.TIMEOUT])
def test_watch_tries_a_failed_message_again_by_itself_and_files_it_once(
    rig: Rig, watching: list[Watching], kind: FaultKind
) -> None:
    rig.configure(poll_interval=0.5)  # also how soon failed messages are tried again
    watch = start(rig, watching)
    watch.wait_log(IDLING)
    rig.tracker.fail("create_issue", kind, times=1)

    rig.append(mail("Printer one"), mail("Printer two"))  # no mail comes after these

    wait_for(lambda: len(rig.issues()) == 2, f"the failed one to be retried:\n{watch.log}", 60)
    wait_for(lambda: rig.folder("INBOX") == [], "both to be moved", 60)
    assert watch.stop() == 0
    assert titles(rig) == ["Printer one", "Printer two"]
    assert rig.status()[0] == {"disposed": 2}
    failed = [line for line in watch.log.splitlines() if '"Printer one": failed' in line]
    assert len(failed) == 1, watch.log
    assert "Traceback" not in watch.log


def test_watch_backs_off_while_the_tracker_keeps_failing_and_catches_up_after(
    rig: Rig, watching: list[Watching]
) -> None:
    rig.configure(poll_interval=0.2, max_attempts=50)
    watch = start(rig, watching)
    watch.wait_log(IDLING)
    rig.tracker.fail("create_issue", FaultKind.SERVER_ERROR, times=None)
    rig.append(mail("Printer one"))

    watch.wait_log('"Printer one": failed', count=3, timeout=60)  # tried again, and again
    rig.tracker.clear_faults()

    wait_for(lambda: len(rig.issues()) == 1, f"the retry after recovery:\n{watch.log}", 60)
    assert watch.stop() == 0
    assert rig.status()[0] == {"disposed": 1}
    assert titles(rig) == ["Printer one"]
    assert "Traceback" not in watch.log


def test_watch_with_the_tracker_unreachable_is_not_ready_then_catches_up_once(
    rig: Rig, watching: list[Watching]
) -> None:
    port = free_ports(1)[0]
    watch = start(rig, watching, "--metrics-address", f"127.0.0.1:{port}")
    watch.wait_log(IDLING)
    rig.tracker.fail("*", FaultKind.UNREACHABLE, times=None)
    rig.append(mail("Printer one"), mail("Printer two"))

    def readiness() -> requests.Response:
        return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10)

    wait_for(lambda: readiness().status_code == 503, f"not ready:\n{watch.log}", 60)
    assert "support: " in readiness().text
    rig.tracker.clear_faults()

    wait_for(lambda: len(rig.issues()) == 2, f"the catch-up:\n{watch.log}", 90)
    wait_for(lambda: readiness().status_code == 200, f"ready again:\n{watch.log}", 60)
    assert watch.stop() == 0
    assert titles(rig) == ["Printer one", "Printer two"]
    assert rig.status()[0] == {"disposed": 2}
    said = [line for line in watch.log.splitlines() if " ERROR " in line]
    assert len(said) == 1, watch.log  # once, not at every back-off retry
    assert "working again" in watch.log
