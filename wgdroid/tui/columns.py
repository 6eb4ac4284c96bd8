"""Fitting table columns into the width a pane has (pure).

A table that is wider than its pane hides its last columns behind a
horizontal scroll (TX was cut at 80 columns): instead, flexible columns are
narrowed (their cells end in "…") and, only when that is not enough, optional
columns are dropped (the last ones first), so every column that stays is
whole. Narrowing comes first: at 80 columns the tunnel list dropped Backend
while a long Endpoint could have given up the room.
"""

from __future__ import annotations

from dataclasses import dataclass

CELL_PADDING = 2  # DataTable's default: one blank column on each side of a cell


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    natural: int  # the widest cell (or the label)
    minimum: int = 0  # narrowest it may get, truncated; 0: never narrowed
    optional: bool = False  # may be left out when narrowing is not enough (the last ones first)


def fit(columns: list[Column], width: int, padding: int = CELL_PADDING) -> dict[str, int]:
    """The width of each column that is kept, in column order."""
    kept = list(columns)
    droppable = [c for c in columns if c.optional]
    while True:
        widths = _narrowed(kept, width, padding)
        if sum(widths.values()) + padding * len(widths) <= width or not droppable:
            return widths
        kept.remove(droppable.pop())  # and narrow the others afresh, less


def _narrowed(columns: list[Column], width: int, padding: int) -> dict[str, int]:
    widths = {c.key: max(c.natural, len(c.label)) for c in columns}

    def excess() -> int:
        return sum(widths.values()) + padding * len(widths) - width

    for c in columns:
        if excess() <= 0:
            break
        if c.minimum:
            widths[c.key] = max(c.minimum, len(c.label), widths[c.key] - excess())
    return widths


def clip(text: str, width: int) -> str:
    """`text` in `width` cells at most, ending in "…" when cut."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"
