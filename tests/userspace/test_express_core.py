"""The express path's C side against the Python core, in one process.

Our device A runs `Express` over a datagram socketpair standing in for its TUN
and a real UDP socket; its peers are core Devices driven by the in-memory
harness (core_harness.py), whose sealed datagrams travel over real loopback
sockets. Every packet the C side takes must leave A's core exactly as the
Python path would (peer.py); everything else must come back untouched.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from core_harness import Clock, Net, Node, ipv4_packet

from wgdroid.userspace.accel import load as load_accel
from wgdroid.userspace.core.constants import (
    KEEPALIVE_TIMEOUT,
    LAST_MINUTE_REKEY_AGE,
    REKEY_AFTER_TIME,
    REKEY_TIMEOUT,
    REKEY_TIMEOUT_JITTER_MAX,
)
from wgdroid.userspace.express import Express, Wait

LIB = load_accel()
pytestmark = pytest.mark.skipif(LIB is None, reason="the express path needs the compiled library")


def udp() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    return s


@dataclass
class World:
    net: Net
    a: Node
    peers: list[Node]
    socks: dict[str, socket.socket]  # node name -> its UDP socket
    tun: socket.socket  # the application's end of A's "TUN"
    tun_c: socket.socket  # the end the C side reads and writes
    ex: Express

    def wait(self, timeout: float = 0.05) -> Wait:
        w = self.ex.run(timeout, self.socks["a"].fileno(), -1, 1420, [])
        assert w is not None
        return w

    def from_peer(self, node: Node, packet: bytes, via: socket.socket | None = None) -> bytes:
        """`node` seals `packet` for A (core path) and sends it over loopback."""
        self.net.in_flight.clear()
        self.net.send_packet(node, packet)
        [(_src, _dst, data)] = self.net.in_flight
        self.net.in_flight.clear()
        (via or self.socks[node.name]).sendto(data, self.a.addr)
        return data

    def to_peer(self, node: Node) -> bytes:
        """What A sent to `node`, opened by `node`'s core (its delivered packets grow)."""
        data, src = _recv(self.socks[node.name])
        assert src == self.a.addr
        self.net.receive(node, data, src)
        return data

    def tun_read(self) -> bytes | None:
        try:
            return self.tun.recv(65536)
        except BlockingIOError:
            return None


def _recv(s: socket.socket) -> tuple[bytes, tuple[str, int]]:
    for _ in range(200):
        try:
            data, src = s.recvfrom(65536)
            return data, src
        except BlockingIOError:
            time.sleep(0.005)
    raise AssertionError("nothing arrived")


@pytest.fixture
def w() -> Iterator[World]:
    assert LIB is not None
    clock = Clock(start=time.monotonic())  # the C side reads CLOCK_MONOTONIC itself
    net = Net(clock)
    socks = {name: udp() for name in ("a", "b", "c")}
    a = net.add("a", 1, socks["a"].getsockname(), seed=1)
    b = net.add("b", 2, socks["b"].getsockname(), seed=2)
    c = net.add("c", 3, socks["c"].getsockname(), seed=3)
    Net.link(a, b, "10.0.0.2/32", "10.0.0.1/32")
    Net.link(a, c, "10.0.0.0/24", "10.0.0.1/32")  # B's /32 is the longer match
    for dst in ("10.0.0.2", "10.0.0.3"):  # handshakes; the responders confirm their keys
        net.send_packet(a, ipv4_packet("10.0.0.1", dst))
        net.run()
    for node in (b, c):
        peer = node.device.peers[a.device.public_key or b""]
        assert peer.current is not None and peer.next is None
    app, tun = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    app.setblocking(False)
    tun.setblocking(False)
    ex = Express(LIB, a.device, tun.fileno(), vnet=False, scale=1.0)
    yield World(net, a, [b, c], socks, app, tun, ex)
    for s in (*socks.values(), app, tun):
        s.close()


def peer_of(w: World, node: Node):  # type: ignore[no-untyped-def]
    return w.a.device.peers[node.device.public_key or b""]


