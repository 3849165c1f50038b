"""Creating issues and service-desk requests, each with its idempotency key stored on it.

A plain issue is one ``POST /rest/api/2/issue`` whose body carries the issue property
``tracker-mail`` (``{"key": <idempotency key>}``), so the issue and its key exist together or
not at all. A request is ``POST /rest/servicedeskapi/request`` raised on behalf of the
customer; that API takes no properties, so the property is set right after (if that fails,
the request still stands and its key is returned, since the key matters only when an answer
is lost). Watchers and attachments follow the create; if one of them fails, the issue
already exists, so the error becomes :class:`UnknownOutcome`: the core then asks
``find_by_key`` instead of creating it again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from tracker_mail_plugin import (
    IssueRef,
    NewIssue,
    TrackerMailError,
    UnknownOutcome,
    UnsupportedAction,
    Upload,
    UserRef,
)
from tracker_mail_plugin_jira.config import JiraConfig
from tracker_mail_plugin_jira.fields import FieldCatalog
from tracker_mail_plugin_jira.http import API, JiraHttp
from tracker_mail_plugin_jira.longtext import cut_summary, fit
from tracker_mail_plugin_jira.markup import attributed
from tracker_mail_plugin_jira.permissions import Permissions
from tracker_mail_plugin_jira.screens import CreateScreens
from tracker_mail_plugin_jira.search import RecentIssues
from tracker_mail_plugin_jira.servicedesk import ServiceDesks
from tracker_mail_plugin_jira.users import Users

PROPERTY = "tracker-mail"

logger = logging.getLogger("tracker_mail.jira")


def key_property(idempotency_key: str) -> dict[str, object]:
    """The entity property that records which write made an issue or a comment."""
    return {"key": PROPERTY, "value": {"key": idempotency_key}}


def label(text: str) -> str:
    """``text`` as a Jira label: Jira refuses labels with spaces, so each run becomes ``-``."""
    return re.sub(r"\s+", "-", text.strip())


def summary(title: str) -> str:
    """A one-line summary within Jira's 255 characters."""
    return cut_summary(re.sub(r"\s+", " ", title).strip() or "(no subject)")


