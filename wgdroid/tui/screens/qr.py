"""A tunnel's config as a QR code in the terminal, for the phone's camera:
the whole screen, the code as large as it fits, and what to do when it does
not (a QR code cut off cannot be scanned)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from wgdroid.tui.widgets.qr_view import QrView

if TYPE_CHECKING:
    from textual import events

CHROME = 2  # the title and the hint lines


def too_small(width: int, height: int, need_width: int, need_height: int) -> str:
    return (f"This terminal ({width}x{height}) is too small to draw the QR code: it needs "
            f"{need_width}x{need_height + CHROME}. Enlarge the window or make the font "
            "smaller (often ctrl+minus); it is redrawn at once.")


class QrScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,v", "dismiss", "Close", id="qr.close")]

    def __init__(self, name: str, text: str) -> None:
        super().__init__()
        self.tunnel = name
        self._view = QrView(text, id="qr")  # built here: a too-large config fails early

    def compose(self) -> ComposeResult:
        with Vertical(id="qr-box"):
            yield Label(f"{self.tunnel}: scan with the WireGuard app (holds the private key)",
                        id="qr-title", classes="dialog-title", markup=False)
            with Center():
                yield self._view
            yield Static("", id="qr-hint", classes="hint", markup=False)

    def on_resize(self, event: events.Resize) -> None:
        self.fit(event.size.width, event.size.height)

    def fit(self, width: int, height: int) -> None:
        drawing = self._view.fit(width, height - CHROME)
        hint = self.query_one("#qr-hint", Static)
        if drawing is None:
            small = self._view.smallest
            hint.update(too_small(width, height, small.width, small.height))
        elif drawing.style == "quarter":
            hint.update("Esc closes. Drawn small: if the phone does not read it, enlarge "
                        "the terminal.")
        else:
            hint.update("Esc closes.")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
