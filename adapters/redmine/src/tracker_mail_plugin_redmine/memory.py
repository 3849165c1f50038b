"""What this run has already learnt from Redmine, so that a reply costs one request where it can.

A reply used to cost four requests: read the issue (as the API account), read it again as
the sender (Redmine 5.0 lets a user add notes to an issue they cannot see), the note, and
reading the note back (Redmine drops a note silently when a role's per-tracker limits
forbid it, and its REST API shows neither those limits nor the new note's id). Each of the
three reads is answered here from what an earlier request of the same run showed: a
sender's sight and a kept note prove the same for their neighbours (same user, project and
tracker); an issue this run created stands for itself for a short while, the one answer
that may be out of date. "Fewer requests per reply" in the README has the argument.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from enum import IntEnum
from typing import Any

# The core reads the issue a reply answers (get_issue) just before it adds the note; the
# note reuses that read if it is at most this old instead of asking Redmine again.
READ_SECONDS = 30.0
# An issue this run created answers the look-ups of replies to it this long: a person
# closing, moving, re-typing or making it private meanwhile is seen only after it.
CREATED_SECONDS = 120.0
_ISSUES_MAX = 4096


class IssueMemory:
    """Issues as Redmine showed them to the adapter, each kept for ``seconds``."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self._seconds = seconds
        self._clock = clock
        self._issues: dict[int, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def keep(self, issue: dict[str, Any]) -> None:
        """Keep ``issue`` (an issue object of the API) for a while."""
        now = self._clock()
        with self._lock:
            if len(self._issues) >= _ISSUES_MAX:
                self._issues = {k: v for k, v in self._issues.items() if v[0] >= now}
                if len(self._issues) >= _ISSUES_MAX:
                    self._issues.clear()
            self._issues[int(issue["id"])] = (now + self._seconds, issue)

    def recall(self, issue_id: int) -> dict[str, Any] | None:
        """The issue as last kept, if that was recent enough to stand for now."""
        with self._lock:
            kept = self._issues.get(issue_id)
        return kept[1] if kept is not None and self._clock() <= kept[0] else None

    def take(self, issue_id: int) -> dict[str, Any] | None:
        """Like :meth:`recall`, once: the issue is forgotten."""
        with self._lock:
            kept = self._issues.pop(issue_id, None)
        return kept[1] if kept is not None and self._clock() <= kept[0] else None

    def forget(self, issue_id: int) -> None:
        """The adapter is about to change the issue: what was kept no longer holds."""
        with self._lock:
            self._issues.pop(issue_id, None)


class Seen(IntEnum):
    """How much of a project's issues of one tracker a user has been seen to see."""

    OWN = 1  # those they wrote or are assigned to
    PUBLIC = 2  # and every issue that is not private
    ALL = 3  # every issue


def _where(issue: Mapping[str, Any]) -> tuple[int, int]:
    return int(issue["project"]["id"]), int(issue["tracker"]["id"])


def _ids(issue: Mapping[str, Any]) -> tuple[int | None, int | None]:
    author = (issue.get("author") or {}).get("id")
    assignee = (issue.get("assigned_to") or {}).get("id")
    return author, assignee


class Sight:
    """Which issues each account can see, learnt from the reads made as that account.

    Redmine shows an issue to a user when one of their roles in its project has *View
    issues* for its tracker and that role's visibility (all / not private or own / own)
    covers it. For one user, project and tracker the roles that count do not change
    within a run, so one successful read bounds all the others from below (the README
    has the argument). Only what follows for certain is kept; anything else is read.
    """

    def __init__(self) -> None:
        self._seen: dict[tuple[int, int, int], Seen] = {}
        self._lock = threading.Lock()

    def saw(self, user_id: int, issue: Mapping[str, Any]) -> None:
        """``user_id`` read ``issue``: remember what that proves about its neighbours."""
        author, assignee = _ids(issue)
        if author == user_id or assignee is not None:
            # Any visibility explains it (an assignee may be a group the user is in).
            seen = Seen.OWN
        elif not issue.get("is_private"):
            seen = Seen.PUBLIC  # an "own" role could not have shown it
        else:
            seen = Seen.ALL  # only an "all" role shows others' private issues
        key = (user_id, *_where(issue))
        with self._lock:
            self._seen[key] = max(seen, self._seen.get(key, Seen.OWN))

    def sees(self, user_id: int, issue: Mapping[str, Any]) -> bool:
        """Whether ``user_id`` is certain to see ``issue`` without asking Redmine."""
        with self._lock:
            seen = self._seen.get((user_id, *_where(issue)))
        if seen is None:
            return False
        if user_id in _ids(issue):
            return True
        return seen >= (Seen.ALL if issue.get("is_private") else Seen.PUBLIC)


class NoteConfirmations:
    """The accounts whose notes Redmine has been seen to keep, per project and tracker.

    Whether Redmine keeps a note depends only on the author's roles in the project and the
    issue's tracker (*Add notes*, possibly limited to some trackers), so after one note
    read back the same author's next notes there need not be.
    """

    def __init__(self) -> None:
        self._confirmed: set[tuple[int, int, int]] = set()
        self._lock = threading.Lock()

    def confirm(self, user_id: int, issue: Mapping[str, Any]) -> None:
        """A note by ``user_id`` on ``issue`` was read back."""
        with self._lock:
            self._confirmed.add((user_id, *_where(issue)))

    def confirmed(self, user_id: int, issue: Mapping[str, Any]) -> bool:
        """Whether a note by ``user_id`` on an issue like ``issue`` was read back before."""
        with self._lock:
            return (user_id, *_where(issue)) in self._confirmed
