"""What the phone has and lacks, with the fix for each problem."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, Static

from wgdroid.tui.widgets.list_table import PlainTable

if TYPE_CHECKING:
    from wgdroid.device.doctor import Capabilities


def facts(caps: Capabilities) -> list[tuple[str, str]]:
    from wgdroid.device.doctor import fact_rows  # the one formatter, shared with the CLI

    return fact_rows(caps)


class DoctorScreen(Screen[None]):
    BINDINGS = [Binding("escape,q", "close", "Back", id="doctor.close")]

    def __init__(self, caps: Capabilities) -> None:
        super().__init__()
        self.caps = caps

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield Label(f"Doctor: {self.caps.serial}", classes="section-title", markup=False)
            yield PlainTable(id="doctor-facts", cursor_type="row")
            yield Label("Problems and fixes", classes="section-title")
            if not self.caps.advice:
                yield Static("Nothing to fix.", id="advice-none")
            for n, advice in enumerate(self.caps.advice):
                yield Static(f"✗ {advice.problem}\n  fix: {advice.fix}", markup=False,
                             id=f"advice-{n}", classes="advice")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#doctor-facts", DataTable)
        table.add_columns("Check", "Found")
        for name, value in facts(self.caps):
            table.add_row(name, value)

    def action_close(self) -> None:
        self.dismiss(None)
