"""HTML-only mail to readable Markdown-like text.

lxml's C parser builds the tree (it copes with the broken HTML mail clients write) and a
small walker writes Markdown: paragraphs, line breaks, lists, links, tables, quotes.
``<style>``, ``<script>``, ``<head>`` and comments (Outlook's conditional comments included)
are dropped with their text. We first used markdownify on BeautifulSoup: correct, but about
5 ms per mail, ten times the cost of parsing the whole message, and html2text is GPL-3.0.

What cannot deceive or exhaust: text hidden from the reader (``display:none``,
``visibility:hidden``, ``mso-hide:all`` in an inline style, or the ``hidden`` attribute) is
dropped with its element; a link to ``javascript:``, ``vbscript:`` or ``data:`` (in any case,
with entities or whitespace inside the scheme) keeps only its text. Depth is bounded: the
parser reads up to ``PARSER_DEPTH`` (2048) levels (libxml2's default of 256 silently lost
everything past it); below ``MAX_DEPTH`` (64) levels the walker, which recurses, reads an
element's text as plain text; deeper than the parser's limit the whole part is read as
plain text without markup. A tag with more attributes than any mail client writes loses
them before parsing (``html_tags.py``). Each of these is listed as a defect.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree

from tracker_mail_plugin.mail.html_tags import cap_attributes

_SKIP = frozenset(
    {"style", "script", "head", "title", "meta", "link", "noscript", "template", "xml", "object"}
)
_BLOCKS = frozenset(
    {
        "p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "center",
        "address", "form", "fieldset", "figure", "figcaption", "dl", "dt", "dd", "body", "html",
    }
)  # fmt: skip
_HEADINGS = {f"h{level}": "#" * level for level in range(1, 7)}
_SPACE_CHARACTERS = " \t\r\n\f\u00a0"
_SPACE = re.compile(f"[{_SPACE_CHARACTERS}]+")
_BREAK = "\x00"  # a hard line break inside a block; survives whitespace collapsing
_INDENT = "\x01"  # indentation that must survive the stripping of lines
# not \n{3,}: a literal start lets the regex engine jump to candidates instead of trying
# every position
_MANY_BLANK_LINES = re.compile("\n\n\n+")
_LINE_ENDS = re.compile(f"[\n{_BREAK}]+ *")
_CONTINUATION = re.compile(f"{_BREAK}(?!{_INDENT})")

PARSER_DEPTH = 2048
MAX_DEPTH = 64
_HIDDEN_STYLE = re.compile(
    r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden|mso-hide\s*:\s*all)\b", re.I
)
_UNSAFE_SCHEMES = ("javascript:", "vbscript:", "data:")
# Browsers ignore ASCII whitespace and control characters inside a URL's scheme.
_URL_IGNORED = re.compile(r"[\x00-\x20\x7f]+")
_TAG = re.compile(r"<[^<>]*>")  # not [^>]*: from every "<" that scanned to the end

# XPath runs in C: only the few candidates for hiding become Python objects, instead of
# every element of the tree.
_MAYBE_HIDDEN = etree.XPath("//*[@hidden or @style]")
# Even that search costs more than a scan of the text: mail without either attribute name
# skips it. The scan reads the UTF-8 bytes handed to the parser, lowered by ``bytes.lower``:
# ASCII only, as the parser folds attribute names, and far cheaper than ``str.lower`` on
# non-ASCII text. Any whitespace, ASCII or not, may stand between name and "=": the scan
# finds every style attribute the parser can read, and a few more.
# (no alternation: a literal start lets the regex engine skip to candidates)
_STYLE_ATTRIBUTE = re.compile(rb"style[\s\x1c-\x1f\x80-\xff]*=")  # str's \s has \x1c-\x1f
# Something below an element at ``MAX_DEPTH`` (counting the root as 0): one C-level pass per
# level, so almost all mail, which is far shallower, skips the Python walk of the tree.
_TOO_DEEP = etree.XPath("boolean(" + "/*" * (MAX_DEPTH + 1) + "/node()[not(self::text())])")


def html_to_text(markup: str, defects: list[str] | None = None) -> str:
    """Convert an HTML body to Markdown-like text: paragraphs, lists, links, tables kept.

    Args:
        markup: The HTML.
        defects: Where to say what had to be repaired (hidden text, deep nesting).
    """
    found = defects if defects is not None else []
    # lxml's plain parser, not lxml.html's: the latter looks up a Python class for every
    # element that becomes a Python object, which cost more than the rest of the walk.
    parser = etree.HTMLParser(encoding="utf-8", huge_tree=True)
    markup = cap_attributes(markup, found)
    data = markup.encode("utf-8", "replace")
    try:
        root = etree.fromstring(data, parser=parser)
    except (etree.ParserError, ValueError):
        return _flat_text(markup)
    if root is None:  # no element at all (empty, or only a comment)
        return _flat_text(markup)
    if any("Excessive depth" in entry.message for entry in parser.error_log):
        found.append(
            f"HTML nested deeper than {PARSER_DEPTH} levels; read as plain text without markup"
        )
        return _flat_text(markup)
    lowered = data.lower()
    if b"hidden" in lowered or _STYLE_ATTRIBUTE.search(lowered):
        _drop_hidden(root, found)
    _flatten_deep(root, found)
    return _tidy(_Writer().block(root))


def _flat_text(markup: str) -> str:
    return _SPACE.sub(" ", _TAG.sub(" ", markup)).strip()


def _drop_hidden(root: etree._Element, defects: list[str]) -> None:
    hidden = [
        element
        for element in _MAYBE_HIDDEN(root)
        if element.get("hidden") is not None or _HIDDEN_STYLE.search(element.get("style", ""))
    ]
    for element in hidden:
        _drop_tree(element)
    if hidden:
        defects.append(f"dropped {len(hidden)} HTML elements hidden from the reader")


def _drop_tree(element: etree._Element) -> None:
    """Remove ``element`` but keep its tail: that is visible text after the hidden element."""
    parent = element.getparent()
    if parent is None:  # the root: nothing to attach the tail to, and nothing to drop it from
        return
    if element.tail:
        previous = element.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + element.tail
        else:
            previous.tail = (previous.tail or "") + element.tail
    parent.remove(element)


def _flatten_deep(root: etree._Element, defects: list[str]) -> None:
    """Below ``MAX_DEPTH`` levels, replace an element's children by their text."""
    if not _TOO_DEEP(root):
        return
    flattened = 0
    stack: list[tuple[etree._Element, int]] = [(root, 0)]
    while stack:
        element, depth = stack.pop()
        if depth < MAX_DEPTH:
            stack.extend((child, depth + 1) for child in element)
            continue
        if len(element):
            etree.strip_elements(element, *_SKIP, etree.Comment, with_tail=False)
            element.text = "".join(element.itertext())
            for child in list(element):
                element.remove(child)
            flattened += 1
    if flattened:
        defects.append(f"HTML nested deeper than {MAX_DEPTH} levels; the rest read as plain text")


