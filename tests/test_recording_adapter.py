"""The recording tracker: it passes the conformance kit, fails on demand, and persists."""

import json
import multiprocessing
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

import pytest

from tracker_mail_plugin.adapter import (
    Capability,
    CommentRef,
    IssueRef,
    NewComment,
    NewIssue,
    Permission,
    Requirements,
    Upload,
    UserRef,
)
from tracker_mail_plugin.config.secrets import Secret
from tracker_mail_plugin.errors import (
    ConfigurationError,
    PermanentError,
    RetryLater,
    UnknownOutcome,
    Unreachable,
    UnsupportedAction,
)
from tracker_mail_plugin.mail import ReferenceCandidate, RefKind
from tracker_mail_plugin.testing import (
    AdapterContract,
    Call,
    Fault,
    FaultKind,
    RecordingAdapter,
    RecordingConfig,
    TrackerFailure,
    answer_lost_proxy,
    failing_server,
)
from tracker_mail_plugin.testing.store import StateStore

SECRET = "rec-token-5f2a9c71"  # noqa: S105 - made up; the tests look for leaks of it
FORK = multiprocessing.get_context("fork")


class TestRecordingContract(AdapterContract):
    adapter_class = RecordingAdapter

    def valid_config(self):
        return {"identity": "tracker-bot", "token": Secret(value=SECRET)}

    def secret_values(self):
        return [SECRET]

    def make_adapter(self):
        adapter = super().make_adapter()
        adapter.add_project(self.project)
        return adapter

    @contextmanager
    def failing(self, failure):
        adapter = self.make_adapter()
        adapter.fail("*", FaultKind(failure.value), times=None)
        yield adapter

    @contextmanager
    def lose_answer(self, adapter, new):
        adapter.fail("create_issue", FaultKind.SUCCEED_THEN_UNKNOWN)
        yield adapter

    def project_member(self, adapter):
        member = adapter.add_user("member@example.com")
        adapter.grant(member, self.project, Permission.CREATE_ISSUE)
        return member


class TestRecordingContractWithStateFile(TestRecordingContract):
    @pytest.fixture(autouse=True)
    def _state_dir(self, tmp_path):
        self.state_dir = tmp_path

    def valid_config(self):
        return super().valid_config() | {"state_file": str(self.state_dir / "tracker.json")}


class TestRestrictedRecordingContract(TestRecordingContract):
    """Declares no optional capability: each optional method must refuse."""

    adapter_class = RecordingAdapter.with_capabilities()


def new_issue(key="tm-1", project="support", **fields):
    return NewIssue(
        project=project, title="Printer on fire", text="Help", idempotency_key=key, **fields
    )


@pytest.fixture
def tracker():
    adapter = RecordingAdapter()
    adapter.add_project("support", issue_types=["Bug", "Task"])
    return adapter


# -- failure injection ---------------------------------------------------------------------


def test_the_next_n_calls_fail_then_calls_succeed(tracker):
    tracker.fail("find_user", FaultKind.RETRY_LATER, times=2, seconds=30)
    for _ in range(2):
        with pytest.raises(RetryLater) as caught:
            tracker.find_user("a@example.com")
        assert caught.value.retry_after == 30
    assert tracker.find_user("a@example.com") is None
    assert [call.method for call in tracker.calls()] == ["find_user"] * 3


def test_every_call_fails_until_cleared(tracker):
    tracker.fail("*", FaultKind.UNREACHABLE, times=None)
    for attempt in (lambda: tracker.check(), lambda: tracker.get_issue(IssueRef("recording", "1"))):
        with pytest.raises(Unreachable):
            attempt()
    tracker.clear_faults()
    assert tracker.check().ok


