"""The chosen phone's tunnels: a state switch per row, live handshake and transfer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import DataTable

from wgdroid.tui import fmt

if TYPE_CHECKING:
    from wgdroid.device.status import InterfaceStatus
    from wgdroid.tui.adapter import Snapshot

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
        chosen = self.selected()
        with self.app.batch_update():
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
            if chosen is not None and chosen in self.rows:
                self.move_cursor(row=self.get_row_index(chosen))
