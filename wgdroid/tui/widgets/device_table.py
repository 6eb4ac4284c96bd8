"""The phones attached to the adb server, with what doctor found."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.coordinate import Coordinate

from wgdroid.tui.actions import Scope
from wgdroid.tui.bindings import bindings
from wgdroid.tui.columns import Column, clip, fit
from wgdroid.tui.widgets.list_table import LIST_KEYS, ListTable

if TYPE_CHECKING:
    from wgdroid.device.connection import DeviceInfo
    from wgdroid.device.doctor import Capabilities
    from wgdroid.tui.state import Session

CHOSEN = "▶"


def ready_text(info: DeviceInfo, caps: Capabilities | None, failed: str | None) -> str:
    if info.state != "device":
        return info.state  # unauthorized, offline...: no WireGuard to speak of
    if failed:
        return "unknown (doctor failed)"
    if caps is None:
        return "checking…"
    if caps.ready:
        return "✓ " + ", ".join(caps.backends)
    return "✗ not ready: see doctor"


def root_text(caps: Capabilities | None) -> str:
    if caps is None:
        return "—"
    return caps.root_method or "none"


class DeviceTable(ListTable[str]):
    """One row per transport; the chosen phone is marked ▶ and the cursor
    rests on it until the user moves it."""

    BINDINGS = [*bindings(Scope.PHONE), *LIST_KEYS]

    def __init__(self, session: Session, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self._shown_chosen: str | None = None

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        super().watch_cursor_coordinate(old, new)
        if self.row_count:
            key = self.coordinate_to_cell_key(new).row_key
            self.session.phone_cursor = str(key.value) if key.value is not None else None

    def show(self) -> None:
        s = self.session
        keep = s.phone_cursor if s.serial == self._shown_chosen else s.serial
        self._shown_chosen = s.serial
        width = self.size.width - 1  # room for the scroll bar a long list gets
        self._fitted_for = self.size.width
        cells = []
        for info in s.devices:
            c = s.caps.get(info.serial)
            cells.append({
                "mark": CHOSEN if info.serial == s.serial else " ",
                "serial": info.serial,
                "model": (c.model if c and c.model else None) or info.model or "—",
                "android": f"{c.android_release} (SDK {c.sdk})" if c and c.android_release
                else "—",
                "root": root_text(c),
                "ready": ready_text(info, c, s.caps_failed.get(info.serial)),
            })

        def widest(key: str) -> int:
            return max([1, *(len(c[key]) for c in cells)])

        columns = [
            Column("mark", " ", 1),
            Column("serial", "Serial", widest("serial"), minimum=12),
            Column("model", "Model", widest("model"), minimum=8),
            Column("android", "Android", widest("android"), optional=True),
            Column("root", "Root", widest("root")),
            Column("ready", "WireGuard", widest("ready"), minimum=10),
        ]
        widths = fit(columns, width)
        with self.app.batch_update():
            self.clear(columns=True)
            for col in columns:
                if col.key in widths:
                    self.add_column(col.label, key=col.key, width=widths[col.key])
            for cell in cells:
                self.add_row(*[clip(v, widths[k]) for k, v in cell.items() if k in widths],
                             key=cell["serial"])
            if keep is not None and keep in self.rows:
                self.move_cursor(row=self.get_row_index(keep))
