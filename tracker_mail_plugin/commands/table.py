"""Plain-text tables for people, fitted to a terminal by narrowing the wordy columns only.

Ids, states and dates are what people copy into the next command; they are never cut.
When a terminal is too narrow, the columns that may shrink give way in their order (the
subject first), each down to its ``least`` width, and their cells end in ``…``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wcwidth import wcswidth, wcwidth

_GAP = "  "


@dataclass(frozen=True)
class Column:
    """A column: its header; ``shrinks``: its turn to give way (0: never); ``least`` width."""

    header: str
    shrinks: int = 0
    least: int = 0


def render(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int | None
) -> list[str]:
    """The header line and one line per row; ``width`` None: no limit (not a terminal)."""
    widths = [
        max([_width(column.header), *(_width(row[i]) for row in rows)])
        for i, column in enumerate(columns)
    ]
    if width is not None:
        _fit(columns, widths, width)
    lines = [_line([c.header for c in columns], widths)]
    lines += [_line(row, widths) for row in rows]
    return lines


def _fit(columns: Sequence[Column], widths: list[int], width: int) -> None:
    """Narrow the shrinkable columns, in their turn, until the line fits ``width``."""
    order = sorted((c.shrinks, i) for i, c in enumerate(columns) if c.shrinks)
    for _, index in order:
        excess = sum(widths) + len(_GAP) * (len(widths) - 1) - width
        if excess <= 0:
            return
        least = max(columns[index].least, 1)
        widths[index] = max(least, widths[index] - excess)


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return _GAP.join(_pad(_cut(cell, w), w) for cell, w in zip(cells, widths, strict=True)).rstrip()


# Columns are counted in terminal cells, not characters: a Japanese or Chinese subject takes
# two cells a character, and with len() every column after it would be pushed out of line.
def _width(text: str) -> int:
    cells = wcswidth(text)
    return cells if cells >= 0 else len(text)  # a control character: count it as one


def _pad(cell: str, width: int) -> str:
    return cell + " " * max(0, width - _width(cell))


def _cut(cell: str, width: int) -> str:
    if _width(cell) <= width:
        return cell
    kept, used = [], 0
    for char in cell:
        cells = max(wcwidth(char), 0)
        if used + cells > width - 1:  # one cell is left for the ellipsis
            break
        kept.append(char)
        used += cells
    return "".join(kept) + "…"
