"""One tunnel, live: rx/tx rate sparklines, uptime, and a row per peer with
its handshake age (marked when stale, > 3 min)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, Sparkline, Static

from wgdroid.tui import fmt
from wgdroid.tui.actions import Scope
from wgdroid.tui.bindings import bindings
from wgdroid.tui.messages import SessionChanged

if TYPE_CHECKING:
    from wgdroid.device.status import InterfaceStatus
    from wgdroid.tui.state import Session


def headline(name: str, iface: InterfaceStatus | None) -> str:
    if iface is None:
        return f"{name}: down"
    port = iface.listen_port or "random"
    return (f"{name}: up · backend {iface.backend} · port {port} · "
            f"uptime {fmt.duration(iface.uptime)} · {len(iface.peers)} peer(s)")


class DetailScreen(Screen[None]):
    BINDINGS = [
        Binding("escape,h", "close", "Back", id="detail.close"),
        *bindings(Scope.TUNNEL),
    ]

    def __init__(self, name: str, session: Session) -> None:
        super().__init__()
        self.tunnel = name
        self.session = session

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self.tunnel, id="detail-head", markup=False, classes="section-title")
        with Horizontal(id="rates"):
            with Vertical(classes="rate"):
                yield Label("rx —", id="rx-label")
                yield Sparkline([], id="rx-spark")
            with Vertical(classes="rate"):
                yield Label("tx —", id="tx-label")
                yield Sparkline([], id="tx-spark")
        yield DataTable(id="peers", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#peers", DataTable).add_columns(
            "Peer", "Endpoint", "Allowed IPs", "Handshake", "RX", "TX", "Keepalive")
        self.render_session()

    def on_session_changed(self, message: SessionChanged) -> None:
        self.render_session()

    def render_session(self) -> None:
        snapshot = self.session.snapshot
        if snapshot is None:
            return
        history = self.session.history(self.tunnel)
        iface = snapshot.status.interface(self.tunnel)
        self.query_one("#detail-head", Static).update(headline(self.tunnel, iface))
        rx = [h[0] for h in history]
        tx = [h[1] for h in history]
        self.query_one("#rx-spark", Sparkline).data = rx or [0.0]
        self.query_one("#tx-spark", Sparkline).data = tx or [0.0]
        self.query_one("#rx-label", Label).update(f"rx {fmt.rate(rx[-1] if rx else None)}")
        self.query_one("#tx-label", Label).update(f"tx {fmt.rate(tx[-1] if tx else None)}")
        table = self.query_one("#peers", DataTable)
        table.clear()
        for peer in iface.peers if iface else []:
            age = fmt.age(peer.handshake_age)
            cell = (Text(age + " (stale)", style="bold reverse")
                    if fmt.is_stale(peer.handshake_age) else Text(age))
            table.add_row(
                fmt.short_key(peer.public_key), peer.endpoint or "—",
                ", ".join(peer.allowed_ips) or "—", cell,
                fmt.size(peer.rx_bytes), fmt.size(peer.tx_bytes),
                f"{peer.persistent_keepalive}s" if peer.persistent_keepalive else "off",
            )

    def action_close(self) -> None:
        self.dismiss(None)
