"""The body of an issue or comment: sender, text, attachments section, marker, within 65,536.

GitHub has no attachment API, so files follow the ``attachments`` policy:

- ``list``: a table of names, sizes and SHA-256 hashes (the files stay in the mailbox or the
  journal's original; the hash proves which file was meant);
- ``commit``: each file committed to ``attachments_branch`` under
  ``attachments_path/<idempotency key>/<name>`` and linked (the links are computed, so the
  body can be measured before anything is committed);
- ``drop``: only the names are mentioned, so a reader knows something was left out.

A text too long for GitHub is cut at a paragraph, with a note saying so, and the full text
becomes one more file (``full-text.txt``) that follows the same policy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from tracker_mail_plugin import PermanentError, Upload
from tracker_mail_plugin.inline import inline_images
from tracker_mail_plugin_github.config import AttachmentPolicy
from tracker_mail_plugin_github.projects import Repo
from tracker_mail_plugin_github.text import BODY_LIMIT, cut_at_paragraph, escape, join, marker

FULL_TEXT_NAME = "full-text.txt"
_PLACEHOLDER = "\0"


@dataclass(frozen=True, slots=True)
class NamedFile:
    """An upload under the name it is shown and stored as (unique within one body)."""

    name: str
    upload: Upload


@dataclass(frozen=True, slots=True)
class BodyPlan:
    """A body ready to send, and the files the policy stores before it is sent."""

    body: str
    files: tuple[NamedFile, ...]
    cut: bool


@dataclass(frozen=True, slots=True)
class Attachments:
    """How one tracker's configuration treats files.

    Attributes:
        policy: ``list``, ``commit`` or ``drop``.
        branch: the branch files are committed to (``commit``).
        folder: the folder files are committed under (``commit``).
        web_url: the web root links point to (``https://github.com`` or the GHES host).
    """

    policy: AttachmentPolicy
    branch: str | None
    folder: str
    web_url: str

    def path(self, key: str, name: str) -> str:
        """Where a file is committed: ``folder/<key>/<name>``."""
        return f"{self.folder}/{key}/{name}"

    def link(self, repo: Repo, key: str, name: str) -> str:
        """The web link to a committed file (what GitHub answers as ``html_url``).

        A ``/`` in the branch stays a ``/``: GitHub's web pages find the branch among the
        segments (``blob/feature/files/tracker-mail/…``, as its own ``html_url`` reads),
        while ``feature%2Ffiles`` names no branch and the link answers 404.
        """
        branch = quote(self.branch or "", safe="/")
        path = quote(self.path(key, name), safe="/")
        return f"{self.web_url}/{repo.full}/blob/{branch}/{path}"

    def shown_in_place(
        self,
        repo: Repo,
        key: str,
        text: str,
        files: Sequence[NamedFile],
        around: Callable[[str], str] = str,
    ) -> str:
        """``text`` with the mail's inline images (``[cid:…]``) where the sender put them.

        Committed, an image is a Markdown image of the committed file (``?raw=true``: the
        blob page itself is HTML, not an image); otherwise there is no file on GitHub to
        show, and the reference becomes the file's name, listed below. ``around`` is
        applied to the text around the images and to the references that named no file.
        """
        names = {id(f.upload): f.name for f in files}

        def render(upload: Upload) -> str:
            name = names[id(upload)]
            if self.policy == "commit":
                return f"![{escape(name)}]({self.link(repo, key, name)}?raw=true)"
            return f"\\[image: {escape(name)}\\]"

        return inline_images(text, [f.upload for f in files], render, around)

    def section(self, repo: Repo, key: str, files: Sequence[NamedFile]) -> str:
        """The Markdown that lists ``files`` as the policy says; empty without files."""
        if not files:
            return ""
        if self.policy == "commit":
            lines = [self._linked(repo, key, f) for f in files]
            return "---\n**Attachments** (committed to the repository):\n\n" + "\n".join(lines)
        if self.policy == "drop":
            named = ", ".join(f"{escape(f.name)} ({human_size(f.upload.size)})" for f in files)
            return f"---\n**Attachments not kept** (the attachments policy is `drop`): {named}"
        rows = [
            f"| {escape(f.name)} | {human_size(f.upload.size)} | `{f.upload.sha256}` |"
            for f in files
        ]
        return (
            "---\n**Attachments** (listed only; the files are not stored on GitHub):\n\n"
            "| File | Size | SHA-256 |\n| --- | --- | --- |\n" + "\n".join(rows)
        )

    def _linked(self, repo: Repo, key: str, file: NamedFile) -> str:
        link = self.link(repo, key, file.name)
        size = human_size(file.upload.size)
        return f"- [{escape(file.name)}]({link}) ({size}, SHA-256 `{file.upload.sha256}`)"

    def cut_note(self, length: int) -> str:
        """What a reader of a cut body is told about the rest."""
        where = {
            "commit": f"committed as {FULL_TEXT_NAME} (linked below)",
            "list": f"listed below as {FULL_TEXT_NAME}; it is not stored on GitHub",
            "drop": "not kept (the attachments policy is `drop`)",
        }[self.policy]
        return (
            f"*[The mail was cut here: its text has {length:,} characters and GitHub takes "
            f"{BODY_LIMIT:,}. The full text is {where}.]*"
        )


def plan_body(
    head: str,
    text: str,
    uploads: Sequence[Upload],
    key: str,
    repo: Repo,
    attachments: Attachments,
    around: Callable[[str], str] = str,
) -> BodyPlan:
    """The body for ``text`` and ``uploads``, cut to GitHub's limit if it must be.

    ``around`` is applied to the text around its inline images (see
    :meth:`Attachments.shown_in_place`).

    Raises:
        PermanentError: even without any text the body would be too long (thousands of
            attachments): nothing can be created from this message as it is.
    """
    files = named(uploads)
    text = attachments.shown_in_place(repo, key, text, files, around)
    body = _assemble(head, text, files, key, repo, attachments)
    if len(body) <= BODY_LIMIT:
        return BodyPlan(body, files, cut=False)
    full = Upload.from_bytes(FULL_TEXT_NAME, text.encode(), "text/plain; charset=utf-8")
    files = named([*uploads, full])
    note = attachments.cut_note(len(text))
    frame = _assemble(head, join(_PLACEHOLDER, note), files, key, repo, attachments)
    budget = BODY_LIMIT - (len(frame) - len(_PLACEHOLDER))
    if budget < 1:
        raise PermanentError(
            f"the sender line and the list of {len(uploads)} attachments alone exceed GitHub's "
            f"{BODY_LIMIT:,} characters"
        )
    kept = cut_at_paragraph(text, budget)
    body = _assemble(head, join(kept, note), files, key, repo, attachments)
    return BodyPlan(body, files, cut=True)


def named(uploads: Sequence[Upload]) -> tuple[NamedFile, ...]:
    """Each upload under a name unique within the body (``2-name`` for a repeated one)."""
    seen: set[str] = set()
    result = []
    for index, upload in enumerate(uploads, start=1):
        name = upload.filename or f"attachment-{index}"
        if name.lower() in seen:
            name = f"{index}-{name}"
        seen.add(name.lower())
        result.append(NamedFile(name, upload))
    return tuple(result)


def human_size(size: int) -> str:
    """``512 bytes``, ``12.3 kB``, ``4.5 MB`` (SI units, as the core's limits are written)."""
    if size < 1000:
        return f"{size} bytes"
    if size < 1000**2:
        return f"{size / 1000:.1f} kB"
    return f"{size / 1000**2:.1f} MB"


def _assemble(
    head: str,
    text: str,
    files: Sequence[NamedFile],
    key: str,
    repo: Repo,
    attachments: Attachments,
) -> str:
    return join(head, text, attachments.section(repo, key, files), marker(key))
