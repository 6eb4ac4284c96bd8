"""A tunnel's config as a QR code in the terminal, for the phone's camera."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label

from wgdroid.tui.widgets.qr_view import QrView


class QrScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,v", "dismiss", "Close", id="qr.close")]

    def __init__(self, name: str, text: str) -> None:
        super().__init__()
        self.tunnel = name
        self._view = QrView(text, id="qr")  # built here: a too-large config fails early

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="qr-box"):
            yield Label(f"{self.tunnel}: scan with the WireGuard app (holds the private key)",
                        classes="dialog-title")
            with Center():
                yield self._view
            yield Label("Esc closes", classes="hint")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
