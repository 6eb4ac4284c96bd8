"""With no phone attached the TUI offers a simulated one; `--sim` starts it
directly. Real simulator daemon and adb server; the phones started here are
stopped and disconnected at the end so other tests see no extra device."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from textual.widgets import DataTable
from tui_sample import Notes, shown, sync, until

from wgdroid.tui.adapter import AdbAdapter
from wgdroid.tui.app import WgdroidApp
from wgdroid.tui.screens.dialogs import ConfirmScreen

pytestmark = [pytest.mark.sim, pytest.mark.slow]


@pytest.fixture
def no_phones(adb_server: Any, sim_state: Any) -> Iterator[list[str]]:
    """The private adb server with nothing connected; cleans up what the TUI starts."""
    for line in adb_server.adb("devices").stdout.splitlines()[1:]:
        if line.strip():
            adb_server.adb("disconnect", line.split()[0])
    before = {p["serial"] for p in sim_state.phones()} if sim_state.running() else set()
    started: list[str] = []
    yield started
    if sim_state.running():
        mine = [p["serial"] for p in sim_state.phones() if p["serial"] not in before]
        for serial in mine:
            adb_server.adb("disconnect", serial)
        if mine:
            sim_state.stop(mine)


async def _phone_shown(app: WgdroidApp, pilot: Any) -> str:
    def chosen() -> dict[str, object]:  # what the app did and saw so far
        return {"chosen": app.session.serial, "devices": app.session.devices,
                "log": list(app.session.activity)[-6:]}

    await until(pilot, "the simulated phone", chosen, timeout=60,
                check=lambda seen: seen["chosen"] is not None)
    await until(pilot, "its doctor", lambda: app.session.serial in app.session.caps, timeout=30)
    await until(pilot, "its tunnels", lambda: "demo" in app.session.tunnel_names(), timeout=30)
    devices = app.main_screen.query_one("#devices", DataTable)
    serial = app.session.serial
    assert serial is not None
    # The model comes from doctor; the list shows it at its next render.
    await until(pilot, "the model listed", lambda: serial in devices.rows
                and str(devices.get_cell(serial, "model")) == "Pixel 8")
    return app.session.serial


@sync
async def test_offers_a_simulated_phone_when_none_is_attached(no_phones: list[str]) -> None:
    app = WgdroidApp()
    notes = Notes()
    async with app.run_test(size=(120, 36), message_hook=notes) as pilot:
        offer = await shown(pilot, ConfirmScreen)
        assert "No Android phone is attached" in str(offer.query_one("#question").content)  # type: ignore[attr-defined]
        await pilot.press("y")
        no_phones.append(await _phone_shown(app, pilot))
        await until(pilot, "the hot-plug notice", lambda: any(
            "attached" in n.message for n in notes.shown))


@sync
async def test_sim_flag_starts_one_directly(no_phones: list[str], sim_state: Any,
                                            adb_server: Any) -> None:
    adapter = AdbAdapter()
    app = WgdroidApp(adapter, start_sim=True)
    async with app.run_test(size=(120, 36)) as pilot:
        serial = await _phone_shown(app, pilot)
        no_phones.append(serial)
        assert not any(isinstance(s, ConfirmScreen) for s in app.screen_stack)
    # On exit the TUI names the phones it left running, and only those (#10: it
    # named one already stopped from another shell).
    assert adapter.running_sims() == [serial]
    sim_state.stop([serial])
    adb_server.adb("disconnect", serial)
    assert adapter.running_sims() == []
