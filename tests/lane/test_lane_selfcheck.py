"""The lane as a real-device run sees it: `pytest -m device tests/lane` collects
the `[device]` half, and passes against a simulated phone named by
WGDROID_TEST_SERIAL (the same path a phone or the CI emulator takes)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lane_support import SERIAL_ENV, STORE, TOOLS_ENV

ROOT = Path(__file__).resolve().parents[2]


def run_lane(*args: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "device", "tests/lane", "-p", "no:cacheprovider",
         *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_device_lane_collects() -> None:
    env = {k: v for k, v in os.environ.items() if k != SERIAL_ENV}
    res = run_lane("--collect-only", "-q", env=env, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    ids = [line for line in res.stdout.splitlines() if "::" in line]
    summary = re.search(r"^(\d+)/(\d+) tests collected \((\d+) deselected\)", res.stdout, re.M)
    assert summary, res.stdout
    assert int(summary.group(1)) == len(ids) >= 6
    assert all(i.endswith("[device]") for i in ids), ids
    # Every lane test has its device half: the sim half is what was deselected.
    assert int(summary.group(3)) >= len(ids)
    names = {i.split("::")[1].split("[")[0] for i in ids}
    assert {"test_doctor_reports_a_rooted_phone", "test_push_is_private_and_atomic",
            "test_enable_status_disable_with_a_peer"} <= names


@pytest.mark.sim
def test_lane_passes_against_a_simulated_phone_as_a_device(
    sim_phones: Callable[..., list[Any]],
) -> None:
    (phone,) = sim_phones(1, profile="emulator")
    # The private adb server of sim_fixtures is in os.environ: the child uses it.
    env = {k: v for k, v in os.environ.items() if k != TOOLS_ENV}
    env[SERIAL_ENV] = phone.serial
    res = run_lane("-q", "-rs", "-p", "no:randomly", env=env, timeout=240)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    summary = out.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 5, summary
    assert not re.search(r"\d+ (failed|error)", summary), summary
    # The one test that needs the simulator's own server says so as a device.
    assert "needs the simulator's internet server" in out
    # Nothing of the lane is left on the phone.
    left = phone.run_in_phone(f"ls -a {STORE} /sys/class/net | grep wgl || true")
    assert left.status == 0 and left.stdout == b"", left.stdout