class IssueWriter:
    """Builds and sends the create requests.

    Args:
        http: the connection.
        config: the adapter's options.
        users: people lookups and naming.
        fields: the field catalog, for ``custom_fields``.
        permissions: the API user's permissions (may it set the reporter?).
        desks: the service desks, for requests.
        recent: where the ids of created issues are kept for recovery searches.
        screens: the create screens, so fields they lack are not sent.
    """

    def __init__(
        self,
        http: JiraHttp,
        config: JiraConfig,
        users: Users,
        fields: FieldCatalog,
        permissions: Permissions,
        desks: ServiceDesks,
        recent: RecentIssues | None = None,
        screens: CreateScreens | None = None,
    ):
        self._screens = screens
        self._recent = recent or RecentIssues()
        self._http = http
        self._config = config
        self._users = users
        self._fields = fields
        self._permissions = permissions
        self._desks = desks

    def create_issue(self, new: NewIssue, tracker: str) -> IssueRef:
        """Create a plain issue with its watchers and attachments."""
        body, uploads = self.issue_body(new)
        created = self._http.post(f"{API}/issue", body, what=f"creating an issue in {new.project}")
        ref = self._ref(tracker, str(created["key"]), new.project)
        self._recent.add(created.get("id"))
        watchers = _others(new.watchers, new.reporter)
        done = f"{ref.key} was created"
        after_create(done, lambda: self._add_watchers(ref.key, watchers))
        after_create(done, lambda: self.attach(ref.key, uploads))
        return ref

    def create_request(self, new: NewIssue, tracker: str) -> IssueRef:
        """Raise a service-desk request on behalf of the reporter, then attach its files."""
        desk = self._desks.desk_or_refuse(new.project)
        body, uploads = self.request_body(new, desk)
        created = self._desks.create_request(body, what=f"raising a request in {new.project}")
        ref = self._ref(tracker, str(created["issueKey"]), new.project)
        self._recent.add(created.get("issueId"))
        self._record_key(ref.key, new.idempotency_key)
        participants = _others(new.watchers, new.reporter)
        done = f"request {ref.key} was raised"
        after_create(done, lambda: self._desks.add_participants(ref.key, participants))
        after_create(done, lambda: self._desks.attach(desk, ref.key, uploads, True))
        return ref

    def issue_body(self, new: NewIssue) -> tuple[dict[str, Any], tuple[Upload, ...]]:
        """The ``POST /rest/api/2/issue`` body for ``new``, and the files to attach after it.

        The files are the mail's, and the whole text when it had to be cut to Jira's limit.
        """
        kind = self._config.issue_type(new.issue_type)
        fields: dict[str, Any] = {
            "project": {"key": new.project},
            "issuetype": {"name": kind},
            "summary": summary(new.title),
        }
        fields.update(self._on_screen(new.project, kind, self._ruled(new)))
        text = new.text
        if new.reporter is not None:
            if self._permissions.mine("MODIFY_REPORTER", new.project):
                fields["reporter"] = self._users.field(new.reporter)
            else:
                text = attributed(text, new.reporter)
        description = fit(text, new.attachments)
        fields["description"] = description.text
        if new.private:
            fields["security"] = {"name": self._security_level()}
        body = {"fields": fields, "properties": [key_property(new.idempotency_key)]}
        return body, description.uploads

    def _ruled(self, new: NewIssue) -> dict[str, Any]:
        """The fields a rule sets: custom fields, priority, labels, assignee."""
        fields: dict[str, Any] = self._fields.inputs(new.custom_fields) if new.custom_fields else {}
        if new.priority:
            fields["priority"] = {"name": new.priority}
        if new.labels:
            fields["labels"] = [label(text) for text in new.labels]
        if new.assignee:
            fields["assignee"] = self._users.field(self._assignee(new.assignee))
        return fields

    def _on_screen(self, project: str, kind: str, ruled: dict[str, Any]) -> dict[str, Any]:
        """``ruled`` without the fields the create screen lacks (Jira would refuse the create).

        ``check`` reports such fields; here they are left out with a warning, so the mail
        still becomes an issue.
        """
        if not ruled:
            return ruled
        screen = self._screens.fields(project, kind) if self._screens else None
        if screen is None:  # unknown project or type: Jira's own answer will say so
            return ruled
        missing = sorted(set(ruled) - screen)
        if missing:
            logger.warning("%s %s: not on the create screen, left out: %s",
                           project, kind, ", ".join(missing))  # fmt: skip
        return {key: value for key, value in ruled.items() if key in screen}

    def request_body(self, new: NewIssue, desk: int) -> tuple[dict[str, Any], tuple[Upload, ...]]:
        """The ``POST /rest/servicedeskapi/request`` body for ``new`` in desk ``desk``.

        Returned with the files to attach after it (the whole text too, when it was cut).
        """
        kind = self._config.request_type(new.request_type)
        if kind is None:
            raise UnsupportedAction(
                f"the rule names no request type for {new.project} and the tracker has no "
                "default_request_type",
                capability="create_request",
            )
        type_id = self._desks.request_type_id(desk, kind)
        extra: dict[str, Any] = (
            dict(self._fields.inputs(new.custom_fields)) if new.custom_fields else {}
        )
        if new.priority:
            extra["priority"] = {"name": new.priority}
        if new.labels:
            extra["labels"] = [label(text) for text in new.labels]
        description = fit(new.text, new.attachments)
        values: dict[str, Any] = {"summary": summary(new.title), "description": description.text}
        values.update(self._only_offered(extra, desk, type_id, kind))
        body: dict[str, Any] = {
            "serviceDeskId": str(desk),
            "requestTypeId": type_id,
            "requestFieldValues": values,
        }
        if new.reporter is not None:
            body["raiseOnBehalfOf"] = new.reporter.id
        return body, description.uploads

    def _only_offered(
        self, values: dict[str, Any], desk: int, type_id: str, kind: str
    ) -> dict[str, Any]:
        """``values`` the request type has fields for; the rest are left out, with a warning.

        Jira refuses a request naming a field its request type lacks (400), which would lose
        the mail for a label; ``check`` reports such rules before any mail is read.
        """
        if not values:
            return {}
        offered = self._desks.request_type_fields(desk, type_id)
        left_out = sorted(name for name in values if name not in offered)
        if left_out:
            logger.warning("request type %r of service desk %s has no field %s: left out",
                           kind, desk, ", ".join(left_out))  # fmt: skip
        return {name: value for name, value in values.items() if name in offered}

    def attach(self, issue_key: str, uploads: tuple[Upload, ...]) -> None:
        """Attach each file to ``issue_key`` (``POST /rest/api/2/issue/{key}/attachments``)."""
        for upload in uploads:
            self._http.upload(
                f"{API}/issue/{issue_key}/attachments",
                upload,
                what=f"attaching {upload.filename} to {issue_key}",
            )

    def _add_watchers(self, issue_key: str, watchers: list[UserRef]) -> None:
        for watcher in watchers:
            self._http.post(
                f"{API}/issue/{issue_key}/watchers",
                watcher.id,
                what=f"adding {watcher.name} as a watcher of {issue_key}",
            )

    def _record_key(self, issue_key: str, idempotency_key: str) -> None:
        try:
            self._http.put(
                f"{API}/issue/{issue_key}/properties/{PROPERTY}",
                {"key": idempotency_key},
                what=f"recording the idempotency key on {issue_key}",
            )
        except TrackerMailError as exc:
            # The request exists and we hold its key; the property only serves crash recovery.
            logger.warning("%s was created but its idempotency key was not stored: %s",
                           issue_key, exc.message)  # fmt: skip

    def _assignee(self, assignee: str) -> UserRef:
        if "@" in assignee:
            found = self._users.find(assignee)
            if found is None:
                raise UnsupportedAction(f"assignee {assignee} has no Jira account")
            return found
        return UserRef(id=assignee, login=assignee, name=assignee, email=None)

    def _security_level(self) -> str:
        if self._config.security_level is None:
            raise UnsupportedAction(
                "a private issue needs security_level in the tracker's options",
                capability="private_issues",
            )
        return self._config.security_level

    def _ref(self, tracker: str, key: str, project: str) -> IssueRef:
        return IssueRef(tracker, key, f"{self._http.base_url}/browse/{key}", project)


def _others(people: tuple[UserRef, ...], reporter: UserRef | None) -> list[UserRef]:
    """``people`` without the reporter, who follows the issue anyway (JRA-9983)."""
    skip = reporter.id if reporter is not None else None
    return [person for person in people if person.id != skip]


def after_create(done: str, step: Callable[[], None]) -> None:
    """Run ``step`` after a write succeeded; any failure becomes :class:`UnknownOutcome`.

    The issue or comment exists (``done`` says which), so the action must not be repeated
    blindly: the core asks ``find_by_key``, which finds it by its key.

    Args:
        done: what was written, e.g. ``"SD-12 was created"``.
        step: the follow-up (watchers, attachments).
    """
    try:
        step()
    except TrackerMailError as exc:
        raise UnknownOutcome(
            f"{done}, but then {exc.message}; it is found again by its key"
        ) from exc
