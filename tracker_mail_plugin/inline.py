"""Inline images: the places in a mail's text where it showed an attached file.

A mail shows an image in its text by the image part's Content-ID. What reaches an adapter's
text where the image was depends on the mail: Outlook's plain-text alternative writes
``[cid:image001.png@01DA1234.56789AB0]``; an HTML part converted by the parser becomes
``[image: image001.png]`` (the Content-ID's name part, or the image's alt text); a leftover
reference may read ``cid:…`` alone. The file itself travels as an :class:`Upload` whose
``content_id`` is that Content-ID.

:func:`replace_inline_images` puts, in place of each such reference, what the adapter's
tracker shows as an image (Redmine ``!name!``, Jira ``!name|thumbnail!``, a Markdown image
link on GitHub). A reference that no upload answers (the file was left out by the
attachment limits) stays as it was, so the reader still sees that something was there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from tracker_mail_plugin.adapter import Upload

__all__ = ["replace_inline_images"]

# One pass over the text; each alternative is a bounded character class, so matching stays
# linear in the text's length whatever the mail holds.
_REFERENCE = re.compile(
    r"\[cid:(?P<bracketed>[^\]\s]{1,500})\]"
    r"|\[image: (?P<named>[^\]\n]{1,500})\]"
    r"|(?<![\w/.-])cid:(?P<bare>[^\s<>()\[\]\"']{1,500})"
)


def replace_inline_images(
    text: str, uploads: Sequence[Upload], render: Callable[[Upload], str]
) -> str:
    """``text`` with each reference to an inline image replaced by ``render(upload)``.

    Args:
        text: the text the adapter is about to send.
        uploads: the files sent with it (those without a ``content_id`` are never shown
            in place).
        render: the tracker's inline form for one upload, e.g. ``lambda u: f"!{u.filename}!"``.

    Returns:
        The text, unchanged where no upload answers a reference.
    """
    by_id = {u.content_id: u for u in uploads if u.content_id}
    if not by_id:
        return text

    def replace(match: re.Match[str]) -> str:
        wanted = match.group("bracketed") or match.group("bare")
        upload = by_id.get(wanted) if wanted else _by_name(match.group("named"), by_id)
        return render(upload) if upload is not None else match.group(0)

    return _REFERENCE.sub(replace, text)


def _by_name(name: str, by_id: dict[str, Upload]) -> Upload | None:
    """The one upload an HTML image's ``[image: NAME]`` stands for, if exactly one fits.

    The parser names a Content-ID image by the Content-ID's part before ``@`` unless the
    image has alt text, which mail programs often set to the file's name.
    """
    name = name.strip()
    fits = [u for cid, u in by_id.items() if cid.split("@", 1)[0] == name or u.filename == name]
    return fits[0] if len(fits) == 1 else None
