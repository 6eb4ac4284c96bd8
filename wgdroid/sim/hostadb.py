"""The workstation's adb server, driven through the adb CLI (which starts the
server if needed and honours ANDROID_ADB_SERVER_PORT, or -P)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

from wgdroid.errors import DeviceError, EnvironmentProblem


def adb_path() -> str:
    path = os.environ.get("ADBUTILS_ADB_PATH") or shutil.which("adb")
    if not path:
        raise EnvironmentProblem(
            "adb not found", hint="install it (scripts/setup) or set ADBUTILS_ADB_PATH")
    return path


def _adb(args: list[str], server_port: int | None, timeout: float) -> str:
    argv = [adb_path()]
    if server_port:
        argv += ["-P", str(server_port)]
    try:
        done = subprocess.run(argv + args, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise DeviceError(f"adb {' '.join(args)} timed out") from None
    return (done.stdout + done.stderr).strip()


def states(server_port: int | None = None) -> dict[str, str]:
    out = _adb(["devices"], server_port, 30)
    found = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 2:
            found[parts[0]] = parts[1]
    return found


def connect(serial: str, server_port: int | None = None, timeout: float = 30.0) -> None:
    """`adb connect`, then wait until the device is `device`."""
    out = _adb(["connect", serial], server_port, timeout)
    if "connected to" not in out:
        raise DeviceError(f"adb connect {serial}: {out.splitlines()[-1] if out else 'no answer'}")
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        state = states(server_port).get(serial, "")
        if state == "device":
            return
        time.sleep(0.1)
    raise DeviceError(f"{serial} stayed {state or 'absent'} after adb connect")


def disconnect(serial: str, server_port: int | None = None) -> None:
    _adb(["disconnect", serial], server_port, 15)