@pytest.mark.parametrize(
    ("kind", "read", "write"),
    [
        (FaultKind.RETRY_LATER, RetryLater, RetryLater),
        (FaultKind.UNREACHABLE, Unreachable, Unreachable),
        (FaultKind.PERMANENT, PermanentError, PermanentError),
        (FaultKind.UNKNOWN_OUTCOME, UnknownOutcome, UnknownOutcome),
        (FaultKind.SERVER_ERROR, RetryLater, UnknownOutcome),
        (FaultKind.TIMEOUT, Unreachable, UnknownOutcome),
        (FaultKind.UNAUTHORIZED, ConfigurationError, ConfigurationError),
    ],
)
def test_each_fault_raises_its_error(tracker, kind, read, write):
    tracker.fail("*", kind, times=2)
    with pytest.raises(read):
        tracker.find_user("a@example.com")
    with pytest.raises(write) as caught:
        tracker.create_issue(new_issue())
    assert type(caught.value) is write
    assert tracker.issues() == {}


def test_hang_sleeps_and_then_answers(tracker, monkeypatch):
    tracker.fail("get_issue", FaultKind.HANG, seconds=0.3)
    started = time.monotonic()
    assert tracker.get_issue(IssueRef("recording", "404")) is None
    assert time.monotonic() - started >= 0.3
    assert tracker.state().faults == []  # used up
    # The next call does not sleep at all (said without a clock: a loaded machine may take
    # longer than the hang over a call that never sleeps).
    monkeypatch.setattr(time, "sleep", lambda seconds: pytest.fail(f"slept {seconds}s"))
    assert tracker.get_issue(IssueRef("recording", "404")) is None


def _hang_in_a_thread(tracker):
    done = []
    thread = threading.Thread(
        target=lambda: done.append(tracker.get_issue(IssueRef("recording", "404"))), daemon=True
    )
    thread.start()
    return thread, done


@pytest.mark.parametrize("shared", [False, True])
def test_release_hangs_ends_a_hang_under_way(tmp_path, shared):
    state_file = tmp_path / "tracker.json" if shared else None
    hanging = RecordingAdapter(RecordingConfig(state_file=state_file))
    # Shared: released through the file, by another instance (as a test releases a child's).
    releasing = RecordingAdapter(RecordingConfig(state_file=state_file)) if shared else hanging
    hanging.fail("get_issue", FaultKind.HANG, seconds=600)
    thread, done = _hang_in_a_thread(hanging)
    deadline = time.monotonic() + 60
    while not releasing.calls("get_issue"):
        assert time.monotonic() < deadline, "the call never came"
        time.sleep(0.01)
    releasing.release_hangs()
    thread.join(120)  # far below the hang: only the release ends it in time
    assert not thread.is_alive()
    assert done == [None]  # answered normally
    assert releasing.state().releases == 1


def test_a_release_ends_the_hang_of_a_call_made_before_it_however_late_it_hangs(monkeypatch):
    tracker = RecordingAdapter()
    tracker.fail("get_issue", FaultKind.HANG, seconds=600)
    record = tracker.store.record

    def record_then_release(call):  # the test saw the call and released before the hang
        record(call)
        tracker.release_hangs()

    monkeypatch.setattr(tracker.store, "record", record_then_release)
    thread, done = _hang_in_a_thread(tracker)
    thread.join(120)
    assert not thread.is_alive()
    assert done == [None]


def test_succeed_then_unknown_creates_the_issue_and_loses_the_answer(tracker):
    tracker.fail("create_issue", FaultKind.SUCCEED_THEN_UNKNOWN)
    with pytest.raises(UnknownOutcome):
        tracker.create_issue(new_issue(key="tm-crash"))
    found = tracker.find_by_key("tm-crash")
    assert found == IssueRef("recording", "1")
    assert found.project == "support"
    assert list(tracker.issues()) == ["1"]


def test_configured_faults_belong_to_one_instance(tmp_path):
    shared = str(tmp_path / "tracker.json")
    fault = Fault(method="check", kind=FaultKind.PERMANENT, times=1)
    broken = RecordingAdapter(RecordingConfig(state_file=shared, faults=(fault,)))
    healthy = RecordingAdapter(RecordingConfig(state_file=shared))
    with pytest.raises(PermanentError):
        broken.check()
    assert healthy.check().ok
    assert broken.check().ok  # the configured fault was for one call


