"""``find_by_key``: was this issue or comment created before the answer was lost?

GitHub has no idempotency keys, so every body we write ends with a hidden marker
(``<!-- tracker-mail:KEY -->``). Looking for it:

1. The 100 newest issues and the 100 newest comments of each configured repository (two
   core-budget requests per repository). The core asks right after an unknown outcome, on
   the next run, so what it looks for is almost always among the newest; and the search
   index lags behind writes (seconds to minutes, more under load), so a search alone could
   answer "not found" for an issue created a minute ago: the duplicate this exists to
   prevent.
2. The search API (``"KEY" repo:… is:issue``, then ``is:pull-request`` for comments on pull
   requests), for anything older than the listings reach. For an issue whose text does
   not carry the marker, its comments are read to find the one that does. One query per
   repository: GitHub's legacy search syntax ORs several ``repo:`` qualifiers, its advanced
   syntax (the REST default since its legacy syntax was deprecated) ANDs them, which would
   find nothing; a single ``repo:`` means the same in both.

Only objects written by our own identity count, so a marker copied into someone else's
issue never stands for ours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from tracker_mail_plugin import CommentRef, IssueRef
from tracker_mail_plugin_github.http import Call, GitHubHttp
from tracker_mail_plugin_github.projects import Projects, Repo
from tracker_mail_plugin_github.text import has_marker

MAX_COMMENT_PAGES = 30  # 3,000 comments on one issue: far beyond any mail thread


class KeyFinder:
    """Finds what a key was written into.

    Args:
        http: the client.
        projects: the configured repositories.
        identity: the login our writes appear under (called only when needed).
        tracker: the adapter's name, for the refs.
    """

    def __init__(
        self, http: GitHubHttp, projects: Projects, identity: Callable[[], str], tracker: str
    ):
        self._http = http
        self._projects = projects
        self._identity = identity
        self._tracker = tracker

    def find(self, key: str) -> IssueRef | CommentRef | None:
        """The issue or comment whose body carries ``key``'s marker, or ``None``."""
        me = self._identity().lower()
        for repo in self._projects.repositories:
            found = self._recent_issue(repo, key, me) or self._recent_comment(repo, key, me)
            if found is not None:
                return found
        return self._searched(key, me)

    def _recent_issue(self, repo: Repo, key: str, me: str) -> IssueRef | None:
        issues = self._http.json(
            Call(
                "GET",
                repo.path("issues"),
                f"listing the newest issues of {repo.full}",
                params={"state": "all", "sort": "created", "direction": "desc", "per_page": 100},
            )
        )
        for issue in issues:
            if _by(issue, me) and has_marker(issue.get("body"), key):
                return self.issue_ref(repo, issue)
        return None

    def _recent_comment(self, repo: Repo, key: str, me: str) -> CommentRef | None:
        comments = self._http.json(
            Call(
                "GET",
                repo.path("issues", "comments"),
                f"listing the newest comments of {repo.full}",
                params={"sort": "created", "direction": "desc", "per_page": 100},
            )
        )
        for comment in comments:
            if _by(comment, me) and has_marker(comment.get("body"), key):
                number = int(str(comment["issue_url"]).rstrip("/").rpartition("/")[2])
                return CommentRef(IssueRef(self._tracker, repo.key(number)), str(comment["id"]))
        return None

    def _searched(self, key: str, me: str) -> IssueRef | CommentRef | None:
        for repo in self._projects.repositories:
            for kind in ("is:issue", "is:pull-request"):
                answer = self._http.json(
                    Call(
                        "GET",
                        "/search/issues",
                        f"searching {repo.full} for {key}",
                        kind="search",
                        params={"q": f'"{key}" repo:{repo.full} {kind}', "per_page": 20},
                    )
                )
                for item in answer.get("items") or []:
                    found = self._in_item(item, key, me)
                    if found is not None:
                        return found
        return None

    def _in_item(self, item: Any, key: str, me: str) -> IssueRef | CommentRef | None:
        full = str(item.get("repository_url", "")).split("/repos/", 1)[-1]
        repo = self._projects.by_full_name(full)
        if repo is None:
            return None
        if _by(item, me) and has_marker(item.get("body"), key):
            return self.issue_ref(repo, item)
        for comment in self._comments(repo, int(item["number"])):
            if _by(comment, me) and has_marker(comment.get("body"), key):
                return CommentRef(self.issue_ref(repo, item), str(comment["id"]))
        return None

    def _comments(self, repo: Repo, number: int) -> Iterator[Any]:
        call = Call(
            "GET",
            repo.path("issues", number, "comments"),
            f"reading the comments of {repo.key(number)}",
            params={"per_page": 100},
        )
        return self._http.pages(call, MAX_COMMENT_PAGES)

    def issue_ref(self, repo: Repo, issue: Any) -> IssueRef:
        """The ref of an issue GitHub described (key in the configured spelling)."""
        number = int(issue["number"])
        return IssueRef(self._tracker, repo.key(number), issue.get("html_url"), repo.project)


def _by(item: Any, me: str) -> bool:
    user = item.get("user") or {}
    return str(user.get("login", "")).lower() == me
