"""The TUI's thin bridge to `wgdroid.device` and `wgdroid.sim` (no Textual).

Every method blocks on device I/O, so the app calls them from thread workers
only. Nothing here decides device behaviour: it picks the device by serial and
forwards to the device layer, whose errors (WgdroidError subclasses) pass
through unchanged for the app's one error handler.

The device layer costs ~85 ms to import (`python -X importtime`, device.tools
alone ~40 ms), a fifth of the time to the first paint, so each method imports
what it calls, in the worker that calls it; the simulator's modules (~40-55 ms
more) wait for the rare `S`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from wgdroid.errors import WgdroidError

if TYPE_CHECKING:
    from wgdroid.device.connection import Device, DeviceInfo, ServerAddress
    from wgdroid.device.doctor import Capabilities
    from wgdroid.device.status import DeviceStatus
    from wgdroid.device.store import PushOutcome, StoredTunnel


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
    def pull_many(self, serial: str, names: list[str]) -> dict[str, bytes]: ...
    def push(self, serial: str, name: str, data: bytes, *, restart: bool = False,
             allow_hooks: bool = False) -> None: ...
    def push_many(self, serial: str, configs: list[tuple[str, bytes]], *,
                  allow_hooks: bool = False) -> list[PushOutcome]: ...
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
        from wgdroid.device import doctor

        return doctor.gather(self._device(serial))

    def snapshot(self, serial: str) -> Snapshot:
        from wgdroid.device import poll, store

        device = self._device(serial)
        tunnels = store.list_tunnels(device)
        status = poll.poll_status(device)
        return Snapshot(serial, tunnels, status, time.monotonic())

    def enable(self, serial: str, name: str) -> str | None:
        from wgdroid.device import control

        return control.enable(self._device(serial), name).backend

    def disable(self, serial: str, name: str) -> None:
        from wgdroid.device import control

        control.disable(self._device(serial), name)

    def pull(self, serial: str, name: str) -> bytes:
        from wgdroid.device import store

        return store.pull(self._device(serial), name)

    def pull_many(self, serial: str, names: list[str]) -> dict[str, bytes]:
        """Several configs in one root shell (one su)."""
        from wgdroid.device import store

        return store.pull_many(self._device(serial), names)

    def push(self, serial: str, name: str, data: bytes, *, restart: bool = False,
             allow_hooks: bool = False) -> None:
        """Store a config (dialect.HooksRefused for hooks not allowed: nothing sent)."""
        from wgdroid.device import control, store

        store.push(self._device(serial), data, name,
                   enable=control.Backend.AUTO if restart else None, allow_hooks=allow_hooks)

    def push_many(self, serial: str, configs: list[tuple[str, bytes]], *,
                  allow_hooks: bool = False) -> list[PushOutcome]:
        """Store new configs in one root shell (one su); one outcome each."""
        from wgdroid.device import store

        return store.push_many(self._device(serial), configs, allow_hooks=allow_hooks)

    def remove(self, serial: str, name: str) -> None:
        from wgdroid.device import store

        store.remove(self._device(serial), name, force=True)

    def rename(self, serial: str, old: str, new: str) -> None:
        from wgdroid.device import store

        store.rename(self._device(serial), old, new, force=True)

    def start_sim(self) -> str:
        """Boot one simulated phone and `adb connect` it to our adb server, on
        an adbd port no transport of that server already names (a stale
        `127.0.0.1:15555` left offline would otherwise take the new phone's serial)."""
        from wgdroid.sim import hostadb
        from wgdroid.sim.client import SimClient
        from wgdroid.sim.simulator import preflight

        preflight()
        taken = known_local_ports(d.serial for d in self.list_devices())
        client = SimClient()
        # The simulator picks the port (a port chosen here could be bound by
        # another simulator before ours binds it: "address already in use").
        phone = client.start(1, "pixel", avoid_ports=sorted(taken))[0]
        try:
            hostadb.connect(phone["serial"], self.address.port)
        except Exception:
            client.stop([phone["serial"]])
            raise
        self.started_sims.append(str(phone["serial"]))
        return str(phone["serial"])

    def running_sims(self) -> list[str]:
        """The simulated phones this session started that still run."""
        if not self.started_sims:
            return []
        from wgdroid.sim.client import SimClient

        client = SimClient()
        try:
            if not client.running():
                return []
            alive = {str(p["serial"]) for p in client.phones()}
        except WgdroidError:
            return list(self.started_sims)  # can't tell: say they may run
        return [s for s in self.started_sims if s in alive]


def known_local_ports(serials: Iterable[str]) -> set[int]:
    """The ports of `adb connect`ed local transports among `serials`."""
    ports = set()
    for serial in serials:
        host, _, port = serial.rpartition(":")
        if host in ("127.0.0.1", "localhost") and port.isdigit():
            ports.add(int(port))
    return ports
