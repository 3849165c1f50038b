"""Tags with absurdly many attributes, cut down before libxml2 reads the HTML.

libxml2's HTML parser compares each attribute's name with every earlier one of the same
tag (to drop duplicates), so one tag of 40,000 attributes costs 1.6 s, 190,000 cost 40 s, all
in one C call that neither the time budget's signal nor anything else can interrupt. No mail
client writes more than a few dozen attributes on an element; a tag with more than
``MAX_ATTRIBUTES`` keeps its name and loses its attributes (the text around it is kept).
"""

from __future__ import annotations

import re

MAX_ATTRIBUTES = 200
# Each attribute needs at least two characters (a name and a separator before it), so only a
# tag of at least this many units is examined. A unit is one character or a quoted value,
# as libxml2 reads them (a ">" inside quotes does not end the tag). Atomic groups and
# possessive repeats: the engine never goes back into what it matched, so each "<" costs
# at most the length of its own tag, and the lookahead stops normal tags at their ">".
_UNIT = r"""(?>[^"'<>]|"[^"]*+"|'[^']*+'|["'])"""
_LONG_TAG = re.compile(rf"<([A-Za-z][^\t\n\f\r />\"'<]*+)(?={_UNIT}{{{2 * MAX_ATTRIBUTES}}})")
_REST_OF_TAG = re.compile(r"""(?>[^"'<>]++|"[^"]*+"|'[^']*+'|["'])*+""")
_QUOTED = re.compile(r"""(?s)"[^"]*+"|'[^']*+'""")
# libxml2 takes "a=1/b=2" and 'a="1"b="2"' as two attributes each: count runs of name
# characters, not words (a value outside quotes counts too: more runs than attributes).
_NAME_OR_VALUE = re.compile(r"""[^\t\n\f\r /="'<>]++""")
# About a nanosecond per pair of attributes on this machine: markup shorter than this
# cannot cost libxml2 more than a tenth of a second, and is not scanned (most HTML mail).
_SHORT_ENOUGH = 20_000


def cap_attributes(markup: str, defects: list[str]) -> str:
    """``markup`` with every tag of more than ``MAX_ATTRIBUTES`` attributes cut to its name."""
    if len(markup) < _SHORT_ENOUGH:
        return markup
    pieces: list[str] = []
    kept_to = examined_to = 0
    cut = 0
    for match in _LONG_TAG.finditer(markup):
        if match.start() < examined_to:
            continue  # a "<" inside the quoted value of a tag already examined
        rest = _REST_OF_TAG.match(markup, match.end())
        end = examined_to = rest.end() if rest else match.end()
        inside = _QUOTED.sub('""', markup[match.end() : end])
        if len(_NAME_OR_VALUE.findall(inside)) <= MAX_ATTRIBUTES:
            continue
        pieces += [markup[kept_to : match.start()], "<", match.group(1)]
        kept_to = end
        cut += 1
    if not cut:
        return markup
    defects.append(
        f"{cut} HTML tags with more than {MAX_ATTRIBUTES} attributes: their attributes "
        "were left out"
    )
    pieces.append(markup[kept_to:])
    return "".join(pieces)
