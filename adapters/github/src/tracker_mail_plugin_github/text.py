"""Pure text work: who sent it, mentions, the idempotency marker, cutting long bodies.

Every issue and comment is written by the token's identity, so the text starts with the
sender: ``From: Alice Example (@alice)`` when the sender has a GitHub login, else the name
the mail gave. The address is shown only when ``publish_addresses`` is on: issue text in a
public repository is world-readable and harvested.
"""

from __future__ import annotations

import re

from tracker_mail_plugin import UserRef
from tracker_mail_plugin_github.autolinks import neutralise_references

BODY_LIMIT = 65_536  # GitHub's maximum for an issue or comment body, in characters
MARKER_PREFIX = "tracker-mail:"

# The core's own line for mail created as the configured account (pipeline/act.py).
_CORE_FROM = re.compile(r"\AFrom: (?P<who>[^\n]*)\n\n")
# @login or @org/team where GitHub would see a mention: not inside a word or an address.
_MENTION = re.compile(r"(?<![\w@/.`-])@(?=[A-Za-z0-9][A-Za-z0-9-]*(?:/[\w.-]+)?\b)")
_WORD_JOINER = "\u2060"  # invisible; keeps "@name" readable without notifying anyone
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def marker(key: str) -> str:
    """The hidden marker that lets ``find_by_key`` recognise what we created."""
    return f"<!-- {MARKER_PREFIX}{key} -->"


def has_marker(body: object, key: str) -> bool:
    """Whether a body (any JSON value) carries the marker for ``key``."""
    return isinstance(body, str) and marker(key) in body


def split_sender(text: str, author: UserRef | None, publish_addresses: bool) -> tuple[str, str]:
    """The sender line for GitHub and the rest of ``text``.

    Args:
        text: the text the core built; when created as the configured account it starts
            with the core's ``From: Name <address>`` line, which is rewritten here so that
            the address appears only if allowed.
        author: the sender's account, when the core resolved one (no line from the core).
        publish_addresses: whether the mail address may be shown.

    Returns:
        ``(head, rest)``: the line to put first (empty when nobody is known) and the text.
    """
    found = _CORE_FROM.match(text)
    rest = text[found.end() :] if found else text
    if author is not None:
        shown = escape(author.name or author.login or author.id)
        login = f" (@{author.login})" if author.login else ""
        address = f" <{author.email}>" if publish_addresses and author.email else ""
        return f"From: {shown}{login}{address}", rest
    if found is None:
        return "", text
    name, address = _name_and_address(found.group("who"))
    if publish_addresses and address:
        return (f"From: {escape(name)} <{address}>" if name else f"From: <{address}>"), rest
    if name:
        return f"From: {escape(name)}", rest
    domain = address.rpartition("@")[2]
    return (f"From: a sender at {domain}" if domain else "From: an unnamed sender"), rest


def _name_and_address(who: str) -> tuple[str, str]:
    """How the core writes a sender (``str(Address)``): "Name <address>" or a bare address.

    The name is not quoted ("Doe, John <j@x>"), so email.utils.parseaddr would misread it.
    Taken apart with ``str`` methods: a lazy name, optional spaces and then ``<`` in one
    expression backtracked quadratically over a display name holding a long run of spaces.
    """
    who = who.strip()
    opening = who.rfind("<")
    address = who[opening + 1 : -1]
    if who.endswith(">") and opening >= 0 and not _unfit_address(address):
        return who[:opening].strip(), address
    return "", who


def _unfit_address(address: str) -> bool:
    return ">" in address or any(char.isspace() for char in address)


def neutralise_mentions(text: str) -> str:
    """``@name`` kept readable but no longer a mention that notifies a stranger on GitHub."""
    return _MENTION.sub("@" + _WORD_JOINER, text)


def escape(text: str) -> str:
    """``text`` with Markdown's special characters escaped, for names and file names.

    Names come from mail too ("Acme #12", a file "GH-7.pdf"): a mention or a reference in
    them is made inert as in the text, whatever ``allow_mentions``/``allow_references``
    say (those keep the sender's words live, not the adapter's own lines). An escaped
    ``#12`` would still be a reference: GitHub links through a backslash.
    """
    return neutralise_references(neutralise_mentions(_MARKDOWN_SPECIAL.sub(r"\\\1", text)))


def cut_at_paragraph(text: str, budget: int) -> str:
    """At most ``budget`` characters of ``text``, ending at a paragraph break if possible.

    Falls back to a line break, then a space, within the last half of the budget, and cuts
    hard only when the text has none (one enormous line). A cut inside a line ends before
    the line's first backtick: a code span that lost its closing backticks is shown as
    prose, and what was left as written inside it (references) would be live again.
    """
    if len(text) <= budget:
        return text
    window = text[:budget]
    for separator in ("\n\n", "\n"):
        at = window.rfind(separator)
        if at >= budget // 2:
            return window[:at].rstrip()
    at = window.rfind(" ")
    kept = window[:at].rstrip() if at >= budget // 2 else window
    tick = kept.find("`", kept.rfind("\n") + 1)
    return kept if tick < 0 else kept[:tick].rstrip()


def join(*parts: str) -> str:
    """The non-empty parts, a blank line between each."""
    return "\n\n".join(part for part in parts if part)
