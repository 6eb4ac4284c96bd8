"""Malformed and mutated datagrams are dropped without exceptions (hypothesis)."""

from __future__ import annotations

from core_harness import Clock, Net, Node, ipv4_packet
from hypothesis import given, settings
from hypothesis import strategies as st

from wgdroid.userspace.core import HandshakeMessage, RecvJob, open_

A_IP, B_IP = "192.168.241.1", "192.168.241.2"


def session() -> tuple[Net, Node, Node]:
    net = Net(Clock())
    a = net.add("a", 1, ("10.0.0.1", 51820), seed=1)
    b = net.add("b", 2, ("10.0.0.2", 51820), seed=2)
    Net.link(a, b, f"{B_IP}/32", f"{A_IP}/32")
    net.send_packet(a, ipv4_packet(A_IP, B_IP))
    net.run()
    return net, a, b


NET, A, B = session()
# Valid messages to mutate: an initiation, a response, a cookie reply, transport.
_peer = next(iter(A.device.peers.values()))
_INIT = _peer.create_initiation(NET.clock.now)
assert _INIT is not None
_COOKIE = B.device.cookie_checker.create_reply(_INIT, 1, 1, A.addr, NET.clock.now)
SAMPLES = [_INIT, B.sent_datagrams[0], _COOKIE, A.sent_datagrams[-1]]


def feed(node: Node, data: bytes, under_load: bool) -> bytes | None:
    """One datagram through the whole receive path; returns a delivered packet."""
    dev = node.device
    item = dev.classify(data, ("203.0.113.5", 4444), NET.clock.now)
    if isinstance(item, RecvJob):
        pt = open_(item)
        spans, _ = item.keypair.peer.on_received(
            [item], pt or b"", [0], [-1 if pt is None else len(pt)], NET.clock.now)
        assert len(spans) <= 1
        return bytes(pt[spans[0][0] : sum(spans[0])]) if spans and pt is not None else None
    if isinstance(item, HandshakeMessage):
        dev.handle_handshake(item, NET.clock.now, under_load)
    return None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_random_datagrams(data: bytes, under_load: bool) -> None:
    assert feed(B, data, under_load) is None


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(range(len(SAMPLES))),
    st.lists(st.tuples(st.integers(0, 147), st.integers(1, 255)), min_size=1, max_size=4),
    st.booleans(),
)
def test_mutated_valid_messages(which: int, flips: list[tuple[int, int]], under_load: bool) -> None:
    msg = SAMPLES[which]
    assert msg is not None
    buf = bytearray(msg)
    for pos, bits in flips:
        buf[pos % len(buf)] ^= bits
    if bytes(buf) == msg:
        return
    before = (len(B.delivered), B.device.peers and next(iter(B.device.peers.values())).endpoint)
    assert feed(B, bytes(buf), under_load) is None
    # a forged message never moves the peer's endpoint
    assert (len(B.delivered), next(iter(B.device.peers.values())).endpoint) == before


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=4, max_size=200), st.integers(1, 4))
def test_typed_garbage(body: bytes, msg_type: int) -> None:
    size = {1: 148, 2: 92, 3: 64}.get(msg_type, len(body) + 32)
    data = bytes([msg_type, 0, 0, 0]) + (body * (size // len(body) + 1))[: size - 4]
    assert feed(B, data, False) is None
    assert feed(B, data, True) is None
