"""The TUI against a simulated phone: real adb server, real su, wg-quick and
wireguard-go on the phone. One long flow (booting phones is the slow part):
toggle up and see the handshake, create with a field error, save, rename,
delete, export QR, import QR, unplug."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input
from tui_sample import Notes, scan, select_tunnel, shown, sync, until

from wgdroid.config.qr import png_bytes
from wgdroid.config.types import PrivateKey
from wgdroid.device.connection import list_devices, server_address
from wgdroid.tui.app import WgdroidApp
from wgdroid.tui.screens.dialogs import ConfirmScreen, PromptScreen
from wgdroid.tui.screens.editor import EditorScreen
from wgdroid.tui.screens.qr import QrScreen

pytestmark = [pytest.mark.sim, pytest.mark.slow]


def _cell(app: WgdroidApp, name: str, column: str) -> str:
    table = app.main_screen.query_one("#tunnels", DataTable)
    return str(table.get_cell(name, column)) if name in table.rows else ""


async def _answer(app: WgdroidApp, pilot: Any, value: str) -> None:
    prompt = await shown(pilot, PromptScreen)
    prompt.query_one("#answer", Input).value = value
    await pilot.press("enter")


@sync
async def test_tui_drives_a_simulated_phone(sim_phone: Any, tmp_path: Path) -> None:
    app = WgdroidApp(serial=sim_phone.serial, offer_sim=False)
    notes = Notes()
    async with app.run_test(size=(120, 36), message_hook=notes) as pilot:
        devices = app.main_screen.query_one("#devices", DataTable)
        await until(pilot, "doctor of the phone", lambda: sim_phone.serial in app.session.caps)
        await until(pilot, "the phone's row", lambda: sim_phone.serial in devices.rows and str(
            devices.get_cell(sim_phone.serial, "model")) == "Pixel 8")
        assert str(devices.get_cell(sim_phone.serial, "ready")).startswith("✓ ")

        # Toggle the demo tunnel up; traffic makes a handshake appear.
        await select_tunnel(app, pilot, "demo")
        if not app.session.is_up("demo"):
            await pilot.press("space")
        await until(pilot, "demo up", lambda: _cell(app, "demo", "state") == "● up")
        ping = sim_phone.run_in_phone(f"ping -c 1 -W 5 {sim_phone.info['server_tunnel_ip']}")
        assert ping.status == 0, ping.stderr
        await until(pilot, "a handshake", lambda: _cell(app, "demo", "handshake").endswith("ago"))

        # Create a tunnel: a field error first, then a valid save pushed to the phone.
        await pilot.press("n")
        editor = await shown(pilot, EditorScreen)
        checks = editor.checks
        editor.query_one("#name", Input).value = "tun1"
        editor.query_one("#if-listen_port", Input).value = "99999"
        editor.query_one("#if-addresses", Input).value = "10.98.0.2/32"
        peer = PrivateKey.generate().public_key().base64()
        editor.query_one("#p0-public_key", Input).value = peer
        await until(pilot, "the re-check",
                    lambda: editor.checks > checks and not editor.check_pending)
        msg = editor.query_one("#if-listen_port-msg")
        assert str(msg.content) == "✗ 99999 is out of range for a port (0-65535)"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await until(pilot, "the refusal", lambda: notes.titled("Not saved"))
        assert app.screen is editor
        checks = editor.checks
        editor.query_one("#if-listen_port", Input).value = "51999"
        await until(pilot, "the re-check",
                    lambda: editor.checks > checks and not editor.check_pending)
        await pilot.press("ctrl+s")
        await until(pilot, "tun1 on the phone", lambda: "tun1" in app.session.tunnel_names())
        stored = sim_phone.run_in_phone(
            "stat -c %a /data/misc/wireguard/tun1.conf; cat /data/misc/wireguard/tun1.conf")
        assert stored.stdout.decode().startswith("600\n")
        assert "ListenPort = 51999" in stored.stdout.decode()

        # Rename, then delete with confirmation.
        await select_tunnel(app, pilot, "tun1")
        await pilot.press("r")
        await _answer(app, pilot, "tun2")
        await until(pilot, "the rename", lambda: app.session.tunnel_names() == ["demo", "tun2"])
        await select_tunnel(app, pilot, "tun2")
        await pilot.press("delete")
        await shown(pilot, ConfirmScreen)
        await pilot.press("y")
        await until(pilot, "the delete", lambda: app.session.tunnel_names() == ["demo"])

        # Export demo as a QR code in the terminal: it scans back to the stored config.
        await select_tunnel(app, pilot, "demo")
        await pilot.press("v")
        qr = await shown(pilot, QrScreen)
        on_phone = sim_phone.run_in_phone("cat /data/misc/wireguard/demo.conf").stdout.decode()
        same = scan(qr.query_one("#qr").drawing) == on_phone  # type: ignore[attr-defined]
        assert same, "the QR code does not scan back to the stored config"
        await pilot.press("escape")

        # Import a QR code image as a new tunnel.
        image = tmp_path / "fromqr.png"
        imported = re.sub(r"(?m)^Address = .*$", "Address = 10.97.0.2/32", on_phone)
        image.write_bytes(png_bytes(imported))
        await until(pilot, "the main screen", lambda: app.screen is app.main_screen)
        await pilot.press("i")
        await _answer(app, pilot, str(image))
        await until(pilot, "the import", lambda: "fromqr" in app.session.tunnel_names())
        stored_qr = sim_phone.run_in_phone("cat /data/misc/wireguard/fromqr.conf").stdout
        same = stored_qr.decode() == imported  # compared apart: a failure must not print keys
        assert same, "the imported tunnel differs from the QR code"

        # Unplugged: a notification names the phone, the app keeps running.
        unplugged = sim_phone.server.adb("disconnect", sim_phone.serial)
        assert unplugged.stdout.startswith("disconnected"), unplugged
        address = server_address(None, sim_phone.server.port)

        def chosen() -> dict[str, object]:  # what the app and the adb server say
            return {"chosen": app.session.serial,
                    "app sees": [(d.serial, d.state) for d in app.session.devices],
                    "devices poll busy": app._devices_busy,
                    "adb says": [(d.serial, d.state) for d in list_devices(address)]}

        # Another phone on this adb server (the session's VM phone, when this
        # worker has one) is taken instead; with none, no phone is chosen.
        await until(pilot, "the detach", chosen,
                    check=lambda seen: seen["chosen"] != sim_phone.serial)
        await until(pilot, "the notification", lambda: any(
            n.message == f"{sim_phone.serial} detached" for n in notes.shown))
        table = app.main_screen.query_one("#tunnels", DataTable)
        await until(pilot, "the list emptied of its tunnels", lambda: "fromqr" not in table.rows
                    and (app.session.serial is not None or table.row_count == 0))
        log = "\n".join(app.session.activity)
        assert "enable demo: done" in log and "PrivateKey" not in log
