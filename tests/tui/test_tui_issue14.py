"""Issue 14's problems, each reproduced with Pilot against sample data (each
of these failed before the change; the number is the issue's)."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input, Static
from tui_sample import (
    SERIAL,
    SampleAdapter,
    capabilities,
    config,
    fill,
    qr_drawn,
    scan,
    shown,
    sync,
    until,
)

from wgdroid.device.connection import DeviceInfo
from wgdroid.device.doctor import Capabilities
from wgdroid.tui.app import WgdroidApp
from wgdroid.tui.screens.dialogs import ConfirmScreen, PromptScreen
from wgdroid.tui.widgets.detail_pane import DetailPane
from wgdroid.tui.widgets.device_table import DeviceTable
from wgdroid.tui.widgets.footer import WgdroidFooter
from wgdroid.tui.widgets.tunnel_table import TunnelTable

SMALL = (80, 24)


def _app(adapter: SampleAdapter | None = None) -> WgdroidApp:
    return WgdroidApp(adapter or SampleAdapter(), poll=True, offer_sim=False)


def _tunnels(app: WgdroidApp) -> TunnelTable:
    return app.main_screen.query_one(TunnelTable)


def _row_names(app: WgdroidApp) -> list[str]:
    return [str(key.value) for key in _tunnels(app).rows]


@sync
async def test_1_after_a_rename_the_cursor_stays_on_the_renamed_tunnel() -> None:
    """#1: after a rename the cursor jumped to row 1, so `del` then Enter
    deleted another tunnel. Now it follows the tunnel by name, and a delete
    confirmation starts on Cancel."""
    adapter = SampleAdapter()
    app = _app(adapter)
    async with app.run_test(size=SMALL) as pilot:
        await fill(app, pilot)
        await pilot.press("down")  # lab
        assert app.session.selected == "lab"
        await pilot.press("r")
        prompt = await shown(pilot, PromptScreen)
        prompt.query_one("#answer", Input).value = "zz"
        await pilot.press("enter")
        await until(pilot, "the renamed tunnel listed", lambda: "zz" in _row_names(app))
        assert _row_names(app) == ["home", "office", "zz"]
        assert app.session.selected == "zz" and _tunnels(app).cursor_row == 2
        mark = len(adapter.calls)
        await pilot.press("delete")
        dialog = await shown(pilot, ConfirmScreen)
        assert str(dialog.query_one(".dialog-title").content) == "Delete zz?"
        await pilot.press("enter")  # on Cancel
        await until(pilot, "the dialog closed", lambda: app.screen is app.main_screen)
        assert adapter.since(mark, "remove") == []


class TwoPhones(SampleAdapter):
    def list_devices(self) -> list[DeviceInfo]:
        return [DeviceInfo("OTHER0002", "device", "Pixel_7"),
                DeviceInfo(SERIAL, "device", "Pixel_8")]

    def doctor(self, serial: str) -> Capabilities:
        return capabilities(serial)


@sync
async def test_2_the_phone_list_has_its_own_keys_and_its_cursor_on_the_chosen_phone() -> None:
    """#2: Tab put focus on the phone table, whose bright row was not the
    active phone, while space, r, del and e still acted on the dim tunnel row."""
    adapter = TwoPhones()
    app = WgdroidApp(adapter, serial=SERIAL, poll=False, offer_sim=False)
    async with app.run_test(size=SMALL) as pilot:
        await fill(app, pilot)
        app.apply_devices(adapter.list_devices())
        phones = app.main_screen.query_one(DeviceTable)
        await until(pilot, "both phones listed", lambda: phones.row_count == 2)
        await pilot.press("shift+tab")
        await until(pilot, "the phone list focused", lambda: phones.has_focus)
        assert phones.coordinate_to_cell_key(phones.cursor_coordinate).row_key.value == SERIAL
        mark = len(adapter.calls)
        for key in ("space", "r", "delete", "e", "t", "D"):
            await pilot.press(key)
        assert app.screen is app.main_screen and adapter.since(mark) == []
        shown_keys = {k.description for k in app.main_screen.query_one(WgdroidFooter).query(
            "FooterKey").results() if hasattr(k, "description")}
        assert "Use" in shown_keys and "On/Off" not in shown_keys
        await pilot.press("up", "enter")  # use the other phone
        await until(pilot, "the other phone chosen", lambda: app.session.serial == "OTHER0002")


@sync
async def test_4_details_show_the_whole_config_of_a_down_tunnel_and_no_rate_graph() -> None:
    """#4: a down tunnel's details showed two solid sparklines and an empty peer
    table, and lacked the interface key, addresses, DNS, MTU, the full peer key."""
    app = _app()
    async with app.run_test(size=SMALL) as pilot:
        await fill(app, pilot)
        await pilot.press("down", "enter")
        pane = app.main_screen.query_one(DetailPane)
        await until(pilot, "the details of lab", lambda: pane.has_focus and pane.shown
                    and pane.shown.name == "lab")
        assert pane.shown is not None
        text = pane.shown.text()
        assert pane.shown.rates is None and "rx " not in text  # no graph when down
        for line in ("lab: down", "Public key     HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=",
                     "Addresses      10.0.0.2/32", "DNS            1.1.1.1",
                     "MTU            automatic", "Listen port    random",
                     "Public key     xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",
                     "Endpoint       vpn.example.com:51820", "Allowed IPs    0.0.0.0/0, ::/0",
                     "Preshared key  no"):
            assert line in text, line
        assert "PrivateKey" not in text and "yAnz5TF" not in text
        await pilot.press("y")  # copyable
        await until(pilot, "the copy", lambda: app.clipboard == text)


class LateGrant(SampleAdapter):
    """su was not answered while doctor ran; granted afterwards."""

    def __init__(self) -> None:
        super().__init__()
        self.granted = False

    def doctor(self, serial: str) -> Capabilities:
        self._op("doctor", serial)
        caps = capabilities(serial)
        if not self.granted:
            caps.root_method = None
            caps.root_error = "su did not answer"
        return caps


@sync
async def test_7_f5_asks_the_phone_again_what_it_has() -> None:
    """#7: root and doctor results never refreshed once su was granted."""
    adapter = LateGrant()
    app = WgdroidApp(adapter, poll=False, offer_sim=False)
    async with app.run_test(size=SMALL) as pilot:
        app.apply_devices([DeviceInfo(SERIAL, "device", "Pixel_8")])
        phones = app.main_screen.query_one(DeviceTable)
        await until(pilot, "the first doctor", lambda: SERIAL in phones.rows
                    and str(phones.get_cell(SERIAL, "root")) == "none")
        adapter.granted = True
        await pilot.press("f5")
        await until(pilot, "root shown", lambda: str(phones.get_cell(SERIAL, "root")) == "magisk")


