"""Keys and actions, built from the action registry and the widgets' own
bindings (the footer and the palette use the same declarations). The tables
wrap their cells to the box's width (a DataTable cut them mid-word at 80
columns and hid the palette column behind a horizontal scroll)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from wgdroid.tui.actions import ACTIONS, display_key
from wgdroid.tui.commands import binding_title
from wgdroid.tui.screens.editor import EditorScreen
from wgdroid.tui.widgets.detail_pane import DetailPane
from wgdroid.tui.widgets.list_table import LIST_KEYS


def _keys(keys: str) -> str:
    return " / ".join(display_key(k) for k in keys.split(","))


def _rows(bindings: Iterable[BindingType], palette: bool = False) -> list[tuple[str, ...]]:
    return [(_keys(b.key), b.tooltip or b.description,
             *([binding_title(b) or ""] if palette else [])) for b in bindings
            if isinstance(b, Binding) and not b.action.startswith("app.do(")]


class KeyTable(Static):
    """Rows of plain text under bold headers, wrapped to the width it has."""

    def __init__(self, headers: tuple[str, ...], rows: list[tuple[str, ...]], *,
                 id: str) -> None:
        self.rows = rows
        table = Table(*headers, box=None, expand=True, padding=(0, 1), show_edge=False,
                      header_style="bold")
        table.columns[0].no_wrap = True
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))
        super().__init__(table, id=id)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,f1", "dismiss", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Label("wgdroid: keys (ctrl+p opens the command palette, which also "
                        "finds the footer's words)", classes="dialog-title")
            yield KeyTable(("Keys", "Action", "Palette"),
                           [(_keys(a.keys), a.help, a.palette_name) for a in ACTIONS],
                           id="help-main")
            yield Label("Moving around (lists and the details pane)", classes="dialog-title")
            yield KeyTable(("Keys", "Action"), _rows([*LIST_KEYS, *DetailPane.BINDINGS]),
                           id="help-move")
            yield Label("In the editor", classes="dialog-title")
            yield KeyTable(("Keys", "Action", "Palette"),
                           _rows(EditorScreen.BINDINGS, palette=True), id="help-editor")
            yield Static("Esc and q go back or close; q on the main screen quits. Tab moves "
                         "between the panes. Mouse: click a row to select it.", classes="hint")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
