"""device.progress on a simulated phone: a UI hears su waiting and granting
and the phone script's steps, and can stop waiting."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from support import wait_until

from wgdroid.device import progress

pytestmark = pytest.mark.sim


class Heard:
    def __init__(self) -> None:
        self.events: list[progress.Event] = []
        self.lock = threading.Lock()

    def __call__(self, event: progress.Event) -> None:
        with self.lock:
            self.events.append(event)

    def kinds(self) -> list[str]:
        with self.lock:
            return [e.kind for e in self.events]


def in_thread(fn: Any) -> dict[str, Any]:
    done: dict[str, Any] = {}

    def run() -> None:
        try:
            done["value"] = fn()
        except Exception as exc:
            done["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    done["thread"] = thread
    return done


@pytest.mark.parametrize("sim_phone", [{"su_policy": "pending"}], indirect=True)
def test_su_waiting_then_granted_then_steps(sim_phone: Any) -> None:
    from wgdroid.device.connection import connect
    from wgdroid.device.control import disable, enable

    device = connect(sim_phone.serial)
    heard = Heard()

    def up() -> Any:
        with progress.observe(heard):
            return enable(device, "demo", root_timeout=15)

    done = in_thread(up)
    wait_until(heard.kinds, check=lambda k: "su-waiting" in k, timeout=10,
               what="su-waiting while the prompt is open")
    assert sim_phone.answer_su(True) >= 1
    done["thread"].join(60)
    assert done.get("value") is not None, done.get("error")
    kinds = heard.kinds()
    assert kinds.index("su-waiting") < kinds.index("su-granted") < kinds.index("step")
    assert progress.Event("step", "wg setconf demo") in heard.events  # the Android bring-up
    sim_phone.set_su_policy("grant")
    disable(device, "demo")


@pytest.mark.parametrize("sim_phone", [{"su_policy": "pending"}], indirect=True)
def test_cancel_stops_waiting_at_once(sim_phone: Any) -> None:
    from wgdroid.device.connection import connect
    from wgdroid.device.store import list_tunnels

    device = connect(sim_phone.serial)
    heard, cancel = Heard(), threading.Event()

    def listing() -> Any:
        with progress.observe(heard, cancel):
            return list_tunnels(device, root_timeout=30)

    done = in_thread(listing)
    wait_until(heard.kinds, check=lambda k: "su-waiting" in k, timeout=10, what="su-waiting")
    start = time.monotonic()
    cancel.set()
    done["thread"].join(10)
    assert isinstance(done.get("error"), progress.Cancelled), done
    assert time.monotonic() - start < 2
    assert "may or may not" in done["error"].message
