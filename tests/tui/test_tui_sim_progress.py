"""Long operations say what they wait for and can be cancelled (issue 14 #6
and #9), against a simulated phone: its su prompt waits for an answer the
test gives (as a user taps Grant), and its wg-quick tries to resolve a name
that does not exist."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import DataTable
from tui_sample import Notes, select_tunnel, sync, until

from wgdroid.tui.app import WgdroidApp
from wgdroid.tui.ops import SU_LABEL, WAIT_FOR_GRANT
from wgdroid.tui.widgets.tunnel_table import ON

pytestmark = [pytest.mark.sim, pytest.mark.slow]

SIZE = (120, 36)
LINUX_WG_QUICK = {"android_net": False}  # the kinder phone, where wgdroid runs it

UNRESOLVABLE = """[Interface]
PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
Address = 10.95.0.2/32

[Peer]
PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
AllowedIPs = 10.95.0.1/32
Endpoint = timeout.sim.test:51820
"""
# The simulated internet's DNS never answers timeout.sim.test (docs/android-phone.md):
# wg's own lookup waits on it, as it did on the simulator before it had a DNS
# (an unknown name is answered NXDOMAIN at once now, the step too brief to see).


async def _started(app: WgdroidApp, pilot: Any, sim_phone: Any, name: str) -> None:
    await until(pilot, "doctor of the phone", lambda: sim_phone.serial in app.session.caps)
    await select_tunnel(app, pilot, name)
    # Its config is read (for the details pane) before the phone asks for su.
    await until(pilot, f"{name}'s config", lambda: name in app.session.configs)
    app.polling = False  # no status poll asks su meanwhile: only the toggle does


@sync
async def test_a_su_prompt_is_shown_and_one_toggle_asks_su_once(sim_phone: Any) -> None:
    app = WgdroidApp(serial=sim_phone.serial, offer_sim=False)
    notes = Notes()
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        await _started(app, pilot, sim_phone, "demo")
        assert not app.session.is_up("demo")
        sim_phone.set_su_policy("pending", timeout=60)
        await pilot.press("space")
        await until(pilot, "the prompt shown", lambda: app.session.waiting.get("demo")
                    == WAIT_FOR_GRANT and app.session.pending.get("demo") == SU_LABEL)
        await until(pilot, "the notice", lambda: notes.titled("su asks"))
        assert notes.titled("su asks")[0].message == f"enable demo: {WAIT_FOR_GRANT} " \
            "(ctrl+x cancels)"
        assert sim_phone.answer_su(True) == 1  # one prompt for one toggle (#6)
        sim_phone.set_su_policy("grant")
        await until(pilot, "the enable done", lambda: any(
            "enable demo: done" in line for line in app.session.activity), timeout=60)
        assert "demo" not in app.session.waiting
        app.polling = True
        app.refresh_now()
        await until(pilot, "demo up", lambda: app.session.is_up("demo"))


@sync
async def test_cancel_while_su_waits(sim_phone: Any) -> None:
    app = WgdroidApp(serial=sim_phone.serial, offer_sim=False)
    notes = Notes()
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        await _started(app, pilot, sim_phone, "demo")
        sim_phone.set_su_policy("pending", timeout=60)
        await pilot.press("space")
        await until(pilot, "the prompt shown", lambda: app.session.waiting.get("demo")
                    == WAIT_FOR_GRANT)
        await pilot.press("ctrl+x")
        await until(pilot, "the cancel", lambda: notes.titled("enable demo: cancelled"))
        assert "demo" not in app.session.waiting
        assert sim_phone.answer_su(False) == 1  # the prompt left behind, denied
        sim_phone.set_su_policy("grant")
        app.polling = True
        app.refresh_now()
        await until(pilot, "a fresh status", lambda: "demo" not in app.session.pending)
        assert not app.session.is_up("demo")


# wg-quick's own resolution (and its PreUp hook below) is the Linux wg-quick's,
# which wgdroid runs only on the kinder phone; on an Android one the name is
# resolved on the phone first and fails in 3 s (tests/sim/test_android_bringup.py).
@pytest.mark.parametrize("sim_phone", [LINUX_WG_QUICK], indirect=True)
@sync
async def test_an_unresolvable_endpoint_says_what_runs_and_is_never_shown_up(
        sim_phone: Any) -> None:
    """#9: a name that does not resolve showed "going up" for 60 s, flickered
    up, then "The phone did not answer". Now the step running on the phone is
    shown, the failure is the phone's own, and the tunnel never reads up."""
    _store(sim_phone, "far", UNRESOLVABLE)
    app = WgdroidApp(serial=sim_phone.serial, offer_sim=False)
    notes = Notes()
    seen_up: list[bool] = []
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        await _started(app, pilot, sim_phone, "far")
        app.polling = True
        await pilot.press("space")
        await until(pilot, "the step shown", lambda: app.session.waiting.get("far", "")
                    .endswith("on the phone"))
        assert app.session.pending.get("far") == "… going up"

        table = app.main_screen.query_one("#tunnels", DataTable)

        def failed() -> bool:
            seen_up.append(str(table.get_cell("far", "state")) == ON)
            return bool(notes.titled("enable far: "))

        await until(pilot, "the failure", failed, timeout=90)
        note = notes.titled("enable far: ")[0]
        assert note.severity == "error" and "did not answer" not in note.title
        assert "timeout.sim.test" in note.message, note.message
        await until(pilot, "a fresh status", lambda: "far" not in app.session.pending)
        assert not app.session.is_up("far") and not any(seen_up)


HANGS = UNRESOLVABLE.replace("Address = 10.95.0.2/32", "Address = 10.95.0.2/32\nPreUp = sleep 60")


@pytest.mark.parametrize("sim_phone", [LINUX_WG_QUICK], indirect=True)
@sync
async def test_a_hanging_bring_up_can_be_cancelled(sim_phone: Any) -> None:
    _store(sim_phone, "slow", HANGS)
    app = WgdroidApp(serial=sim_phone.serial, offer_sim=False)
    notes = Notes()
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        await _started(app, pilot, sim_phone, "slow")
        app.polling = True
        await pilot.press("space")
        await until(pilot, "the step shown", lambda: app.session.waiting.get("slow", "")
                    .endswith("on the phone"))
        await pilot.press("ctrl+x")
        await until(pilot, "the cancel", lambda: notes.titled("enable slow: cancelled"))
        await until(pilot, "a fresh status", lambda: "slow" not in app.session.pending)
        assert not app.session.is_up("slow")


def _store(sim_phone: Any, name: str, text: str) -> None:
    pushed = sim_phone.run_in_phone(
        f"umask 077; cat > /data/misc/wireguard/{name}.conf", input=text.encode())
    assert pushed.status == 0