def _unsafe_link(url: str) -> bool:
    return _URL_IGNORED.sub("", url).lower().startswith(_UNSAFE_SCHEMES)


def _tidy(text: str) -> str:
    """Lines stripped of spaces at both ends, at most one blank line in a row."""
    lines = [line.strip(" ") for line in text.replace(_BREAK, "\n").split("\n")]
    joined = "\n".join(lines).replace(_INDENT, " ")
    if "\n\n\n" in joined:
        joined = _MANY_BLANK_LINES.sub("\n\n", joined)
    return joined.strip()


class _Writer:
    """Walks the tree; ``inline`` returns text of one line, ``block`` separates paragraphs."""

    def __init__(self) -> None:
        self.list_depth = 0

    def inline(self, element: etree._Element) -> str:
        """The element's content as inline text (block children still break lines)."""
        text = element.text
        if not len(element):  # a leaf, most elements: no list to build and join
            return _collapse(text) if text else ""
        parts = [_collapse(text)] if text else []
        for child in element:
            parts.append(self.node(child))
            tail = child.tail
            if tail:
                parts.append(_collapse(tail))
        return "".join(parts)

    def block(self, element: etree._Element) -> str:
        """The element's content as a paragraph of its own."""
        content = self.inline(element).strip(" ")
        return f"\n\n{content}\n\n" if content.strip() else ""

    def node(self, element: etree._Element) -> str:
        """Render one child element."""
        tag = element.tag
        render = _RENDERERS.get(tag)
        if render is None:
            if not isinstance(tag, str):
                return ""  # comments, processing instructions
            # Outlook's <o:p> is a <p> in a namespace
            render = _RENDERERS.get(tag.rpartition(":")[2], _Writer.inline)
        return render(self, element)

    def heading(self, element: etree._Element) -> str:
        """A heading, ``#`` as many times as its level."""
        content = self.inline(element).strip()
        marks = _HEADINGS[str(element.tag).rpartition(":")[2]]
        return f"\n\n{marks} {content}\n\n" if content else ""

    def tag_br(self, element: etree._Element) -> str:
        """A hard line break."""
        return _BREAK

    def tag_hr(self, element: etree._Element) -> str:
        """A horizontal rule."""
        return "\n\n---\n\n"

    def tag_b(self, element: etree._Element) -> str:
        """Bold text."""
        return _wrap(self.inline(element), "**")

    tag_strong = tag_b

    def tag_i(self, element: etree._Element) -> str:
        """Italic text."""
        return _wrap(self.inline(element), "*")

    tag_em = tag_i

    def tag_code(self, element: etree._Element) -> str:
        """Inline code."""
        return _wrap(self.inline(element), "`")

    def tag_pre(self, element: etree._Element) -> str:
        """Preformatted text, kept exactly, indented as a code block."""
        text = "".join(element.itertext()).strip("\n")
        lines = [_INDENT * 4 + line.replace(" ", _INDENT) for line in text.split("\n")]
        return "\n\n" + _BREAK.join(lines) + "\n\n"

    def tag_a(self, element: etree._Element) -> str:
        """A link: ``[text](href)``, or just the text when it is the address itself."""
        text = self.inline(element).strip()
        href = (element.get("href") or "").strip()
        if not href or href.startswith("#") or _unsafe_link(href):
            return text
        if href in (text, f"mailto:{text}"):
            return text
        # A space or parenthesis would end the Markdown link early and start another.
        href = href.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
        return f"[{text}]({href})" if text else href

    def tag_img(self, element: etree._Element) -> str:
        """An image, named by its alt text or file name."""
        alt = (element.get("alt") or element.get("title") or "").strip()
        name = alt or _image_name(element.get("src") or "")
        return f"[image: {name}]" if name else "[image]"

    def tag_blockquote(self, element: etree._Element) -> str:
        """A quotation, every line prefixed with ``>``."""
        inner = _tidy(self.block(element))
        if not inner:
            return ""
        return "\n\n" + _BREAK.join(f"> {line}".rstrip() for line in inner.split("\n")) + "\n\n"

    def tag_ul(self, element: etree._Element) -> str:
        """A bulleted list."""
        return self._list(element, ordered=False)

    def tag_ol(self, element: etree._Element) -> str:
        """A numbered list."""
        return self._list(element, ordered=True)

    def _list(self, element: etree._Element, ordered: bool) -> str:
        self.list_depth += 1
        items: list[str] = []
        try:
            for child in element.iterchildren("li"):  # the parser lower-cases tag names
                marker = f"{len(items) + 1}." if ordered else "-"
                indent = _INDENT * 2 * (self.list_depth - 1)
                text = _LINE_ENDS.sub(_BREAK, self.inline(child).strip(" \n" + _BREAK))
                # continuation lines line up under the text; nested items carry their own
                text = _CONTINUATION.sub(_BREAK + indent + _INDENT * 2, text)
                items.append(f"{indent}{marker} {text}")
        finally:
            self.list_depth -= 1
        if not items:
            return ""
        body = _BREAK.join(items)
        return _BREAK + body + _BREAK if self.list_depth else f"\n\n{body}\n\n"

    def tag_li(self, element: etree._Element) -> str:
        """A list item outside a list (broken HTML): a bulleted line."""
        return f"\n\n- {self.inline(element).strip()}\n\n"

    def tag_table(self, element: etree._Element) -> str:
        """A data table as a Markdown table; a layout table as paragraphs."""
        rows = _own_rows(element)
        # lxml picks the cells in C; the HTML parser writes every tag name in lower case
        cells = [list(row.iterchildren("td", "th")) for row in rows]
        if _is_layout(element, cells):
            return "".join(self.block(cell) for row in cells for cell in row)
        texts = [[_cell_text(self.inline(cell)) for cell in row] for row in cells if row]
        if not texts:
            return ""
        width = max(len(row) for row in texts)
        lines = ["| " + " | ".join(row + [""] * (width - len(row))) + " |" for row in texts]
        lines.insert(1, "| " + " | ".join(["---"] * width) + " |")
        return "\n\n" + _BREAK.join(lines) + "\n\n"


