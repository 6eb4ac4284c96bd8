"""A QR code drawn with half-block characters (the config module draws it)."""

from __future__ import annotations

from textual.widgets import Static


class QrView(Static):
    """The blocks draw the light modules: white ink on black whatever the theme,
    so a phone can scan it in light and dark themes alike."""

    DEFAULT_CSS = """
    QrView { width: auto; height: auto; background: black; color: white; }
    """

    def __init__(self, text: str, *, id: str | None = None) -> None:
        from wgdroid.config.qr import render_text

        # The payload holds a private key: keep only the drawing, not the text.
        self.drawing = render_text(text, "utf8")
        super().__init__(self.drawing, id=id, markup=False)
