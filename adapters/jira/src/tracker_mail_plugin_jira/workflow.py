"""Reopening a closed issue: the workflow transition that leads out of the done category.

Workflows differ per project, so the transition is chosen from those Jira offers for the
issue now: one whose name says "reopen" first, else the first one whose target status is
not in the ``done`` category.
"""

from __future__ import annotations

from typing import Any

from tracker_mail_plugin import IssueRef, PermanentError
from tracker_mail_plugin_jira.http import API, JiraHttp


def reopening(transitions: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The transition that reopens, among those offered, or ``None``."""
    open_ones = [t for t in transitions if _target_category(t) != "done"]
    named = [t for t in open_ones if "reopen" in str(t.get("name", "")).casefold()]
    chosen = named or open_ones
    return chosen[0] if chosen else None


def reopen(http: JiraHttp, ref: IssueRef) -> None:
    """Move ``ref`` out of its done status.

    Raises:
        PermanentError: the workflow offers no way back for this issue.
    """
    path = f"{API}/issue/{ref.key}/transitions"
    offered = http.get(path, what=f"reading the transitions of {ref.key}") or {}
    chosen = reopening(offered.get("transitions") or [])
    if chosen is None:
        raise PermanentError(f"{ref.key}: the workflow offers no transition out of done")
    http.post(path, {"transition": {"id": str(chosen["id"])}}, what=f"reopening {ref.key}")


def _target_category(transition: dict[str, Any]) -> str | None:
    category = ((transition.get("to") or {}).get("statusCategory") or {}).get("key")
    return str(category) if category is not None else None
