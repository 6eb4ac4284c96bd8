"""The footer: Textual's (it follows focus), less the keys a narrow terminal
has no room for (the registry says from which width each one is shown), so
Help and Quit are never cut off at 80 columns."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from textual.widgets import Footer

from wgdroid.tui.actions import BY_ID

if TYPE_CHECKING:
    from textual import events
    from textual.app import ComposeResult

_ACTION_ID = re.compile(r"""^app\.do\(['"]([\w.]+)['"]\)$""")


_STEPS = sorted({a.wide for a in BY_ID.values()})


def step(width: int) -> int:
    """Widths with the same step show the same keys."""
    return sum(1 for w in _STEPS if width >= w)


def room_for(action: str, width: int) -> bool:
    """Whether the footer of a `width`-column terminal shows the key of `action`."""
    found = _ACTION_ID.match(action)
    spec = BY_ID.get(found.group(1)) if found else None
    return spec is None or width >= spec.wide


class WgdroidFooter(Footer):
    def __init__(self) -> None:
        super().__init__()
        self._step = -1  # of the width last composed for

    def compose(self) -> ComposeResult:
        width = self.app.size.width
        self._step = step(width)
        for widget in super().compose():
            action = getattr(widget, "action", None)  # a key (the group labels have none)
            if not isinstance(action, str) or room_for(action, width):
                yield widget

    def on_resize(self, event: events.Resize) -> None:
        # Recomposing costs: only when another set of keys fits.
        if self._step >= 0 and step(self.app.size.width) != self._step:
            self.call_after_refresh(self.recompose)