def _skipped(writer: _Writer, element: etree._Element) -> str:
    return ""


# tag -> how it is written, looked up once per element (the few tags not in here are
# written as inline text)
_RENDERERS: dict[object, Callable[[_Writer, etree._Element], str]] = {
    **dict.fromkeys(_BLOCKS, _Writer.block),
    **dict.fromkeys(_HEADINGS, _Writer.heading),
    **{
        name.removeprefix("tag_"): method
        for name, method in vars(_Writer).items()
        if name.startswith("tag_")
    },
    **dict.fromkeys(_SKIP, _skipped),
}


def _collapse(text: str) -> str:
    """Runs of whitespace as one space; two C-level checks spare most text the regex."""
    if text.isprintable() and "  " not in text:  # no tab, newline or no-break space either
        return text
    if not text.strip(_SPACE_CHARACTERS):  # the line breaks between tags, mostly
        return " "
    return _SPACE.sub(" ", text)


def _wrap(text: str, mark: str) -> str:
    core = text.strip()
    if not core or _already_marked(core, mark):
        return text  # <b><strong>x</strong></b> (Word, phishing kits) is **x**, not ****x****
    lead = " " if text[:1] == " " else ""
    trail = " " if text[-1:] == " " else ""
    return f"{lead}{mark}{core}{mark}{trail}"


