"""Replies answered from what the run already knows, against the real Redmine.

A reply costs one request (the note) once the run has seen its sender see, and write on,
issues of the same project and tracker. These tests count the requests, and show that each
check still refuses what it refused before: a sender who cannot see the issue (by
visibility, by private flag, by a per-tracker limit on viewing) and a note Redmine drops
because of a per-tracker limit on notes, each caught the first time and every time after.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from tracker_mail_plugin_redmine import RedmineAdapter

from tests.servers.redmine import Redmine
from tracker_mail_plugin import (
    CommentRef,
    IssueRef,
    NewComment,
    NewIssue,
    PermanentError,
    Permission,
    UserRef,
)

pytestmark = pytest.mark.servers

Sent = list[tuple[str, str, str | None]]  # method, path with query, X-Redmine-Switch-User


def sender(redmine: Redmine, login: str) -> UserRef:
    return UserRef(str(redmine.setup["users"][login]), login, login.title(), f"{login}@example.com")


def an_issue(redmine: Redmine, author: str = "manny", **fields: Any) -> IssueRef:
    """An issue made directly through the API (not by the adapter), as ``author``."""
    body = {"issue": {"project_id": "support", "subject": "Broken", "description": "x"} | fields}
    headers = {"X-Redmine-Switch-User": author}
    data = redmine.api("POST", "/issues.json", json=body, headers=headers)["issue"]
    return IssueRef("redmine", str(data["id"]))


def tracker(redmine: Redmine, name: str) -> int:
    return int(redmine.setup["trackers"][name])


def notes(redmine: Redmine, ref: IssueRef) -> list[dict[str, Any]]:
    data = redmine.api("GET", f"/issues/{ref.key}.json", params={"include": "journals"})
    return [j for j in data["issue"]["journals"] if j.get("notes")]


def note(n: int, author: UserRef | None) -> NewComment:
    return NewComment("Still broken.", f"tm-note{n:016d}", author=author)


def reply(adapter: RedmineAdapter, ref: IssueRef, new: NewComment) -> CommentRef:
    """What the core does for a reply: find the issue the mail names, then add the note."""
    state = adapter.get_issue(ref)
    assert state is not None
    return adapter.add_comment(state.ref, new)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    """Every request any session sends from now on."""
    seen: Sent = []
    send: Callable[..., requests.Response] = requests.Session.send

    def counting(session: requests.Session, request: requests.PreparedRequest, **kw: Any) -> Any:
        user = request.headers.get("X-Redmine-Switch-User")
        seen.append((str(request.method), str(request.path_url), user))
        return send(session, request, **kw)

    monkeypatch.setattr(requests.Session, "send", counting)
    return seen


def test_replies_to_issues_of_this_run_cost_one_request_after_the_first(
    redmine: Redmine, adapter: RedmineAdapter, sent: Sent
) -> None:
    alice, erin = sender(redmine, "alice"), sender(redmine, "erin")
    made = [
        adapter.create_issue(
            NewIssue("support", f"Printer {n}", "It jams.", f"tm-issue{n:016d}", reporter=alice)
        )
        for n in range(4)
    ]
    assert adapter.can(erin, Permission.COMMENT, "support")  # as the core asks first
    sent.clear()
    answers = [reply(adapter, ref, note(n, erin)) for n, ref in enumerate(made)]
    first = made[0].key
    assert (
        sent
        == [
            ("GET", f"/issues/{first}.json", "erin"),  # may erin see it? (not hers: Reporter)
            ("PUT", f"/issues/{first}.json", "erin"),
            ("GET", f"/issues/{first}.json?include=journals", None),  # did Redmine keep it?
            *[("PUT", f"/issues/{ref.key}.json", "erin") for ref in made[1:]],
        ]
    )
    for ref, answer in zip(made, answers, strict=True):
        [kept] = notes(redmine, ref)
        assert kept["user"]["id"] == int(erin.id)
        assert answer.issue.key == ref.key
    assert answers[0].id == str(notes(redmine, made[0])[0]["id"])
    assert [a.id for a in answers[1:]] == ["", "", ""]  # not read: nothing needed it
    # The key still finds an unread note, with its id.
    found = adapter.find_by_key("tm-note0000000000000002", issue=made[2])
    assert found == CommentRef(answers[2].issue, str(notes(redmine, made[2])[0]["id"]))


def test_a_note_dropped_by_a_per_tracker_limit_is_caught_every_time(
    redmine: Redmine, adapter: RedmineAdapter
) -> None:
    # Bea may add notes to Bugs only; Redmine 5.0 drops her others without a word.
    bea = sender(redmine, "bea")
    bugs = [an_issue(redmine, tracker_id=tracker(redmine, "bug")) for _ in range(2)]
    features = [an_issue(redmine, tracker_id=tracker(redmine, "feature")) for _ in range(2)]
    reply(adapter, bugs[0], note(1, bea))
    reply(adapter, bugs[1], note(2, bea))  # confirmed for Bugs: not read back
    for n, ref in enumerate(features, start=3):
        with pytest.raises(PermanentError, match="did not save the note on issue"):
            reply(adapter, ref, note(n, bea))
        assert notes(redmine, ref) == []
    assert [len(notes(redmine, ref)) for ref in bugs] == [1, 1]


def test_a_sender_limited_to_seeing_some_trackers_may_not_answer_the_others(
    redmine: Redmine, adapter: RedmineAdapter
) -> None:
    vic = sender(redmine, "vic")  # sees Bugs only, may add notes to any
    bug = an_issue(redmine, tracker_id=tracker(redmine, "bug"))
    feature = an_issue(redmine, tracker_id=tracker(redmine, "feature"))
    reply(adapter, bug, note(1, vic))
    with pytest.raises(PermanentError, match=f"vic cannot see issue #{feature.key}"):
        reply(adapter, feature, note(2, vic))
    assert notes(redmine, feature) == []


def test_seeing_public_issues_is_not_seeing_private_ones(
    redmine: Redmine, adapter: RedmineAdapter
) -> None:
    erin = sender(redmine, "erin")  # Reporter: issues that are not private, and her own
    public = an_issue(redmine)
    private = an_issue(redmine, is_private=True)
    reply(adapter, public, note(1, erin))
    with pytest.raises(PermanentError, match=f"erin cannot see issue #{private.key}"):
        reply(adapter, private, note(2, erin))
    assert notes(redmine, private) == []


def test_seeing_ones_own_issues_is_not_seeing_the_others(
    redmine: Redmine, adapter: RedmineAdapter
) -> None:
    olga = sender(redmine, "olga")  # her role shows her own issues only
    own = an_issue(redmine, author="olga")
    reply(adapter, own, note(1, olga))
    others = an_issue(redmine, author="manny")
    with pytest.raises(PermanentError, match=f"olga cannot see issue #{others.key}"):
        reply(adapter, others, note(2, olga))
    assert notes(redmine, others) == []
    assert len(notes(redmine, own)) == 1
