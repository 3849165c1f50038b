"""A run stopped by a broken configuration or an outage keeps what it finished, says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.synchelpers import World
from tests.test_poison import mail
from tracker_mail_plugin.adapter import NewIssue
from tracker_mail_plugin.errors import ConfigurationError, TrackerMailError, Unreachable
from tracker_mail_plugin.journal.rows import MessageState
from tracker_mail_plugin.sources.base import Move

RULES = """
      - name: everything
        then: [{create_issue: {project: it}}]
"""


@pytest.mark.parametrize(
    "error",
    [
        ConfigurationError("Redmine has no project 'sales'"),
        Unreachable("tracker: connection refused"),
    ],
)
def test_the_mail_finished_before_the_stop_leaves_and_the_stopping_one_says_why(
    tmp_path: Path, error: TrackerMailError
) -> None:
    world = World(tmp_path, rules=RULES)
    real = world.tracker.create_issue

    def create(issue: NewIssue) -> object:
        if "quote" in issue.title:
            raise error
        return real(issue)

    world.tracker.create_issue = create  # type: ignore[method-assign]
    for subject in ("printer one", "printer two", "a quote", "printer four"):
        world.mailbox.add(mail(subject))

    with pytest.raises(type(error)):
        world.sync()

    # The two finished before the stop are out of the mailbox, journalled as such...
    committed = [(d.id, d.disposition) for d in world.mailbox.log if d.committed]
    assert committed == [("1:1", Move("Processed")), ("1:2", Move("Processed"))]
    rows = {row.subject: row for row in world.journal.listing()}
    assert rows["printer one"].state == rows["printer two"].state == MessageState.DISPOSED
    # ...and the one that stopped it says why in status, without an attempt counted.
    stopped = rows["a quote"]
    assert stopped.state == MessageState.FAILED
    assert stopped.attempts == 0
    assert str(error) in (stopped.last_error or "")
    assert "printer four" not in rows  # never reached: left for the next run

    world.tracker.create_issue = real  # type: ignore[method-assign]
    again = world.sync()
    assert (again.created, again.failed) == (2, 0)
    assert sorted(world.mailbox.ids()) == []


def test_the_summary_line_of_a_stopped_run_says_why_before_the_counts() -> None:
    from tracker_mail_plugin.pipeline.summary import Summary

    summary = Summary("helpdesk")
    summary.fetched, summary.created = 3, 2
    summary.error = "Redmine has no project 'sales'"
    assert summary.line().startswith("helpdesk: stopped: Redmine has no project 'sales'; so far:")
    assert "fetched 3, created 2" in summary.line()
