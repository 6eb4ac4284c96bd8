"""A QR code drawn as large as the space it gets allows (see tui.qrfit)."""

from __future__ import annotations

from textual.widgets import Static

from wgdroid.tui.qrfit import Drawing, drawings, fitting, ink_rows


class QrView(Static):
    """White ink on black whatever the theme, so a phone can scan it in light
    and dark themes alike."""

    DEFAULT_CSS = """
    QrView { width: auto; height: auto; background: black; color: white; }
    """

    def __init__(self, text: str, *, id: str | None = None) -> None:
        # The payload holds a private key: keep only the drawings, not the text.
        self.options = drawings(ink_rows(text))
        self.drawing: Drawing | None = self.options[1]
        super().__init__(self.drawing.text, id=id, markup=False)

    def fit(self, width: int, height: int) -> Drawing | None:
        """Draw the largest that fits width x height; None (and nothing drawn) if none does."""
        self.drawing = fitting(self.options, width, height)
        self.display = self.drawing is not None
        if self.drawing is not None:
            self.update(self.drawing.text)
        return self.drawing

    @property
    def smallest(self) -> Drawing:
        return self.options[-1]

