"""The simulated internet's DNS server (run inside its namespace).

Two views of one small zone, chosen by the address a query arrives on:

- the uplink view, on every address but the tunnel's (the phones' routers
  hand it out as their DNS server): `vpn.sim.test` is the WireGuard server's
  public address, `many.sim.test` has that and another address,
  `nodata.sim.test` exists with no address, anything else is NXDOMAIN and
  `timeout.sim.test` is never answered (a dead server, for deadlines);
- the tunnel view, on the server's tunnel address (reachable only through a
  WireGuard tunnel): the uplink view plus `inside.sim.test`.

    python -m wgdroid.sim.dnsserver SPEC_JSON   # prints "ready" once listening
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from dataclasses import dataclass

from wgdroid.sim import dnswire

PORT = 53
SILENT = "timeout.sim.test"


@dataclass(frozen=True)
class Zone:
    names: dict[str, list[str]]

    def respond(self, query: bytes, *, limit: int = dnswire.MAX_UDP) -> bytes | None:
        try:
            q = dnswire.parse_query(query)
        except dnswire.DnsFormatError:
            return dnswire.formerr(query)
        if q.name == SILENT:
            return None
        if q.qclass != dnswire.CLASS_IN:
            return dnswire.error(q, dnswire.RCODE_REFUSED)
        if q.name not in self.names:
            return dnswire.error(q, dnswire.RCODE_NXDOMAIN)
        return dnswire.answer(q, self.names[q.name], limit=limit)


def views(public_ip: str, other_ip: str, tunnel_ip: str) -> tuple[Zone, Zone]:
    """(uplink view, tunnel view)."""
    uplink = {"vpn.sim.test": [public_ip], "many.sim.test": [public_ip, other_ip],
              "nodata.sim.test": []}
    return Zone(uplink), Zone({**uplink, "inside.sim.test": [tunnel_ip]})


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = self.zone.respond(data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


def _tcp_handler(uplink: Zone, tunnel: Zone, tunnel_ip: str):  # type: ignore[no-untyped-def]
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # One listener on every address: the view is the address the client reached.
        local = writer.get_extra_info("sockname")
        zone = tunnel if local and local[0] == tunnel_ip else uplink

        async def answer(query: bytes) -> bytes | None:
            return zone.respond(query, limit=65535)

        await dnswire.serve_tcp(reader, writer, answer, close_unanswered=False)

    return handle


def _udp_socket(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # A wildcard and a specific address share the port (the specific one wins).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, PORT))
    return sock


async def serve(public_ip: str, other_ip: str, tunnel_ip: str) -> None:
    uplink, tunnel = views(public_ip, other_ip, tunnel_ip)
    loop = asyncio.get_running_loop()
    for host, zone in (("0.0.0.0", uplink), (tunnel_ip, tunnel)):
        await loop.create_datagram_endpoint(lambda z=zone: _Udp(z),  # type: ignore[misc]
                                            sock=_udp_socket(host))
    await asyncio.start_server(_tcp_handler(uplink, tunnel, tunnel_ip), "0.0.0.0", PORT,
                               reuse_address=True)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await asyncio.Event().wait()


def main() -> None:
    spec = json.loads(sys.argv[1])
    asyncio.run(serve(spec["public_ip"], spec["other_ip"], spec["tunnel_ip"]))


if __name__ == "__main__":
    main()
