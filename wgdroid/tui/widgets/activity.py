"""The activity log: one line per device operation, bounded, never a secret."""

from __future__ import annotations

from textual.widgets import RichLog

MAX_LINES = 500


class ActivityLog(RichLog):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=MAX_LINES, markup=False, wrap=True, highlight=False)
        self.can_focus = False
