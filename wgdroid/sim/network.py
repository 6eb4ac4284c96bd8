"""The simulator's network: one "internet" namespace with a real WireGuard
server (wireguard-go), and a veth uplink per phone.

Addressing:
  uplink of phone k: 172.16.0.0/12 cut in /30s; internet side .1 (the phone's
    router and DNS server), phone .2
  the WireGuard server's public address: 192.0.2.1 (`vpn.sim.test`), port 51820
  tunnel: server 10.99.0.1/16 (also a DNS server, for `inside.sim.test`),
    phone k 10.99.0.0 + 1 + k
The DNS zone is wgdroid.sim.dnsserver's.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from wgdroid.config import keys
from wgdroid.errors import EnvironmentProblem
from wgdroid.sim.phone.node import Node, NodeProcess, RunResult
from wgdroid.sim.phone.spec import NodeSpec
from wgdroid.sim.profiles import WG_GO_ENV

UPLINKS = ipaddress.ip_network("172.16.0.0/12")
TUNNEL = ipaddress.ip_network("10.99.0.0/16")
SERVER_TUNNEL_IP = TUNNEL.network_address + 1
SERVER_PUBLIC_IP = "192.0.2.1"  # TEST-NET-1: what vpn.sim.test resolves to
OTHER_PUBLIC_IP = "192.0.2.2"  # many.sim.test's second address: nothing answers there
SERVER_NAME = "vpn.sim.test"
INSIDE_NAME = "inside.sim.test"
SERVER_IFACE = "wgsrv"
SERVER_PORT = 51820
MAX_PHONES = min(UPLINKS.num_addresses // 4, TUNNEL.num_addresses - 3) - 1
HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Uplink:
    index: int

    @property
    def _base(self) -> ipaddress.IPv4Address:
        if not 1 <= self.index <= MAX_PHONES:
            raise ValueError(f"phone index {self.index} out of range")
        return ipaddress.IPv4Address(int(UPLINKS.network_address) + 4 * self.index)

    @property
    def gateway(self) -> str:
        return str(self._base + 1)

    @property
    def address(self) -> str:
        return str(self._base + 2)

    @property
    def tunnel_ip(self) -> str:
        return str(SERVER_TUNNEL_IP + self.index)

    @property
    def inet_iface(self) -> str:
        return f"p{self.index}"

    @property
    def endpoint(self) -> str:
        return f"{self.gateway}:{SERVER_PORT}"

    @property
    def dns(self) -> str:
        """The DNS server the phone's network hands out (its router)."""
        return self.gateway


def demo_config(private_key: str, uplink: Uplink, server_public: str) -> str:
    return (
        "[Interface]\n"
        f"PrivateKey = {private_key}\n"
        f"Address = {uplink.tunnel_ip}/32\n"
        "\n[Peer]\n"
        f"PublicKey = {server_public}\n"
        f"Endpoint = {uplink.endpoint}\n"
        f"AllowedIPs = {SERVER_TUNNEL_IP}/32\n"
    )


def kernel_wireguard() -> bool:
    """This kernel has WireGuard loaded (the VM guest's Debian kernel; this host's has none)."""
    return os.path.isdir("/sys/module/wireguard")


async def _check(result: RunResult, what: str) -> None:
    if result.status != 0:
        detail = result.stderr.decode(errors="replace").strip().splitlines()
        raise EnvironmentProblem(f"{what} failed: {detail[-1] if detail else result.status}")