def test_a_lone_packet_out_leaves_the_core_as_prepare_send_and_on_sent_would(w: World) -> None:
    b = w.peers[0]
    pa = peer_of(w, b)
    kp = pa.current
    counter, tx = kp.sending_counter, pa.tx_bytes
    pa.timers.new_handshake = None
    pa.timers.send_keepalive = 123.0  # any authenticated packet sent cancels it
    pkt = ipv4_packet("10.0.0.1", "10.0.0.2", b"ping" * 10)
    w.tun.send(pkt)
    before = time.monotonic()
    res = w.wait()
    assert (res.sent, res.received, res.punted, res.burst) == (1, 0, None, False)
    data = w.to_peer(b)
    assert b.delivered[-1] == pkt  # sealed right: B's core opens and accepts it
    assert kp.sending_counter == counter + 1
    assert pa.tx_bytes == tx + len(data) == tx + 16 + 64 + 16  # 56 bytes padded to 64
    nh = pa.timers.new_handshake
    assert nh is not None
    low = before + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT
    assert low <= nh <= time.monotonic() + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT \
        + REKEY_TIMEOUT_JITTER_MAX
    assert pa.timers.send_keepalive is None


def test_each_arming_draws_its_own_jitter(w: World) -> None:
    b = w.peers[0]
    pa = peer_of(w, b)
    offsets = set()
    for i in range(6):  # out (armed), in (cleared), out (armed again)...
        pa.timers.new_handshake = None
        t0 = time.monotonic()
        w.tun.send(ipv4_packet("10.0.0.1", "10.0.0.2", bytes([i]) * 20))
        w.wait(0.01)
        nh = pa.timers.new_handshake
        assert nh is not None
        offsets.add(round(nh - t0 - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT, 3))
        w.to_peer(b)
    assert len(offsets) >= 4  # a fresh draw per arming (equal draws: ~1 in 333 each)


def test_a_lone_packet_in_leaves_the_core_as_receive_would(w: World) -> None:
    b = w.peers[0]
    pa = peer_of(w, b)
    kp = pa.current
    rx, top = pa.rx_bytes, kp.replay.counter
    pa.timers.new_handshake = 99.0  # the peer answered: cancelled
    pa.timers.send_keepalive = None
    pkt = ipv4_packet("10.0.0.2", "10.0.0.1", b"pong" * 10)
    data = w.from_peer(b, pkt)
    before = time.monotonic()
    res = w.wait()
    assert (res.sent, res.received, res.punted) == (0, 1, None)
    assert w.tun_read() == pkt
    assert pa.rx_bytes == rx + len(data)
    assert kp.replay.counter > top  # the window moved in the core's own object
    assert pa.timers.new_handshake is None
    ka = pa.timers.send_keepalive
    assert ka is not None and before + KEEPALIVE_TIMEOUT <= ka <= time.monotonic() + \
        KEEPALIVE_TIMEOUT
    # The same message again: a replay, dropped and counted, nothing written.
    w.socks["b"].sendto(data, w.a.addr)
    dropped = pa.rx_dropped
    res = w.wait()
    assert (res.received, res.punted) == (0, None)
    assert w.tun_read() is None
    assert pa.rx_dropped == dropped + 1


def test_the_window_c_moved_is_the_one_python_checks(w: World) -> None:
    b = w.peers[0]
    pa = peer_of(w, b)
    data = w.from_peer(b, ipv4_packet("10.0.0.2", "10.0.0.1"))
    w.wait()
    assert w.tun_read() is not None
    item = w.a.device.classify(data, b.addr, time.monotonic())
    assert not item.keypair.replay.validate(item.counter)  # type: ignore[union-attr]
    assert pa.current.replay.validate(item.counter + 1)  # the next one is still fresh


