"""Inline images: the places a mail's text shows a ``cid:`` image, in a tracker's own form.

A mail's pictures (screenshots pasted into Outlook, signatures) are parts with a Content-ID
that the HTML shows with ``<img src="cid:…">``. The text tracker-mail sends keeps a
reference where each stood, in one of three shapes:

- ``[cid:image001.png@01D9A1B2.C3D4E5F0]``: the plain-text alternative mail programs write;
- ``[image: image001.png]``: tracker-mail's own reading of the HTML, where the name is the
  image's alt text, else the Content-ID's part before ``@``;
- ``cid:…`` alone, a leftover reference.

:func:`inline_images` replaces each reference that names an uploaded file (by its
:attr:`~tracker_mail_plugin.Upload.content_id`) with what the adapter renders for it
(Redmine ``!name!``, Jira ``!name|thumbnail!``, a Markdown image link on GitHub), and leaves
the others as they were, so the reader still sees that something was there. Adapters that
must escape text (wiki markup) pass ``escape``: it is applied to everything but the rendered
images.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from tracker_mail_plugin.adapter import Upload

__all__ = ["InlineImages", "inline_images"]

# One pass over the text; each alternative is a bounded character class, so matching stays
# linear in the text's length whatever the mail holds.
_REFERENCE = re.compile(
    r"\[cid:(?P<bracketed>[^\]\s]{1,500})\]"
    r"|\[image: (?P<named>[^\]\n]{1,500})\]"
    r"|(?<![\w/.-])cid:(?P<bare>[^\s<>()\[\]\"']{1,500})"
)


def inline_images(
    text: str,
    uploads: Iterable[Upload],
    render: Callable[[Upload], str | None],
    escape: Callable[[str], str] = str,
) -> str:
    """``text`` with each ``cid:`` reference of an uploaded file rendered by ``render``.

    Args:
        text: the issue's or comment's text, unescaped.
        uploads: the files sent with it; only those with a ``content_id`` take part.
        render: the tracker's inline form for an upload, or ``None`` to keep the reference
            (a file name the markup cannot carry).
        escape: applied to the text between the rendered images (and to kept references).

    Returns:
        The text to send. Without any upload carrying a Content-ID, ``escape(text)``.
    """
    return InlineImages(uploads, render, escape)(text)


class InlineImages:
    """:func:`inline_images` with the uploads looked up once, for many pieces of one text.

    An adapter that renders a text line by line (to cut it at a tracker's limit) would
    otherwise index every upload again for each line: lines times files.
    """

    def __init__(
        self,
        uploads: Iterable[Upload],
        render: Callable[[Upload], str | None],
        escape: Callable[[str], str] = str,
    ) -> None:
        """Index ``uploads`` by Content-ID and name; see :func:`inline_images`."""
        self._by_id = {upload.content_id: upload for upload in uploads if upload.content_id}
        self._by_name = _by_name(self._by_id)
        self._render = render
        self._escape = escape

    def __call__(self, text: str) -> str:
        """``text`` with each reference of an upload rendered, the rest escaped."""
        if not self._by_id:
            return self._escape(text)
        out: list[str] = []
        done = 0
        for match in _REFERENCE.finditer(text):
            wanted = match.group("bracketed") or match.group("bare")
            named = match.group("named")
            upload = self._by_id.get(wanted) if wanted else self._by_name.get(named.strip())
            shown = self._render(upload) if upload is not None else None
            if shown is None:
                continue
            out += [self._escape(text[done : match.start()]), shown]
            done = match.end()
        out.append(self._escape(text[done:]))
        return "".join(out)


def _by_name(by_id: dict[str, Upload]) -> dict[str, Upload]:
    """Names an ``[image: …]`` reference may use for an upload.

    The Content-ID's part before ``@`` and the file name, each only when one upload has it:
    of two ``image001.png`` neither is guessed.
    """
    names: dict[str, list[Upload]] = {}
    for cid, upload in by_id.items():
        for name in {cid.split("@", 1)[0], upload.filename}:
            names.setdefault(name, []).append(upload)
    return {name: found[0] for name, found in names.items() if len(found) == 1}
