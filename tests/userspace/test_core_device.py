"""Two core devices wired in memory: sessions, rekeying, cookies, timers, roaming.

Time only moves through the injected clock, so minutes of protocol time run in
milliseconds.
"""

from __future__ import annotations

import pytest
from core_harness import Clock, Net, Node, ipv4_packet, seeded_rng

from wgdroid.config.keys import public_raw
from wgdroid.userspace.core import Action, HandshakeMessage, Peer, SendDatagram, SendJobs
from wgdroid.userspace.core.constants import (
    MAX_STAGED_PACKETS,
    REJECT_AFTER_TIME,
    REKEY_AFTER_TIME,
)
from wgdroid.userspace.core.messages import unpack_cookie_reply

A_IP, B_IP = "192.168.241.1", "192.168.241.2"


def pair() -> tuple[Net, Node, Node]:
    net = Net(Clock())
    a = net.add("a", 1, ("10.0.0.1", 51820), seed=1)
    b = net.add("b", 2, ("10.0.0.2", 51820), seed=2)
    Net.link(a, b, f"{B_IP}/32", f"{A_IP}/32")
    return net, a, b


def peer_of(node: Node, other: Node) -> Peer:
    key = other.device.private_key
    assert key is not None
    return node.device.peers[public_raw(key)]


def sends_jobs(actions: list[Action]) -> bool:
    return any(isinstance(a, SendJobs) for a in actions)


def ping(net: Net, src: Node, src_ip: str, dst_ip: str, tag: bytes) -> bytes:
    pkt = ipv4_packet(src_ip, dst_ip, tag.ljust(36, b"."))
    net.send_packet(src, pkt)
    net.run()
    return pkt


def handshake(net: Net, a: Node, b: Node) -> None:
    ping(net, a, A_IP, B_IP, b"hello")
    assert peer_of(a, b).current is not None


def sealed_from_a(packets: list[bytes]) -> tuple[Net, Node, Node, list[bytes]]:
    """A handshaken pair and the transport datagrams A sends for `packets`."""
    from wgdroid.userspace.core import seal

    net, a, b = pair()
    handshake(net, a, b)
    acts = peer_of(a, b).prepare_send(packets, net.clock.now)
    return net, a, b, [seal(j) for act in acts if isinstance(act, SendJobs) for j in act.jobs]


def test_session_and_data_both_ways() -> None:
    net, a, b = pair()
    pa, pb = peer_of(a, b), peer_of(b, a)
    p1 = ping(net, a, A_IP, B_IP, b"one")
    assert b.delivered == [p1]
    # initiator: new keypair current at once; responder: promoted by the first data
    assert pa.current is not None and pa.current.initiator and pa.next is None
    assert pb.current is not None and not pb.current.initiator and pb.next is None
    assert pa.current.local_index == pb.current.remote_index
    p2 = ping(net, b, B_IP, A_IP, b"two")
    assert a.delivered == [p2]
    for i in range(5):
        ping(net, a, A_IP, B_IP, b"x%d" % i)
    assert len(b.delivered) == 6
    # byte counters count whole datagrams, handshake messages included (as wg does)
    assert pa.tx_bytes == 148 + 6 * 96 and pb.rx_bytes == 148 + 6 * 96
    assert pb.tx_bytes == 92 + 96 and pa.rx_bytes == 92 + 96
    assert pa.last_handshake_ns == pb.last_handshake_ns == net.clock.wall_ns()
    snap = a.device.snapshot()
    (ps,) = snap.peers
    assert ps.endpoint == b.addr and ps.tx_bytes == pa.tx_bytes
    assert ps.last_handshake_sec == pa.last_handshake_ns // 10**9
    assert [str(n) for n in ps.allowed_ips] == [f"{B_IP}/32"]


def test_replayed_and_mutated_transport_is_dropped() -> None:
    net, a, b = pair()
    handshake(net, a, b)
    data = a.sent_datagrams[-1]
    before = list(b.delivered)
    net.receive(b, data, a.addr)  # exact replay
    assert b.delivered == before
    for pos in (0, 5, 9, 20, len(data) - 1):
        bad = bytearray(data)
        bad[pos] ^= 0x40
        net.receive(b, bytes(bad), a.addr)
    assert b.delivered == before