def test_routes_pick_the_longest_prefix_among_peers(w: World) -> None:
    b, c = w.peers
    for dst, node in (("10.0.0.2", b), ("10.0.0.7", c), ("10.0.0.3", c)):
        w.tun.send(ipv4_packet("10.0.0.1", dst))
        assert w.wait().sent == 1
        w.to_peer(node)
        assert node.delivered[-1][16:20] == socket.inet_aton(dst)
    w.tun.send(ipv4_packet("10.0.0.1", "192.168.1.1"))
    res = w.wait()
    assert (res.sent, res.no_route, res.punted) == (0, 1, None)


def test_an_inner_source_outside_the_peers_allowed_ips_is_dropped(w: World) -> None:
    b = w.peers[0]
    pa = peer_of(w, b)
    dropped = pa.rx_dropped
    # B may send as 10.0.0.2 only (A's table); 10.0.0.3 belongs to C.
    w.from_peer(b, ipv4_packet("10.0.0.3", "10.0.0.1"))
    res = w.wait()
    assert res.received == 1  # authentic: the timers move, as in Peer.receive
    assert w.tun_read() is None
    assert pa.rx_dropped == dropped + 1


@pytest.mark.parametrize("case", ["staged", "rekey-age", "no-endpoint", "removed"])
def test_what_prepare_send_would_treat_specially_is_handed_back(w: World, case: str) -> None:
    b = w.peers[0]
    pa = peer_of(w, b)
    kp = pa.current
    counter = kp.sending_counter
    if case == "staged":
        pa.staged.append(b"waiting")
    elif case == "rekey-age":
        kp.birth -= REKEY_AFTER_TIME  # an initiator rekeys on its next send
    elif case == "no-endpoint":
        pa.endpoint = None
    else:
        w.a.device.remove_peer(b.device.public_key or b"")
    pkt = ipv4_packet("10.0.0.1", "10.0.0.2")
    w.tun.send(pkt)
    res = w.wait()
    if case == "removed":  # its prefix went with it: C's route (to 10.0.0.0/24) is C's
        assert res.sent == 1
        return
    assert res.sent == 0 and res.punted is not None and res.punted.fd < 0
    assert bytes(res.punted.data) == pkt
    assert kp.sending_counter == counter  # nothing taken: the Python path decides


def test_what_receive_would_treat_specially_is_handed_back(w: World) -> None:
    b = w.peers[0]
    pa = peer_of(w, b)
    # From another port: roaming, Python's to decide (after authentication).
    other = udp()
    try:
        data = w.from_peer(b, ipv4_packet("10.0.0.2", "10.0.0.1"), via=other)
        res = w.wait()
        assert res.received == 0 and res.punted is not None
        assert bytes(res.punted.data) == data and res.punted.fd == w.socks["a"].fileno()
        assert w.tun_read() is None
    finally:
        other.close()
    # An initiator's key near its end: the last-minute handshake is Python's.
    pa.current.birth -= LAST_MINUTE_REKEY_AGE
    data = w.from_peer(b, ipv4_packet("10.0.0.2", "10.0.0.1"))
    res = w.wait()
    assert res.punted is not None and bytes(res.punted.data) == data
    # A handshake message.
    pb = b.device.peers[w.a.device.public_key or b""]
    pb.last_sent_handshake = None
    [init] = pb.send_queued_initiation(time.monotonic(), is_retry=False)
    w.socks["b"].sendto(init.data, w.a.addr)  # type: ignore[attr-defined]
    res = w.wait()
    assert res.punted is not None and bytes(res.punted.data[:4]) == b"\x01\0\0\0"


def test_a_burst_goes_back_to_the_batched_path(w: World) -> None:
    for i in range(6):
        w.tun.send(ipv4_packet("10.0.0.1", "10.0.0.2", bytes([i]) * 8))
    res = w.wait()
    assert res.burst and res.sent == 4  # four in a row, then Python takes the rest
    left = [w.tun_c.recv(100)[-1] for _ in range(2)]  # still queued for the batched path
    assert left == [4, 5]
    with pytest.raises(BlockingIOError):
        w.tun_c.recv(100)
