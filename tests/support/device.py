"""The device-facing waits shared by tests/device, tests/lane and tests/tui."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from support.wait import wait_until

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


def wgdroid(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """`python -m wgdroid ARGS...` as a user runs it: text output, no stdin, no check."""
    return subprocess.run([sys.executable, "-m", "wgdroid", *args], capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ),
                          stdin=subprocess.DEVNULL)


def wait_for_handshake(serial: str, name: str, *, timeout: float = 20.0,
                       run: Runner = wgdroid) -> dict[str, Any]:
    """Poll `wgdroid status -s SERIAL NAME --json` until the tunnel's first peer has a
    handshake; returns that interface's JSON object. Every poll must succeed and show
    exactly that interface (a tunnel that went down fails at once, not at the timeout).
    `run` runs the CLI (a test that keeps every output passes its own runner)."""

    def interface() -> dict[str, Any]:
        res = run("status", "-s", serial, name, "--json", "--interval", "0.2")
        assert res.returncode == 0, f"wgdroid status {name}: {res.stderr}"
        ifaces = json.loads(res.stdout)["devices"][0]["interfaces"]
        assert [i["name"] for i in ifaces] == [name], ifaces
        return dict(ifaces[0])

    return wait_until(interface, what=f"a handshake on {name} ({serial})", timeout=timeout,
                      interval=0.2,
                      check=lambda iface: iface["peers"] and iface["peers"][0]["latest_handshake"])


def adb_state(devices: str, serial: str) -> str | None:
    """SERIAL's state in `adb devices` output ("device", "offline"...), None if absent."""
    for line in devices.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 2 and fields[0] == serial:
            return fields[1]
    return None


def wait_for_adb_state(devices: Callable[[], str], serial: str, want: str, *,
                       timeout: float = 30) -> None:
    """Until `adb devices` (the text `devices()` returns) lists SERIAL as WANT."""
    wait_until(lambda: adb_state(devices(), serial), check=lambda state: state == want,
               timeout=timeout, interval=0.2, what=f"{serial} in state {want!r}")

