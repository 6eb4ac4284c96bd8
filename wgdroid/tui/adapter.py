"""The TUI's thin bridge to `wgdroid.device` and `wgdroid.sim` (no Textual).

Every method blocks on device I/O, so the app calls them from thread workers
only. Nothing here decides device behaviour: it picks the device by serial and
forwards to the device layer, whose errors (WgdroidError subclasses) pass
through unchanged for the app's one error handler.

The device modules cost ~28 ms to import (measured with textual already
loaded), so they are imported here at the top; only the simulator's modules
(~37-54 ms more, for the rare `S`) wait for their first use.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from wgdroid.device import control, doctor, poll, store
from wgdroid.device.connection import (
    Device,
    DeviceInfo,
    ServerAddress,
    list_devices,
    server_address,
)

if TYPE_CHECKING:
    from wgdroid.device.doctor import Capabilities
    from wgdroid.device.status import DeviceStatus
    from wgdroid.device.store import StoredTunnel


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


class AdbAdapter:
    """Talks to phones through the adb server named by the environment
    (ANDROID_ADB_SERVER_PORT / ADB_SERVER_SOCKET), like the CLI."""

    def __init__(self, host: str | None = None, port: int | None = None) -> None:
        # Resolved on first use, in a worker: a bad ADB_SERVER_SOCKET then
        # shows as a notification instead of failing before the first paint.
        self._host, self._port = host, port
        self._address: ServerAddress | None = None
        self.started_sims: list[str] = []  # simulated phones this session booted

    @property
    def address(self) -> ServerAddress:
        if self._address is None:
            self._address = server_address(self._host, self._port)
        return self._address

    def _device(self, serial: str) -> Device:
        return Device(self.address, serial)

    def list_devices(self) -> list[DeviceInfo]:
        return list_devices(self.address)

    def doctor(self, serial: str) -> Capabilities:
        return doctor.gather(self._device(serial))

    def snapshot(self, serial: str) -> Snapshot:
        device = self._device(serial)
        tunnels = store.list_tunnels(device)
        status = poll.poll_status(device)
        return Snapshot(serial, tunnels, status, time.monotonic())

    def enable(self, serial: str, name: str) -> str | None:
        return control.enable(self._device(serial), name).backend

    def disable(self, serial: str, name: str) -> None:
        control.disable(self._device(serial), name)

    def pull(self, serial: str, name: str) -> bytes:
        return store.pull(self._device(serial), name)

    def push(self, serial: str, name: str, data: bytes, *, restart: bool = False) -> None:
        store.push(self._device(serial), data, name,
                   enable=control.Backend.AUTO if restart else None)

    def remove(self, serial: str, name: str) -> None:
        store.remove(self._device(serial), name, force=True)

    def rename(self, serial: str, old: str, new: str) -> None:
        store.rename(self._device(serial), old, new, force=True)

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
