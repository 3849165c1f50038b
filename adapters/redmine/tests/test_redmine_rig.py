"""The test Redmine itself: a server that stops answering is revived, not left to hang."""

from __future__ import annotations

import os
import signal

from tests.servers.redmine import Redmine


def test_a_redmine_that_stopped_answering_is_served_again(redmine_server: Redmine) -> None:
    assert redmine_server._process is not None
    os.kill(redmine_server._process.pid, signal.SIGSTOP)  # stands for the rare hang
    assert not redmine_server.answers(1.0)
    redmine_server.revive()
    assert redmine_server.answers()
    assert redmine_server.api("GET", "/projects/support.json")["project"]["identifier"] == "support"
