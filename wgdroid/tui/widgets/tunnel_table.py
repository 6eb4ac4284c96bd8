"""The chosen phone's tunnels: a state switch per row, live handshake and transfer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from wgdroid.tui import fmt

if TYPE_CHECKING:
    from wgdroid.device.status import InterfaceStatus
    from wgdroid.tui.adapter import Snapshot
    from wgdroid.tui.state import Session

ON = "[●] up"
OFF = "[ ] down"


@dataclass(frozen=True)
class Row:
    name: str
    up: bool
    backend: str
    endpoint: str
    handshake_age: int | None
    rx: int | None
    tx: int | None
    listen_port: int | None


def rows(snapshot: Snapshot) -> list[Row]:
    """Stored tunnels joined with the status of the up ones (a tunnel up but
    not stored, e.g. started by hand, is listed too)."""
    live: dict[str, InterfaceStatus] = {i.name: i for i in snapshot.status.interfaces}
    names = [t.name for t in snapshot.tunnels]
    names += sorted(n for n in live if n not in names)
    out = []
    for name in names:
        iface = live.get(name)
        if iface is None:
            out.append(Row(name, False, "—", "—", None, None, None, None))
            continue
        ages = [p.handshake_age for p in iface.peers if p.handshake_age is not None]
        endpoints = [p.endpoint for p in iface.peers if p.endpoint]
        out.append(Row(
            name, True, iface.backend,
            endpoints[0] + (f" +{len(endpoints) - 1}" if len(endpoints) > 1 else "")
            if endpoints else "—",
            min(ages) if ages else None,
            sum(p.rx_bytes for p in iface.peers),
            sum(p.tx_bytes for p in iface.peers),
            iface.listen_port,
        ))
    return out


def handshake_cell(row: Row) -> Text:
    if not row.up:
        return Text("—")
    if fmt.is_stale(row.handshake_age):
        # Marked in words too: colour alone must not carry state.
        return Text(fmt.age(row.handshake_age) + " (stale)", style="bold reverse")
    return Text(fmt.age(row.handshake_age))


class TunnelTable(DataTable[object]):
    """The tunnels of the chosen phone. The cursor row is the session's selected
    tunnel, kept in step at once (not via a message), so a key pressed right
    after moving acts on the row the user sees."""

    def __init__(self, session: Session, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self._rebuilding = False

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        super().watch_cursor_coordinate(old, new)
        if not self._rebuilding:
            self.session.selected = self.selected()

    def on_mount(self) -> None:
        self.cursor_type = "row"
        for label, key in (
            ("State", "state"), ("Name", "name"), ("Backend", "backend"),
            ("Endpoint", "endpoint"), ("Handshake", "handshake"), ("RX", "rx"), ("TX", "tx"),
        ):
            self.add_column(label, key=key)

    def selected(self) -> str | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return str(key.value) if key.value is not None else None

    def show(self, snapshot: Snapshot | None, pending: dict[str, str]) -> None:
        """Rebuild the rows; the cursor stays on the selected tunnel (by name), or,
        when that tunnel is gone, on the same row number."""
        index, selected = self.cursor_row, self.session.selected
        with self.app.batch_update():
            self._rebuilding = True
            try:
                self._fill(snapshot, pending, selected, index)
            finally:
                self._rebuilding = False
        self.session.selected = self.selected()

    def _fill(self, snapshot: Snapshot | None, pending: dict[str, str],
              selected: str | None, index: int) -> None:
        self.clear()
        if snapshot is None:
            return
        for row in rows(snapshot):
            state = pending.get(row.name) or (ON if row.up else OFF)
            self.add_row(
                state, row.name, row.backend, row.endpoint, handshake_cell(row),
                fmt.size(row.rx) if row.up else "—", fmt.size(row.tx) if row.up else "—",
                key=row.name,
            )
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected))
        elif self.row_count:
            self.move_cursor(row=min(index, self.row_count - 1))