def _already_marked(core: str, mark: str) -> bool:
    """True when ``core`` is wholly wrapped in ``mark`` already (and not in a longer mark)."""
    size = len(mark)
    return (
        len(core) > 2 * size
        and core.startswith(mark)
        and core.endswith(mark)
        and core[size] != mark[0]
        and core[-size - 1] != mark[0]
    )


def _image_name(src: str) -> str:
    if src.startswith("cid:"):
        return src[4:].split("@", 1)[0]
    if _unsafe_link(src):
        return ""
    return src.rsplit("/", 1)[-1].split("?", 1)[0]


def _nearest_table(row: etree._Element) -> etree._Element | None:
    for ancestor in row.iterancestors():
        if isinstance(ancestor.tag, str) and ancestor.tag.lower() == "table":
            return ancestor
    return None


def _own_rows(table: etree._Element) -> list[etree._Element]:
    """The rows of ``table`` itself, not of tables nested in it."""
    rows = list(table.iter("tr"))
    if any(inner is not table for inner in table.iter("table")):
        rows = [row for row in rows if _nearest_table(row) is table]
    return rows


def _is_layout(table: etree._Element, cells: list[list[etree._Element]]) -> bool:
    """Tables used for page layout (nested tables, paragraphs in cells) are not data."""
    for inner in table.iter("table", "ul", "ol", "blockquote", "h1", "h2"):
        if inner is not table:
            return True
    paragraphs = table.iter("p", "div")
    if next(paragraphs, None) is None or next(paragraphs, None) is None:
        return False  # fewer than two in the whole table: no cell can have several
    # Outlook wraps every data cell in one <p>; several paragraphs mean page layout.
    for row in cells:
        for cell in row:
            for count, _ in enumerate(cell.iter("p", "div"), start=1):
                if count > 1:
                    return True
    return False


def _cell_text(text: str) -> str:
    # A hard break is not printable either: text that is, without two spaces in a row,
    # has nothing to collapse.
    if not text.isprintable() or "  " in text:
        text = _SPACE.sub(" ", text.replace(_BREAK, " "))
    return text.strip().replace("|", "\\|")