def test_inner_source_must_match_allowed_ips() -> None:
    net, a, b = pair()
    handshake(net, a, b)
    pb = peer_of(b, a)
    dropped = pb.rx_dropped
    # a routes it (destination is b's), but b must refuse the spoofed inner source
    net.send_packet(a, ipv4_packet("10.9.9.9", B_IP))
    net.run()
    assert len(b.delivered) == 1
    assert pb.rx_dropped == dropped + 1


def test_length_trim_removes_padding() -> None:
    net, a, b = pair()
    pkt = ipv4_packet(A_IP, B_IP, b"z" * 3)  # 23 bytes -> padded to 32 on the wire
    net.send_packet(a, pkt)
    net.run()
    assert b.delivered == [pkt]


def test_rekey_after_time_keeps_traffic_flowing() -> None:
    net, a, b = pair()
    handshake(net, a, b)
    pa, pb = peer_of(a, b), peer_of(b, a)
    first = pa.current
    net.clock.advance(REKEY_AFTER_TIME + 1)
    b_first = pb.current
    ping(net, a, A_IP, B_IP, b"late")  # sent under the old key, then rekey
    assert pa.current is not first and pa.previous is first
    # a confirmed the new session with a keepalive, so b already promoted it
    assert [len(d) for d in a.sent_datagrams[-3:]] == [96, 148, 32]
    assert pb.current is not None and pb.current is not b_first and pb.previous is b_first
    assert pb.current.local_index == pa.current.remote_index  # type: ignore[union-attr]
    assert pb.next is None
    ping(net, a, A_IP, B_IP, b"new key")
    assert [p[20:24] for p in b.delivered] == [b"hell", b"late", b"new "]
    ping(net, b, B_IP, A_IP, b"back")
    assert len(a.delivered) == 1


def test_key_expires_after_reject_after_time() -> None:
    net, a, b = pair()
    handshake(net, a, b)
    pa = peer_of(a, b)
    net.drop_all = True
    net.clock.advance(REJECT_AFTER_TIME)
    acts = pa.prepare_send([ipv4_packet(A_IP, B_IP)], net.clock.now)
    # unusable: staged, and a new handshake requested instead of transport jobs
    assert len(pa.staged) == 1
    assert len(acts) == 1 and isinstance(acts[0], SendDatagram) and len(acts[0].data) == 148


def test_staged_packets_are_bounded_and_flushed_in_order() -> None:
    net, a, b = pair()
    pa = peer_of(a, b)
    net.drop_all = True  # the first initiation is lost
    pkts = [ipv4_packet(A_IP, B_IP, b"%04d" % i + b"." * 32) for i in range(200)]
    for p in pkts:
        net.send_packet(a, p)
    assert len(pa.staged) == MAX_STAGED_PACKETS
    assert pa.staged_dropped == 200 - MAX_STAGED_PACKETS
    net.drop_all = False
    net.advance(6)  # retransmission after REKEY_TIMEOUT + jitter
    assert b.delivered == pkts[-MAX_STAGED_PACKETS:]


def test_cookie_reply_under_load_then_handshake_with_mac2() -> None:
    net, a, b = pair()
    pa = peer_of(a, b)
    net.under_load["b"] = True
    net.send_packet(a, ipv4_packet(A_IP, B_IP))
    net.run()
    # b answered the initiation with a 64-byte cookie reply instead of a response
    assert [len(d) for d in b.sent_datagrams] == [64]
    assert pa.cookie.has_cookie(net.clock.now)
    assert pa.current is None
    net.advance(6)  # the retransmitted initiation now carries mac2
    init2 = a.sent_datagrams[1]
    assert len(init2) == 148 and init2[-16:] != bytes(16)
    assert pa.current is not None
    assert len(b.delivered) == 1
    assert len(b.device.ratelimiter) == 1  # valid mac2 went through the limiter


def test_under_load_is_sticky_for_a_second() -> None:
    net, a, b = pair()
    pa = peer_of(a, b)
    init = pa.create_initiation(net.clock.now)
    assert init is not None
    dev = b.device
    dev.handle_handshake(HandshakeMessage(3, bytes(64), a.addr), net.clock.now, True)
    net.clock.advance(0.5)
    out = dev.handle_handshake(HandshakeMessage(1, init, a.addr), net.clock.now, False)
    assert [len(x.data) for x in out if isinstance(x, SendDatagram)] == [64]
    net.clock.advance(1.0)
    out = dev.handle_handshake(HandshakeMessage(1, init, a.addr), net.clock.now, False)
    assert [len(x.data) for x in out if isinstance(x, SendDatagram)] == [92]