def test_check_logs_without_the_token(caplog):
    adapter = RecordingAdapter(RecordingConfig(identity="bot", token=Secret(value=SECRET)))
    with caplog.at_level("INFO"):
        report = adapter.check()
    assert "checking the recording tracker as bot (token ***)" in caplog.text
    assert report.facts == {"version": "recording-1", "identity": "bot", "issues": "0"}


# -- the tracker's behaviour ---------------------------------------------------------------


def test_permissions_follow_members_public_actions_and_kinds(tracker):
    alice = tracker.add_user("Alice@Example.com", "Alice", "alice")
    assert tracker.find_user("alice@example.COM") == alice
    assert alice == UserRef(alice.id, "alice", "Alice", "Alice@Example.com")
    assert not tracker.can(alice, Permission.CREATE_ISSUE, "support")
    tracker.grant(alice, "support", Permission.CREATE_ISSUE, Permission.COMMENT)
    assert tracker.can(alice, Permission.CREATE_ISSUE, "support", issue_type="Bug")
    assert not tracker.can(alice, Permission.CREATE_ISSUE, "support", issue_type="Epic")
    assert not tracker.can(alice, Permission.CREATE_REQUEST, "support")
    assert not tracker.can(alice, Permission.CREATE_ISSUE, "no-such-project")
    assert not tracker.can(None, Permission.CREATE_REQUEST, "desk")
    tracker.add_project("desk", public=[Permission.CREATE_REQUEST])
    assert tracker.can(None, Permission.CREATE_REQUEST, "desk")


def test_issues_keep_every_field_and_the_uploaded_bytes(tracker, tmp_path):
    reporter = tracker.add_user("bob@example.com")
    watcher = tracker.add_user("carol@example.com")
    path = tmp_path / "log.txt"
    path.write_bytes(b"line\n" * 1000)
    new = new_issue(
        issue_type="Bug",
        priority="High",
        labels=("mail",),
        assignee="alice",
        custom_fields={"Customer": "ACME"},
        private=True,
        watchers=(watcher,),
        reporter=reporter,
        attachments=(Upload.from_bytes("a.txt", b"abc"), Upload.from_path(path)),
    )
    ref = tracker.create_issue(new)
    stored = tracker.issues()[ref.key]
    assert (stored.title, stored.issue_type, stored.priority, stored.labels) == (
        "Printer on fire",
        "Bug",
        "High",
        ["mail"],
    )
    assert (stored.reporter, stored.watchers, stored.private) == (reporter.id, [watcher.id], True)
    assert stored.custom_fields == {"Customer": "ACME"}
    assert [(f.filename, f.size, f.sha256) for f in stored.attachments] == [
        (u.filename, u.size, u.sha256) for u in new.attachments
    ]


def test_refused_issues_are_permanent_errors(tracker):
    with pytest.raises(PermanentError, match="no project 'nowhere'"):
        tracker.create_issue(new_issue(project="nowhere"))
    with pytest.raises(PermanentError, match="no issue type 'Epic'"):
        tracker.create_issue(new_issue(issue_type="Epic"))
    assert tracker.issues() == {}


def test_undeclared_features_are_refused():
    plain = RecordingAdapter.with_capabilities(Capability.CREATE_USER)()
    plain.add_project("support")
    assert plain.supports(Capability.CREATE_USER)
    assert not plain.supports(Capability.CREATE_REQUEST)
    with pytest.raises(UnsupportedAction) as caught:
        plain.create_issue(new_issue(request=True))
    assert caught.value.capability == "create_request"
    issue = plain.create_issue(new_issue())
    with pytest.raises(UnsupportedAction):
        plain.add_comment(issue, NewComment("private note", "tm-c", private=True))
    with pytest.raises(UnsupportedAction):
        plain.reopen_issue(issue)


def test_comments_are_found_by_key_and_need_an_issue(tracker):
    issue = tracker.create_issue(new_issue())
    comment = tracker.add_comment(issue, NewComment("Thanks", "tm-c1"))
    assert comment == CommentRef(issue, comment.id)
    assert tracker.find_by_key("tm-c1") == comment
    assert tracker.find_by_key("tm-unknown") is None
    with pytest.raises(PermanentError, match="no issue 99"):
        tracker.add_comment(IssueRef("recording", "99"), NewComment("x", "tm-c2"))


