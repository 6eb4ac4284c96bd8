"""The activity log: one line per device operation, bounded, never a secret."""

from __future__ import annotations

from textual.widgets import RichLog

from wgdroid.tui.state import ACTIVITY_LINES


class ActivityLog(RichLog):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=ACTIVITY_LINES, markup=False, wrap=True,
                         highlight=False)
        self.can_focus = False
        self.written = 0  # number of the last line written (`Session.logged`)

    def add(self, line: str, number: int) -> None:
        """Write line `number` unless it was written already."""
        if number > self.written:
            self.write(line)
            self.written = number
