"""The mail server misbehaving under a real ``tracker-mail`` process: nothing lost or doubled.

A relay (tests/servers/cutter.py) stands between the process and the test Dovecot and
breaks the connection at one exact command, or lets another client change the mailbox
just before it; the watch tests also stop Dovecot itself for a while. Every time: the run
ends with exit 3 and one line that says what broke, and the next run (or watch, by itself)
finishes the work exactly once.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.servers.cutter import Cutter
from tests.servers.dovecot import Dovecot, free_ports
from tests.test_sync_dovecot import Rig, SmtpSink, mail, pop3_uidls, rig, smtp, wait_for
from tests.test_watch_dovecot import IDLING, Watching, start, titles, watching

__all__ = ["rig", "smtp", "watching"]  # fixtures, imported so that pytest sees them here

pytestmark = pytest.mark.servers

PRINTERS = [mail("Printer on fire"), mail("Printer out of paper")]
BOTH = ["Printer on fire", "Printer out of paper"]


@pytest.fixture
def cutter(rig: Rig) -> Iterator[Cutter]:
    """A relay in front of the rig's Dovecot; rules.yaml points the mailbox at it."""
    with Cutter(rig.dovecot.ports.imap) as relay:
        rig.configure(port=relay.port)
        yield relay


def stopped_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "stopped:" in line]


def assert_done_once(rig: Rig) -> None:
    assert titles(rig) == BOTH
    assert len(rig.tracker.calls("create_issue")) == 2
    assert rig.folder("INBOX") == []
    assert sorted(rig.folder("Processed")) == sorted(PRINTERS)
    assert rig.status()[0] == {"disposed": 2}


# --- sync: the connection reset at one command ---------------------------------------------


@pytest.mark.parametrize(
    ("command", "while_doing", "reached_tracker"),
    [
        (r"UID SEARCH", "listing messages", 0),
        (r"UID FETCH .*RFC822\.SIZE", "reading message sizes", 0),
        (r"UID FETCH .*BODY\.PEEK", "downloading messages", 0),
        (r"UID MOVE", "moving messages to 'Processed'", 2),
    ],
)
def test_sync_cut_at_a_command_exits_3_and_the_next_run_finishes_once(
    rig: Rig, cutter: Cutter, command: str, while_doing: str, reached_tracker: int
) -> None:
    rig.append(*PRINTERS)
    cut = cutter.cut_at(command)

    first = rig.run("sync")

    assert cut.is_set(), cutter.commands
    assert first.returncode == 3, first.output
    (line,) = stopped_lines(first.output)
    assert f"lost while {while_doing}: Connection reset by peer; the next run tries again" in line
    assert "Traceback" not in first.output
    assert len(rig.issues()) == reached_tracker
    assert rig.folder("INBOX") == PRINTERS  # nothing moved, nothing lost

    second = rig.sync()

    assert second.summary["created"] == 2 - reached_tracker
    assert_done_once(rig)


def test_sync_whose_move_was_done_but_never_confirmed_does_not_do_it_again(
    rig: Rig, cutter: Cutter
) -> None:
    rig.append(*PRINTERS)
    lost = cutter.lose_answer_to(r"UID MOVE")  # the server moves; the answer never comes

    first = rig.run("sync")

    assert lost.is_set(), cutter.commands
    assert first.returncode == 3, first.output
    assert rig.folder("INBOX") == []  # the server did move them

    second = rig.sync()

    assert second.summary == dict.fromkeys(second.summary, 0)  # nothing left to do
    assert_done_once(rig)


def test_a_message_expunged_between_search_and_fetch_is_skipped_not_failed(
    rig: Rig, cutter: Cutter
) -> None:
    first_uid, _ = rig.append(*PRINTERS)

    def another_client_deletes_it() -> None:
        client = rig.dovecot.imap(rig.account)
        try:
            client.select_folder("INBOX")
            client.delete_messages([first_uid])
            client.expunge()
        finally:
            client.logout()

    deleted = cutter.before(r"UID FETCH .*BODY\.PEEK", another_client_deletes_it)

    result = rig.sync()

    assert deleted.is_set(), cutter.commands
    assert (result.summary["fetched"], result.summary["created"]) == (1, 1)
    assert result.summary["failed"] == 0
    assert titles(rig) == ["Printer out of paper"]
    assert rig.folder("INBOX") == []
    assert rig.status()[0] == {"disposed": 1}
    assert rig.sync().summary["fetched"] == 0