def test_project_files_are_idempotent_on_their_key(tracker):
    upload = Upload.from_bytes("message.eml", b"From: a\r\n\r\nhi", "message/rfc822")
    first = tracker.attach_to_project("support", upload, "tm-f")
    assert tracker.attach_to_project("support", upload, "tm-f") == first
    assert [f.filename for f in tracker.project_files("support")] == ["message.eml"]


def test_created_users_can_report_and_closed_issues_reopen(tracker):
    user = tracker.create_user("new@example.com", "New Person", "support")
    assert tracker.can(user, Permission.CREATE_ISSUE, "support")
    assert tracker.create_user("NEW@example.com", "Again", "support") == user
    issue = tracker.create_issue(new_issue())
    tracker.close_issue(issue.key)
    assert tracker.get_issue(issue).closed
    tracker.reopen_issue(issue)
    state = tracker.get_issue(issue)
    assert (state.ref, state.project, state.closed) == (issue, "support", False)


@pytest.mark.parametrize(
    ("kind", "text", "number", "expected"),
    [
        (RefKind.NUMBER, "#12", 12, "12"),
        (RefKind.TRACKER_TAG, "[Support - Bug #7]", 7, "7"),
        (RefKind.MESSAGE_ID, "recording.issue-31.20261101@tracker.example", None, "31"),
        (RefKind.MESSAGE_ID, "redmine.issue-31.20261101@tracker.example", None, None),
        (RefKind.JIRA_KEY, "ABC-12", 12, None),
    ],
)
def test_parse_reference(kind, text, number, expected):
    candidate = ReferenceCandidate(kind=kind, source="subject", text=text, number=number)
    parsed = RecordingAdapter().parse_reference(candidate)
    assert parsed == (IssueRef("recording", expected) if expected else None)


def test_calls_are_recorded_with_their_arguments(tracker):
    tracker.create_issue(new_issue(key="tm-x"))
    tracker.find_by_key("tm-x")
    assert [(c.method, c.args) for c in tracker.calls()] == [
        ("create_issue", {"project": "support", "title": "Printer on fire", "key": "tm-x"}),
        ("find_by_key", {"key": "tm-x"}),
    ]
    assert len(tracker.calls("find_by_key")) == 1


# -- persistence ---------------------------------------------------------------------------


def test_state_file_is_shared_and_outlives_the_adapter(tmp_path):
    path = tmp_path / "state" / "tracker.json"
    first = RecordingAdapter(RecordingConfig(state_file=path))
    first.add_project("support")
    ref = first.create_issue(new_issue(key="tm-p"))
    second = RecordingAdapter(RecordingConfig(state_file=path))
    assert second.find_by_key("tm-p") == ref
    second.fail("find_by_key", FaultKind.UNREACHABLE)
    with pytest.raises(Unreachable):  # faults set through one instance reach the other
        first.find_by_key("tm-p")
    assert json.loads(path.read_text())["issues"]["1"]["idempotency_key"] == "tm-p"


def test_the_state_its_calls_and_its_lock_are_private_to_their_owner(tmp_path):
    # The calls log holds what the mail said (texts, attachments' names): 0600, as the state.
    path = tmp_path / "tracker.json"
    tracker = RecordingAdapter(RecordingConfig(state_file=path))
    tracker.add_project("support")
    tracker.create_issue(new_issue(key="tm-private"))
    files = [path, path.with_name("tracker.json.calls"), path.with_name("tracker.json.lock")]
    assert {f.name: oct(f.stat().st_mode & 0o777) for f in files} == {
        f.name: "0o600" for f in files
    }


def test_memory_state_is_unchanged_by_a_failed_call(tracker):
    tracker.create_issue(new_issue(key="tm-ok"))
    with pytest.raises(PermanentError):
        tracker.add_comment(IssueRef("recording", "404"), NewComment("x", "tm-c"))
    assert tracker.state().next_id == 2


