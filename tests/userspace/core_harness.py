"""An in-memory network of core Devices for tests: no sockets, a fake clock, a
seeded RNG. `Node` wraps a Device with its address; `Net` delivers actions."""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import ip_network

from wgdroid.config.keys import clamp, public_raw
from wgdroid.userspace.core import (
    Action,
    Device,
    Endpoint,
    HandshakeMessage,
    Peer,
    RecvJob,
    SendDatagram,
    SendJobs,
    open_,
    seal,
)


def seeded_rng(seed: int) -> Callable[[int], bytes]:
    r = random.Random(seed)
    return lambda n: r.randbytes(n)


def fixed_key(byte: int) -> bytes:
    return clamp(bytes([byte]) * 32)


class Clock:
    def __init__(self, start: float = 1000.0, wall_ns: int = 1_700_000_000 * 10**9) -> None:
        self.now = start
        self._wall0 = wall_ns
        self._start = start

    def wall_ns(self) -> int:
        return self._wall0 + int((self.now - self._start) * 1e9)

    def advance(self, seconds: float) -> None:
        self.now += seconds


def ipv4_packet(src: str, dst: str, payload: bytes = b"x" * 36) -> bytes:
    total = 20 + len(payload)
    hdr = struct.pack(
        "!BBHHHBBH4s4s",
        0x45, 0, total, 0, 0, 64, 17, 0,
        bytes(int(x) for x in src.split(".")),
        bytes(int(x) for x in dst.split(".")),
    )  # fmt: skip
    return hdr + payload


@dataclass
class Node:
    name: str
    device: Device
    addr: Endpoint
    delivered: list[bytes] = field(default_factory=list)
    sent_datagrams: list[bytes] = field(default_factory=list)


class Net:
    """Carries datagrams between nodes synchronously, as the pipeline would:
    classify -> open_ -> on_received, seal -> on_sent, handshakes in order."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.nodes: dict[Endpoint, Node] = {}
        self.under_load: dict[str, bool] = {}
        self.in_flight: list[tuple[Endpoint, Endpoint, bytes]] = []  # (src, dst, data)
        self.drop_all = False
        self.rewrite_src: dict[Endpoint, Endpoint] = {}

    def add(self, name: str, priv_byte: int, addr: Endpoint, seed: int) -> Node:
        dev = Device(fixed_key(priv_byte), rng=seeded_rng(seed), wall_clock_ns=self.clock.wall_ns)
        node = Node(name, dev, addr)
        self.nodes[addr] = node
        self.under_load[name] = False
        return node

    @staticmethod
    def link(a: Node, b: Node, b_allowed: str, a_allowed: str, psk: bytes | None = None) -> None:
        pa = a.device.add_or_update_peer(public_raw(fixed_key_of(b)))
        pb = b.device.add_or_update_peer(public_raw(fixed_key_of(a)))
        assert pa is not None and pb is not None
        pa.endpoint = b.addr
        pb.endpoint = a.addr
        a.device.add_allowed_ip(pa, ip_network(b_allowed))
        b.device.add_allowed_ip(pb, ip_network(a_allowed))
        if psk is not None:
            pa.set_preshared_key(psk)
            pb.set_preshared_key(psk)

    # --- outgoing ---
    def send_packet(self, node: Node, packet: bytes) -> Peer | None:
        peer = node.device.route_outbound(packet)
        if peer is None:
            return None
        self.apply_all(node, peer.prepare_send([packet], self.clock.now))
        return peer

    def _transmit(self, node: Node, peer: Peer, jobs: list) -> None:  # type: ignore[type-arg]
        if not jobs:
            return
        total = 0
        data = False
        for job in jobs:
            dgram = seal(job)
            total += len(dgram)
            data = data or not job.is_keepalive
            assert peer.endpoint is not None
            self._emit(node, peer.endpoint, dgram)
        self.apply_all(node, peer.on_sent(total, self.clock.now, data))

    def _emit(self, node: Node, dst: Endpoint, data: bytes) -> None:
        node.sent_datagrams.append(data)
        if not self.drop_all:
            self.in_flight.append((node.addr, dst, data))

    def apply_all(self, node: Node, actions: list[Action]) -> None:
        """Carry out what a core call returned, in order."""
        for action in actions:
            self.apply(node, action)

    def apply(self, node: Node, action: object) -> None:
        if isinstance(action, SendDatagram):
            self._emit(node, action.endpoint, action.data)
        elif isinstance(action, SendJobs):
            self._transmit(node, action.peer, action.jobs)
        else:
            raise AssertionError(action)

    # --- incoming ---
    def deliver_one(self) -> bool:
        if not self.in_flight:
            return False
        src, dst, data = self.in_flight.pop(0)
        src = self.rewrite_src.get(src, src)
        node = self.nodes.get(dst)
        if node is None:
            return True
        self.receive(node, data, src)
        return True

    def receive(self, node: Node, data: bytes, src: Endpoint) -> None:
        now = self.clock.now
        item = node.device.classify(data, src, now)
        if isinstance(item, RecvJob):
            pt = open_(item)
            spans, actions = item.keypair.peer.on_received(
                [item], pt or b"", [0], [-1 if pt is None else len(pt)], now)
            node.delivered.extend(bytes(pt[o : o + n]) for o, n in spans if pt is not None)
            self.apply_all(node, actions)
        elif isinstance(item, HandshakeMessage):
            load = self.under_load[node.name]
            self.apply_all(node, node.device.handle_handshake(item, now, load))

    def run(self, limit: int = 1000) -> int:
        n = 0
        while self.deliver_one():
            n += 1
            assert n < limit, "message storm"
        return n

    def tick_all(self) -> None:
        for node in list(self.nodes.values()):
            self.apply_all(node, node.device.tick(self.clock.now))

    def advance(self, seconds: float, step: float = 0.5) -> None:
        """Move the clock forward in steps, running timers and the network."""
        end = self.clock.now + seconds
        while self.clock.now < end - 1e-9:
            self.clock.advance(min(step, end - self.clock.now))
            self.tick_all()
            self.run()


_KEYS: dict[str, int] = {}


def fixed_key_of(node: Node) -> bytes:
    priv = node.device.private_key
    assert priv is not None
    return priv