@sync
async def test_7_root_is_asked_again_once_an_operation_got_su() -> None:
    """#7: a toggle that went through su (the user tapped Grant) left the
    phone list saying "root none" until f5."""
    adapter = LateGrant()
    app = WgdroidApp(adapter, poll=False, offer_sim=False)
    async with app.run_test(size=SMALL) as pilot:
        await fill(app, pilot)
        app.session.caps[SERIAL] = LateGrant().doctor(SERIAL)  # as doctor saw it: no answer
        app.changed()
        phones = app.main_screen.query_one(DeviceTable)
        await until(pilot, "root none", lambda: str(phones.get_cell(SERIAL, "root")) == "none")
        adapter.granted = True
        mark = len(adapter.calls)
        await pilot.press("down", "space")  # lab goes up: su answered
        await until(pilot, "root shown", lambda: str(phones.get_cell(SERIAL, "root")) == "magisk")
        assert adapter.since(mark) == [("enable", "lab"), ("doctor", SERIAL)]


def _visible(app: WgdroidApp, widget: Any) -> bool:
    region = widget.region
    return region.width > 0 and region.right <= app.size.width and region.bottom <= app.size.height


@sync
async def test_8_at_80x24_every_column_and_help_and_quit_are_on_screen() -> None:
    """#8: at 80x24 the TX column and Help/Quit were cut off."""
    app = _app()
    async with app.run_test(size=SMALL) as pilot:
        await fill(app, pilot)
        table = _tunnels(app)
        keys = [c.key.value for c in table.columns.values()]
        assert keys[-2:] == ["rx", "tx"]
        assert "backend" in keys and "endpoint" in keys  # the README says every column
        used = sum(c.get_render_width(table) for c in table.columns.values())
        assert used <= table.scrollable_content_region.width, "a column is cut"
        assert table.max_scroll_x == 0
        footer = app.main_screen.query_one(WgdroidFooter)
        words = {k.description: k for k in footer.query("FooterKey").results()
                 if hasattr(k, "description")}
        for word in ("Help", "Quit", "On/Off"):
            assert word in words and _visible(app, words[word]), word
        assert footer.max_scroll_x == 0


@sync
async def test_10_slash_filters_and_vim_keys_move() -> None:
    """#10: no `/` filter, no j/k, g/G, Home/End."""
    app = _app()
    async with app.run_test(size=SMALL) as pilot:
        await fill(app, pilot)
        await pilot.press("j")
        assert app.session.selected == "lab"
        await pilot.press("G")
        assert app.session.selected == "office"
        await pilot.press("k", "g")
        assert app.session.selected == "home"
        await pilot.press("end")
        assert app.session.selected == "office"
        await pilot.press("home")
        assert app.session.selected == "home"
        await pilot.press("slash", "o", "f")
        await until(pilot, "the filtered list", lambda: _row_names(app) == ["office"])
        assert app.session.selected == "office"
        await pilot.press("enter")  # back to the list, the filter stays
        await until(pilot, "the list focused", lambda: _tunnels(app).has_focus)
        assert _row_names(app) == ["office"]
        await pilot.press("escape")  # clears it
        await until(pilot, "every tunnel back", lambda: _row_names(app) == [
            "home", "lab", "office"])
        assert app.session.selected == "office"  # still on the same tunnel


