"""Keys and actions, built from the action registry (the palette uses it too)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from wgdroid.tui.actions import ACTIONS

EDITOR_KEYS = (
    ("ctrl+s", "save (pushes atomically to the phone)"),
    ("ctrl+g", "generate a new key pair"),
    ("ctrl+y", "copy the public key (OSC 52)"),
    ("ctrl+n / ctrl+w", "add a peer / remove the focused peer"),
    ("ctrl+e", "exclude private IPs for the focused peer (toggle)"),
    ("ctrl+t", "switch between form and raw text"),
    ("escape", "close the editor without saving"),
)


def _keys(keys: str) -> str:
    return " / ".join(k.replace("question_mark", "?") for k in keys.split(","))


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
        for keys, what in EDITOR_KEYS:
            editor.add_row(keys, what)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
