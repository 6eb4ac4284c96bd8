"""What the phone and tunnel lists share: vim/less movement keys and columns
refitted when the pane's width changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from rich.text import Text, TextType
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

if TYPE_CHECKING:
    from collections.abc import Callable

    from textual import events
    from textual.widgets.data_table import RowKey

# Moving in a list, as in less and vim (the arrows and page keys are DataTable's).
LIST_KEYS: list[BindingType] = [
    Binding("j", "cursor_down", "Down", show=False, tooltip="next row (or the down arrow)"),
    Binding("k", "cursor_up", "Up", show=False, tooltip="previous row (or the up arrow)"),
    Binding("home,g", "first", "First", show=False, tooltip="first row"),
    Binding("end,G", "last", "Last", show=False, tooltip="last row"),
]

CellT = TypeVar("CellT")


class PlainTable(DataTable[CellT]):
    """A DataTable whose text cells are shown as they are. DataTable reads a
    str cell as markup: an endpoint such as `[fe80::1]:51820` lost its address,
    and a `[/x]` in a value from a phone ended the app (MarkupError)."""

    def add_row(self, *cells: CellT, height: int | None = 1, key: str | None = None,
                label: TextType | None = None) -> RowKey:
        shown = [Text(c) if isinstance(c, str) else c for c in cells]
        return super().add_row(*shown, height=height, key=key, label=label)  # type: ignore[arg-type]


class ListTable(PlainTable[CellT]):
    """A row-cursor table whose show() fits its columns to the width; it is
    called again when the width changes (show sets _fitted_for). Each list
    defines its own show()."""

    show: Callable[[], None]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")
        self._fitted_for = -1  # the width the columns were fitted to

    def action_first(self) -> None:
        self.move_cursor(row=0)

    def action_last(self) -> None:
        self.move_cursor(row=max(0, self.row_count - 1))

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._fitted_for:
            self.show()