@sync
async def test_10_q_and_esc_go_back_in_the_details_and_on_the_start_dialog() -> None:
    """#10: `q` did nothing in the detail view or on the start dialog."""
    app = _app()
    async with app.run_test(size=SMALL) as pilot:
        await fill(app, pilot)
        pane = app.main_screen.query_one(DetailPane)
        for key in ("q", "escape", "h"):
            await pilot.press("enter")
            await until(pilot, "the details focused", lambda: pane.has_focus)
            await pilot.press(key)
            await until(pilot, f"{key} back to the list", lambda: _tunnels(app).has_focus)
        app.flows.offer_sim()
        await shown(pilot, ConfirmScreen)
        await pilot.press("q")
        await until(pilot, "the dialog closed", lambda: app.screen is app.main_screen)
        assert app.is_running  # q closed the dialog, it did not quit
        await pilot.press("q")
        await until(pilot, "quit", lambda: not app.is_running)


@sync
async def test_destructive_confirmations_start_on_cancel() -> None:
    adapter = SampleAdapter()
    adapter.ports["lab"] = 51821  # office (up) listens there
    app = _app(adapter)
    async with app.run_test(size=SMALL) as pilot:
        await fill(app, pilot)
        mark = len(adapter.calls)
        await pilot.press("down", "space")  # lab: its port clashes with office
        await shown(pilot, ConfirmScreen)
        await pilot.press("enter")
        await until(pilot, "the dialog closed", lambda: app.screen is app.main_screen)
        assert adapter.since(mark, "enable", "disable") == []
        app.flows.offer_sim()  # not destructive: starts on Yes
        dialog = await shown(pilot, ConfirmScreen)
        await until(pilot, "its focus", lambda: dialog.focused is not None)
        assert dialog.focused is not None and dialog.focused.id == "yes"
        await pilot.press("escape")


@sync
async def test_8_the_qr_code_fits_the_terminal_or_says_to_enlarge_it() -> None:
    """#8: the QR code was cut (unscannable) at 120x36. One app, the terminal
    resized under the open code: it is redrawn for each size at once."""
    app = _app()
    async with app.run_test(size=(120, 36)) as pilot:
        await fill(app, pilot)
        view = await qr_drawn(pilot)
        hint = app.screen.query_one("#qr-hint", Static)
        for size, style in (((120, 36), "half"), ((60, 40), "quarter"), ((130, 70), "large"),
                            ((80, 24), None)):
            await pilot.resize_terminal(*size)

            def drawn(size: tuple[int, int] = size, style: str | None = style) -> bool:
                if app.size != size:
                    return False
                if style is None:
                    return view.drawing is None
                return view.drawing is not None and view.drawing.style == style \
                    and view.size == (view.drawing.width, view.drawing.height)

            await until(pilot, f"the drawing for {size}", drawn)
            if style is None:
                text = str(hint.content)
                assert "too small" in text and "31x33" in text, text
                continue
            assert view.drawing is not None and _visible(app, view)
            assert scan(view.drawing) == config("home")


def _lines(widget: Any) -> list[str]:
    """What a widget draws, line by line, at the size it has."""
    from textual.geometry import Region

    return [strip.text for strip in widget.render_lines(Region(0, 0, *widget.size))]


@sync
async def test_8_help_and_prompts_wrap_at_80x24_instead_of_cutting() -> None:
    """At 80x24 the help cut lines mid-word (and hid its palette column behind a
    horizontal scroll) and the export prompt ended in "private keys; Ta"."""
    import re

    from textual.widgets import Label

    from wgdroid.tui.screens.dialogs import PromptScreen
    from wgdroid.tui.screens.help import HelpScreen, KeyTable

    def words(text: str) -> set[str]:
        return set(re.findall(r"[\w'./+-]+", text))

    app = _app()
    async with app.run_test(size=SMALL) as pilot:
        await fill(app, pilot)
        await pilot.press("f1")
        await until(pilot, "the help", lambda: isinstance(app.screen, HelpScreen))
        box = app.screen.query_one("#help-box")
        assert box.max_scroll_x == 0
        for table in app.screen.query(KeyTable):
            drawn = words("\n".join(_lines(table)))
            for row in table.rows:
                missing = words(" ".join(row)) - drawn
                assert not missing, (table.id, row, missing)
        title = app.screen.query(Label).first()
        assert "footer's words)" in " ".join(_lines(title))
        await pilot.press("escape")
        await until(pilot, "the main screen", lambda: app.screen is app.main_screen)

        await pilot.press("x")
        await until(pilot, "the export prompt", lambda: isinstance(app.screen, PromptScreen))
        prompt = " ".join(" ".join(" ".join(_lines(label)) for label in
                                   app.screen.query(Label)).split())
        assert "private keys; Tab completes):" in prompt, prompt
