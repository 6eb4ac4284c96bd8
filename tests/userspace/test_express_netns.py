"""The express path (wgdroid/userspace/express.py, accel/express.c) against wireguard-go.

Lone packets cross our daemon in C; these tests check that they really do (the
daemon's shutdown line counts them) and that what the C side changes reaches the
core: byte counters, the timers it arms, the replay window. Real namespaces,
real TUN devices, the real wireguard-go (tests/userspace/netpair.py).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
from netpair import Pair, Side, stop
from support import wait_until

from wgdroid.userspace.accel import load as load_accel

pytestmark = [
    pytest.mark.sim,
    pytest.mark.skipif(load_accel() is None, reason="the express path needs the compiled library"),
]

MSG = 128  # a 84-byte ping packet padded to 96, plus header and tag
MSG6 = 144  # a 104-byte ping6 packet padded to 112, plus header and tag
KEEPALIVE = 32


def transfer(side: Side) -> tuple[int, int]:
    """(rx, tx) bytes of the side's only peer, from the real `wg`."""
    _key, rx, tx = side.wg("show", side.iface, "transfer").split()
    return int(rx), int(tx)


def express_counts(side: Side) -> tuple[int, int, int]:
    """(sent, received, handed back) from the daemon's shutdown line."""
    stop(side)
    m = re.search(r"express: (\d+) sent, (\d+) received, (\d+) handed back", side.log_text())
    assert m, side.log_text()[-2000:]
    return int(m[1]), int(m[2]), int(m[3])


def dropped_received(side: Side) -> int:
    m = re.search(r"peers dropped (\d+) received", side.log_text())
    assert m, side.log_text()[-2000:]
    return int(m[1])


def pings(p: Pair, src: Side, dst: str, count: int) -> None:
    r = p.ping(src, dst, count=count, interval=0.05)
    assert f"{count} received" in r.stdout, r.stdout + src.log_text()[-2000:]


@pytest.mark.parametrize("ours_initiates", [True, False], ids=["initiator", "responder"])
def test_spaced_pings_cross_in_c_and_the_counters_follow(ours_initiates: bool) -> None:
    a, b = ("ours", "wireguard-go") if ours_initiates else ("wireguard-go", "ours")
    with Pair(a, b) as p:
        me, other = (p.a, p.b) if ours_initiates else (p.b, p.a)
        pings(p, p.a, p.b.addr4, 3)  # the handshake, and the responder's key confirmed
        time.sleep(0.2)
        before, other_before = transfer(me), transfer(other)
        pings(p, p.a, p.b.addr4, 20)
        after, other_after = transfer(me), transfer(other)
        # Every message of the 20 round trips, counted once each way, on both sides.
        assert (after[0] - before[0], after[1] - before[1]) == (20 * MSG, 20 * MSG)
        assert (other_after[0] - other_before[0], other_after[1] - other_before[1]) == \
            (20 * MSG, 20 * MSG)
        pings(p, p.a, p.b.addr6, 10)  # IPv6 inside: the other half of the route table
        last = transfer(me)
        assert (last[0] - after[0], last[1] - after[1]) == (10 * MSG6, 10 * MSG6)
        sent, received, _punted = express_counts(me)
        assert sent >= 30 and received >= 30, me.log_text()[-1500:]


def test_without_the_express_path_nothing_crosses_in_c() -> None:
    with Pair("ours", "wireguard-go", env_a={"WGDROID_EXPRESS": "0"}) as p:
        pings(p, p.a, p.b.addr4, 5)
        stop(p.a)
        assert "express: off" in p.a.log_text()


# The daemon's verbose line for a wait in which packets crossed in C.
CROSSED = r"express wait ended by [a-zA-Z ]+: {sent} sent, {received} received"

UDP_ONCE = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"hello", (sys.argv[1], int(sys.argv[2])))
"""


def test_timers_armed_in_c_fire_in_python() -> None:
    # Scale 5: a passive keepalive 10 s -> 2 s after data; a new handshake 15 s
    # (+ jitter) -> 3 s after unanswered data; rekeying (120 s) stays out of reach.
    with Pair("ours", "wireguard-go", env_a={"WGDROID_TEST_TIMER_SCALE": "5"}) as p:
        pings(p, p.a, p.b.addr4, 3)
        # Data in, nothing out: the keepalive timer the C side arms must send one.
        sink = subprocess.Popen(p.a.ns_cmd(sys.executable, "-c",
                                           "import socket;s=socket.socket(2,2);"
                                           "s.bind(('0.0.0.0',5399));s.recv(99)"))
        try:
            time.sleep(0.3)
            before = transfer(p.a)
            mark = len(p.a.log_text())
            p.b.run(sys.executable, "-c", UDP_ONCE, p.a.addr4, "5399")
            sink.wait(5)
            wait_until(lambda: transfer(p.a)[1] - before[1], check=lambda d: d == KEEPALIVE,
                       timeout=6, interval=0.1, what="one passive keepalive")
        finally:
            sink.kill()
        # The lone datagram came in through C, which armed the timer.
        assert re.search(CROSSED.format(sent=0, received=1), p.a.log_text()[mark:]), \
            p.a.log_text()[mark:]
        # Data out, no answer: the new-handshake timer the C side arms must fire.
        inits = p.a.log_text().count("sending handshake initiation")
        p.b.run("ip", "link", "set", f"v{p.b.iface}", "down")
        time.sleep(0.3)  # A's link events come and go first (they end a wait too)
        mark = len(p.a.log_text())
        p.ping(p.a, p.b.addr4, count=1, wait=0.2)
        wait_until(lambda: p.a.log_text().count("sending handshake initiation"),
                   check=lambda n: n > inits, timeout=8, interval=0.1,
                   what="a new handshake after unanswered data")
        assert re.search(CROSSED.format(sent=1, received=0), p.a.log_text()[mark:]), \
            p.a.log_text()[-3000:]


REPLAY = r"""
import socket, struct, sys
peer_ip, port, dev = sys.argv[1], int(sys.argv[2]), sys.argv[3]
# ETH_P_ALL: only taps for every protocol see what the host sends (dev_queue_xmit_nit)
cap = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(3))
cap.bind((dev, 3))
cap.settimeout(10)
print("ready", flush=True)
while True:
    data, addr = cap.recvfrom(65535)
    if addr[1] != 0x0800:
        continue
    ip = bytearray(data)
    hl = (ip[0] & 15) * 4
    sport, dport = struct.unpack_from("!HH", ip, hl)
    if ip[9] == 17 and sport == port and len(ip) > hl + 8 + 32 and ip[hl + 8] == 4:
        break