@pytest.mark.parametrize("answered", [False, True])
def test_sync_deleting_cut_at_expunge_deletes_on_the_next_run_and_files_nothing_twice(
    rig: Rig, cutter: Cutter, answered: bool
) -> None:
    rig.configure(port=cutter.port, on_success="delete")
    rig.append(*PRINTERS)
    # Cut before the server expunges, or after it did but before we heard.
    cut = (cutter.lose_answer_to if answered else cutter.cut_at)(r"UID EXPUNGE")

    first = rig.run("sync")

    assert cut.is_set(), cutter.commands
    assert first.returncode == 3, first.output
    assert "lost while expunging disposed messages" in first.output

    second = rig.sync()

    assert second.summary["created"] == 0
    assert titles(rig) == BOTH
    assert len(rig.tracker.calls("create_issue")) == 2
    assert rig.folder("INBOX") == []
    assert rig.status()[0] == {"disposed": 2}


@pytest.mark.parametrize(
    ("command", "while_doing", "reached_tracker"),
    [
        (r"^RETR", "downloading a message", 0),
        (r"^DELE", "marking a message deleted", 2),
        (r"^QUIT", "committing deletions (QUIT)", 2),  # the server deletes nothing
    ],
)
def test_pop3_cut_at_a_command_exits_3_says_it_once_and_the_next_run_finishes_once(
    rig: Rig, command: str, while_doing: str, reached_tracker: int
) -> None:
    rig.append(*PRINTERS)
    with Cutter(rig.dovecot.ports.pop3) as relay:
        rig.configure(protocol="pop3", on_success="delete", port=relay.port)
        cut = relay.cut_at(command)

        first = rig.run("sync")

        assert cut.is_set(), relay.commands
        assert first.returncode == 3, first.output
        assert "Traceback" not in first.output
        # One line for one broken connection (nothing else tries the dead one again).
        (line,) = [line for line in first.output.splitlines() if "POP3 server" in line]
        assert f"lost while {while_doing}: Connection reset by peer" in line
        assert "the next run tries again" in line
        assert len(rig.issues()) == reached_tracker
        assert len(pop3_uidls(rig.dovecot, rig.account)) == 2  # nothing deleted yet

        second = rig.sync()

    assert second.summary["created"] == 2 - reached_tracker
    assert titles(rig) == BOTH
    assert len(rig.tracker.calls("create_issue")) == 2
    assert pop3_uidls(rig.dovecot, rig.account) == []
    assert rig.status()[0] == {"disposed": 2}


# --- watch: the server going away and coming back -----------------------------------------


def readyz(port: int) -> requests.Response:
    return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10)


def errors(watch: Watching) -> list[str]:
    return [line for line in watch.log.splitlines() if " ERROR " in line]


def test_watch_with_dovecot_down_for_a_while_is_not_ready_says_so_once_and_recovers(
    tmp_path: Path, smtp: SmtpSink, watching: list[Watching]
) -> None:
    with Dovecot() as private:
        rig = Rig(tmp_path, private, private.add_account(), smtp.port)
        port = free_ports(1)[0]
        watch = start(rig, watching, "--metrics-address", f"127.0.0.1:{port}")
        watch.wait_log(IDLING)
        assert readyz(port).status_code == 200

        private.stop()
        wait_for(lambda: readyz(port).status_code == 503, f"not ready:\n{watch.log}", 60)
        assert "support: " in readyz(port).text
        # Several reconnection attempts fail meanwhile (back-off 1 s, 2 s, 4 s ...).
        wait_for(lambda: "cannot reach IMAP server" in readyz(port).text, "refused", 60)
        private.restart()

        watch.wait_log("working again", timeout=60)
        wait_for(lambda: readyz(port).status_code == 200, f"ready again:\n{watch.log}", 60)
        rig.append(mail("Printer after the outage"))
        wait_for(lambda: len(rig.issues()) == 1, f"mail after the outage:\n{watch.log}", 60)
        assert watch.stop() == 0

    # The connection lost, then the server refusing: one outage, said once.
    said = errors(watch)
    assert len(said) == 1, watch.log
    assert "Traceback" not in watch.log
    assert titles(rig) == ["Printer after the outage"]