def _create_many(path, worker, count):
    adapter = RecordingAdapter(RecordingConfig(state_file=path))
    for number in range(count):
        adapter.create_issue(new_issue(key=f"tm-{worker}-{number}"))


def test_two_processes_share_one_state_file_without_losing_writes(tmp_path):
    path = tmp_path / "tracker.json"
    RecordingAdapter(RecordingConfig(state_file=path)).add_project("support")
    workers = [FORK.Process(target=_create_many, args=(path, w, 40)) for w in "ab"]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [worker.exitcode for worker in workers] == [0, 0]
    issues = RecordingAdapter(RecordingConfig(state_file=path)).issues()
    assert sorted(issue.key for issue in issues.values()) == sorted(str(n) for n in range(1, 81))
    assert len({issue.idempotency_key for issue in issues.values()}) == 80


def _create_forever(path):
    adapter = RecordingAdapter(RecordingConfig(state_file=path))
    number = 0
    while True:
        adapter.create_issue(new_issue(key=f"tm-{number}"))
        number += 1


def test_state_survives_a_sigkilled_process(tmp_path):
    path = tmp_path / "tracker.json"
    setup = RecordingAdapter(RecordingConfig(state_file=path))
    setup.add_project("support")
    child = FORK.Process(target=_create_forever, args=(path,))
    child.start()
    deadline = time.monotonic() + 60
    while len(setup.issues()) < 20:
        assert time.monotonic() < deadline, "the child made no progress"
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    issues = setup.issues()  # the file parses: every write was whole
    assert len(issues) >= 20
    assert [issues[str(n)].idempotency_key for n in range(1, len(issues) + 1)] == [
        f"tm-{n}" for n in range(len(issues))
    ]
    assert setup.find_by_key("tm-0") == IssueRef("recording", "1")


def test_failing_server_answers_with_the_failure():
    for failure, status in ((TrackerFailure.SERVER_ERROR, 500), (TrackerFailure.UNAUTHORIZED, 401)):
        with failing_server(failure) as url, pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"{url}/issues.json", timeout=5)  # noqa: S310
        assert caught.value.code == status
    with failing_server(TrackerFailure.TIMEOUT) as url, pytest.raises(TimeoutError):
        urllib.request.urlopen(f"{url}/issues.json", timeout=0.3)  # noqa: S310


