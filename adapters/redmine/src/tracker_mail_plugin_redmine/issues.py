"""Writing issues and notes, as the sender where Redmine allows it, and reading them back.

Redmine drops what a user may not set instead of refusing the request: a tracker the role
may not use becomes the project's first allowed one, ``is_private`` and private notes are
ignored, watchers are skipped, and a note on a tracker the role may not comment on is
simply not saved. So the adapter checks the sender's permissions before it writes, and the
answer after: a write Redmine changed behind its back is undone or corrected, never taken
for success.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote

from tracker_mail_plugin import (
    CommentRef,
    ConfigurationError,
    IssueRef,
    IssueState,
    NewComment,
    NewIssue,
    NotPermitted,
    PermanentError,
    TrackerMailError,
    UnknownOutcome,
    Upload,
    UserRef,
)
from tracker_mail_plugin.inline import inline_images
from tracker_mail_plugin_redmine.catalog import Catalog, Project
from tracker_mail_plugin_redmine.client import Forbidden, NotFound, RedmineClient
from tracker_mail_plugin_redmine.config import RedmineConfig, TextFormatting
from tracker_mail_plugin_redmine.fields import Fields
from tracker_mail_plugin_redmine.inert import inert
from tracker_mail_plugin_redmine.keys import TRACKER, carries, issue_ref, with_marker
from tracker_mail_plugin_redmine.memory import (
    CREATED_SECONDS,
    READ_SECONDS,
    IssueMemory,
    NoteConfirmations,
    Sight,
)
from tracker_mail_plugin_redmine.people import People, Permissions
from tracker_mail_plugin_redmine.references import pending_journal, resolve_journal

logger = logging.getLogger("tracker_mail.redmine")
_SUBJECT_MAX = 255


@dataclass(frozen=True, slots=True)
class Author:
    """Whom a write is done as, and whether the text must name the sender instead."""

    login: str | None  # X-Redmine-Switch-User; None: the API key's own account
    permissions: Permissions
    account_id: int  # the account that writes (the key's own when login is None)
    named: UserRef | None = None  # a sender who could not be acted as

    def text(self, text: str) -> str:
        """``text``, opened with "From: Name <address>" when the sender is not the author."""
        if self.named is None:
            return text
        who = self.named.name or self.named.login or self.named.id
        address = f" <{self.named.email}>" if self.named.email else ""
        return f"From: {who}{address}\n\n{text}"


class Issues:
    """Creates issues and notes and reads issues, for the adapter."""

    def __init__(
        self,
        client: RedmineClient,
        catalog: Catalog,
        people: People,
        config: RedmineConfig,
        field_id: int | None,
    ):
        self._client = client
        self._catalog = catalog
        self._people = people
        self._config = config
        self._fields = Fields(client, catalog, people, config)
        self._field_id = field_id
        self._created = IssueMemory(CREATED_SECONDS)
        self._lately_read = IssueMemory(READ_SECONDS)
        self._sight = Sight()
        self._notes_kept = NoteConfirmations()

    # -- reading --------------------------------------------------------------------------

    def project(self, ref: str) -> Project:
        """A project the configuration names; its absence is a configuration error."""
        try:
            return self._catalog.project(ref)
        except NotFound:
            raise ConfigurationError(
                f"Redmine has no project {ref!r} (or the API key's account cannot see it)"
            ) from None

    def get(self, ref: IssueRef) -> IssueState | None:
        """The issue's project and state; ``None`` when Redmine has no such issue for us."""
        issue_id = self._issue_id(ref)
        if issue_id is None:
            return None
        data = self._created.recall(issue_id)
        if data is None:
            try:
                data = self._read(issue_id)
            except (NotFound, Forbidden):
                return None
            self._lately_read.keep(data)
        project = self._catalog.project(str(data["project"]["id"]))
        found = IssueRef(
            TRACKER, str(issue_id), f"{self._client.url}/issues/{issue_id}", project.identifier
        )
        return IssueState(found, project.identifier, bool(data["status"].get("is_closed")))

    def _issue_id(self, ref: IssueRef) -> int | None:
        pending = pending_journal(ref)
        if pending is not None:
            return resolve_journal(self._client, *pending)
        return int(ref.key) if ref.key.isdigit() else None

    def _read(
        self, issue_id: int, *, journals: bool = False, as_user: str | None = None
    ) -> dict[str, Any]:
        params = {"include": "journals"} if journals else {}
        data = self._client.get(
            f"/issues/{issue_id}.json", params, what=f"read issue #{issue_id}", as_user=as_user
        )
        issue: dict[str, Any] = data["issue"]
        return issue

    def _fresh(self, issue_id: int) -> dict[str, Any]:
        """The issue as this run saw it moments ago, else as Redmine has it now."""
        return (
            self._lately_read.take(issue_id)
            or self._created.recall(issue_id)
            or self._read(issue_id)
        )

    # -- who ------------------------------------------------------------------------------

    def author(self, user: UserRef | None, project: Project) -> Author:
        """Act as ``user`` when the key allows it; otherwise write as the key's account."""
        me = self._people.me()
        if user is None:
            return Author(None, self._people.permissions(me, project), me.id)
        if not self._people.can_act_as_senders:
            return Author(None, self._people.permissions(me, project), me.id, named=user)
        account = self._people.account(user)
        if account is None:
            raise PermanentError(f"Redmine has no active account for {user.login or user.id}")
        login = None if account.id == me.id else account.login
        return Author(login, self._people.permissions(account, project), account.id)

    # -- issues ---------------------------------------------------------------------------

    def create(self, new: NewIssue) -> IssueRef:
        """Create ``new`` (an issue, or a request); see the module docstring for the checks."""
        project = self.project(new.project)
        author = self.author(new.reporter, project)
        attributes = self._fields.resolve(new, project)
        watchers = self._fields.watcher_ids(new)
        self._may_be_private(new.private, author, project)
        tokens, refused, sent = self._uploads(new.attachments, author.login)
        text = self._shown_in_place(_listed(author.text(new.text), refused), sent)
        attributes |= {"subject": new.title[:_SUBJECT_MAX] or "(no subject)", "uploads": tokens}
        if new.private:
            attributes["is_private"] = True
        early = watchers if author.permissions.allows("add_issue_watchers") else []
        if early:
            attributes["watcher_user_ids"] = early
        if self._field_id is None:
            text = with_marker(text, new.idempotency_key, self._config.text_formatting)
        else:
            fields = attributes.setdefault("custom_fields", [])
            fields.append({"id": self._field_id, "value": new.idempotency_key})
        attributes["description"] = text
        what = f"create an issue in project {project.identifier}"
        answer = self._client.post(
            "/issues.json", {"issue": attributes}, what=what, as_user=author.login
        )
        issue = answer.get("issue") or {}
        if "id" not in issue:
            raise UnknownOutcome(f"Redmine answered no issue to: {what}")
        self._check_tracker(issue, attributes, new)
        self._complete(issue, attributes, new, [w for w in watchers if w not in early])
        # Private if asked, even when making it so failed: the safe side for Sight.
        self._created.keep(issue | {"is_private": new.private or issue.get("is_private")})
        ref = issue_ref(self._client.url, issue)
        return IssueRef(ref.adapter, ref.key, ref.url, project.identifier)

    @staticmethod
    def _may_be_private(private: bool, author: Author, project: Project) -> None:
        allowed = author.permissions.allows("set_issues_private") or author.permissions.allows(
            "set_own_issues_private"
        )
        if private and not allowed:
            raise NotPermitted(
                f"{author.login or 'the API account'} may not make issues private in "
                f"{project.identifier}; Redmine would have made this one public"
            )

    def _check_tracker(self, issue: dict[str, Any], sent: dict[str, Any], new: NewIssue) -> None:
        """Redmine swaps a tracker the sender's role may not use for one it may: undo that."""
        wanted = sent.get("tracker_id")
        got = issue.get("tracker") or {}
        if wanted is None or got.get("id") == wanted:
            return
        issue_id = int(issue["id"])
        self._undo(issue_id)
        raise NotPermitted(
            f"Redmine would not file it as tracker {self._fields.tracker_name(new)!r} for "
            f"this sender (their role is limited to other trackers) and made it "
            f"{got.get('name')!r}; issue #{issue_id} was deleted again"
        )

    def _complete(
        self, issue: dict[str, Any], sent: dict[str, Any], new: NewIssue, watchers: Sequence[int]
    ) -> None:
        """Put right what Redmine left out; the issue exists, so nothing here may fail it.

        Raising now would make the core create the issue again (only an unknown outcome
        makes it look first); a problem is logged for the operator instead.
        """
        issue_id = int(issue["id"])
        path, kept = f"/issues/{issue_id}.json", _kept_fields(issue)
        fixes: list[tuple[str, Callable[..., object]]] = []
        if new.private and not issue.get("is_private"):
            body: dict[str, Any] = {"issue": {"is_private": True}}
            fixes.append(("make it private", partial(self._client.put, path, body)))
        if self._field_id is not None and kept.get(self._field_id) != new.idempotency_key:
            # The key field is not on for this project or tracker: keep the key in the text.
            text = with_marker(
                sent["description"], new.idempotency_key, self._config.text_formatting
            )
            body = {"issue": {"description": text}}
            fixes.append(("keep its key", partial(self._client.put, path, body)))
        for watcher in watchers:
            body = {"user_id": watcher}
            add = partial(self._client.post, f"/issues/{issue_id}/watchers.json", body)
            fixes.append(("add a watcher", add))
        for why, fix in fixes:
            logger.warning("issue #%s: Redmine did not %s; the adapter does", issue_id, why)
            try:
                fix(what=f"{why} (issue #{issue_id})")
            except TrackerMailError as exc:
                logger.warning("issue #%s was created, but could not %s: %s", issue_id, why, exc)
        dropped = [
            f["id"]
            for f in sent.get("custom_fields", [])
            if f["id"] != self._field_id and f["id"] not in kept
        ]
        if dropped:
            logger.warning(
                "issue #%s: Redmine dropped custom fields %s (not on for it)", issue_id, dropped
            )

    def _undo(self, issue_id: int) -> None:
        try:
            self._client.delete(f"/issues/{issue_id}.json", what=f"delete issue #{issue_id}")
        except TrackerMailError as exc:
            raise UnknownOutcome(
                f"issue #{issue_id} was made wrongly and could not be deleted: {exc}"
            ) from exc

    # -- notes ----------------------------------------------------------------------------

    def comment(self, ref: IssueRef, new: NewComment) -> CommentRef:
        """Add ``new`` as a note (a reply), as its author where Redmine allows it."""
        if not ref.key.isdigit():
            raise PermanentError(f"{ref.key!r} is not a Redmine issue number")
        issue_id = int(ref.key)
        try:
            data = self._fresh(issue_id)
        except NotFound:
            raise PermanentError(f"Redmine has no issue #{issue_id}") from None
        project = self._catalog.project(str(data["project"]["id"]))
        author = self.author(new.author, project)
        if author.login is not None and not self._sight.sees(author.account_id, data):
            self._visible_to(issue_id, author)
        if new.private and not author.permissions.allows("set_notes_private"):
            raise NotPermitted(
                f"{author.login or 'the API account'} may not write private notes in "
                f"{project.identifier}; Redmine would have made this one public"
            )
        tokens, refused, sent = self._uploads(new.attachments, author.login)
        notes = with_marker(
            self._shown_in_place(_listed(author.text(new.text), refused), sent),
            new.idempotency_key,
            self._config.text_formatting,
        )
        body = {"issue": {"notes": notes, "private_notes": new.private, "uploads": tokens}}
        self._client.put(
            f"/issues/{issue_id}.json",
            body,
            what=f"add a note to issue #{issue_id}",
            as_user=author.login,
        )
        if not new.private and self._notes_kept.confirmed(author.account_id, data):
            # Redmine kept this author's notes on this project's issues of this tracker
            # before, so it kept this one: its id is not needed, so it is not read.
            return CommentRef(issue_ref(self._client.url, data), "")
        return self._written_note(issue_id, new, author)

    def _visible_to(self, issue_id: int, author: Author) -> None:
        """Redmine 5.0 lets a user add notes to an issue they cannot see; we do not."""
        try:
            seen = self._read(issue_id, as_user=author.login)
        except PermanentError:
            raise NotPermitted(
                f"{author.login} cannot see issue #{issue_id}, so may not answer it"
            ) from None
        self._sight.saw(author.account_id, seen)

    def _written_note(self, issue_id: int, new: NewComment, author: Author) -> CommentRef:
        try:
            data = self._read(issue_id, journals=True)
        except TrackerMailError as exc:
            raise UnknownOutcome(
                f"a note was sent to issue #{issue_id} but cannot be read back: {exc}"
            ) from exc
        journal = next(
            (
                j
                for j in reversed(data.get("journals", []))
                if carries(j.get("notes"), new.idempotency_key)
            ),
            None,
        )
        if journal is None:
            raise NotPermitted(
                f"Redmine did not save the note on issue #{issue_id}: the sender's role may "
                f"not add notes to {data.get('tracker', {}).get('name', 'its')} issues"
            )
        if new.private and not journal.get("private_notes"):
            logger.warning("note %s came out public; making it private", journal["id"])
            self._client.put(
                f"/journals/{journal['id']}.json",
                {"journal": {"private_notes": True}},
                what=f"make note {journal['id']} private",
            )
        self._notes_kept.confirm(author.account_id, data)
        return CommentRef(issue_ref(self._client.url, data), str(journal["id"]))

    # -- reopening ------------------------------------------------------------------------

    def reopen(self, ref: IssueRef) -> None:
        """Give a closed issue back an open status (``closed_issue: reopen``)."""
        if not ref.key.isdigit():
            raise PermanentError(f"{ref.key!r} is not a Redmine issue number")
        issue_id = int(ref.key)
        self._created.forget(issue_id)
        data = self._read(issue_id)
        if not data["status"].get("is_closed"):
            return
        if self._config.reopen_status:
            status = self._catalog.status_named(self._config.reopen_status)
        else:
            trackers = {t.id: t for t in self._catalog.trackers().values()}
            status = trackers[int(data["tracker"]["id"])].default_status or 1
        self._client.put(
            f"/issues/{issue_id}.json",
            {"issue": {"status_id": status}},
            what=f"reopen issue #{issue_id}",
        )
        if self._read(issue_id)["status"].get("is_closed"):
            raise PermanentError(
                f"Redmine kept issue #{issue_id} closed (its workflow refused the status)"
            )

    # -- files ----------------------------------------------------------------------------

    def _uploads(
        self, uploads: Sequence[Upload], login: str | None
    ) -> tuple[list[dict[str, str]], list[str], list[Upload]]:
        """Upload tokens for each file, the files refused (named, not fatal), those sent."""
        tokens: list[dict[str, str]] = []
        refused: list[str] = []
        sent: list[Upload] = []
        for upload in uploads:
            try:
                token = self._client.upload(upload, as_user=login)
            except PermanentError as exc:
                refused.append(f"{upload.filename} ({exc.message})")
                continue
            tokens.append(
                {"token": token, "filename": upload.filename, "content_type": upload.content_type}
            )
            sent.append(upload)
        return tokens, refused, sent

    def _shown_in_place(self, text: str, sent: Sequence[Upload]) -> str:
        """The mail's inline images (``[cid:…]``) as images of the attached files.

        The mail's own markup is made inert first (remote images, mentions); the images
        put in here are the issue's own attachments.
        """
        formatting = self._config.text_formatting
        text = inert(text, formatting)
        if formatting != "textile":
            return inline_images(text, sent, lambda u: inline_image(u.filename, formatting))
        # Textile takes !name! for an image only with a space (or a line's edge) before it
        # and after it (or punctuation): mark the edges, then put a space where one lacks.
        marked = inline_images(
            text, sent, lambda u: f"{_EDGE}{inline_image(u.filename, formatting)}{_EDGE}"
        )
        return _EDGE_NEEDS_SPACE.sub(" ", marked.replace(_EDGE * 2, " ")).replace(_EDGE, "")


# A Unicode noncharacter, reserved for a program's internal use: never one in mail text.
_EDGE = "\uffff"
_EDGE_NEEDS_SPACE = re.compile("(?<=[^\\s\uffff])\uffff(?=!)|(?<=!)\uffff(?=[^\\s\uffff.,;:?)])")


def inline_image(filename: str, formatting: TextFormatting) -> str:
    """How ``formatting`` shows an attachment of the same issue as an image in the text.

    Redmine finds the attachment by the (URL-decoded) name, so a name is percent-encoded
    to keep spaces and ``!`` or ``)`` from ending the image early. Plain text has no
    images: the file is named instead.
    """
    if formatting == "textile":
        return f"!{quote(filename, safe='')}!"
    if formatting in ("markdown", "common_mark"):
        return f"![]({quote(filename, safe='')})"
    return f"[image: {filename}]"


def _kept_fields(issue: dict[str, Any]) -> dict[int, Any]:
    """The custom field values Redmine stored on ``issue``, by field id."""
    return {int(f["id"]): f.get("value") for f in issue.get("custom_fields", [])}


def _listed(text: str, refused: Sequence[str]) -> str:
    if not refused:
        return text
    return f"{text.rstrip()}\n\nNot attached: " + "; ".join(refused)
