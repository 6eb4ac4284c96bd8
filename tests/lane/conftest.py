"""The device test lane: one set of end-to-end CLI tests, two targets.

Every test that takes `lane_phone` runs twice:

- ``[sim]`` (marker ``sim``): against a fresh simulated phone (the `emulator`
  profile: AOSP su, like the CI emulator), so CI exercises the lane every run;
- ``[device]`` (marker ``device``): against the phone or emulator named by
  ``WGDROID_TEST_SERIAL``, through whatever adb server the environment names
  (ANDROID_ADB_SERVER_PORT...). Run it with ``pytest -m device tests/lane``.

Tests marked ``kernel_backend`` (they bring tunnels up on the kernel module)
also run a third time:

- ``[vm]`` (markers ``sim``, ``vm``): against the session's one phone inside a
  qemu guest with Debian's kernel (``vm_phone``, tests/vm_fixtures.py), where
  WireGuard is the real kernel module and the demo server a kernel interface.

Both go through the same doors a user does: the `wgdroid` CLI as a subprocess
with ``-s SERIAL``, and ``adb -s SERIAL shell`` for checks on the phone (as
root with the su form `wgdroid doctor` reports). The real target is never
given the simulator's fixtures, which would point adb at a private server.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from lane_support import SERIAL_ENV, TOOLS_ENV, LanePhone
from vm_fixtures import VM_PROFILE

SIM_PROFILE = VM_PROFILE  # the `emulator` profile: one phone model for [sim] and [vm]
# su in the VM phone takes seconds under software emulation on a loaded machine.
VM_ENV = {"WGDROID_ROOT_TIMEOUT": "60"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "lane_target" in metafunc.fixturenames:
        targets = [
            pytest.param("sim", marks=pytest.mark.sim, id="sim"),
            pytest.param("device", marks=pytest.mark.device, id="device"),
        ]
        if metafunc.definition.get_closest_marker("kernel_backend"):
            # Its own xdist group: the guest's emulated CPU then overlaps with the host
            # phones' tests on another worker instead of queueing behind them.
            targets.append(pytest.param("vm", marks=[
                pytest.mark.sim, pytest.mark.vm, pytest.mark.xdist_group("vm")], id="vm"))
        metafunc.parametrize("lane_target", targets, indirect=True)


@pytest.fixture
def lane_target(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _doctor(phone: LanePhone) -> dict[str, Any]:
    res = phone.wgdroid("doctor", "--json")
    assert res.stdout, f"doctor printed nothing: {res.stderr}"
    return dict(json.loads(res.stdout)["devices"][0])


def _device_tools(phone: LanePhone) -> tuple[str | None, bool]:
    """Install wg/wg-quick with `wgdroid tools install` when doctor says the device
    cannot run a tunnel. Returns (why tunnels cannot come up or None, installed)."""
    caps = _doctor(phone)
    if caps.get("ready"):
        return None, False
    helptext = subprocess.run([sys.executable, "-m", "wgdroid", "--help"], capture_output=True,
                              text=True, timeout=60).stdout
    if not re.search(r"^\s+tools\s", helptext, re.M):
        return ("the device lacks WireGuard tools (doctor: not ready) and this wgdroid has "
                "no `tools install` yet"), False
    extra = ("--from", os.environ[TOOLS_ENV]) if os.environ.get(TOOLS_ENV) else ()
    installed = phone.wgdroid("tools install", *extra, timeout=300)
    assert installed.returncode == 0, (
        f"wgdroid tools install failed (set {TOOLS_ENV} to a scripts/build-device-tools "
        f"output?): {installed.stderr}")
    caps = _doctor(phone)
    return (None if caps.get("ready") else f"doctor still not ready: {caps.get('advice')}"), True


@pytest.fixture(scope="session")
def lane_device() -> Iterator[LanePhone]:
    """The real target, set up once a session: root method, and tools if missing
    (removed again at the end when the lane installed them)."""
    serial = os.environ.get(SERIAL_ENV)
    if not serial:
        pytest.skip(f"set {SERIAL_ENV} to a phone or emulator")
    phone = LanePhone(serial, simulated=False)
    caps = _doctor(phone)
    if not caps.get("root_method"):
        pytest.fail(f"the lane needs a rooted device: {caps.get('root_error')}")
    phone.root_method = str(caps["root_method"])
    phone.kernel_module = bool(caps.get("kernel_module"))
    phone.missing_tools, installed = _device_tools(phone)
    yield phone
    if installed:
        removed = phone.wgdroid("tools remove")
        assert removed.returncode == 0, f"wgdroid tools remove failed: {removed.stderr}"


@pytest.fixture(scope="session")
def vm_doctor(vm_phone: Any) -> dict[str, Any]:
    """`wgdroid doctor` of the VM phone, once a session."""
    return _doctor(LanePhone(vm_phone.serial, simulated=True, env=VM_ENV))


@pytest.fixture
def lane_phone(request: pytest.FixtureRequest, lane_target: str) -> Iterator[LanePhone]:
    """The target of this run of the test; its tunnels are removed afterwards, and
    the test fails if anything of them is left on the phone."""
    if lane_target == "sim":
        sim = request.getfixturevalue("sim_phones")(1, profile=SIM_PROFILE)[0]
        phone = LanePhone(sim.serial, simulated=True, sim=sim)
        caps = _doctor(phone)
        phone.root_method = str(caps["root_method"])
        phone.kernel_module = bool(caps["kernel_module"])
    elif lane_target == "vm":
        sim = request.getfixturevalue("vm_phone")  # one for the session: tests share it
        caps = request.getfixturevalue("vm_doctor")
        phone = LanePhone(sim.serial, simulated=True, sim=sim,
                          root_method=str(caps["root_method"]),
                          kernel_module=bool(caps["kernel_module"]), env=VM_ENV)
        assert phone.kernel_module, f"the VM phone has no WireGuard module: {caps}"
    else:
        device = request.getfixturevalue("lane_device")
        phone = LanePhone(device.serial, simulated=False, root_method=device.root_method,
                          missing_tools=device.missing_tools, kernel_module=device.kernel_module)
    try:
        yield phone
    finally:
        if phone.created:
            left = phone.clean_up()
            assert not left, f"the lane left this on {phone.serial}:\n{left}"


@pytest.fixture
def tunnel_phone(lane_phone: LanePhone) -> LanePhone:
    """lane_phone, for tests that bring tunnels up: skipped without wg/wg-quick."""
    if lane_phone.missing_tools:
        pytest.skip(lane_phone.missing_tools)
    return lane_phone