def test_answer_lost_proxy_relays_reads_and_loses_the_answers_of_writes():
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    received = []

    class Upstream(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def do_POST(self):
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    Thread(target=upstream.serve_forever, daemon=True).start()
    try:
        with answer_lost_proxy(f"http://127.0.0.1:{upstream.server_address[1]}/api") as url:
            assert urllib.request.urlopen(f"{url}/issues", timeout=5).read() == b"ok"  # noqa: S310
            with pytest.raises((urllib.error.URLError, ConnectionError)):
                urllib.request.urlopen(f"{url}/issues", data=b'{"a": 1}', timeout=5)  # noqa: S310
    finally:
        upstream.shutdown()
        upstream.server_close()
    assert (
        received == [b'{"a": 1}']
    )  # the write was done; only its answer was lost ---------------------------------------------------


def test_a_tracker_without_projects_accepts_any_project_open_to_anyone():
    tracker = RecordingAdapter()
    assert tracker.can(None, Permission.CREATE_ISSUE, "demo", "Bug")
    ref = tracker.create_issue(new_issue(key="tm-demo", project="demo", issue_type="Bug"))
    assert tracker.get_issue(ref).project == "demo"
    assert tracker.can(None, Permission.COMMENT, "elsewhere")  # still open: made on demand
    needs = Requirements(issues=frozenset({("demo", None), ("sales", "Task")}))
    assert tracker.check(needs).ok


def test_the_projects_option_names_the_only_projects():
    tracker = RecordingAdapter(RecordingConfig(projects=("demo",)))
    assert tracker.can(None, Permission.CREATE_ISSUE, "demo")
    assert not tracker.can(None, Permission.CREATE_ISSUE, "sales")
    tracker.create_issue(new_issue(key="tm-demo", project="demo"))
    with pytest.raises(PermanentError, match="no project 'sales'"):
        tracker.create_issue(new_issue(key="tm-sales", project="sales"))
    needs = Requirements(issues=frozenset({("demo", None), ("sales", None)}))
    assert tracker.check(needs).problems == ("there is no project 'sales'",)


def test_declaring_a_project_ends_accepting_any():
    tracker = RecordingAdapter()
    tracker.create_issue(new_issue(key="tm-demo", project="demo"))
    tracker.add_project("support")
    assert not tracker.can(None, Permission.CREATE_ISSUE, "sales")
    assert tracker.can(None, Permission.CREATE_ISSUE, "demo")  # made before: it stays


def test_sync_into_a_recording_tracker_without_projects_creates_issues(tmp_path):
    from tests.mailfactory import raw_mail
    from tracker_mail_plugin.commands.sync import SyncOptions, sync
    from tracker_mail_plugin.config.loader import load_config_text

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.eml").write_bytes(raw_mail({"Subject": "printer on fire"}))
    state = tmp_path / "tracker.json"
    text = f"""\
version: 1
journal: {tmp_path}/journal.sqlite3
trackers:
  trial: {{adapter: recording, state_file: {state}}}
mailboxes:
  inbox:
    protocol: directory
    path: {tmp_path}/in
    tracker: trial
    unknown_user: as_rule_owner
    rules: ["then create issue in project demo"]
"""
    summaries, code = sync(
        load_config_text(text, str(tmp_path / "rules.yaml")), ["inbox"], SyncOptions()
    )
    assert (code, summaries[0].created) == (0, 1)
    issues = RecordingAdapter(RecordingConfig(state_file=state)).issues()
    assert [(issue.project, issue.title) for issue in issues.values()] == [
        ("demo", "printer on fire")
    ]


# -- the state store -----------------------------------------------------------------------


def test_an_instance_sees_what_another_wrote_after_its_last_read(tmp_path):
    path = tmp_path / "tracker.json"
    reader, writer = (RecordingAdapter(RecordingConfig(state_file=path)) for _ in range(2))
    writer.add_project("support")
    assert reader.find_by_key("tm-late") is None
    ref = writer.create_issue(new_issue(key="tm-late"))
    assert reader.find_by_key("tm-late") == ref


def test_a_failed_call_leaves_the_file_state_unchanged(tmp_path):
    tracker = RecordingAdapter(RecordingConfig(state_file=tmp_path / "tracker.json"))
    tracker.add_project("support", issue_types=["Bug"])
    with pytest.raises(PermanentError):
        tracker.create_issue(new_issue(key="tm-no", issue_type="Idea"))
    assert (tracker.issues(), tracker.state().next_id) == ({}, 1)


def test_reads_do_not_rewrite_the_state_file(tmp_path):
    path = tmp_path / "tracker.json"
    tracker = RecordingAdapter(RecordingConfig(state_file=path))
    tracker.add_project("support")
    saved = path.stat().st_ino
    tracker.find_user("nobody@example.com")
    tracker.find_by_key("tm-none")
    assert path.stat().st_ino == saved
    assert [call.method for call in tracker.calls()] == ["find_user", "find_by_key"]


@pytest.mark.parametrize("suffix", [".lock", ".calls"])
def test_a_symlink_planted_beside_the_state_file_is_not_followed(tmp_path, suffix):
    # Another user of a shared folder points the name at a file of ours: writing through
    # it would overwrite that file (the lock) or append the mail's text to it (the calls).
    ours = tmp_path / "ours.txt"
    ours.write_text("keep me\n")
    (tmp_path / f"tracker.json{suffix}").symlink_to(ours)
    store = StateStore(tmp_path / "tracker.json")
    call = Call(method="create_issue", args={"title": "secret plans"})
    with pytest.raises(OSError, match="symbolic links"):
        store.record(call)  # holds the lock, then appends
    assert ours.read_text() == "keep me\n"
