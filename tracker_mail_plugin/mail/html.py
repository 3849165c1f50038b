"""HTML-only mail to readable Markdown-like text.

markdownify (MIT) does the conversion; html2text renders mail as well but is GPL-3.0, which
would bind every adapter and user of this MIT project. We remove ``<style>``, ``<script>``,
``<head>`` and comments from the tree before converting, because markdownify's ``strip``
option keeps the *text* of stripped tags and Outlook's CSS would leak into issues.
"""

from __future__ import annotations

import re
from typing import Any

from bs4 import BeautifulSoup, Comment
from markdownify import MarkdownConverter

_INVISIBLE = ("style", "script", "head", "title", "meta", "link", "noscript", "template", "xml")
_SPACES_AT_LINE_END = re.compile(r"[ \t\u00a0]+\n")
_MANY_BLANK_LINES = re.compile(r"\n{3,}")


class _MailConverter(MarkdownConverter):
    """markdownify tuned for mail: hard line breaks, images named instead of linked."""

    def convert_img(self, el: Any, text: str, parent_tags: Any) -> str:
        alt = (el.attrs.get("alt") or el.attrs.get("title") or "").strip()
        src = el.attrs.get("src") or ""
        name = alt or _image_name(src)
        return f"[image: {name}]" if name else "[image]"

    def convert_br(self, el: Any, text: str, parent_tags: Any) -> str:
        return text + " " if "_inline" in parent_tags else "\n" + text


def _image_name(src: str) -> str:
    if src.startswith("cid:"):
        return src[4:].split("@", 1)[0]
    if src.startswith("data:"):
        return ""
    return src.rsplit("/", 1)[-1].split("?", 1)[0]


_CONVERTER = _MailConverter(
    heading_style="ATX",
    bullets="-",
    escape_asterisks=False,
    escape_underscores=False,
    table_infer_header=True,
)


def html_to_text(html: str) -> str:
    """Convert an HTML body to Markdown-like text: paragraphs, lists, links, tables kept."""
    soup = BeautifulSoup(html, "lxml")
    for tag in soup.find_all(_INVISIBLE):
        tag.decompose()
    for comment in soup.find_all(string=lambda node: isinstance(node, Comment)):
        comment.extract()
    text = _CONVERTER.convert_soup(soup)
    text = text.replace("\u00a0", " ")
    text = _SPACES_AT_LINE_END.sub("\n", text)
    return _MANY_BLANK_LINES.sub("\n\n", text).strip()
