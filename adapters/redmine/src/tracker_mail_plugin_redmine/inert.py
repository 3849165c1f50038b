"""Mail text made inert for Redmine: no remote images, no mentions that notify people.

A stranger writes the mail, and Redmine renders it for everyone who opens the issue. An
image from another server (textile ``!https://host/p.png!``, Markdown ``![](https://…)``,
an ``<img>`` that CommonMark lets through) is fetched by each reader's browser, telling
that server who read the issue and when. ``@login`` notifies that Redmine user (Redmine
5), so any sender could page anyone. An invisible word joiner after the ``!`` or the
``@`` keeps the text readable and copyable while Redmine no longer sees the markup.

Every function is a single pass over the text: no expression that could backtrack on what
a sender wrote.
"""

from __future__ import annotations

from tracker_mail_plugin_redmine.config import TextFormatting

WORD_JOINER = "\u2060"
# The characters of a Redmine login after "@", as its mention parser takes them.
_LOGIN_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


def inert(text: str, formatting: TextFormatting) -> str:
    """``text`` without remote images (for ``formatting``) and without mentions."""
    if formatting == "textile":
        text = _without_textile_remote_images(text)
    elif formatting in ("markdown", "common_mark"):
        text = text.replace("![", f"!{WORD_JOINER}[")
        text = _without_img_tags(text)
    return _without_mentions(text)


def _without_textile_remote_images(text: str) -> str:
    """A ``!`` whose run up to the next ``!`` on its line holds ``//`` no longer opens one.

    Textile's image is ``!modifiers url!`` on one line; a URL that reaches another server
    has ``//`` in it (``https://``, or the scheme-relative ``//host``). A local attachment
    (``!name.png!``) has none and stays an image.
    """
    lines = text.split("\n")
    for number, line in enumerate(lines):
        if "!" not in line or "//" not in line:
            continue
        pieces = line.split("!")
        for index in range(1, len(pieces) - 1):
            if "//" in pieces[index]:
                pieces[index] = WORD_JOINER + pieces[index]
        lines[number] = "!".join(pieces)
    return "\n".join(lines)


def _without_img_tags(text: str) -> str:
    lowered = text.lower()
    out: list[str] = []
    start = 0
    found = lowered.find("<img", start)
    while found != -1:
        out.append(text[start : found + 1])
        out.append(WORD_JOINER)
        start = found + 1
        found = lowered.find("<img", start)
    out.append(text[start:])
    return "".join(out)


def _without_mentions(text: str) -> str:
    """``@login`` where Redmine would see a mention (not inside a word or an address)."""
    out: list[str] = []
    start = 0
    found = text.find("@")
    while found != -1:
        before = text[found - 1] if found else " "
        after = text[found + 1 : found + 2]
        if after in _LOGIN_START and after and not (before.isalnum() or before == "_"):
            out.append(text[start : found + 1])
            out.append(WORD_JOINER)
            start = found + 1
        found = text.find("@", found + 1)
    out.append(text[start:])
    return "".join(out)
