"""Mail text as Jira wiki markup (REST v2 bodies), shown as it was written.

Jira renders descriptions and comments as wiki markup, where a few characters in ordinary
mail do something: ``{code}`` or ``{color}`` opens a macro and can swallow the rest of the
text, ``[~name]`` mentions (and notifies) someone, ``[text|url]`` hides a link target,
``!file.png!`` embeds an attachment. Those are escaped with a backslash; emphasis such as
``*word*`` is left alone, since it reads the same either way.
"""

from __future__ import annotations

import re

from tracker_mail_plugin import UserRef

_SPECIAL = re.compile(r"([{}\[\]!\\])")


def wiki_text(text: str) -> str:
    """``text`` with the characters that start macros, links, mentions and images escaped."""
    return _SPECIAL.sub(r"\\\1", text)


def from_line(user: UserRef) -> str:
    """``From: Name <address>``, the line that records a sender Jira cannot show as author."""
    if user.email and user.name and user.name != user.email:
        return f"From: {user.name} <{user.email}>"
    return f"From: {user.email or user.name or user.id}"


def attributed(text: str, author: UserRef | None) -> str:
    """``text`` headed by the author's ``From:`` line when one is given."""
    return f"{from_line(author)}\n\n{text}" if author is not None else text
