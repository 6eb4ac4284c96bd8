"""The main screen: phones, the chosen phone's tunnels, the activity log."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label

from wgdroid.tui.actions import Scope
from wgdroid.tui.bindings import bindings
from wgdroid.tui.messages import ActivityLogged, SessionChanged
from wgdroid.tui.state import Session
from wgdroid.tui.widgets.activity import ActivityLog
from wgdroid.tui.widgets.device_table import DeviceTable
from wgdroid.tui.widgets.tunnel_table import TunnelTable


@dataclass
class PhoneChosen(Message):
    """The user picked a phone in the list."""

    serial: str


class MainScreen(Screen[None]):
    BINDINGS = bindings(Scope.MAIN, Scope.TUNNEL, Scope.PHONE)

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("Phones", classes="section-title", id="devices-title")
        yield DeviceTable(id="devices")
        yield Label("Tunnels", classes="section-title", id="tunnels-title")
        yield TunnelTable(self.session, id="tunnels")
        yield ActivityLog(id="activity")
        yield Footer()

    def on_mount(self) -> None:
        log = self.query_one("#activity", ActivityLog)
        first = self.session.logged - len(self.session.activity) + 1
        for number, line in enumerate(self.session.activity, first):
            log.add(line, number)
        self.query_one("#tunnels", TunnelTable).focus()
        self.render_session()

    def on_session_changed(self, message: SessionChanged) -> None:
        self.render_session()

    def on_activity_logged(self, message: ActivityLogged) -> None:
        self.query_one("#activity", ActivityLog).add(message.line, message.number)

    def render_session(self) -> None:
        s = self.session
        self.query_one("#devices", DeviceTable).show(s.devices, s.caps, s.caps_failed, s.serial)
        self.query_one("#tunnels", TunnelTable).show(s.snapshot, s.pending)
        if s.serial is None:
            text = "Tunnels (no phone)"
        else:
            count = len(s.snapshot.tunnels) if s.snapshot else 0
            text = f"Tunnels on {s.model(s.serial)} ({s.serial}): {count}"
        self.query_one("#tunnels-title", Label).update(text)

    @on(DataTable.RowSelected, "#tunnels")
    async def _open(self, event: DataTable.RowSelected) -> None:
        await self.app.run_action("app.do('tunnel.details')")

    @on(DataTable.RowSelected, "#devices")
    def _choose(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.post_message(PhoneChosen(str(event.row_key.value)))
