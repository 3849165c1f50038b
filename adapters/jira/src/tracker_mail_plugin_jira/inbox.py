"""``attach_to_project`` on Jira, which has no project files: an inbox issue per project.

The message is attached to the issue ``inbox_issues`` names for the project, with the
idempotency key in its file name (``Subject [tm-….].eml``). Before uploading, the inbox's
attachments are read: a file carrying the key is the one a lost answer left behind, and its
id is returned instead of uploading the message again.

Jira refuses attachments past a per-issue limit with 413. Then the adapter rolls over: it
creates a new inbox issue in the project and records it on the full one as the issue
property ``tracker-mail-inbox`` = ``{"next": "<key>"}``, so every later run follows the chain
from the configured issue to the one in use (checking each for the key on the way). A 413 on
an inbox with no attachments yet means the file itself is over Jira's size limit: that is
permanent, and no new issue would help.
"""

from __future__ import annotations

import threading
from pathlib import PurePosixPath
from typing import Any

from tracker_mail_plugin import PermanentError, UnsupportedAction, Upload
from tracker_mail_plugin_jira.config import JiraConfig
from tracker_mail_plugin_jira.errors import TooLarge
from tracker_mail_plugin_jira.http import API, JiraHttp

NEXT = "tracker-mail-inbox"
MAX_CHAIN = 100  # inbox issues followed at most: a loop in the properties must not hang a run


def keyed_filename(filename: str, idempotency_key: str) -> str:
    """``filename`` with ``[key]`` before its extension: ``Subject [tm-…].eml``."""
    path = PurePosixPath(filename)
    return f"{path.stem} [{idempotency_key}]{path.suffix}"


class Inbox:
    """Files messages on each project's inbox issue, rolling over to a new one when full.

    Args:
        http: the connection.
        config: the adapter's options (``inbox_issues``, ``default_issue_type``).
    """

    def __init__(self, http: JiraHttp, config: JiraConfig):
        self._http = http
        self._config = config
        # One rollover at a time: two workers finding the inbox full make one new issue.
        self._rolling = threading.Lock()

    def attach(self, project: str, upload: Upload, idempotency_key: str) -> str:
        """Attach ``upload`` to the project's inbox issue once; returns the attachment id."""
        first = self._config.inbox_issues.get(project)
        if first is None:
            raise UnsupportedAction(
                f"Jira has no project files and no inbox issue is configured for {project}",
                capability="attach_to_project",
            )
        marker = f"[{idempotency_key}]"
        issue, files = self._current(first, marker)
        if isinstance(files, str):
            return files  # already there
        name = keyed_filename(upload.filename, idempotency_key)
        try:
            return self._upload(issue, upload, name)
        except TooLarge:
            if not files:
                raise PermanentError(
                    f"Jira refused {upload.filename} ({upload.size} bytes) on the empty "
                    f"inbox issue {issue}: the file is over its attachment size limit"
                ) from None
        return self._upload(self._roll_over(project, issue), upload, name)

    def _current(self, first: str, marker: str) -> tuple[str, str | list[dict[str, Any]]]:
        """The inbox issue in use and its files; or, once found, the file keyed ``marker``.

        Returns ``(issue, files)`` for the last issue of the chain, or ``(issue, id)`` for the
        issue holding the file whose name carries ``marker``.
        """
        issue = first
        for _ in range(MAX_CHAIN):
            data = self._http.get(
                f"{API}/issue/{issue}",
                {"fields": "attachment", "properties": NEXT},
                what=f"reading {issue}'s files",
            )
            files = (data.get("fields") or {}).get("attachment") or []
            for attachment in files:
                if marker in str(attachment.get("filename", "")):
                    return issue, str(attachment["id"])
            following = ((data.get("properties") or {}).get(NEXT) or {}).get("next")
            if not following:
                return issue, files
            issue = str(following)
        raise PermanentError(f"the inbox issues after {first} form a chain over {MAX_CHAIN} long")

    def _upload(self, issue: str, upload: Upload, name: str) -> str:
        answer = self._http.upload(
            f"{API}/issue/{issue}/attachments",
            upload,
            what=f"attaching a message to {issue}",
            filename=name,
        )
        if not answer:
            raise PermanentError(f"Jira accepted the file for {issue} but listed no attachment")
        return str(answer[0]["id"])

    def _roll_over(self, project: str, full: str) -> str:
        """The inbox issue after ``full``: one another worker made meanwhile, or a new one."""
        with self._rolling:
            recorded = self._http.get(
                f"{API}/issue/{full}/properties/{NEXT}",
                what=f"reading which inbox issue follows {full}",
                missing_ok=True,
            )
            following = ((recorded or {}).get("value") or {}).get("next")
            if following:
                return str(following)
            created = self._http.post(
                f"{API}/issue",
                self._new_inbox(project, full),
                what=f"creating an inbox issue in {project} after {full}",
            )
            new = str(created["key"])
            self._http.put(
                f"{API}/issue/{full}/properties/{NEXT}",
                {"next": new},
                what=f"recording {new} as the inbox issue after {full}",
            )
            return new

    def _new_inbox(self, project: str, full: str) -> dict[str, Any]:
        fields = {
            "project": {"key": project},
            "issuetype": {"name": self._config.default_issue_type},
            "summary": f"Mail filed by tracker-mail (continued from {full})",
            "description": f"{full} takes no more attachments; messages are filed here now.",
        }
        return {"fields": fields, "properties": [{"key": NEXT, "value": {"previous": full}}]}
