"""``workers: N``: several messages at once, conversations kept in order, exactly once.

In-process, against a FakeMailbox and a RecordingAdapter whose writes take a little time,
so that messages really overlap. The same against a real Dovecot and a real Redmine is in
the Redmine adapter's end-to-end tests.
"""

import threading
import time

import pytest

from tests.synchelpers import Crash, World
from tests.test_sync import mail
from tracker_mail_plugin.adapter import IssueRef, NewComment, NewIssue
from tracker_mail_plugin.config.loader import ConfigFileError, load_config_text
from tracker_mail_plugin.errors import Unreachable
from tracker_mail_plugin.needs import capability_problems, workers_problem
from tracker_mail_plugin.sources.base import Move
from tracker_mail_plugin.testing import FaultKind, RecordingAdapter

WRITE_SECONDS = 0.02


class SlowTracker(RecordingAdapter):
    """A recording tracker whose writes take a while and that counts how many overlap.

    ``wait_for_company``: the first write waits (up to a minute) for a second one to start,
    so that two writes overlap however slowly the machine runs the other workers, as long
    as the run lets them; a run that never does fails the test after that minute.
    """

    def __init__(self) -> None:
        super().__init__()
        self.busy = 0
        self.most_at_once = 0
        self.wait_for_company = False
        self._counter = threading.Condition()

    def _slowly(self, write):  # type: ignore[no-untyped-def]
        with self._counter:
            self.busy += 1
            self.most_at_once = max(self.most_at_once, self.busy)
            self._counter.notify_all()
            if self.wait_for_company:
                self._counter.wait_for(lambda: self.most_at_once > 1, timeout=60)
        try:
            time.sleep(WRITE_SECONDS)
            return write()
        finally:
            with self._counter:
                self.busy -= 1

    def create_issue(self, new: NewIssue) -> IssueRef:
        return self._slowly(lambda: super(SlowTracker, self).create_issue(new))

    def add_comment(self, issue: IssueRef, new: NewComment):  # type: ignore[no-untyped-def]
        return self._slowly(lambda: super(SlowTracker, self).add_comment(issue, new))

    def create_user(self, address: str, name: str, project: str):  # type: ignore[no-untyped-def]
        return self._slowly(lambda: super(SlowTracker, self).create_user(address, name, project))


@pytest.fixture
def world(tmp_path):
    world = World(tmp_path, tracker=SlowTracker())
    world.policies = "    on_success: {move: Processed}\n    workers: 4"
    return world


def reply(subject, body, message_id, *answers):
    return mail(
        subject,
        body,
        message_id=message_id,
        **{"In-Reply-To": f"<{answers[-1]}@example.com>",
           "References": " ".join(f"<{a}@example.com>" for a in answers)},
    )  # fmt: skip


def issues_by_title(world):
    return {issue.title: issue for issue in world.tracker.issues().values()}


def test_independent_messages_are_handled_at_once_and_each_becomes_one_issue(world):
    world.tracker.wait_for_company = True  # a sleep alone overlaps nothing on a slow machine
    for n in range(24):
        world.mailbox.add(mail(f"printer {n}", message_id=f"m{n}"))
    summary = world.sync()
    assert (summary.fetched, summary.created, summary.failed) == (24, 24, 0)
    assert sorted(issues_by_title(world)) == sorted(f"printer {n}" for n in range(24))
    assert world.tracker.most_at_once > 1  # they overlapped
    assert world.tracker.most_at_once <= 4  # and never more than the workers
    moved = [d.disposition for d in world.mailbox.log if d.committed]
    assert moved == [Move("Processed")] * 24
    assert world.mailbox.ids() == []


def test_replies_wait_for_their_conversation_and_keep_its_order(world):
    world.mailbox.add(mail("printer A", message_id="a"))
    for n in range(6):
        world.mailbox.add(mail(f"printer filler {n}", message_id=f"f{n}"))
    world.mailbox.add(reply("Re: printer A", "first answer", "a1", "a"))
    world.mailbox.add(mail("printer B", message_id="b"))
    world.mailbox.add(reply("Re: printer A", "second answer", "a2", "a", "a1"))
    world.mailbox.add(reply("Re: printer B", "about B", "b1", "b"))
    world.mailbox.add(reply("Re: printer A", "third, to the first mail only", "a3", "a"))
    summary = world.sync()
    found = issues_by_title(world)
    assert [c.text for c in found["printer A"].comments] == [
        "first answer",
        "second answer",
        "third, to the first mail only",
    ]
    assert [c.text for c in found["printer B"].comments] == ["about B"]
    assert (summary.created, summary.commented) == (8, 4)


def test_a_subject_number_of_an_issue_made_earlier_in_the_same_run_is_answered(world):
    # No In-Reply-To: only "[#N]" says which issue. The issue is made by the first message
    # of this very run, so the reply must wait for everything before it.
    next_key = world.tracker.state().next_id
    world.mailbox.add(mail("printer jam", message_id="jam"))
    world.mailbox.add(mail(f"Re: [#{next_key}] printer jam", "Still jammed", message_id="r"))
    world.sync()
    (issue,) = world.tracker.issues().values()
    assert issue.key == str(next_key)
    assert [c.text for c in issue.comments] == ["Still jammed"]


