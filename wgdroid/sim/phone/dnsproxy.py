"""The phone's dnsproxyd stand-in: DNS by the caller's uid and network.

On Android, bionic's getaddrinfo asks netd's dnsproxyd (DnsProxyListener.cpp)
over /dev/socket/dnsproxyd; netd reads the caller's uid from the socket
(SO_PEERCRED), picks the network with NetworkController::getNetworkContext /
getNetworkForDnsLocked (the VPN that applies to the uid and has DNS servers,
else the uid's default network), and the resolver sends the query to that
network's servers on a socket marked for it (dns_mark), so netd's rules route
it there. There is no /etc/resolv.conf.

The simulated phone's programs are glibc (and Go, musl) builds, which with no
/etc/resolv.conf ask a server on 127.0.0.1:53 (and [::1]:53). This proxy
listens there and does dnsproxyd's part: the caller's uid comes from the
kernel's socket table (/proc/net/udp, tcp: the owner of the query's source
port), the network and the mark from Netd.dns_network_for, and the query goes
to that network's servers with SO_MARK set, in order, each tried with the
network's timeout, `retries` rounds (res_send). A network without servers
gets SERVFAIL at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from typing import TYPE_CHECKING

from wgdroid.sim import dnswire

if TYPE_CHECKING:
    from wgdroid.sim.phone.netd import Netd

SO_MARK = 36
PORT = 53
MAX_INFLIGHT = 64  # bounded: a lookup storm waits instead of growing without limit
MAX_TIMEOUT = 5.0


def owner_uid(proto: str, host: str, port: int) -> int | None:
    """The uid owning the local socket that sent from HOST:PORT, from the
    kernel's socket tables (a socket that did not connect() shows a wildcard
    address; an IPv6 socket may carry the IPv4 query), or None if it is gone."""
    suffix = f":{port:04X}"
    best = None
    for table in (proto, proto + "6"):
        try:
            with open(f"/proc/net/{table}") as f:
                next(f)
                for line in f:
                    parts = line.split()
                    # A socket sending from PORT, unconnected or connected to port 53.
                    if len(parts) > 7 and parts[1].endswith(suffix) and (
                            parts[2].startswith("00000000:") or parts[2].endswith(":0035")):
                        best = int(parts[7])
                        if parts[2].endswith(":0035"):
                            return best
        except (OSError, StopIteration, ValueError):
            continue
    return best


class DnsProxy:
    def __init__(self, netd: Netd) -> None:
        self.netd = netd
        self.slots = asyncio.Semaphore(MAX_INFLIGHT)
        self.transports: list[asyncio.BaseTransport] = []

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for host in ("127.0.0.1", "::1"):
            try:
                transport, _ = await loop.create_datagram_endpoint(
                    lambda h=host: _Udp(self, h), local_addr=(host, PORT))  # type: ignore[misc]
                self.transports.append(transport)
                server = await asyncio.start_server(self._tcp, host, PORT)
                self.transports.append(server)  # type: ignore[arg-type]
            except OSError:
                if host == "127.0.0.1":
                    raise
                # No IPv6 loopback in this namespace: IPv4 is enough.

    async def resolve(self, query: bytes, uid: int | None) -> bytes | None:
        """The answer for a query from uid (None: nobody owns the socket any more)."""
        try:
            q = dnswire.parse_query(query)
        except dnswire.DnsFormatError:
            return dnswire.formerr(query)
        if uid is None:
            return dnswire.error(q, dnswire.RCODE_SERVFAIL)
        net_id, mark = self.netd.dns_network_for(uid)
        config = self.netd.dns.get(net_id)
        if config is None or not config.servers:
            return dnswire.error(q, dnswire.RCODE_SERVFAIL)
        timeout = min(config.timeout_ms / 1000, MAX_TIMEOUT)
        async with self.slots:
            for _ in range(max(config.retries, 1)):
                for server in config.servers:
                    reply = await self._ask(server, query, mark, timeout)
                    if reply is not None:
                        return reply
        return dnswire.error(q, dnswire.RCODE_SERVFAIL)

    async def _ask(self, server: str, query: bytes, mark: int,
                   timeout: float) -> bytes | None:  # noqa: ASYNC109 (per try, DnsResolver's)
        family = socket.AF_INET6 if ":" in server else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_MARK, mark)
            sock.connect((server, PORT))
            sock.send(query)
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                reply = await asyncio.wait_for(loop.sock_recv(sock, 65535), left)
                if reply[:2] == query[:2]:
                    return reply
        except (OSError, TimeoutError):
            return None
        finally:
            sock.close()

    async def _tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        uid = owner_uid("tcp", peer[0], peer[1]) if peer else None

        async def answer(query: bytes) -> bytes | None:
            return await self.resolve(query, uid)

        await dnswire.serve_tcp(reader, writer, answer, close_unanswered=True)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, proxy: DnsProxy, host: str) -> None:
        self.proxy = proxy
        self.host = host
        self.transport: asyncio.DatagramTransport | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        # The owner now, while the caller's socket surely exists.
        uid = owner_uid("udp", addr[0], addr[1])
        task = asyncio.get_running_loop().create_task(self._answer(data, addr, uid))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _answer(self, data: bytes, addr: tuple[str, int], uid: int | None) -> None:
        reply = await self.proxy.resolve(data, uid)
        if reply is not None and self.transport is not None:
            with contextlib.suppress(OSError):
                self.transport.sendto(reply, addr)
