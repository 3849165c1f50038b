"""``attachments: commit``: files committed through the contents API before the body is sent.

Each file goes to ``<folder>/<idempotency key>/<name>``, so a repeated attempt for the same
mail writes to the same paths. GitHub answers 422 ("sha" wasn't supplied) when a path
already exists: that is the file an earlier, interrupted attempt committed, and it is kept
as it is rather than overwritten or duplicated.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from tracker_mail_plugin_github.body import Attachments, NamedFile
from tracker_mail_plugin_github.errors import github_message
from tracker_mail_plugin_github.http import Call, GitHubHttp
from tracker_mail_plugin_github.projects import Repo


def commit_files(
    http: GitHubHttp, repo: Repo, key: str, files: Sequence[NamedFile], attachments: Attachments
) -> None:
    """Commit each of ``files`` (one commit per file; writes are paced)."""
    for file in files:
        _commit(http, repo, key, file, attachments)


def _commit(
    http: GitHubHttp, repo: Repo, key: str, file: NamedFile, attachments: Attachments
) -> None:
    path = attachments.path(key, file.name)
    with file.upload.open() as stream:
        content = base64.b64encode(stream.read()).decode("ascii")
    call = Call(
        "PUT",
        repo.path("contents", *path.split("/")),
        f"committing {path} to {repo.full} ({attachments.branch})",
        kind="write",
        body={
            "message": f"tracker-mail: attachment {file.name} ({key})",
            "content": content,
            "branch": attachments.branch,
        },
        expect=frozenset({422}),
    )
    response = http.send(call)
    if response.status_code == 422 and '"sha"' not in github_message(response):
        raise http.errors.for_response(response, write=True, what=call.what)