def test_cookie_reply_without_outstanding_mac1_is_ignored() -> None:
    net, a, b = pair()
    handshake(net, a, b)
    pa = peer_of(a, b)
    init = pa.create_initiation(net.clock.now)
    assert init is not None
    reply = b.device.cookie_checker.create_reply(init, 1, 0, a.addr, net.clock.now)
    assert reply is not None
    assert pa.cookie.consume_reply(unpack_cookie_reply(reply), net.clock.now)
    # a second reply for the same mac1 is refused: the mac1 is no longer outstanding
    assert not pa.cookie.consume_reply(unpack_cookie_reply(reply), net.clock.now)


def test_passive_keepalive_after_receiving_data() -> None:
    net, a, b = pair()
    handshake(net, a, b)
    n = len(b.sent_datagrams)
    net.advance(9)
    assert len(b.sent_datagrams) == n
    net.advance(2)  # KEEPALIVE_TIMEOUT = 10 s after the data arrived
    assert [len(d) for d in b.sent_datagrams[n:]] == [32]
    net.advance(60)
    assert len(b.sent_datagrams) == n + 1  # nothing more without traffic


def test_new_handshake_when_data_gets_no_answer() -> None:
    net, a, b = pair()
    handshake(net, a, b)
    n = len(a.sent_datagrams)
    net.drop_all = True
    net.send_packet(a, ipv4_packet(A_IP, B_IP))
    net.advance(14)
    assert len(a.sent_datagrams) == n + 1
    net.advance(1.5)  # 10 + 5 s (+ jitter <= 1/3 s)
    assert [len(d) for d in a.sent_datagrams[n + 1 :]] == [148]


def test_retransmit_then_give_up_and_purge_staged() -> None:
    net, a, b = pair()
    pa = peer_of(a, b)
    net.drop_all = True
    net.send_packet(a, ipv4_packet(A_IP, B_IP))
    net.advance(200, step=0.25)
    inits = [d for d in a.sent_datagrams if len(d) == 148]
    # 1 + 19 retries (attempts counted as the kernel does), then give up
    assert len(inits) == 20
    assert len(pa.staged) == 0 and pa.staged_dropped == 1
    assert pa.timers.zero_key_material is not None
    n = len(a.sent_datagrams)
    net.advance(60)
    assert len(a.sent_datagrams) == n


def test_zero_key_material_after_540s() -> None:
    net, a, b = pair()
    handshake(net, a, b)
    pa, pb = peer_of(a, b), peer_of(b, a)
    net.drop_all = True
    net.advance(539, step=5)
    assert pa.current is not None
    net.advance(2, step=1)
    assert pa.current is None and pa.previous is None and pa.next is None
    assert pb.current is None
    assert len(a.device.indices) == 0 and len(b.device.indices) == 0


def test_persistent_keepalive() -> None:
    net, a, b = pair()
    pa = peer_of(a, b)
    net.apply_all(a, pa.set_persistent_keepalive(25, net.clock.now))  # no session: handshake
    net.run()
    assert pa.current is not None
    n = len(a.sent_datagrams)
    net.advance(26)
    assert [len(d) for d in a.sent_datagrams[n:]] == [32]
    net.advance(25)
    assert [len(d) for d in a.sent_datagrams[n:]] == [32, 32]
    pa.set_persistent_keepalive(0, net.clock.now)
    net.advance(100)
    assert len([d for d in a.sent_datagrams[n:] if len(d) == 32]) == 2


def test_roaming_updates_the_endpoint() -> None:
    net, a, b = pair()
    handshake(net, a, b)
    pb = peer_of(b, a)
    assert pb.endpoint == a.addr
    new_addr = ("198.51.100.7", 40000)
    net.rewrite_src[a.addr] = new_addr
    ping(net, a, A_IP, B_IP, b"moved")
    assert pb.endpoint == new_addr
    n = len(b.sent_datagrams)
    net.send_packet(b, ipv4_packet(B_IP, A_IP))
    assert net.in_flight[-1][1] == new_addr and len(b.sent_datagrams) == n + 1


