"""Mail text as Jira wiki markup (REST v2 bodies), shown as it was written.

Jira renders descriptions and comments as wiki markup, where a few characters in ordinary
mail do something: ``{code}`` or ``{color}`` opens a macro and can swallow the rest of the
text, ``[~name]`` mentions (and notifies) someone, ``[text|url]`` hides a link target,
``!file.png!`` embeds an attachment. Those are escaped with a backslash; emphasis such as
``*word*`` is left alone, since it reads the same either way.

Images the mail showed inline (``cid:``) are the exception: where the text has their
placeholder and the image is attached, Jira's own ``!name|thumbnail!`` shows it there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from tracker_mail_plugin import Upload, UserRef
from tracker_mail_plugin.inline import InlineImages

_SPECIAL = re.compile(r"([{}\[\]!\\])")
# What an attachment name inside !…|thumbnail! cannot hold: it would end the image early.
_UNEMBEDDABLE = re.compile(r"[!|\r\n]")


def wiki_text(text: str, files: Iterable[Upload] = ()) -> str:
    """``text`` with the characters that start macros, links, mentions and images escaped.

    Args:
        text: the mail's text.
        files: the files attached with it: the placeholder of each inline image among them
            becomes ``!name|thumbnail!``.
    """
    return wiki_writer(files)(text)


def wiki_writer(files: Iterable[Upload] = ()) -> Callable[[str], str]:
    """:func:`wiki_text` for ``files``, to call on many pieces of one text."""
    return InlineImages(files, _embedded, escape=_escape)


def _escape(text: str) -> str:
    return _SPECIAL.sub(r"\\\1", text)


def _embedded(upload: Upload) -> str | None:
    if not upload.content_type.startswith("image/") or _UNEMBEDDABLE.search(upload.filename):
        return None
    return f"!{upload.filename}|thumbnail!"


def from_line(user: UserRef) -> str:
    """``From: Name <address>``, the line that records a sender Jira cannot show as author."""
    if user.email and user.name and user.name != user.email:
        return f"From: {user.name} <{user.email}>"
    return f"From: {user.email or user.name or user.id}"


def attributed(text: str, author: UserRef | None) -> str:
    """``text`` headed by the author's ``From:`` line when one is given."""
    return f"{from_line(author)}\n\n{text}" if author is not None else text
