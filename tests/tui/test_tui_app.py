"""The main screen, palette, dialogs, QR widget and error handling, with
fixed sample data (no device; the device flows are in test_sim_flows.py)."""

from __future__ import annotations

import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any

from textual.command import CommandList, CommandPalette
from textual.widgets import DataTable, Input
from tui_sample import PRIVATE, SERIAL, SampleAdapter, config, fill, scan, sync, until

from wgdroid.errors import RootError
from wgdroid.tui import form
from wgdroid.tui.actions import ACTIONS
from wgdroid.tui.app import WgdroidApp
from wgdroid.tui.commands import entries
from wgdroid.tui.screens.detail import DetailScreen
from wgdroid.tui.screens.dialogs import ConfirmScreen, PromptScreen
from wgdroid.tui.screens.help import HelpScreen
from wgdroid.tui.screens.qr import QrScreen
from wgdroid.tui.widgets.activity import ActivityLog
from wgdroid.tui.widgets.qr_view import QrView

SIZE = (100, 30)
ROOT = Path(__file__).resolve().parents[2]


def _app(adapter: SampleAdapter | None = None) -> WgdroidApp:
    return WgdroidApp(adapter or SampleAdapter(), poll=False, offer_sim=False)


def _cells(table: DataTable[object], column: str) -> list[str]:
    return [str(table.get_cell(row, column)) for row in table.rows]


def test_qr_view_draws_a_scannable_code() -> None:
    text = config("home")
    assert scan(QrView(text).drawing) == text


def test_every_action_has_an_id_keys_and_a_palette_name() -> None:
    ids = [a.id for a in ACTIONS]
    assert len(ids) == len(set(ids))
    for a in ACTIONS:
        assert a.keys and a.palette_name.startswith(f"{a.category}: ")


@sync
async def test_main_screen_shows_phone_and_tunnels() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        fill(app)
        await pilot.pause()
        devices = app.main_screen.query_one("#devices", DataTable)
        assert _cells(devices, "model") == ["Pixel 8"] and _cells(devices, "root") == ["magisk"]
        assert _cells(devices, "ready") == ["ready: wireguard-go"]
        tunnels = app.main_screen.query_one("#tunnels", DataTable)
        assert _cells(tunnels, "name") == ["home", "lab", "office"]
        assert _cells(tunnels, "state") == ["[●] up", "[ ] down", "[●] up"]
        assert _cells(tunnels, "handshake") == ["12s ago", "—", "6m 40s ago (stale)"]
        assert app.rate_history["home"][-1] == (20480.0, 4096.0)  # between the two polls


@sync
async def test_palette_commands_follow_state_and_run() -> None:
    adapter = SampleAdapter()
    app = _app(adapter)
    async with app.run_test(size=SIZE) as pilot:
        fill(app)
        names = [e[0] for e in entries(app)]
        for expected in ("tunnel: disable home", "tunnel: enable lab", "tunnel: edit office",
                         "export: QR code of lab", "device: what the phone has and lacks, "
                         "with fixes", "import: import a .conf, a .zip or a QR image"):
            assert expected in names
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"enable lab")
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        await until(pilot, "the search hit", lambda: any(
            "enable lab" in str(o.prompt) for o in palette.query_one(
                CommandList).options), limit=10)
        await pilot.pause(0.2)
        await pilot.press("enter")
        await until(pilot, "the enable", lambda: any(
            line.endswith("enable lab: done (0.0 s)") for line in app.activity), limit=10)
        assert ("enable", "lab") in adapter.calls
        log = list(app.activity)
        assert any(line.endswith("enable lab: done (0.0 s)") for line in log)


@sync
async def test_toggle_keys_and_port_clash_is_explained_first() -> None:
    adapter = SampleAdapter()
    adapter.ports["lab"] = 51821  # office (up) listens there
    app = _app(adapter)
    async with app.run_test(size=SIZE) as pilot:
        fill(app)
        await pilot.pause()
        await pilot.press("down")  # home -> lab
        await pilot.press("space")
        await until(pilot, "the dialog", lambda: isinstance(app.screen, ConfirmScreen))
        assert "51821" in str(app.screen.query_one("#question").content)
        assert ("enable", "lab") not in adapter.calls
        await pilot.press("y")
        await until(pilot, "the swap", lambda: ("enable", "lab") in adapter.calls)
        assert adapter.calls[-2:] == [("disable", "office"), ("enable", "lab")]
        await pilot.press("up", "t")  # home is up: straight down, no check
        await until(pilot, "the disable", lambda: adapter.calls[-1] == ("disable", "home"))


