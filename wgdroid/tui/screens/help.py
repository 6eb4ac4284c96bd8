"""Keys and actions, built from the action registry and the editor's own
bindings (the palette and the footer use the same declarations)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from wgdroid.tui.actions import ACTIONS, display_key
from wgdroid.tui.screens.editor import EditorScreen


def _keys(keys: str) -> str:
    return " / ".join(display_key(k) for k in keys.split(","))


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,f1", "dismiss", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Label("wgdroid: keys (ctrl+p opens the command palette)",
                        classes="dialog-title")
            yield DataTable(id="help-main", cursor_type="none")
            yield Label("In the editor", classes="dialog-title")
            yield DataTable(id="help-editor", cursor_type="none")
            yield Static("Mouse: click a row to select it, the State cell to toggle.",
                         classes="hint")

    def on_mount(self) -> None:
        main = self.query_one("#help-main", DataTable)
        main.add_columns("Keys", "Action", "Palette")
        for a in ACTIONS:
            main.add_row(_keys(a.keys), a.help, a.palette_name)
        editor = self.query_one("#help-editor", DataTable)
        editor.add_columns("Keys", "Action")
        for b in EditorScreen.BINDINGS:
            assert isinstance(b, Binding)
            editor.add_row(_keys(b.key), b.tooltip or b.description)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
