"""Comments, each created with the ``tracker-mail`` comment property holding its key.

One ``POST /rest/api/2/issue/{key}/comment`` carries the text and the properties together:
``tracker-mail`` for recovery, and on service-desk issues ``sd.public.comment`` saying
whether the customer sees it. Internal notes on Jira Cloud service desks go through
``POST /rest/servicedeskapi/request/{key}/comment`` with ``public: false`` instead, the way
Atlassian's Cloud description says to make one (the property is what Data Center reads); that
endpoint takes no properties, so ``tracker-mail`` is set on the comment right after. Jira
posts every comment as the API user, so a sender is named in the text. Files follow: on a
service desk through its temporary-attachment flow (so the customer sees them with a public
comment), elsewhere as issue attachments.
"""

from __future__ import annotations

import logging
from typing import Any

from tracker_mail_plugin import (
    CommentRef,
    IssueRef,
    NewComment,
    TrackerMailError,
    UnsupportedAction,
    Upload,
)
from tracker_mail_plugin_jira.config import Deployment, JiraConfig
from tracker_mail_plugin_jira.http import API, JiraHttp
from tracker_mail_plugin_jira.issues import PROPERTY, IssueWriter, after_create, key_property
from tracker_mail_plugin_jira.longtext import fit
from tracker_mail_plugin_jira.markup import attributed
from tracker_mail_plugin_jira.servicedesk import ServiceDesks

SD_PUBLIC_COMMENT = "sd.public.comment"

logger = logging.getLogger("tracker_mail.jira")


def project_of(issue: IssueRef) -> str:
    """The project of ``issue``: as recorded, else the key's prefix (``SD-12`` -> ``SD``)."""
    return issue.project or issue.key.rpartition("-")[0]


class CommentWriter:
    """Adds comments with their files.

    Args:
        http: the connection.
        config: the adapter's options (comment visibility).
        desks: the service desks.
        issues: the issue writer, for plain attachments.
    """

    def __init__(
        self, http: JiraHttp, config: JiraConfig, desks: ServiceDesks, issues: IssueWriter
    ):
        self._http = http
        self._config = config
        self._desks = desks
        self._issues = issues
        self._cloud = config.effective_deployment == Deployment.CLOUD

    def add(self, issue: IssueRef, new: NewComment) -> CommentRef:
        """Add ``new`` to ``issue``; files that fail after the comment give UnknownOutcome."""
        desk = self._desks.desk_of(project_of(issue))
        internal = new.private or self._config.service_desk_comments == "internal"
        text = fit(attributed(new.text, new.author), new.attachments)
        if desk is not None and internal and self._cloud:
            comment = self._internal_note(issue, new, text.text)
        else:
            body = self.body(new, text.text, service_desk=desk is not None, internal=internal)
            created = self._http.post(
                f"{API}/issue/{issue.key}/comment", body, what=f"commenting on {issue.key}"
            )
            comment = CommentRef(issue, str(created["id"]))
        done = f"comment {comment.id} was added to {issue.key}"
        after_create(done, lambda: self._attach(issue, text.uploads, desk, public=not internal))
        return comment

    def _internal_note(self, issue: IssueRef, new: NewComment, text: str) -> CommentRef:
        """An internal comment through the service-desk endpoint, then its key property."""
        created = self._desks.comment(issue.key, text, public=False)
        comment = CommentRef(issue, str(created["id"]))
        try:
            self._http.put(
                f"{API}/comment/{comment.id}/properties/{PROPERTY}",
                {"key": new.idempotency_key},
                what=f"recording the idempotency key on comment {comment.id}",
            )
        except TrackerMailError as exc:
            # The note exists and its id is known; the property only serves crash recovery.
            logger.warning("comment %s on %s was added but its idempotency key was not "
                           "stored: %s", comment.id, issue.key, exc.message)  # fmt: skip
        return comment

    def _attach(
        self, issue: IssueRef, uploads: tuple[Upload, ...], desk: int | None, public: bool
    ) -> None:
        if desk is not None:
            self._desks.attach(desk, issue.key, uploads, public)
        else:
            self._issues.attach(issue.key, uploads)

    def body(
        self, new: NewComment, text: str, *, service_desk: bool, internal: bool
    ) -> dict[str, Any]:
        """The comment body: ``text`` (wiki, within Jira's limit), visibility, properties."""
        properties: list[dict[str, object]] = [key_property(new.idempotency_key)]
        body: dict[str, Any] = {"body": text}
        if service_desk:
            properties.append({"key": SD_PUBLIC_COMMENT, "value": {"internal": internal}})
        elif new.private:
            if self._config.private_comment_role is None:
                raise UnsupportedAction(
                    "a private comment needs private_comment_role in the tracker's options",
                    capability="private_comments",
                )
            body["visibility"] = {"type": "role", "value": self._config.private_comment_role}
        body["properties"] = properties
        return body
