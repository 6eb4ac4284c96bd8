"""The main screen: phones, the chosen phone's tunnels, the activity log."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label

from wgdroid.tui.actions import ACTIONS
from wgdroid.tui.widgets.activity import ActivityLog
from wgdroid.tui.widgets.device_table import DeviceTable
from wgdroid.tui.widgets.tunnel_table import TunnelTable


class MainScreen(Screen[None]):
    BINDINGS = [
        Binding(a.keys, f"app.{a.action}", a.description, show=a.show, id=a.id, tooltip=a.help)
        for a in ACTIONS
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("Phones", classes="section-title", id="devices-title")
        yield DeviceTable(id="devices")
        yield Label("Tunnels", classes="section-title", id="tunnels-title")
        yield TunnelTable(id="tunnels")
        yield ActivityLog(id="activity")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#tunnels", TunnelTable).focus()

    def selected_tunnel(self) -> str | None:
        return self.query_one("#tunnels", TunnelTable).selected()

    @on(DataTable.RowSelected, "#tunnels")
    async def _open(self, event: DataTable.RowSelected) -> None:
        await self.app.run_action("details")

    @on(DataTable.RowSelected, "#devices")
    def _choose(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.app.choose_device(str(event.row_key.value))  # type: ignore[attr-defined]
