"""Pure tests of --all fan-out: isolation of failures, bounds, exit codes."""

from __future__ import annotations

import threading
import time

from wgdroid.device.connection import Device, ServerAddress
from wgdroid.device.fanout import run_all
from wgdroid.errors import RootError


def _devices(n: int) -> list[Device]:
    return [Device(ServerAddress("127.0.0.1", 5037), f"dev{i}") for i in range(n)]


def test_failures_stay_per_device_and_order_is_kept() -> None:
    def op(d: Device) -> str:
        if d.serial == "dev3":
            raise RootError("denied")
        if d.serial == "dev5":
            raise ZeroDivisionError  # a bug on one device
        return d.serial.upper()

    outcomes = run_all(_devices(8), op)
    assert [o.serial for o in outcomes] == [f"dev{i}" for i in range(8)]
    assert [o.value for o in outcomes if o.ok] == ["DEV0", "DEV1", "DEV2", "DEV4", "DEV6", "DEV7"]
    assert isinstance(outcomes[3].error, RootError)
    assert outcomes[5].error is not None and "ZeroDivisionError" in outcomes[5].error.message


def test_pool_is_bounded_and_parallel() -> None:
    lock = threading.Lock()
    live = peak = 0

    def op(d: Device) -> None:
        nonlocal live, peak
        with lock:
            live += 1
            peak = max(peak, live)
        time.sleep(0.05)
        with lock:
            live -= 1

    start = time.monotonic()
    run_all(_devices(12), op, max_workers=4)
    assert peak == 4
    assert time.monotonic() - start < 12 * 0.05  # not serial

