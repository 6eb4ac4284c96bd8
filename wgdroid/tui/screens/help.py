"""Keys and actions, built from the action registry and the widgets' own
bindings (the footer and the palette use the same declarations)."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from wgdroid.tui.actions import ACTIONS, display_key
from wgdroid.tui.screens.editor import EditorScreen
from wgdroid.tui.widgets.detail_pane import DetailPane
from wgdroid.tui.widgets.list_table import LIST_KEYS


def _keys(keys: str) -> str:
    return " / ".join(display_key(k) for k in keys.split(","))


def _rows(bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    return [(_keys(b.key), b.tooltip or b.description) for b in bindings
            if isinstance(b, Binding) and not b.action.startswith("app.do(")]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,f1", "dismiss", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Label("wgdroid: keys (ctrl+p opens the command palette, which also "
                        "finds the footer's words)", classes="dialog-title")
            yield DataTable(id="help-main", cursor_type="none")
            yield Label("Moving around (lists and the details pane)", classes="dialog-title")
            yield DataTable(id="help-move", cursor_type="none")
            yield Label("In the editor", classes="dialog-title")
            yield DataTable(id="help-editor", cursor_type="none")
            yield Static("Esc and q go back or close; q on the main screen quits. Tab moves "
                         "between the panes. Mouse: click a row to select it.", classes="hint")

    def on_mount(self) -> None:
        main = self.query_one("#help-main", DataTable)
        main.add_columns("Keys", "Action", "Palette")
        for a in ACTIONS:
            main.add_row(_keys(a.keys), a.help, a.palette_name)
        move = self.query_one("#help-move", DataTable)
        move.add_columns("Keys", "Action")
        for keys, what in _rows([*LIST_KEYS, *DetailPane.BINDINGS]):
            move.add_row(keys, what)
        editor = self.query_one("#help-editor", DataTable)
        editor.add_columns("Keys", "Action")
        for keys, what in _rows(EditorScreen.BINDINGS):
            editor.add_row(keys, what)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
