"""The pipeline's own rules: the state table, dispositions, exit codes, one parse per message."""

import hashlib

import pytest

from tests.mailfactory import raw_mail
from tests.synchelpers import World
from tracker_mail_plugin.config.model import ForwardTo, MoveTo
from tracker_mail_plugin.errors import ExitCode
from tracker_mail_plugin.forward import forwarding_message
from tracker_mail_plugin.journal import Journal
from tracker_mail_plugin.journal.rows import TRANSITIONS, MessageState
from tracker_mail_plugin.mail import parse_message
from tracker_mail_plugin.pipeline import run
from tracker_mail_plugin.pipeline.checkpoints import KILL_AT_ENV, Checkpoint, kill_if_asked
from tracker_mail_plugin.pipeline.disposal import disposition_for
from tracker_mail_plugin.pipeline.states import IllegalTransition, StateKeeper
from tracker_mail_plugin.rules.decide import Decision
from tracker_mail_plugin.sources.base import Delete, FlagSeen, Leave, Move

S = MessageState


@pytest.fixture
def keeper(tmp_path):
    with Journal.open(tmp_path / "journal.sqlite3") as journal:
        yield StateKeeper(journal)


def fetched(keeper, number=1):
    message = parse_message(raw_mail({"Message-ID": f"<m{number}@example.com>"}, "Hi"))
    return keeper.fetched("inbox", "test", f"id-{number}", message, 10)


def state_of(keeper, row):
    return keeper.journal.get(row.id).state


def decision():
    return Decision("act", (), "r", None, None, (), ())


def test_the_table_names_every_state():
    assert set(TRANSITIONS) == set(MessageState)
    assert all(targets <= set(MessageState) for targets in TRANSITIONS.values())


def test_the_normal_way_is_allowed_and_journalled(keeper):
    row = fetched(keeper)
    keeper.decided(row, decision())
    keeper.acted(row)
    keeper.disposed(row, "move to 'Processed'", removed=True)
    assert state_of(keeper, row) == S.DISPOSED


def test_a_skipped_step_is_refused_and_nothing_is_written(keeper):
    row = fetched(keeper)
    with pytest.raises(IllegalTransition, match="from fetched to acted"):
        keeper.acted(row)
    assert state_of(keeper, row) == S.FETCHED
    keeper.decided(row, decision())
    keeper.acted(row)
    with pytest.raises(IllegalTransition, match="from acted to quarantined"):
        keeper.quarantined(row, "no")
    assert state_of(keeper, row) == S.ACTED


def test_disposal_keeps_the_reason_a_message_was_moved(keeper):
    unprocessed, quarantined = fetched(keeper, 1), fetched(keeper, 2)
    keeper.unprocessed(unprocessed, "sender unknown")
    assert keeper.failed(quarantined, "HTTP 400") == 1
    keeper.quarantined(quarantined, "HTTP 400")
    for row in (unprocessed, quarantined):
        keeper.disposed(row, "move to 'Elsewhere'", removed=True)
    assert (state_of(keeper, unprocessed), state_of(keeper, quarantined)) == (
        S.UNPROCESSED,
        S.QUARANTINED,
    )


def test_retry_makes_any_ending_new_again(keeper):
    row = fetched(keeper)
    keeper.unprocessed(row, "not now")
    again = keeper.requeue(row)
    assert again.state == S.FETCHED
    keeper.decided(row, decision())  # the way starts over
    assert state_of(keeper, row) == S.DECIDED


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("leave", Leave()),
        ("delete", Delete()),
        ("flag_seen", FlagSeen()),
        (MoveTo(move="Done"), Move("Done")),
        (ForwardTo(forward="help@example.com"), Leave()),
    ],
)
def test_one_conversion_from_policy_to_disposition(policy, expected):
    assert disposition_for(policy) == expected


def test_configuration_outranks_an_outage_in_every_command():
    codes = [ExitCode.UNREACHABLE, ExitCode.CONFIGURATION, ExitCode.SOME_FAILED]
    assert ExitCode.worst(codes) == ExitCode.CONFIGURATION
    assert ExitCode.worst([ExitCode.OK, ExitCode.UNREACHABLE]) == ExitCode.UNREACHABLE
    assert ExitCode.worst([]) == ExitCode.OK


def test_checkpoints_keep_the_names_crash_tests_set(monkeypatch):
    assert [c.value for c in Checkpoint] == [
        "after_fetch",
        "after_write",
        "after_record",
        "before_commit",
        "before_dispose",
        "after_dispose",
    ]
    monkeypatch.setenv(KILL_AT_ENV, "after_record")
    kill_if_asked(Checkpoint.AFTER_WRITE)  # another checkpoint: the process lives on


@pytest.mark.parametrize("workers", [1, 2])
def test_each_message_is_parsed_once_even_when_forwarded(tmp_path, monkeypatch, workers):
    calls = []
    digests = []

    def counting(raw, sha256=None):
        calls.append(raw)
        digests.append(sha256)
        return parse_message(raw, sha256)

    monkeypatch.setattr(run, "parse_message", counting)
    monkeypatch.setattr("tracker_mail_plugin.forward.parse_message", counting)
    policies = f"    workers: {workers}\n    on_unprocessed: {{forward: triage@example.com}}"
    world = World(tmp_path, policies=policies)
    sent = []

    def forward(message, raw, to, reason):
        sent.append(forwarding_message(raw, "tm@example.com", to, reason, "inbox", message))

    world._forward = forward  # type: ignore[method-assign]
    for number in range(3):
        fields = {"From": "Alice <alice@example.com>", "Message-ID": f"<p{number}@example.com>"}
        world.mailbox.add(raw_mail(fields | {"Subject": f"printer {number}"}, "Broken"))
    world.mailbox.add(raw_mail({"From": "x@nowhere.example", "Subject": "other"}, "?"))
    summary = world.sync()
    assert (summary.created, summary.unprocessed, summary.forwarded) == (3, 1, 1)
    assert len(sent) == 1
    assert len(calls) == 4
    # the digest journalled on arrival is handed to the parser: a message is hashed once
    assert digests == [hashlib.sha256(raw).hexdigest() for raw in calls]