ip[hl + 6 : hl + 8] = b"\0\0"  # no UDP checksum (the capture may hold a partial one)
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
dst = socket.inet_ntoa(bytes(ip[16:20]))
raw.sendto(bytes(ip), (dst, 0))  # the same message again: a replay
raw.sendto(bytes(ip), (dst, 0))
forged = bytearray(ip)
forged[-1] ^= 1  # the tag no longer matches
raw.sendto(bytes(forged), (dst, 0))
# The replay again from another port: handed back to Python (not the endpoint),
# whose window must have the counter C accepted, or it would take it and roam.
moved = bytearray(ip)
moved[hl : hl + 2] = struct.pack("!H", 40000)
raw.sendto(bytes(moved), (dst, 0))
print("sent", flush=True)
"""


def test_replayed_and_forged_messages_are_dropped() -> None:
    with Pair("ours", "wireguard-go") as p:
        pings(p, p.a, p.b.addr4, 3)
        cap = subprocess.Popen(
            p.b.ns_cmd(sys.executable, "-c", REPLAY, p.b.underlay4, str(p.b.port),
                       f"v{p.b.iface}"), stdout=subprocess.PIPE, text=True)
        try:
            assert cap.stdout is not None
            assert cap.stdout.readline().strip() == "ready"
            pings(p, p.a, p.b.addr4, 1)  # wireguard-go's reply is what gets replayed
            assert cap.stdout.readline().strip() == "sent"
            cap.wait(10)
        finally:
            cap.kill()
        time.sleep(0.3)
        pings(p, p.a, p.b.addr4, 3)  # still fine after: the endpoint did not move
        assert peer_endpoint(p.a) == f"{p.b.underlay4}:{p.b.port}"
        _sent, received, _ = express_counts(p.a)
        assert dropped_received(p.a) == 4, p.a.log_text()[-1500:]
        assert received >= 4


def peer_endpoint(side: Side) -> str:
    return side.wg("show", side.iface, "endpoints").split()[1]


EMPTY = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(5):
    s.sendto(b"", (sys.argv[1], int(sys.argv[2])))
"""


def test_empty_datagrams_are_dropped_and_cost_nothing() -> None:
    # Each empty datagram handed back once leaked a receive buffer (and raised),
    # until no buffer was left and the tunnel went deaf.
    with Pair("ours", "wireguard-go") as p:
        pings(p, p.a, p.b.addr4, 3)
        for _ in range(6):
            p.b.run(sys.executable, "-c", EMPTY, p.a.underlay4, str(p.a.port))
            r = p.b.run("ping", "-q", "-c", "20", "-i", "0.01", "-s", "8000", "-W", "1",
                        p.a.addr4, check=False)
            assert "20 received" in r.stdout, r.stdout + p.a.log_text()[-1500:]
        pings(p, p.a, p.b.addr4, 3)
        stop(p.a)
        assert "internal error" not in p.a.log_text()


def test_allowed_ips_changed_between_waits_route_at_once() -> None:
    with Pair("ours", "wireguard-go") as p:
        pings(p, p.a, p.b.addr4, 3)
        peer = p.a.wg("show", p.a.iface, "peers").strip()
        p.a.run("wg", "set", p.a.iface, "peer", peer, "allowed-ips", p.b.addr6 + "/128")
        r = p.ping(p.a, p.b.addr4, count=3, interval=0.05, wait=0.5)
        assert " 0 received" in r.stdout, r.stdout  # no route any more: dropped
        p.a.run("wg", "set", p.a.iface, "peer", peer, "allowed-ips",
                f"{p.b.addr4}/32,{p.b.addr6}/128")
        pings(p, p.a, p.b.addr4, 5)
        sent, _received, _ = express_counts(p.a)
        assert sent >= 5
