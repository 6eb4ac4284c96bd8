"""The simulator daemon's VM phones (`wgdroid sim start --kernel vm`).

The daemon hands every request about a VM phone to the simulator in the guest
(the same `Daemon`, see `wgdroid.sim.vm_guest`), translating serials: a phone
is `127.0.0.1:PORT` on the host, whatever its adbd port in the guest, and that
host port comes from the daemon's own picker so host and VM phones never
collide. The guest boots with the first VM phone and powers off with the last.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from wgdroid.errors import NotFoundError, UsageError
from wgdroid.sim.control import unwrap
from wgdroid.sim.vm.machine import BOOT_TIMEOUT, Machine

FORWARD_TRIES = 50
# Requests that name one phone and go to the guest as they are (serial translated).
PHONE_OPS = ("run", "su_policy", "su_answer", "reboot")


class PortPicker(Protocol):
    def pick_port(self, wanted: int | None) -> int: ...

    def release_port(self, port: int) -> None: ...


@dataclass
class VmPhone:
    serial: str  # on the host: 127.0.0.1:PORT
    port: int
    guest_serial: str
    guest_port: int


class VmPhones:
    def __init__(self, home: Path, ports: PortPicker) -> None:
        self.home = home  # STATE/vm
        self.ports = ports
        self.machine: Machine | None = None
        self.phones: dict[str, VmPhone] = {}  # by host serial
        self._lock = asyncio.Lock()
        self._cleanups: set[asyncio.Task[None]] = set()

    # -- lookups -------------------------------------------------------------------
    def _reap(self) -> None:
        """Forget the phones of a guest that went down on its own (its log stays)."""
        if self.machine is not None and not self.machine.alive and not self._lock.locked():
            for phone in self.phones.values():
                self.ports.release_port(phone.port)
            self.phones.clear()
            task = asyncio.get_running_loop().create_task(self.machine.shutdown())
            self._cleanups.add(task)
            task.add_done_callback(self._cleanups.discard)
            self.machine = None

    def owns(self, serial: str) -> bool:
        self._reap()
        return any(serial in (p.serial, str(p.port)) for p in self.phones.values())

    def _find(self, serial: str) -> VmPhone:
        for phone in self.phones.values():
            if serial in (phone.serial, str(phone.port)):
                return phone
        raise NotFoundError(f"no simulated phone {serial}")

    def _describe(self, phone: VmPhone, info: dict[str, Any]) -> dict[str, Any]:
        assert self.machine is not None
        return {**info, "serial": phone.serial, "port": phone.port, "pid": None,
                "kernel": "vm", "guest_serial": phone.guest_serial,
                "guest_pid": info.get("pid"), "guest_kernel": self.machine.info.get("kernel"),
                "accel": self.machine.accel,
                "guest_boot_seconds": round(self.machine.boot_seconds, 1),
                "qemu_pid": self.machine.proc.pid if self.machine.proc else None}

    async def _call(self, req: dict[str, Any], timeout: float = 300.0  # noqa: ASYNC109
                    ) -> dict[str, Any]:
        if self.machine is None:
            raise NotFoundError("no VM phone is running")
        return unwrap(await self.machine.request(req, timeout))

    # -- requests -------------------------------------------------------------------
    async def start(self, req: dict[str, Any]) -> list[dict[str, Any]]:
        """Boot the guest if needed, start the phones in it, forward their ports."""
        first_port = req.get("port")
        async with self._lock:
            if self.machine is None or not self.machine.alive:
                self.machine = Machine(self.home)
                try:
                    await self.machine.boot(float(req.get("boot_timeout") or BOOT_TIMEOUT))
                except BaseException:
                    await self.machine.shutdown()
                    self.machine = None
                    raise
            guest_req = {k: v for k, v in req.items()
                         if k not in ("port", "kernel", "boot_timeout")}
            try:
                infos = (await self._call(guest_req))["phones"]
            except BaseException:
                if not self.phones:
                    await self.close()
                raise
            made: list[tuple[VmPhone, dict[str, Any]]] = []
            try:
                for n, info in enumerate(infos):
                    wanted = int(first_port) + n if first_port else None
                    phone = await self._forward(info, wanted)
                    self.phones[phone.serial] = phone
                    made.append((phone, info))
            except BaseException:
                await self._remove([p for p, _ in made],
                                   guest_serials=[str(i["serial"]) for i in infos])
                raise
            return [self._describe(p, info) for p, info in made]

    async def _forward(self, info: dict[str, Any], wanted: int | None) -> VmPhone:
        assert self.machine is not None
        guest_port = int(info["port"])
        for _ in range(FORWARD_TRIES):
            port = self.ports.pick_port(wanted)
            try:
                await self.machine.forward(port, guest_port)
            except OSError:
                # Taken since we picked it: the next one (that one stays reserved).
                if wanted:
                    self.ports.release_port(port)
                    raise UsageError(f"port {wanted} is not usable (taken)") from None
                continue
            return VmPhone(f"127.0.0.1:{port}", port, str(info["serial"]), guest_port)
        raise UsageError("no free TCP port for the VM phone's adbd")

    async def listing(self) -> list[dict[str, Any]]:
        self._reap()
        if not self.phones:
            return []
        by_guest = {i["serial"]: i for i in (await self._call({"op": "list"}))["phones"]}
        return [self._describe(p, by_guest[p.guest_serial]) for p in self.phones.values()
                if p.guest_serial in by_guest]

    async def stop(self, serials: list[str]) -> list[str]:
        targets = [self._find(s) for s in serials]
        async with self._lock:
            await self._remove(targets, guest_serials=[p.guest_serial for p in targets])
        return [p.serial for p in targets]

    async def _remove(self, phones: list[VmPhone], *, guest_serials: list[str]) -> None:
        """Stop phones in the guest, drop their forwards; the last one takes the guest."""
        machine = self.machine
        if machine is not None and machine.alive:
            if guest_serials:
                with contextlib.suppress(Exception):
                    await self._call({"op": "stop", "serials": guest_serials})
            for phone in phones:
                with contextlib.suppress(Exception):
                    await machine.unforward(phone.port)
        for phone in phones:
            self.ports.release_port(phone.port)
            self.phones.pop(phone.serial, None)
        if not self.phones:
            await self.close()

    async def forward(self, req: dict[str, Any]) -> dict[str, Any]:
        """A request about one phone (PHONE_OPS), answered by the guest."""
        phone = self._find(str(req.get("serial")))
        timeout = float(req.get("timeout") or 60) + 60 if req.get("op") == "run" else 300.0
        reply = await self._call({**req, "serial": phone.guest_serial}, timeout)
        if reply.get("serial") == phone.guest_serial:  # su_policy answers with the phone
            reply = self._describe(phone, reply)
        return reply

    async def close(self) -> None:
        machine, self.machine = self.machine, None
        if machine is not None:
            await machine.shutdown()
        for phone in self.phones.values():
            self.ports.release_port(phone.port)
        self.phones.clear()
