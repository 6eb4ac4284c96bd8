"""Handshake messages: a deterministic transcript, sizes, replay/flood rules, PSK."""

from __future__ import annotations

import hashlib

from core_harness import Clock, Net, Node, ipv4_packet

from wgdroid.config.keys import public_raw
from wgdroid.userspace.core import HandshakeMessage
from wgdroid.userspace.core.constants import INITIATION_LEN, RESPONSE_LEN


def pair(psk: bytes | None = None) -> tuple[Net, Node, Node]:
    clock = Clock()
    net = Net(clock)
    a = net.add("a", 1, ("10.0.0.1", 51820), seed=1)
    b = net.add("b", 2, ("10.0.0.2", 51820), seed=2)
    Net.link(a, b, "192.168.241.2/32", "192.168.241.1/32", psk=psk)
    return net, a, b


def peer_of(node: Node, other: Node):  # type: ignore[no-untyped-def]
    key = other.device.private_key
    assert key is not None
    return node.device.peers[public_raw(key)]


def test_deterministic_transcript() -> None:
    """Fixed keys, seeded RNG (ephemerals, indices), fixed clock: the exact bytes of
    the initiation, the response and the first data message are pinned."""
    net, a, b = pair(psk=bytes(range(32)))
    net.send_packet(a, ipv4_packet("192.168.241.1", "192.168.241.2"))
    net.run()
    init, data = a.sent_datagrams
    (resp,) = b.sent_datagrams
    assert (len(init), len(resp), len(data)) == (INITIATION_LEN, RESPONSE_LEN, 96)
    assert init[:4] == b"\x01\x00\x00\x00" and resp[:4] == b"\x02\x00\x00\x00"
    assert init[-16:] == bytes(16) and resp[-16:] == bytes(16)  # no cookie: mac2 zero
    assert resp[8:12] == init[4:8]  # the response names our sender index
    assert hashlib.sha256(init).hexdigest() == (
        "914ed04c562ce672cdf9b72cc8aaf207b5a3269f996e5d9563fc7968fdec9172"
    )
    assert hashlib.sha256(resp).hexdigest() == (
        "ee8669d9c30743e6c87ac8eddf27f7f51497d06f97cea31d23f8ace72418cf6a"
    )
    assert hashlib.sha256(data).hexdigest() == (
        "f5f925850d14f5535c9913fab05aa76dec1486f82fb7b42c505b5f3175f6527f"
    )
    # Same inputs, same bytes: the core takes all randomness and time from outside.
    net2, a2, b2 = pair(psk=bytes(range(32)))
    net2.send_packet(a2, ipv4_packet("192.168.241.1", "192.168.241.2"))
    net2.run()
    assert a2.sent_datagrams == a.sent_datagrams and b2.sent_datagrams == b.sent_datagrams


def test_psk_mismatch_fails_at_the_response() -> None:
    net, a, b = pair()
    peer_of(a, b).set_preshared_key(bytes([7]) * 32)
    net.send_packet(a, ipv4_packet("192.168.241.1", "192.168.241.2"))
    net.run()
    assert len(b.sent_datagrams) == 1  # b answered (it cannot tell yet)
    assert peer_of(a, b).current is None  # a rejected the response
    assert b.delivered == []
    assert a.device.handshakes_dropped == 1


def test_initiation_replay_is_rejected() -> None:
    net, a, b = pair()
    init = peer_of(a, b).create_initiation(net.clock.now)
    assert init is not None
    src = a.addr
    out1 = b.device.handle_handshake(HandshakeMessage(1, init, src), net.clock.now, False)
    assert len(out1) == 1 and len(out1[0].data) == RESPONSE_LEN  # type: ignore[union-attr]
    net.clock.advance(1.0)
    out2 = b.device.handle_handshake(HandshakeMessage(1, init, src), net.clock.now, False)
    assert out2 == []  # same timestamp: not strictly greater


def test_initiation_flood_limit_and_timestamp_rounding() -> None:
    net, a, b = pair()
    pa = peer_of(a, b)
    first = pa.create_initiation(net.clock.now)
    assert first is not None
    assert b.device.handle_handshake(HandshakeMessage(1, first, a.addr), net.clock.now, False)
    # 10 ms later: a newer TAI64N bucket may not even exist yet (2**24 ns ~ 16.8 ms),
    # and less than 20 ms passed since the last consumed initiation: refused.
    net.clock.advance(0.010)
    second = pa.create_initiation(net.clock.now)
    assert second is not None
    assert (
        b.device.handle_handshake(HandshakeMessage(1, second, a.addr), net.clock.now, False) == []
    )
    # 30 ms later the timestamp is newer and the interval respected: accepted.
    net.clock.advance(0.030)
    third = pa.create_initiation(net.clock.now)
    assert third is not None
    assert (
        len(b.device.handle_handshake(HandshakeMessage(1, third, a.addr), net.clock.now, False))
        == 1
    )


def test_initiation_with_bad_mac1_or_unknown_peer_is_dropped() -> None:
    net, a, b = pair()
    init = peer_of(a, b).create_initiation(net.clock.now)
    assert init is not None
    bad = bytearray(init)
    bad[120] ^= 1  # inside mac1
    assert (
        b.device.handle_handshake(HandshakeMessage(1, bytes(bad), a.addr), net.clock.now, False)
        == []
    )
    # A stranger with a valid mac1 for b but unknown static key.
    c = net.add("c", 3, ("10.0.0.3", 1), seed=3)
    pc = c.device.add_or_update_peer(public_raw(b.device.private_key or b""))
    assert pc is not None
    pc.endpoint = b.addr
    stranger = pc.create_initiation(net.clock.now)
    assert stranger is not None
    assert (
        b.device.handle_handshake(HandshakeMessage(1, stranger, c.addr), net.clock.now, False) == []
    )
    assert b.device.handshakes_dropped == 2


def test_no_private_key_means_no_handshake() -> None:
    net, a, b = pair()
    a.device.set_private_key(None, net.clock.now)
    assert a.device.public_key is None
    assert peer_of_raw(a, b).create_initiation(net.clock.now) is None


def peer_of_raw(node: Node, other: Node):  # type: ignore[no-untyped-def]
    (peer,) = node.device.peers.values()
    return peer


def test_flood_rule_applies_even_with_a_newer_timestamp() -> None:
    net, a, b = pair()
    clock = net.clock
    bucket = 1 << 24
    # Put the wall clock 1 ms before a 2**24 ns boundary: 5 ms later the TAI64N
    # timestamp is strictly newer, but only 5 ms passed (< 20 ms): still refused.
    w = clock.wall_ns()
    clock._wall0 += (bucket - w % bucket) - 1_000_000
    pa = peer_of(a, b)
    first = pa.create_initiation(clock.now)
    assert first is not None
    assert b.device.handle_handshake(HandshakeMessage(1, first, a.addr), clock.now, False)
    clock.advance(0.005)
    second = pa.create_initiation(clock.now)
    assert second is not None
    assert b.device.handle_handshake(HandshakeMessage(1, second, a.addr), clock.now, False) == []
    clock.advance(0.020)
    third = pa.create_initiation(clock.now)
    assert third is not None
    assert b.device.handle_handshake(HandshakeMessage(1, third, a.addr), clock.now, False)
