"""``attach_to_project`` on Jira, which has no project files: an inbox issue per project.

The message is attached to the issue ``inbox_issues`` names for the project, with the
idempotency key in its file name (``Subject [tm-….].eml``). Before uploading, the issue's
attachments are read: a file carrying the key is the one a lost answer left behind, and its
id is returned instead of uploading the message again.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from tracker_mail_plugin import PermanentError, UnsupportedAction, Upload
from tracker_mail_plugin_jira.config import JiraConfig
from tracker_mail_plugin_jira.http import API, JiraHttp


def keyed_filename(filename: str, idempotency_key: str) -> str:
    """``filename`` with ``[key]`` before its extension: ``Subject [tm-…].eml``."""
    path = PurePosixPath(filename)
    return f"{path.stem} [{idempotency_key}]{path.suffix}"


class Inbox:
    """Files messages on each project's inbox issue.

    Args:
        http: the connection.
        config: the adapter's options (``inbox_issues``).
    """

    def __init__(self, http: JiraHttp, config: JiraConfig):
        self._http = http
        self._config = config

    def attach(self, project: str, upload: Upload, idempotency_key: str) -> str:
        """Attach ``upload`` to the project's inbox issue once; returns the attachment id."""
        issue = self._config.inbox_issues.get(project)
        if issue is None:
            raise UnsupportedAction(
                f"Jira has no project files and no inbox issue is configured for {project}",
                capability="attach_to_project",
            )
        marker = f"[{idempotency_key}]"
        data = self._http.get(
            f"{API}/issue/{issue}", {"fields": "attachment"}, what=f"reading {issue}'s files"
        )
        for attachment in (data.get("fields") or {}).get("attachment") or []:
            if marker in str(attachment.get("filename", "")):
                return str(attachment["id"])
        answer = self._http.upload(
            f"{API}/issue/{issue}/attachments",
            upload,
            what=f"attaching a message to {issue}",
            filename=keyed_filename(upload.filename, idempotency_key),
        )
        if not answer:
            raise PermanentError(f"Jira accepted the file for {issue} but listed no attachment")
        return str(answer[0]["id"])
