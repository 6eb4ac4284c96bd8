"""Device failures reach the user as notifications carrying the device's own
message (simulated phone: a failing wg-quick hook, then su denying root)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import DataTable, Input
from tui_sample import Notes, select_tunnel, shown, sync, until

from wgdroid.tui.app import WgdroidApp
from wgdroid.tui.screens.editor import EditorScreen

pytestmark = [pytest.mark.sim, pytest.mark.slow]

BROKEN = """[Interface]
PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
Address = 10.96.0.2/32
PostUp = echo hook-ran-and-failed >&2; false

[Peer]
PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
AllowedIPs = 10.96.0.1/32
"""


async def _toggle(app: WgdroidApp, pilot: Any, name: str) -> None:
    table = app.main_screen.query_one("#tunnels", DataTable)
    await until(pilot, f"{name} listed", lambda: name in table.rows)
    table.focus()
    table.move_cursor(row=table.get_row_index(name))
    await pilot.press("space")


# A hook that fails needs the Linux wg-quick, which wgdroid runs only on the kinder
# phone (rules that look up main); an Android one refuses hooks before the phone runs them.
@pytest.mark.parametrize("sim_phone", [{"android_net": False}], indirect=True)
@sync
async def test_wg_quick_failure_and_su_denied_are_notified(sim_phone: Any) -> None:
    pushed = sim_phone.run_in_phone(
        "umask 077; cat > /data/misc/wireguard/broken.conf", input=BROKEN.encode())
    assert pushed.status == 0
    app = WgdroidApp(serial=sim_phone.serial, offer_sim=False)
    notes = Notes()
    async with app.run_test(size=(120, 36), message_hook=notes) as pilot:
        await _toggle(app, pilot, "broken")
        await until(pilot, "the failure", lambda: notes.titled("enable broken"))
        note = notes.titled("enable broken")[0]
        assert note.severity == "error"
        assert "hook-ran-and-failed" in note.message  # wg-quick's own output
        # Shown as being checked until a status poll from after the failure arrives.
        await until(pilot, "the fresh status", lambda: "broken" not in app.session.pending)
        assert not app.session.is_up("broken")
        log = "\n".join(app.session.activity)
        assert "enable broken: failed:" in log and "PrivateKey" not in log

        sim_phone.set_su_policy("deny")
        await _toggle(app, pilot, "demo")
        await until(pilot, "the refusal", lambda: notes.titled("Root access refused"))
        note = notes.titled("Root access refused")[0]
        assert note.severity == "error" and note.message
        assert app.screen is app.main_screen  # still usable


@sync
async def test_a_refused_save_keeps_the_editor_and_the_edits(sim_phone: Any) -> None:
    """su denies the push: the user's text stays in the editor (it closed and
    the edits were gone); once su grants, the same ctrl+s stores them."""
    app = WgdroidApp(serial=sim_phone.serial, offer_sim=False)
    notes = Notes()
    async with app.run_test(size=(120, 36), message_hook=notes) as pilot:
        await select_tunnel(app, pilot, "demo")
        await pilot.press("e")
        editor = await shown(pilot, EditorScreen)
        await until(pilot, "the first check", lambda: editor.checks)
        address = editor.query_one("#if-addresses", Input)
        edited = address.value + ", 10.77.0.9/32"
        address.value = edited
        sim_phone.set_su_policy("deny")
        await pilot.press("ctrl+s")
        await until(pilot, "the refusal", lambda: notes.titled("Root access refused"))
        await until(pilot, "the editor usable again", lambda: not address.is_disabled)
        assert app.screen is editor and address.value == edited
        on_phone = sim_phone.run_in_phone("cat /data/misc/wireguard/demo.conf")
        assert "10.77.0.9/32" not in on_phone.stdout.decode()

        sim_phone.set_su_policy("grant")
        await pilot.press("ctrl+s")
        await until(pilot, "the editor closed", lambda: app.screen is app.main_screen)
        await until(pilot, "saved", lambda: notes.titled("Tunnel"))
        on_phone = sim_phone.run_in_phone("cat /data/misc/wireguard/demo.conf")
        assert "10.77.0.9/32" in on_phone.stdout.decode()