class Internet:
    """The shared upstream namespace and its WireGuard server."""

    def __init__(self, home: Path) -> None:
        self.home = home
        env = {"PATH": HOST_PATH, **WG_GO_ENV}
        self.node = Node(NodeSpec(kind="internet", name="internet", env=env), str(home / "log"))
        self.server_public = ""
        self._iperf: NodeProcess | None = None
        self._dns: NodeProcess | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        await self.node.start()
        private = keys.genkey()
        self.server_public = keys.pubkey(private)
        await _check(await self.node.run(["ip", "link", "set", "lo", "up"]), "lo up")
        if kernel_wireguard():  # the VM guest: the server is a kernel interface too
            await _check(await self.node.run(
                ["ip", "link", "add", SERVER_IFACE, "type", "wireguard"]), "kernel server")
        else:
            await _check(await self.node.run(["wireguard-go", SERVER_IFACE]),
                         "wireguard-go server")
        # The key goes on stdin: never on a command line.
        await _check(
            await self.node.run(
                ["wg", "set", SERVER_IFACE, "listen-port", str(SERVER_PORT),
                 "private-key", "/dev/stdin"], input=private.encode() + b"\n"),
            "wg set (server)",
        )
        await _check(await self.node.run(
            ["ip", "address", "add", f"{SERVER_TUNNEL_IP}/{TUNNEL.prefixlen}",
             "dev", SERVER_IFACE]), "server address")
        await _check(await self.node.run(["ip", "link", "set", SERVER_IFACE, "up"]), "server up")
        # The tunnel addresses answer only through the tunnel: a phone's plain
        # uplink packet to 10.99.0.1 is refused (the local table moves behind
        # rules that let only wgsrv and the server itself reach them).
        await _check(await self.node.run(["sh", "-c", (
            "ip rule add pref 100 lookup local && ip rule del pref 0 && "
            f"ip rule add pref 10 to {TUNNEL} iif lo lookup local && "
            f"ip rule add pref 11 to {TUNNEL} iif lo lookup main && "
            f"ip rule add pref 12 to {TUNNEL} iif {SERVER_IFACE} lookup local && "
            f"ip rule add pref 13 to {TUNNEL} prohibit")]), "tunnel-only rules")
        await _check(await self.node.run(
            ["ip", "address", "add", f"{SERVER_PUBLIC_IP}/32", "dev", "lo"]), "public address")
        await self._start_dns()

    async def _start_dns(self) -> None:
        """The DNS server (wgdroid.sim.dnsserver); returns once it listens."""
        spec = json.dumps({"public_ip": SERVER_PUBLIC_IP, "other_ip": OTHER_PUBLIC_IP,
                           "tunnel_ip": str(SERVER_TUNNEL_IP)})
        self._dns = await self.node.start_daemon(
            [sys.executable, "-m", "wgdroid.sim.dnsserver", spec], env=self.node.spec.env)

    async def connect_phone(self, phone_pid: int, uplink: Uplink) -> None:
        """Create the veth pair straight into both namespaces and address the internet end."""
        proc = await asyncio.create_subprocess_exec(
            "ip", "link", "add", uplink.inet_iface, "netns", str(self.node.pid), "type", "veth",
            "peer", "name", "eth0", "netns", str(phone_pid),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        _, err = await proc.communicate()
        if proc.returncode != 0:
            raise EnvironmentProblem(
                f"veth for phone {uplink.index} failed: {err.decode().strip()}")
        await _check(await self.node.run(
            ["sh", "-c", f"ip address add {uplink.gateway}/30 dev {uplink.inet_iface} && "
             f"ip link set {uplink.inet_iface} up"]), "uplink (internet side)")

    async def add_peer(self, public_key: str, tunnel_ip: str) -> None:
        await _check(await self.node.run(
            ["wg", "set", SERVER_IFACE, "peer", public_key, "allowed-ips", f"{tunnel_ip}/32"]),
            "wg set peer")

    async def remove_peer(self, public_key: str) -> None:
        await self.node.run(["wg", "set", SERVER_IFACE, "peer", public_key, "remove"])

    async def start_iperf(self) -> str:
        """An `iperf3 -s` on the server's tunnel address (once); returns the address."""
        async with self._lock:
            if self._iperf is None or self._iperf.returncode is not None:
                null = os.open(os.devnull, os.O_RDWR)
                try:
                    self._iperf = await self.node.spawn(
                        ["iperf3", "-s", "-B", str(SERVER_TUNNEL_IP)], uid=0,
                        env=self.node.spec.env, stdin=null, stdout=null, stderr=null)
                finally:
                    os.close(null)
                await asyncio.sleep(0.2)
        return str(SERVER_TUNNEL_IP)

    async def run(self, argv: list[str], *, input: bytes = b"") -> RunResult:
        return await self.node.run(argv, input=input)

    async def stop(self) -> None:
        await self.node.stop()