def test_watch_cut_while_moving_retries_by_itself_and_does_each_message_once(
    rig: Rig, cutter: Cutter, watching: list[Watching]
) -> None:
    watch = start(rig, watching)
    watch.wait_log(IDLING)
    cut = cutter.cut_at(r"UID MOVE")
    rig.append(*PRINTERS)

    wait_for(cut.is_set, f"the move to be cut:\n{watch.log}", 60)
    wait_for(lambda: rig.folder("INBOX") == [], f"the retry to move the mail:\n{watch.log}", 60)
    watch.wait_log("working again", timeout=60)
    assert watch.stop() == 0

    assert_done_once(rig)
    assert len([line for line in errors(watch) if "lost while moving" in line]) == 1


def test_watched_folder_deleted_then_made_again_is_an_error_until_it_is_back(
    rig: Rig, watching: list[Watching]
) -> None:
    rig.configure(folder="Support")
    rig.append(mail("Printer one"), folder="Support")
    port = free_ports(1)[0]
    watch = start(rig, watching, "--metrics-address", f"127.0.0.1:{port}")
    watch.wait_log(IDLING)
    client = rig.dovecot.imap(rig.account)
    client.delete_folder("Support")
    client.logout()

    wait_for(lambda: "cannot open folder 'Support'" in readyz(port).text, "not ready", 60)
    assert readyz(port).status_code == 503
    assert "set folder: to one of them" in watch.log
    rig.append(mail("Printer two"), folder="Support")  # someone made it again

    wait_for(lambda: len(rig.issues()) == 2, f"the folder's new mail:\n{watch.log}", 90)
    watch.wait_log("working again", timeout=60)
    assert watch.stop() == 0
    assert titles(rig) == ["Printer one", "Printer two"]
    assert len([line for line in errors(watch) if "cannot open folder" in line]) == 1


def test_watch_remakes_the_move_folder_someone_deleted_while_it_ran(
    rig: Rig, watching: list[Watching]
) -> None:
    watch = start(rig, watching)
    watch.wait_log(IDLING)
    rig.append(PRINTERS[0])
    wait_for(lambda: len(rig.folder("Processed")) == 1, f"the first move:\n{watch.log}", 60)
    client = rig.dovecot.imap(rig.account)
    client.delete_folder("Processed")  # an operator tidying up; watch's connection stays
    client.logout()

    rig.append(PRINTERS[1])

    wait_for(lambda: rig.folder("Processed") == [PRINTERS[1]], f"moved:\n{watch.log}", 60)
    assert watch.stop() == 0
    assert rig.folder("INBOX") == []
    assert titles(rig) == BOTH
    assert rig.status()[0] == {"disposed": 2}
    assert "TRYCREATE" not in watch.log


def test_sighup_to_a_wrong_password_then_back_reconnects_and_loses_nothing(
    rig: Rig, watching: list[Watching]
) -> None:
    watch = start(rig, watching)
    watch.wait_log(IDLING)
    good = rig.config.read_text()
    (rig.tmp / "wrong-password").write_text("not-the-password")
    rig.config.write_text(good.replace("mail-password", "wrong-password"))

    watch.process.send_signal(signal.SIGHUP)
    watch.wait_log("reloaded")
    rig.append(PRINTERS[0])  # arrives while the mailbox cannot log in
    wait_for(lambda: " ERROR " in watch.log, f"the refused login said:\n{watch.log}", 60)
    assert rig.issues() == []

    rig.config.write_text(good)
    watch.process.send_signal(signal.SIGHUP)

    wait_for(lambda: len(rig.issues()) == 1, f"the mail after the fix:\n{watch.log}", 90)
    watch.wait_log("working again", timeout=60)
    rig.append(PRINTERS[1])
    wait_for(lambda: len(rig.issues()) == 2, f"idling again:\n{watch.log}", 60)
    assert watch.stop() == 0
    assert titles(rig) == BOTH
    assert rig.status()[0] == {"disposed": 2}
    assert len(errors(watch)) == 1, watch.log
    assert "Traceback" not in watch.log