def test_private_key_change_forces_a_new_handshake() -> None:
    net, a, b = pair()
    handshake(net, a, b)
    pa = peer_of(a, b)
    old_pub = a.device.public_key
    a.device.set_private_key(bytes([9]) * 32, net.clock.now)
    assert a.device.public_key != old_pub
    assert pa.current is not None and not pa.current.send_valid
    assert not sends_jobs(pa.prepare_send([ipv4_packet(A_IP, B_IP)], net.clock.now))
    # our own public key as a peer is ignored, and adding it removes nothing else
    assert a.device.add_or_update_peer(a.device.public_key or b"") is None


def test_remove_peer_and_allowed_ip_ops() -> None:
    net, a, b = pair()
    handshake(net, a, b)
    dev = a.device
    pa = peer_of(a, b)
    from ipaddress import ip_network

    dev.add_allowed_ip(pa, ip_network("10.5.0.0/16"))
    assert dev.route_outbound(ipv4_packet(A_IP, "10.5.3.3")) is pa
    dev.remove_allowed_ip(pa, ip_network("10.5.0.0/16"))
    assert dev.route_outbound(ipv4_packet(A_IP, "10.5.3.3")) is None
    dev.clear_allowed_ips(pa)
    assert dev.allowed_ips_of(pa) == []
    assert dev.remove_peer(pa.public_key)
    assert dev.peers == {} and len(dev.indices) == 0
    assert not dev.remove_peer(pa.public_key)


def test_next_deadline_tracks_timers() -> None:
    net, a, b = pair()
    assert a.device.next_deadline() is None
    handshake(net, a, b)
    d = b.device.next_deadline()
    assert d is not None and net.clock.now < d <= net.clock.now + 10  # passive keepalive


def test_secrets_stay_out_of_reprs() -> None:
    net, a, b = pair()
    handshake(net, a, b)
    pa = peer_of(a, b)
    pa.set_preshared_key(bytes([0xAB]) * 32)
    priv = a.device.private_key
    assert priv is not None
    kp = pa.current
    assert kp is not None
    text = " ".join(repr(x) for x in (a.device, pa, kp, kp.send, pa.handshake, a.device.snapshot()))
    for secret in (priv, bytes([0xAB]) * 32, kp.send.key, kp.recv.key):
        assert secret.hex() not in text and repr(secret) not in text


def test_keypair_slots_follow_the_kernel_rules() -> None:
    net, a, b = pair()
    handshake(net, a, b)
    pa, pb = peer_of(a, b), peer_of(b, a)
    net.advance(1)
    k0 = pb.current
    assert k0 is not None
    # a rekeys; b responds (responder: new keypair in `next`, previous cleared) ...
    net.clock.advance(6)
    init = pa.create_initiation(net.clock.now)
    assert init is not None
    out = b.device.handle_handshake(HandshakeMessage(1, init, a.addr), net.clock.now, False)
    assert len(out) == 1  # ... but the response is lost
    k1 = pb.next
    assert k1 is not None and pb.current is k0 and pb.previous is None
    # b now initiates itself and completes as initiator while `next` is pending:
    # the unconfirmed next becomes previous, the old current is dropped.
    net.clock.advance(6)
    net.apply_all(b, pb.send_queued_initiation(net.clock.now, is_retry=False))
    net.run()
    assert pb.current is not None and pb.current.initiator
    assert pb.previous is k1 and pb.next is None
    assert not k0.valid and b.device.indices.get(k0.local_index) is None
    assert b.device.indices.get(k1.local_index) is k1
    # traffic still flows both ways on the new session
    ping(net, b, B_IP, A_IP, b"after")
    assert a.delivered[-1][20:25] == b"after"


def test_rekey_and_reject_after_messages() -> None:
    from wgdroid.userspace.core.constants import REJECT_AFTER_MESSAGES, REKEY_AFTER_MESSAGES

    net, a, b = pair()
    handshake(net, a, b)
    pb = peer_of(b, a)  # the responder rekeys on message count too
    net.advance(6)
    assert pb.current is not None
    pb.current.sending_counter = REKEY_AFTER_MESSAGES + 1
    n = len(b.sent_datagrams)
    net.send_packet(b, ipv4_packet(B_IP, A_IP))
    assert [len(d) for d in b.sent_datagrams[n:]] == [96, 148]
    kp = pb.current
    kp.sending_counter = REJECT_AFTER_MESSAGES - 1
    acts = pb.prepare_send([ipv4_packet(B_IP, A_IP)] * 2, net.clock.now)
    assert not sends_jobs(acts) and len(pb.staged) == 2 and not kp.send_valid


