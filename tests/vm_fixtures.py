"""The VM phone for tests (a pytest plugin loaded by conftest).

``vm_phone`` (session) -> sim_fixtures.SimPhone
    One phone (the lane's `emulator` profile) inside the qemu guest running
    Debian's kernel (`wgdroid sim start --kernel vm`), on the session's
    simulator daemon (``sim_state``) and adb server (``adb_server``), booted
    on first use and shared by every test that takes it: a guest boot costs
    ~25 s under TCG. ``.info`` has ``kernel == "vm"``, ``qemu_pid``,
    ``guest_kernel``, ``accel``. At the end of the session the phone is
    stopped, and that it took the guest with it (no qemu process, no
    ``STATE/vm``) is checked there.

Tests using it are marked ``sim`` and ``vm`` (``-m "not vm"`` leaves them out),
and ``xdist_group("vm")``: under scripts/test (xdist) they share one worker,
with its own adb server and simulator daemon, apart from the host phones' tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sim_fixtures import AdbServer, SimPhone
from support import wait_until

from wgdroid.sim.client import SimClient

# The lane's profile for [sim] and [vm] (tests/lane/conftest.py takes it from here):
# AOSP su like the CI emulator, and Android's networking (netd's rules, DNS per
# network, no bash), so [vm] brings tunnels up the Android way on the real module.
VM_PROFILE = "emulator"


@pytest.fixture(scope="session")
def vm_phone(adb_server: AdbServer, sim_state: SimClient) -> Iterator[SimPhone]:
    from wgdroid.sim import hostadb

    (info,) = sim_state.start(1, VM_PROFILE, kernel="vm")
    phone = SimPhone(info["serial"], info["port"], info, adb_server, sim_state)
    try:
        assert info["android_net"], info  # the phone as Android is, not the kinder one
        hostadb.connect(phone.serial, adb_server.port)
        yield phone
    finally:
        adb_server.adb("disconnect", phone.serial)
        live = {p["serial"] for p in sim_state.phones()}
        if phone.serial in live:
            sim_state.stop([phone.serial])
    # The last VM phone took the guest down with it, and the guest's files.
    qemu = Path(f"/proc/{info['qemu_pid']}")
    wait_until(qemu.exists, check=lambda alive: not alive, timeout=30,
               what="qemu to exit with the last VM phone")
    assert not (sim_state.state / "vm").exists(), list((sim_state.state / "vm").iterdir())
