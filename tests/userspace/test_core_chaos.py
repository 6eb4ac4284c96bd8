"""Random interleavings of traffic, loss, duplication, reordering, load and time
jumps: the core never raises, keeps its tables consistent and bounded, and once
the network heals the two sides talk again."""

from __future__ import annotations

import random

from core_harness import Clock, Net, Node, ipv4_packet
from hypothesis import given, settings
from hypothesis import strategies as st

from wgdroid.userspace.core import Peer
from wgdroid.userspace.core.keypair import Keypair

A_IP, B_IP = "192.168.241.1", "192.168.241.2"

JUMPS = [0.01, 0.5, 3, 6, 11, 16, 60, 125, 200, 600]  # around every timer's period
STEP = st.one_of(
    st.tuples(st.just("send"), st.sampled_from("ab"), st.integers(0, 3)),
    st.tuples(st.just("deliver"), st.integers(1, 6), st.integers(0, 0)),
    st.tuples(st.just("drop"), st.integers(0, 3), st.integers(0, 0)),
    st.tuples(st.just("dup"), st.integers(0, 3), st.integers(0, 0)),
    st.tuples(st.just("shuffle"), st.integers(0, 2**16), st.integers(0, 0)),
    st.tuples(st.just("time"), st.sampled_from(JUMPS), st.integers(0, 0)),
    st.tuples(st.just("load"), st.sampled_from("ab"), st.integers(0, 1)),
)  # fmt: skip


def check_consistent(node: Node) -> None:
    dev = node.device
    (peer,) = dev.peers.values()
    assert len(dev.indices) <= 4  # 3 keypairs + 1 handshake per peer
    for slot in (peer.previous, peer.current, peer.next):
        if slot is not None:
            assert slot.valid and dev.indices.get(slot.local_index) is slot
    for idx in list(dev.indices._entries):
        entry = dev.indices.get(idx)
        if isinstance(entry, Keypair):
            assert entry in (peer.previous, peer.current, peer.next)
        else:
            assert isinstance(entry, Peer) and entry.handshake.local_index == idx
    assert len(peer.staged) <= 128


@settings(max_examples=150, deadline=None)
@given(st.lists(STEP, max_size=40))
def test_random_schedules_then_heal(steps: list[tuple[str, object, int]]) -> None:
    net = Net(Clock())
    a = net.add("a", 1, ("10.0.0.1", 51820), seed=1)
    b = net.add("b", 2, ("10.0.0.2", 51820), seed=2)
    Net.link(a, b, f"{B_IP}/32", f"{A_IP}/32")
    nodes = {"a": (a, A_IP, B_IP), "b": (b, B_IP, A_IP)}
    for kind, x, y in steps:
        if kind == "send":
            node, src, dst = nodes[str(x)]
            for _ in range(y + 1):
                net.send_packet(node, ipv4_packet(src, dst))
        elif kind == "deliver":
            for _ in range(int(str(x))):
                net.deliver_one()
        elif kind == "drop" and net.in_flight:
            net.in_flight.pop(int(str(x)) % len(net.in_flight))
        elif kind == "dup" and net.in_flight:
            net.in_flight.append(net.in_flight[int(str(x)) % len(net.in_flight)])
        elif kind == "shuffle":
            random.Random(int(str(x))).shuffle(net.in_flight)
        elif kind == "time":
            net.clock.advance(float(str(x)))
            net.tick_all()
        elif kind == "load":
            net.under_load[str(x)] = bool(y)
        check_consistent(a)
        check_consistent(b)
    # heal: no load, deliver everything, let timers run, then talk both ways
    net.under_load = {"a": False, "b": False}
    net.run(limit=10_000)
    # Fine time steps: crossing initiations are broken up by the retransmit jitter
    # (up to 1/3 s), which coarse steps would hide.
    net.advance(30, step=0.05)
    for node, src, dst in nodes.values():
        other = b if node is a else a
        before = len(other.delivered)
        pkt = ipv4_packet(src, dst, b"after the storm" + bytes(21))
        net.send_packet(node, pkt)
        net.run()
        net.advance(12, step=0.05)  # a retransmitted handshake may be needed
        assert pkt in other.delivered[before:]
    check_consistent(a)
    check_consistent(b)
