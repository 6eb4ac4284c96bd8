"""The main screen: phones, the chosen phone's tunnels and the selected
tunnel's details, as panes. Wide terminals put them side by side, narrow
ones stack them (the details pane then fills the screen while it has focus);
the focused pane's border is lit and the footer shows its keys. The activity
log shows when there are rows to spare, else its last line does.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Static

from wgdroid.tui.actions import Scope
from wgdroid.tui.bindings import bindings
from wgdroid.tui.messages import ActivityLogged, SessionChanged
from wgdroid.tui.state import Session
from wgdroid.tui.widgets.activity import ActivityLog
from wgdroid.tui.widgets.detail_pane import DetailPane
from wgdroid.tui.widgets.device_table import DeviceTable
from wgdroid.tui.widgets.footer import WgdroidFooter
from wgdroid.tui.widgets.tunnel_table import TunnelTable


@dataclass
class PhoneChosen(Message):
    """The user picked a phone in the list."""

    serial: str


@dataclass
class TunnelSelected(Message):
    """The cursor moved to another tunnel (its config may need reading)."""

    name: str | None


class MainScreen(Screen[None]):
    BINDINGS = [*bindings(Scope.MAIN), Binding("escape", "escape", show=False)]
    # Breakpoints set -narrow / -medium / -wide and -short / -tall on the screen.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (150, "-medium"), (200, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]
    AUTO_FOCUS = "#tunnels"

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="body"):
            with Vertical(id="lists"):
                with Vertical(id="phones-pane", classes="pane"):
                    yield DeviceTable(self.session, id="devices")
                with Vertical(id="tunnels-pane", classes="pane"):
                    yield Input(id="filter", placeholder="filter: part of a tunnel name",
                                compact=True)
                    yield TunnelTable(self.session, id="tunnels")
            yield DetailPane(self.session, id="detail")
        yield ActivityLog(id="activity")
        yield Static("", id="last-activity", markup=False)
        yield WgdroidFooter()

    def on_mount(self) -> None:
        self.query_one("#phones-pane").border_title = "Phones"
        log = self.query_one("#activity", ActivityLog)
        first = self.session.logged - len(self.session.activity) + 1
        for number, line in enumerate(self.session.activity, first):
            log.add(line, number)
        self.render_session()

    def on_session_changed(self, message: SessionChanged) -> None:
        self.render_session()

    def on_activity_logged(self, message: ActivityLogged) -> None:
        self.query_one("#activity", ActivityLog).add(message.line, message.number)
        self.query_one("#last-activity", Static).update(message.line)

    def render_session(self) -> None:
        s = self.session
        self.query_one("#devices", DeviceTable).show()
        self.query_one("#tunnels", TunnelTable).show()
        self.query_one("#detail", DetailPane).show()
        pane = self.query_one("#tunnels-pane")
        if s.serial is None:
            pane.border_title = "Tunnels (no phone)"
        else:
            count = len(s.tunnel_names())
            # Content: a str border title is markup, and the phone names the
            # model, the user types the filter ('[/x]' ended the app).
            pane.border_title = Content(f"Tunnels on {s.model(s.serial)} ({s.serial}): {count}")
        pane.border_subtitle = Content(f"filter: {s.filter}") if s.filter else ""

    # -- focus and panes -----------------------------------------------------------

    def focus_detail(self) -> None:
        self.query_one("#detail", DetailPane).focus()

    def focus_tunnels(self) -> None:
        self.query_one("#tunnels", TunnelTable).focus()

    # -- the filter ----------------------------------------------------------------

    def start_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = self.session.filter
        box.display = True
        box.focus()

    @on(Input.Changed, "#filter")
    def _filtered(self, event: Input.Changed) -> None:
        self.session.filter = event.value.strip()
        self.render_session()
        self.post_message(TunnelSelected(self.session.selected))

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = bool(self.session.filter)
        self.focus_tunnels()

    def action_escape(self) -> None:
        """Esc: leave the filter box, or clear the filter."""
        box = self.query_one("#filter", Input)
        if box.has_focus or self.session.filter:
            box.value = ""
            box.display = False
            self.focus_tunnels()

    # -- lists -----------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#tunnels")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.query_one("#detail", DetailPane).show()
        self.post_message(TunnelSelected(self.session.selected))

    @on(DataTable.RowSelected, "#tunnels")
    def _open(self, event: DataTable.RowSelected) -> None:
        self.focus_detail()

    @on(DataTable.RowSelected, "#devices")
    def _choose(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.post_message(PhoneChosen(str(event.row_key.value)))