def test_the_same_message_twice_in_the_folder_becomes_one_issue(world):
    raw = mail("printer twice", message_id="twice")
    for _ in range(3):
        world.mailbox.add(raw)
    summary = world.sync()
    assert len(world.tracker.issues()) == 1
    assert summary.fetched == 3
    assert world.mailbox.ids() == []


def test_unknown_senders_with_create_user_are_made_once(world):
    world.policies += "\n    unknown_user: create_user"
    stranger = "Stan Ger <stan@example.org>"
    for n in range(6):
        world.mailbox.add(mail(f"printer {n}", sender=stranger, message_id=f"s{n}"))
    world.sync()
    assert len(issues_by_title(world)) == 6
    # One sender's mail is handled in order: the first makes the account, the others find
    # it. Handled at once, several would have looked, found nobody, and made it again.
    assert len(world.tracker.calls("create_user")) == 1
    made = [u for u in world.tracker.state().users.values() if u.email == "stan@example.org"]
    assert len(made) == 1


def test_a_connection_error_stops_the_run_and_leaves_the_rest_for_the_next(world):
    for n in range(12):
        world.mailbox.add(mail(f"printer {n}", message_id=f"u{n}"))
    world.tracker.fail("create_issue", FaultKind.UNREACHABLE, times=1)
    with pytest.raises(Unreachable):
        world.sync()
    done_first = len(world.tracker.issues())
    assert done_first < 12
    summary = world.sync()
    assert len(world.tracker.issues()) == 12  # every message, none twice
    assert summary.created == 12 - done_first
    assert world.mailbox.ids() == []


def test_a_crash_after_the_write_never_makes_a_second_issue(world):
    for n in range(8):
        world.mailbox.add(mail(f"printer {n}", message_id=f"c{n}"))
    world.crash_at = "after_write"
    with pytest.raises(Crash):
        world.sync()
    world.crash_at = None
    world.sync()
    titles = [issue.title for issue in world.tracker.issues().values()]
    assert sorted(titles) == sorted(f"printer {n}" for n in range(8))
    assert world.mailbox.ids() == []


def test_a_permanent_failure_is_counted_and_the_others_go_on(world):
    for n in range(6):
        world.mailbox.add(mail(f"printer {n}", message_id=f"p{n}"))
    world.tracker.fail("create_issue", FaultKind.PERMANENT, times=1)
    summary = world.sync()
    assert (summary.created, summary.failed) == (5, 1)
    assert len(world.mailbox.ids()) == 1  # the failed one stays for the next run


def test_dry_run_ignores_workers(world):
    for n in range(3):
        world.mailbox.add(mail(f"printer {n}", message_id=f"d{n}"))
    summary = world.sync(dry_run=True)
    assert len(summary.planned) == 3
    assert world.tracker.issues() == {}


class Unsafe(RecordingAdapter):
    thread_safe = False


def test_workers_need_a_thread_safe_adapter():
    assert workers_problem("inbox", 1, Unsafe()) is None
    assert workers_problem("inbox", 4, RecordingAdapter()) is None
    problem = workers_problem("inbox", 4, Unsafe())
    assert problem is not None
    assert "workers: 4 needs an adapter that may be called from several threads" in problem
    assert problem.endswith("(thread_safe); use workers: 1")


def test_check_reports_workers_an_adapter_cannot_take_with_the_line(tmp_path):
    text = """version: 1
trackers:
  rec: {adapter: recording}
mailboxes:
  inbox:
    protocol: maildir
    path: /unused
    tracker: rec
    workers: 3
    rules: [{then: [{create_issue: {project: it}}]}]
"""
    loaded = load_config_text(text, "rules.yaml")
    [problem] = capability_problems(loaded, {"rec": Unsafe()})
    assert "rules.yaml:9:" in str(problem)
    assert "workers: 3" in str(problem)
    assert capability_problems(loaded, {"rec": RecordingAdapter()}) == []


def test_workers_out_of_range_is_a_configuration_error():
    text = """version: 1
trackers:
  rec: {adapter: recording}
mailboxes:
  inbox: {protocol: maildir, path: /unused, tracker: rec, workers: 0}
rules: [{then: [{create_issue: {project: it}}]}]
"""
    with pytest.raises(ConfigFileError) as raised:
        load_config_text(text, "rules.yaml")
    assert [str(p) for p in raised.value.problems] == [
        "rules.yaml:5:68: mailboxes.inbox.workers: input should be greater than or equal to 1"
    ]


def test_a_connection_dropped_while_fetching_is_reported_as_such(world):
    for n in range(5):
        world.mailbox.add(mail(f"printer {n}", message_id=f"x{n}"))
    world.mailbox.fail_next("fetch", Unreachable("IMAP connection dropped"))
    world.mailbox.fail_next("dispose", Unreachable("no connection for the disposal"))
    with pytest.raises(Unreachable, match="IMAP connection dropped"):  # the cause, not a sequel
        world.sync()
    assert len(world.tracker.issues()) == 1  # the first message was handed out already
    world.sync()
    assert len(world.tracker.issues()) == 5  # the next run does the rest, the first once
    assert world.mailbox.ids() == []