@sync
async def test_device_errors_become_notifications_and_log_lines() -> None:
    adapter = SampleAdapter()
    adapter.fail["remove"] = RootError("su: permission denied by Magisk", hint="grant shell")
    app = _app(adapter)
    async with app.run_test(size=SIZE) as pilot:
        fill(app)
        await pilot.pause()
        await pilot.press("delete")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await until(pilot, "the notification", lambda: any(
            "Root access refused" in n.title for n in app._notifications))
        notes = list(app._notifications)
        assert notes[-1].title == "delete home: Root access refused"
        assert notes[-1].message == "su: permission denied by Magisk\ngrant shell"
        log = app.main_screen.query_one("#activity", ActivityLog)
        assert any("delete home: failed: su: permission denied" in str(s.text)
                   for s in log.lines)


@sync
async def test_status_poll_pauses_under_a_modal() -> None:
    adapter = SampleAdapter()
    app = _app(adapter)
    async with app.run_test(size=SIZE) as pilot:
        fill(app)
        app.polling = True
        app.push_screen(ConfirmScreen("t", "q"))
        await pilot.pause()
        steps = adapter.step
        app._kick_status()
        await pilot.pause(0.2)
        assert adapter.step == steps and not app._status_busy
        app.pop_screen()
        app._kick_status()
        await until(pilot, "the poll", lambda: adapter.step == steps + 1
                    and not app._status_busy)
        assert app.snapshot is not None
        assert app.snapshot.serial == SERIAL


@sync
async def test_detail_help_and_qr_screens() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        fill(app)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen) and app.screen.tunnel == "home"
        head = str(app.screen.query_one("#detail-head").content)
        assert head.startswith("home: up · backend wireguard-go · port 51820 · uptime 1h 01m")
        await pilot.press("escape", "f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.query_one("#help-main", DataTable).row_count == len(ACTIONS)
        await pilot.press("escape", "v")
        await until(pilot, "the QR code", lambda: isinstance(app.screen, QrScreen))
        assert scan(app.screen.query_one(QrView).drawing) == config("home")


@sync
async def test_export_zip_of_all_tunnels(tmp_path: Path) -> None:
    app = _app()
    target = tmp_path / "all.zip"
    async with app.run_test(size=SIZE) as pilot:
        fill(app)
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one("#answer", Input).value = str(target)
        await pilot.press("enter")
        await until(pilot, "the zip", target.exists)
    assert target.stat().st_mode & 0o777 == 0o600
    with zipfile.ZipFile(target) as zf:
        assert sorted(zf.namelist()) == ["home.conf", "lab.conf", "office.conf"]
        assert zf.read("lab.conf").decode() == config("lab")


@sync
async def test_copy_public_key_of_up_and_down_tunnels() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        fill(app)
        await pilot.press("c")  # home is up: the key comes from the status
        await pilot.pause()
        assert app.clipboard == "HOMEPUBKEY"
        await pilot.press("down", "c")  # lab is down: computed from its config
        await until(pilot, "the copy", lambda: app.clipboard == form.public_key_of(PRIVATE))


def test_tui_startup_imports_stay_lean() -> None:
    code = ("import sys; import wgdroid.tui.app as a; a.WgdroidApp(); "
            "heavy = [m for m in ('pydantic', 'adbutils', 'segno', 'PIL', 'zxingcpp', "
            "'cryptography') if m in sys.modules]; assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


class HangingAdapter(SampleAdapter):
    """A phone whose status call blocks until released (a hung adb stream)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.polls = 0

    def snapshot(self, serial: str) -> Any:
        self.polls += 1
        self.release.wait(timeout=30)
        return super().snapshot(serial)


@sync
async def test_a_hung_phone_neither_freezes_the_ui_nor_piles_up_polls() -> None:
    adapter = HangingAdapter()
    app = _app(adapter)
    async with app.run_test(size=SIZE) as pilot:
        fill(app)
        app.polling = True
        app.refresh_now()
        await until(pilot, "the hung poll", lambda: adapter.polls == 1)
        assert app._status_busy
        for _ in range(3):  # refresh requests while hung: remembered, not started
            await pilot.press("f5")
        await pilot.pause(1.5)  # past the poll interval
        assert adapter.polls == 1
        await pilot.press("f1")  # the UI still answers keys
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        adapter.release.set()
        await until(pilot, "the next poll", lambda: adapter.polls >= 2, limit=5)
        app.polling = False
