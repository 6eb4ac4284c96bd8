"""The selected tunnel in full: its config (up or down) and, when it is up,
live rates, handshakes and transfer. Text, so it can be selected and copied
(`y` copies all of it; no private key is ever in it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from wgdroid.tui import details, fmt
from wgdroid.tui.actions import Scope
from wgdroid.tui.bindings import bindings

if TYPE_CHECKING:
    from wgdroid.tui.state import Session

SPARK_MAX = 60  # samples drawn at most (the session keeps as many)

SCROLL_KEYS: list[BindingType] = [
    Binding("j,down", "scroll_down", "Down", show=False, tooltip="scroll the details down"),
    Binding("k,up", "scroll_up", "Up", show=False, tooltip="scroll the details up"),
    Binding("g,home", "scroll_home", "Top", show=False, tooltip="to the top of the details"),
    Binding("G,end", "scroll_end", "Bottom", show=False, tooltip="to the end of the details"),
    Binding("pagedown", "page_down", "Page down", show=False),
    Binding("pageup", "page_up", "Page up", show=False),
]


def build(session: Session, name: str | None = None) -> details.Detail | None:
    """What the pane shows of `name` (the selected tunnel by default)."""
    name = name or session.selected
    if name is None or session.snapshot is None:
        return None
    iface = session.snapshot.status.interface(name)
    pending = session.pending.get(name)
    waiting = session.waiting.get(name)
    if pending and waiting:
        pending = f"{pending.lstrip('… ')}: {waiting}"
    return details.detail(name, session.configs.get(name), iface, session.history(name),
                          pending=pending)


def render(d: details.Detail, width: int) -> Text:
    """The pane's text: the headline, rate bars when up, then the config."""
    out = Text()
    out.append(d.name, style="bold")
    out.append(f"  {d.headline}\n", style="bold" if d.up else "")
    if d.rates is not None:
        rx, tx = d.rates
        bars = max(8, min(SPARK_MAX, width - 24))
        for label, values in (("rx", rx), ("tx", tx)):
            out.append(f"{label} {fmt.rate(values[-1] if values else None):>13} ")
            out.append(fmt.spark(values, bars), style="bold")
            out.append("\n")
    if d.note:
        out.append(d.note + "\n", style="italic")
    keys = max((len(k) for s in d.sections for k, _ in s.rows), default=0)
    for section in d.sections:
        out.append(f"\n{section.title}\n", style="bold underline")
        for key, value in section.rows:
            out.append(f"  {key.ljust(keys)}  ", style="dim")
            out.append(value + "\n")
    return out


class DetailPane(VerticalScroll, can_focus=True):
    """Focused with enter (or `l`) from the list; esc, `h` or `q` go back."""

    BINDINGS = [
        Binding("escape,h,q", "back", "Back", id="detail.back",
                tooltip="from the details back to the list"),
        *bindings(Scope.TUNNEL),
        *SCROLL_KEYS,
    ]

    def __init__(self, session: Session, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="pane")
        self.session = session
        self.shown: details.Detail | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="detail-body", markup=False)

    def show(self) -> None:
        self.shown = build(self.session)
        body = self.query_one("#detail-body", Static)
        if self.shown is None:
            self.border_title = "Details"
            body.update("No tunnel selected." if self.session.serial else "No phone chosen.")
            return
        self.border_title = Content(f"Details of {self.shown.name}")  # not markup
        body.update(render(self.shown, self.scrollable_content_region.width or 60))

    def on_focus(self) -> None:
        self.screen.add_class("-detail")  # narrow layouts give it the whole body

    def on_blur(self) -> None:
        if self.app.screen is self.screen:  # not when a dialog opened over it
            self.screen.remove_class("-detail")

    def action_back(self) -> None:
        from wgdroid.tui.widgets.tunnel_table import TunnelTable

        self.screen.query_one(TunnelTable).focus()