def test_last_minute_rekey_on_receive_by_the_initiator() -> None:
    net, a, b = pair()
    handshake(net, a, b)
    net.advance(20)  # let the passive keepalive go out
    n = len(a.sent_datagrams)
    net.clock.advance(166 - 20)
    # only b sends: a (the initiator) notices the old key on receive and rekeys once
    net.send_packet(b, ipv4_packet(B_IP, A_IP))
    net.deliver_one()
    assert [len(d) for d in a.sent_datagrams[n:]] == [148]
    assert peer_of(a, b).timers.sent_lastminute_handshake


def test_tables_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from wgdroid.userspace.core.errors import CoreLimitError
    from wgdroid.userspace.core.indextable import IndexTable

    table: IndexTable[str] = IndexTable(lambda n: bytes(n - 1) + b"\x01", max_entries=2)
    first = table.insert("x")
    with pytest.raises(CoreLimitError):  # the RNG repeats itself: refuse, don't spin
        table.insert("y")
    ok: IndexTable[str] = IndexTable(seeded_rng(3), max_entries=2)
    ok.insert("x")
    ok.insert("y")
    with pytest.raises(CoreLimitError):
        ok.insert("z")
    assert table.get(first) == "x"
    _net, a, _b = pair()
    monkeypatch.setattr("wgdroid.userspace.core.device.MAX_PEERS", 1)
    with pytest.raises(CoreLimitError):
        a.device.add_or_update_peer(bytes([5]) * 32)


def test_down_forgets_sessions_and_up_restarts_keepalives() -> None:
    net, a, b = pair()
    handshake(net, a, b)
    pa = peer_of(a, b)
    net.apply_all(a, pa.set_persistent_keepalive(25, net.clock.now))
    net.run()
    a.device.down()
    assert pa.current is None and a.device.next_deadline() is None
    # staged, and no handshake while down
    assert pa.prepare_send([ipv4_packet(A_IP, B_IP)], net.clock.now) == []
    net.clock.advance(1)  # a newer TAI64N timestamp for b to accept
    net.apply_all(a, a.device.up(net.clock.now))
    net.run()
    assert pa.current is not None  # the staged packet/keepalive triggered a handshake
    assert b.delivered[-1] == ipv4_packet(A_IP, B_IP)


def test_ten_pings_byte_counters_match_the_kernel_selftest() -> None:
    """netns.sh: after 10 pings of 56 data bytes, rx 1372 and tx 1428 on the initiator
    (10 x 128-byte datagrams + the 92-byte response / the 148-byte initiation)."""
    net, a, b = pair()
    pa = peer_of(a, b)
    for i in range(10):
        echo = ipv4_packet(A_IP, B_IP, bytes([8, 0]) + bytes(6) + bytes([i]) * 56)
        assert len(echo) == 84
        net.send_packet(a, echo)
        net.run()
        reply = ipv4_packet(B_IP, A_IP, bytes(8) + bytes([i]) * 56)
        net.send_packet(b, reply)
        net.run()
    assert len(a.delivered) == len(b.delivered) == 10
    assert (pa.rx_bytes, pa.tx_bytes) == (1372, 1428)


def test_classify_run_matches_classify_per_datagram() -> None:
    """A UDP GRO read: transport messages of one keypair, one with a forged index,
    one with a bad type, a damaged one, every 176 bytes, and last (shorter) an
    initiation. The run holds what classify accepts one by one; the handshake
    message comes after it."""
    from wgdroid.userspace.core import HandshakeMessage, RecvJob, RecvRun

    net, a, b, dgs = sealed_from_a([ipv4_packet(A_IP, B_IP, bytes([i]) * 100)
                                    for i in range(4)])
    forged = bytearray(dgs[1])
    forged[4] ^= 0xFF
    step = 176
    init = b"\x01\0\0\0" + bytes(144)
    run = [dgs[0], bytes(forged), dgs[1], b"\x05" + dgs[2][1:], dgs[2], dgs[3][:60], init]
    buf = b"".join(d.ljust(step, b"\0") for d in run[:-1]) + run[-1]
    now = net.clock.now
    got = b.device.classify_run(buf, 0, len(buf), step, a.addr, now)
    want = []
    for i in range(len(run)):
        item = b.device.classify(buf[i * step : min((i + 1) * step, len(buf))], a.addr, now)
        if isinstance(item, RecvJob):
            want.append((item.keypair, item.counter, i * step))
    assert [type(x) for x in got] == [RecvRun, HandshakeMessage]
    flat = [(r.keypair, c, o) for r in got if isinstance(r, RecvRun)
            for c, o in zip(r.counters, r.offs, strict=True)]
    assert flat == want
    assert [o for _, _, o in flat] == [0, 2 * step, 4 * step, 5 * step]
    assert got[0].lens == [step] * 4  # type: ignore[union-attr]
    assert got[1].data == init  # type: ignore[union-attr]


