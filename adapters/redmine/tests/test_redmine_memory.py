"""What the run remembers of issues, and for how long (no server needed)."""

from __future__ import annotations

from tracker_mail_plugin_redmine.memory import CREATED_SECONDS, IssueMemory, Sight

ISSUE = {"id": 7, "project": {"id": 2}, "tracker": {"id": 1}, "author": {"id": 5}}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_created_issue_stands_for_now_only_within_its_window() -> None:
    clock = Clock()
    memory = IssueMemory(CREATED_SECONDS, clock)
    memory.keep(ISSUE)
    clock.now += CREATED_SECONDS
    assert memory.recall(7) == ISSUE
    assert memory.recall(7) == ISSUE  # recalled as often as replies come
    clock.now += 0.1
    assert memory.recall(7) is None


def test_a_taken_read_is_gone_and_a_forgotten_issue_too() -> None:
    memory = IssueMemory(30.0)
    memory.keep(ISSUE)
    assert memory.take(7) == ISSUE
    assert memory.take(7) is None
    memory.keep(ISSUE)
    memory.forget(7)
    assert memory.recall(7) is None


def test_sight_is_kept_per_user_project_and_tracker() -> None:
    sight = Sight()
    others = ISSUE | {"author": {"id": 9}}
    sight.saw(5, others)  # not hers, unassigned, public: she sees public issues there
    assert sight.sees(5, ISSUE | {"id": 8, "author": {"id": 3}})
    assert not sight.sees(5, others | {"is_private": True})
    assert not sight.sees(5, others | {"tracker": {"id": 2}})
    assert not sight.sees(5, others | {"project": {"id": 3}})
    assert not sight.sees(6, others)


def test_an_assigned_issue_proves_only_ones_own() -> None:
    sight = Sight()
    # The assignee may be a group of hers: her role may be "own issues only".
    sight.saw(5, ISSUE | {"author": {"id": 9}, "assigned_to": {"id": 40}})
    assert sight.sees(5, ISSUE)  # her own
    assert sight.sees(5, ISSUE | {"author": {"id": 9}, "assigned_to": {"id": 5}})
    assert not sight.sees(5, ISSUE | {"author": {"id": 9}})
