"""Project files (``attach_to_project``): the original mail as a ``.eml`` file.

Idempotent on its own, as the contract asks (``find_by_key`` only finds issues and notes):
the key is written into the file's description, and a file already carrying it is
returned instead of being uploaded again.
"""

from __future__ import annotations

from tracker_mail_plugin import PermanentError, UnknownOutcome, Upload
from tracker_mail_plugin_redmine.catalog import Project
from tracker_mail_plugin_redmine.client import RedmineClient
from tracker_mail_plugin_redmine.keys import carries

_FILES_MODULE = "files"


class ProjectFiles:
    """The Files area of Redmine projects."""

    def __init__(self, client: RedmineClient):
        self._client = client

    def attach(self, project: Project, upload: Upload, key: str) -> str:
        """Store ``upload`` as a file of ``project`` (once per ``key``); returns its id."""
        if _FILES_MODULE not in project.modules:
            raise PermanentError(f"project {project.identifier} has the Files module turned off")
        existing = self.find(project, key)
        if existing is not None:
            return existing
        token = self._client.upload(upload)
        body = {
            "file": {
                "token": token,
                "filename": upload.filename,
                "description": f"tracker-mail {key}",
            }
        }
        what = f"add file {upload.filename} to project {project.identifier}"
        self._client.post(f"/projects/{project.id}/files.json", body, what=what)
        found = self.find(project, key)
        if found is None:  # Redmine answered 204 but shows no such file
            raise UnknownOutcome(f"Redmine accepted but does not list: {what}")
        return found

    def find(self, project: Project, key: str) -> str | None:
        """The id of the project file carrying ``key``, if there is one."""
        data = self._client.get(
            f"/projects/{project.id}/files.json", what=f"list the files of {project.identifier}"
        )
        for item in data.get("files", []):
            if carries(item.get("description"), key):
                return str(item["id"])
        return None
