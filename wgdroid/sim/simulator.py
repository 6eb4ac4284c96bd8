"""The simulator in-process: the internet namespace, phones, their ADB listeners.

    async with Simulator(state_dir) as sim:
        phones = await sim.add_phones(2, resolve("pixel", root="kernelsu"))
        await phones[0].run(["ping", "-c1", sim.server_tunnel_ip])

The daemon (wgdroid.sim.daemon) wraps one of these behind a control socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import socket
from collections.abc import Collection
from pathlib import Path
from types import TracebackType
from typing import Any

from wgdroid.config import keys
from wgdroid.errors import EnvironmentProblem, NotFoundError, UsageError
from wgdroid.sim.network import MAX_PHONES, SERVER_TUNNEL_IP, Internet, Uplink, demo_config
from wgdroid.sim.phone.phone import Phone
from wgdroid.sim.profiles import Profile

FIRST_PORT = 15555
EMULATOR_PORTS = range(5554, 5586)  # the adb server probes these as emulators
REQUIRED_TOOLS = ("ip", "wg", "wireguard-go", "mksh")


def preflight() -> None:
    """Raise EnvironmentProblem unless this machine can run phones."""
    if os.geteuid() != 0:
        raise EnvironmentProblem(
            "the simulator needs root (network and mount namespaces)",
            hint="run it as root, e.g. with sudo",
        )
    if not os.path.exists("/dev/net/tun"):
        raise EnvironmentProblem("the simulator needs /dev/net/tun")
    for tool in REQUIRED_TOOLS:
        if shutil.which(tool) is None:
            raise EnvironmentProblem(f"the simulator needs {tool}", hint="run scripts/setup")


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


class Simulator:
    def __init__(self, state_dir: Path, *, adb: bool = True) -> None:
        self.state_dir = Path(state_dir)
        self.with_adb = adb
        self.internet = Internet(self.state_dir / "internet")
        self.phones: dict[int, Phone] = {}  # by index
        self._servers: dict[int, Any] = {}  # index -> ADB server
        self._peers: dict[int, str] = {}  # index -> public key on the server
        self._next_index = 1
        self._used_ports: set[int] = set()
        self._started = False
        self._lock = asyncio.Lock()
        self.adb_host = "127.0.0.1"  # where adbd listens (the VM guest: its NIC's address)

    server_tunnel_ip = str(SERVER_TUNNEL_IP)

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        if self._started:
            return
        preflight()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.state_dir, 0o700)
        # Left by a simulator that was killed: its namespaces died with it.
        for stale in ("phones", "internet"):
            shutil.rmtree(self.state_dir / stale, ignore_errors=True)
        try:
            await self.internet.start()
        except BaseException:
            await self.internet.stop()
            raise
        self._started = True

    def pick_port(self, wanted: int | None, avoid: Collection[int] = ()) -> int:
        """`wanted`, or the first free port from FIRST_PORT that is not in `avoid`
        (ports a caller's adb server still names: a new phone there would be
        taken for a stale transport)."""
        port = wanted or FIRST_PORT
        if wanted and (wanted in EMULATOR_PORTS or wanted in self._used_ports
                       or not port_free(wanted)):
            raise UsageError(f"port {wanted} is not usable (taken, or an emulator port 5554-5585)")
        while (port in self._used_ports or port in EMULATOR_PORTS or port in avoid
               or not port_free(port)):
            port += 1
            if port > 65535:
                raise EnvironmentProblem("no free TCP port for the phone's adbd")
        self._used_ports.add(port)
        return port

    def release_port(self, port: int) -> None:
        self._used_ports.discard(port)

    async def add_phones(
        self, count: int, profile: Profile, *, first_port: int | None = None,
        avoid_ports: Collection[int] = (),
    ) -> list[Phone]:
        """Boot `count` phones concurrently; each gets a demo tunnel and an adbd
        (on `first_port` and up, or on free ports not in `avoid_ports`)."""
        if count < 1:
            raise UsageError("--devices must be at least 1")
        if len(self.phones) + count > MAX_PHONES:
            raise UsageError(f"at most {MAX_PHONES} phones")
        await self.start()
        async with self._lock:
            made = []
            for n in range(count):
                index = self._next_index
                self._next_index += 1
                phone = Phone(profile, index, self.state_dir / "phones" / str(index))
                phone.port = self.pick_port(first_port + n if first_port else None,
                                            avoid_ports)
                phone.port_fixed = bool(first_port)
                phone.port_avoid = frozenset(avoid_ports)
                phone.serial = f"127.0.0.1:{phone.port}"
                made.append(phone)
        results = await asyncio.gather(*(self._boot(p) for p in made), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            await asyncio.gather(*(self.remove_phone(p) for p in made), return_exceptions=True)
            raise failures[0]
        return made

    async def _boot(self, phone: Phone) -> None:
        self.phones[phone.index] = phone
        uplink = Uplink(phone.index)
        await phone.boot()
        await self.internet.connect_phone(phone.pid, uplink)
        await phone.late_boot("eth0", f"{uplink.address}/30", uplink.gateway, [uplink.dns])
        await self._install_demo(phone, uplink)
        if self.with_adb:
            await self._serve_adb(phone)

    async def _install_demo(self, phone: Phone, uplink: Uplink) -> None:
        private = keys.genkey()
        public = keys.pubkey(private)
        await self.internet.add_peer(public, uplink.tunnel_ip)
        self._peers[phone.index] = public
        # Written from inside the phone, as root, key on stdin: a 0600 root file.
        result = await phone.run(
            ["sh", "-c", "umask 077 && cat > /data/misc/wireguard/demo.conf"],
            input=demo_config(private, uplink, self.internet.server_public).encode(),
        )
        if result.status != 0:
            raise EnvironmentProblem(f"phone {phone.index}: writing demo.conf failed")

    async def _serve_adb(self, phone: Phone) -> None:
        from wgdroid.sim.adb.server import serve_device

        # syncd runs inside the phone with the venv's interpreter (bind-mounted),
        # whether or not the profile puts a python3 on PATH.
        syncd = (phone.node.spec.phone_venv_python, "-m", "wgdroid.sim.adb.syncd")
        for _ in range(50):
            try:
                server = await serve_device(phone, self.adb_host, phone.port, syncd_argv=syncd)
                break
            except OSError as exc:
                # Someone else took the port since we picked it: take the next one,
                # unless the user asked for this port.
                if exc.errno != errno.EADDRINUSE or phone.port_fixed:
                    raise
                phone.port = self.pick_port(None, phone.port_avoid)  # the taken one stays reserved
                phone.serial = f"127.0.0.1:{phone.port}"
        else:
            raise EnvironmentProblem("no free TCP port for the phone's adbd")
        phone.reboot_handler = server.reboot
        self._servers[phone.index] = server

    def find(self, serial: str) -> Phone:
        for phone in self.phones.values():
            if serial in (phone.serial, str(phone.port), phone.name):
                return phone
        raise NotFoundError(f"no simulated phone {serial}")

    async def remove_phone(self, phone: Phone) -> None:
        server = self._servers.pop(phone.index, None)
        if server is not None:
            with contextlib.suppress(Exception):
                await server.close()
        public = self._peers.pop(phone.index, None)
        if public and self.internet.node.alive:
            with contextlib.suppress(Exception):
                await self.internet.remove_peer(public)
        await phone.stop()
        self.phones.pop(phone.index, None)
        self.release_port(phone.port)
        shutil.rmtree(phone.home, ignore_errors=True)

    async def start_iperf(self) -> str:
        return await self.internet.start_iperf()

    async def close(self) -> None:
        await asyncio.gather(*(self.remove_phone(p) for p in list(self.phones.values())),
                             return_exceptions=True)
        await self.internet.stop()
        shutil.rmtree(self.state_dir / "internet", ignore_errors=True)
        shutil.rmtree(self.state_dir / "phones", ignore_errors=True)
        self._started = False
