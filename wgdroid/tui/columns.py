"""Fitting table columns into the width a pane has (pure).

A table that is wider than its pane hides its last columns behind a
horizontal scroll (TX was cut at 80 columns): instead, optional columns are
dropped and flexible ones narrowed (their cells end in "…"), so every column
that stays is whole.
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
    optional: bool = False  # may be left out when space is short (the last ones first)


def fit(columns: list[Column], width: int, padding: int = CELL_PADDING) -> dict[str, int]:
    """The width of each column that is kept, in column order."""
    widths = {c.key: max(c.natural, len(c.label)) for c in columns}

    def excess() -> int:
        return sum(widths.values()) + padding * len(widths) - width

    for c in reversed([c for c in columns if c.optional]):
        if excess() <= 0:
            break
        del widths[c.key]
    for c in columns:
        if excess() <= 0:
            break
        if c.key in widths and c.minimum:
            widths[c.key] = max(c.minimum, len(c.label), widths[c.key] - excess())
    return widths


def clip(text: str, width: int) -> str:
    """`text` in `width` cells at most, ending in "…" when cut."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"