def test_extend_run_takes_only_what_classify_would_put_in_that_run() -> None:
    """Reads of one datagram each (a sender without GSO): the next message of the
    run's keypair from its source joins it; a forged index, another type, another
    source, a truncated one or an exhausted counter does not."""
    from wgdroid.userspace.core import RecvJob, RecvRun
    from wgdroid.userspace.core.constants import REJECT_AFTER_MESSAGES

    net, a, b, dgs = sealed_from_a([ipv4_packet(A_IP, B_IP, bytes([i]) * 100)
                                    for i in range(3)])
    now = net.clock.now
    first = b.device.classify(dgs[0], a.addr, now)
    assert isinstance(first, RecvJob)
    run = RecvRun(first.keypair, a.addr)
    run.counters, run.offs, run.lens = [first.counter], [0], [len(dgs[0])]
    forged = bytearray(dgs[1])
    forged[4] ^= 0xFF
    exhausted = bytearray(dgs[1])
    exhausted[8:16] = REJECT_AFTER_MESSAGES.to_bytes(8, "little")
    refused = [(bytes(forged), a.addr), (b"\x05" + dgs[1][1:], a.addr),
               (dgs[1], ("192.168.241.77", a.addr[1])), (dgs[1][:31], a.addr),
               (bytes(exhausted), a.addr)]
    for d, src in refused:
        assert not b.device.extend_run(run, d, 0, len(d), src)
        assert not isinstance(b.device.classify(d, src, now), RecvJob) or src != a.addr
    buf = bytes(64) + dgs[1] + dgs[2]
    assert b.device.extend_run(run, buf, 64, len(dgs[1]), a.addr)
    assert b.device.extend_run(run, buf, 64 + len(dgs[1]), len(dgs[2]), a.addr)
    assert run.counters == [first.counter + i for i in range(3)]
    assert run.offs == [0, 64, 64 + len(dgs[1])]
    assert run.lens == [len(d) for d in dgs]


def test_receive_finishes_a_run_in_order_dropping_replays_and_foreign_sources() -> None:
    from wgdroid.userspace.core import RecvRun, open_raw, seal

    net, a, b = pair()
    handshake(net, a, b)
    pa, pb = peer_of(a, b), peer_of(b, a)
    pkts = [ipv4_packet(A_IP, B_IP, bytes([i]) * 40) for i in range(3)]
    pkts.append(ipv4_packet("192.168.241.99", B_IP, b"x" * 40))  # not A's allowed IP
    acts = pa.prepare_send(pkts, net.clock.now)
    dgs = [seal(j) for act in acts if isinstance(act, SendJobs) for j in act.jobs]
    kp = pb.current or pb.next
    assert kp is not None
    # plaintexts laid out as the open kernel leaves them; message 1 arrives twice
    order = [0, 1, 1, 2, 3]
    buf = bytearray(2000)
    run = RecvRun(kp, a.addr)
    for slot, i in enumerate(order):
        counter = int.from_bytes(dgs[i][8:16], "little")
        pt = open_raw(kp.recv, counter, dgs[i])
        assert pt is not None
        buf[slot * 100 : slot * 100 + len(pt)] = pt
        run.counters.append(counter)
        run.offs.append(slot * 100)
        run.lens.append(len(pt))
    dropped = pb.rx_dropped
    spans, _ = pb.receive(run, buf, run.lens, net.clock.now)
    assert [bytes(buf[o : o + n]) for o, n in spans] == pkts[:3]
    assert pb.rx_dropped == dropped + 2  # the replay and the foreign source
    assert pb.endpoint == a.addr
