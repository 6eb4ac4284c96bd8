"""The TUI's thin bridge to `wgdroid.device` and `wgdroid.sim` (no Textual).

Every method blocks on device I/O, so the app calls them from thread workers
only. Nothing here decides device behaviour: it picks the device by serial and
forwards to the device layer, whose errors (WgdroidError subclasses) pass
through unchanged for the app's one error handler.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from wgdroid.errors import WgdroidError
from wgdroid.exit_codes import ExitCode

if TYPE_CHECKING:
    from wgdroid.device.connection import Device, DeviceInfo, ServerAddress
    from wgdroid.device.doctor import Capabilities
    from wgdroid.device.status import DeviceStatus
    from wgdroid.device.store import StoredTunnel


class NotAvailableYet(WgdroidError):
    """An operation whose device-layer call does not exist (yet) in this build."""

    exit_code = ExitCode.INTERNAL


@dataclass(frozen=True)
class Snapshot:
    """One poll of the chosen phone: stored tunnels and the status of the up ones."""

    serial: str
    tunnels: list[StoredTunnel]
    status: DeviceStatus
    elapsed: float  # monotonic seconds at the poll's end (for rates between polls)


class DeviceAPI(Protocol):
    """What the TUI needs from a phone; `AdbAdapter` is the real one."""

    def list_devices(self) -> list[DeviceInfo]: ...
    def doctor(self, serial: str) -> Capabilities: ...
    def snapshot(self, serial: str) -> Snapshot: ...
    def enable(self, serial: str, name: str) -> str | None: ...
    def disable(self, serial: str, name: str) -> None: ...
    def pull(self, serial: str, name: str) -> bytes: ...
    def push(self, serial: str, name: str, data: bytes, *, restart: bool = False) -> None: ...
    def remove(self, serial: str, name: str) -> None: ...
    def rename(self, serial: str, old: str, new: str) -> None: ...
    def start_sim(self) -> str: ...


def _need(module: str, attr: str, what: str) -> Callable[..., Any]:
    """A device-layer function, or NotAvailableYet naming what is missing."""
    try:
        found = getattr(importlib.import_module(module), attr)
    except (ModuleNotFoundError, AttributeError):
        raise NotAvailableYet(f"{what} is not available yet ({module}.{attr})") from None
    return found  # type: ignore[no-any-return]


class AdbAdapter:
    """Talks to phones through the adb server named by the environment
    (ANDROID_ADB_SERVER_PORT / ADB_SERVER_SOCKET), like the CLI."""

    def __init__(self, host: str | None = None, port: int | None = None) -> None:
        # Resolved on first use, in a worker: importing the device layer
        # (adbutils) costs ~95 ms, and a bad ADB_SERVER_SOCKET then shows as
        # a notification instead of failing before the first paint.
        self._host, self._port = host, port
        self._address: ServerAddress | None = None
        self.started_sims: list[str] = []  # simulated phones this session booted

    @property
    def address(self) -> ServerAddress:
        if self._address is None:
            from wgdroid.device.connection import server_address

            self._address = server_address(self._host, self._port)
        return self._address

    def _device(self, serial: str) -> Device:
        from wgdroid.device.connection import Device

        return Device(self.address, serial)

    def list_devices(self) -> list[DeviceInfo]:
        from wgdroid.device.connection import list_devices

        return list_devices(self.address)

    def doctor(self, serial: str) -> Capabilities:
        gather = _need("wgdroid.device.doctor", "gather", "doctor")
        return gather(self._device(serial))  # type: ignore[no-any-return]

    def snapshot(self, serial: str) -> Snapshot:
        import time

        list_tunnels = _need("wgdroid.device.store", "list_tunnels", "listing tunnels")
        poll_status = _need("wgdroid.device.poll", "poll_status", "tunnel status")
        device = self._device(serial)
        tunnels = list_tunnels(device)
        status = poll_status(device)
        return Snapshot(serial, tunnels, status, time.monotonic())

    def enable(self, serial: str, name: str) -> str | None:
        enable = _need("wgdroid.device.control", "enable", "enabling a tunnel")
        return enable(self._device(serial), name).backend  # type: ignore[no-any-return]

    def disable(self, serial: str, name: str) -> None:
        disable = _need("wgdroid.device.control", "disable", "disabling a tunnel")
        disable(self._device(serial), name)

    def pull(self, serial: str, name: str) -> bytes:
        pull = _need("wgdroid.device.store", "pull", "reading a tunnel")
        return pull(self._device(serial), name)  # type: ignore[no-any-return]

    def push(self, serial: str, name: str, data: bytes, *, restart: bool = False) -> None:
        push = _need("wgdroid.device.store", "push", "saving a tunnel")
        backend = None
        if restart:
            from wgdroid.device.control import Backend

            backend = Backend.AUTO
        push(self._device(serial), data, name, enable=backend)

    def remove(self, serial: str, name: str) -> None:
        remove = _need("wgdroid.device.store", "remove", "deleting a tunnel")
        remove(self._device(serial), name, force=True)

    def rename(self, serial: str, old: str, new: str) -> None:
        rename = _need("wgdroid.device.store", "rename", "renaming a tunnel")
        rename(self._device(serial), old, new, force=True)

    def start_sim(self) -> str:
        """Boot one simulated phone and `adb connect` it to our adb server."""
        from wgdroid.sim import hostadb
        from wgdroid.sim.client import SimClient
        from wgdroid.sim.simulator import preflight

        preflight()
        client = SimClient()
        phone = client.start(1, "pixel")[0]
        try:
            hostadb.connect(phone["serial"], self.address.port)
        except Exception:
            client.stop([phone["serial"]])
            raise
        self.started_sims.append(str(phone["serial"]))
        return str(phone["serial"])

