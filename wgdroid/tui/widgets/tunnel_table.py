"""The chosen phone's tunnels: a state switch per row, live handshake and transfer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.coordinate import Coordinate

from wgdroid.tui import fmt
from wgdroid.tui.actions import Scope
from wgdroid.tui.bindings import bindings
from wgdroid.tui.columns import Column, clip, fit
from wgdroid.tui.details import endpoint_summary
from wgdroid.tui.widgets.list_table import LIST_KEYS, ListTable

if TYPE_CHECKING:
    from wgdroid.device.status import InterfaceStatus
    from wgdroid.tui.adapter import Snapshot
    from wgdroid.tui.details import ConfigInfo
    from wgdroid.tui.state import Session

ON = "● up"
OFF = "○ down"
STALE = "⚠"  # a stale handshake is marked by a sign, not only by colour
WIDE = 100  # columns from which the handshake column says "ago" and "(stale)"


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
    source: str = "wgdroid"  # "app": stored by the official WireGuard app


APP_MARK = " (app)"


def name_cell(row: Row) -> str:
    """The name, marked when the tunnel is the official app's (wgdroid enables,
    disables and pulls it; a push or save writes wgdroid's own copy)."""
    return row.name + APP_MARK if row.source == "app" else row.name


def rows(snapshot: Snapshot, configs: dict[str, ConfigInfo] | None = None) -> list[Row]:
    """Stored tunnels joined with the status of the up ones (a tunnel up but
    not stored, e.g. started by hand, is listed too). A down tunnel's endpoint
    comes from its config once read."""
    configs = configs or {}
    live: dict[str, InterfaceStatus] = {i.name: i for i in snapshot.status.interfaces}
    sources = {t.name: t.source for t in snapshot.tunnels}
    names = [t.name for t in snapshot.tunnels]
    names += sorted(n for n in live if n not in names)
    out = []
    for name in names:
        iface = live.get(name)
        source = sources.get(name, "wgdroid")
        if iface is None:
            info = configs.get(name)
            endpoints = [p.endpoint for p in info.peers if p.endpoint] if info else []
            out.append(Row(name, False, fmt.NONE, endpoint_summary(endpoints), None, None,
                           None, None, source))
            continue
        ages = [p.handshake_age for p in iface.peers if p.handshake_age is not None]
        out.append(Row(
            name, True, iface.backend,
            endpoint_summary([p.endpoint for p in iface.peers if p.endpoint]),
            min(ages) if ages else None,
            sum(p.rx_bytes for p in iface.peers),
            sum(p.tx_bytes for p in iface.peers),
            iface.listen_port,
            source,
        ))
    return out


def handshake_text(row: Row, wide: bool) -> Text:
    if not row.up:
        return Text(fmt.NONE)
    age = fmt.age(row.handshake_age) if wide else fmt.duration(row.handshake_age)
    if row.handshake_age is None:
        return Text("never")
    if fmt.is_stale(row.handshake_age):
        marked = f"{age} (stale)" if wide else f"{STALE} {age}"
        return Text(marked, style="bold reverse")
    return Text(age)


class TunnelTable(ListTable[object]):
    """The tunnels of the chosen phone. The cursor row is the session's selected
    tunnel, kept in step at once (not via a message), so a key pressed right
    after moving acts on the row the user sees. Columns are fitted to the
    pane: optional ones go first, the endpoint is shortened, none is cut."""

    BINDINGS = [*bindings(Scope.TUNNEL), *LIST_KEYS]

    def __init__(self, session: Session, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self._rebuilding = False

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        super().watch_cursor_coordinate(old, new)
        if not self._rebuilding:
            self.session.selected = self.selected()

    def selected(self) -> str | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return str(key.value) if key.value is not None else None

    def show(self) -> None:
        """Rebuild the rows from the session; the cursor stays on the selected
        tunnel (by name), or, when that tunnel is gone, on the same row number."""
        index, selected = self.cursor_row, self.session.selected
        if self.session.expected is not None:
            selected = self.session.expected
        with self.app.batch_update():
            self._rebuilding = True
            try:
                self._fill(selected, index)
            finally:
                self._rebuilding = False
        self.session.selected = self.selected()

    def _fill(self, selected: str | None, index: int) -> None:
        s = self.session
        width = self.size.width - 1  # room for the scroll bar a long list gets
        self._fitted_for = self.size.width
        wide = width >= WIDE
        shown = [r for r in rows(s.snapshot, s.configs) if s.shown(r.name)] if (
            s.snapshot) else []
        cells = []
        for row in shown:
            state = s.pending.get(row.name) or (ON if row.up else OFF)
            cells.append({
                "state": state, "name": name_cell(row), "backend": row.backend,
                "endpoint": row.endpoint, "handshake": handshake_text(row, wide),
                "rx": fmt.size(row.rx) if row.up else fmt.NONE,
                "tx": fmt.size(row.tx) if row.up else fmt.NONE,
            })

        def widest(key: str, floor: int) -> int:
            return max([floor, *(len(str(c[key])) for c in cells)])

        columns = [
            Column("state", "State", widest("state", len(OFF))),
            Column("name", "Name", widest("name", 4)),
            Column("backend", "Backend", widest("backend", 6), optional=True),
            Column("endpoint", "Endpoint", widest("endpoint", 8), minimum=8),
            Column("handshake", "Handshake", widest("handshake", 5)),
            Column("rx", "RX", widest("rx", 8)),
            Column("tx", "TX", widest("tx", 8)),
        ]
        widths = fit(columns, width)
        self.clear(columns=True)
        for c in columns:
            if c.key in widths:
                self.add_column(c.label, key=c.key, width=widths[c.key])
        for row, cell in zip(shown, cells, strict=True):
            self.add_row(*[clip(v, widths[k]) if isinstance(v, str) else v
                           for k, v in cell.items() if k in widths], key=row.name)
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected))
            if selected == self.session.expected:
                self.session.expected = None  # arrived
        elif self.row_count:
            self.move_cursor(row=min(index, self.row_count - 1))
