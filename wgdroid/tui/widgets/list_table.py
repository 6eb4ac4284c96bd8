"""What the phone and tunnel lists share: vim/less movement keys and columns
refitted when the pane's width changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from textual.binding import Binding, BindingType
from textual.widgets import DataTable

if TYPE_CHECKING:
    from collections.abc import Callable

    from textual import events

# Moving in a list, as in less and vim (the arrows and page keys are DataTable's).
LIST_KEYS: list[BindingType] = [
    Binding("j", "cursor_down", "Down", show=False, tooltip="next row (or the down arrow)"),
    Binding("k", "cursor_up", "Up", show=False, tooltip="previous row (or the up arrow)"),
    Binding("home,g", "first", "First", show=False, tooltip="first row"),
    Binding("end,G", "last", "Last", show=False, tooltip="last row"),
]

CellT = TypeVar("CellT")


class ListTable(DataTable[CellT]):
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
