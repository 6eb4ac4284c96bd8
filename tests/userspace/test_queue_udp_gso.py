"""UDP batch sends and receives (udp.py): GSO runs arrive as the same datagrams, in
order, on loopback; GRO batches split back into them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from wgdroid.userspace.accel import address, load
from wgdroid.userspace.udp import BatchReceiver, UdpBind, recv_batch, sockaddr_endpoint

LIB = load()


def _receive_all(rx: socket.socket, n: int) -> list[bytes]:
    rx.settimeout(2)
    return [rx.recv(65535) for _ in range(n)]


def test_runs_of_equal_sizes_and_a_short_tail_arrive_unchanged() -> None:
    bind = UdpBind()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        try:
            bind.open(0)
            sizes = [1452] * 50 + [700] + [1452] * 3 + [32, 32, 200]
            data = [os.urandom(n) for n in sizes]
            sent, failed = bind.send_run(memoryview(b"".join(data)), sizes, rx.getsockname())
            assert (sent, failed) == (sum(sizes), 0)
            assert _receive_all(rx, len(data)) == data
        finally:
            bind.close()


SMALL_MTU = r"""
import os, socket
from wgdroid.userspace.udp import UdpBind, recv_batch
bind = UdpBind()
bind.open(0)
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.bind(("127.0.0.1", 0))
rx.settimeout(2)
data = [os.urandom(1452) for _ in range(5)]
sent, failed = bind.send_run(memoryview(b"".join(data)), [1452] * 5, rx.getsockname())
got = [rx.recv(65535) for _ in data]
print(sent, failed, got == data, bind.gso)
"""


@pytest.mark.sim
def test_segments_above_the_route_mtu_fall_back_to_plain_sends() -> None:
    """GSO refuses segments larger than the MTU (EINVAL); the batch is then sent
    datagram by datagram, fragmented by the kernel as without GSO."""
    ns = f"wgdgso{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        for cmd in (["ip", "link", "set", "lo", "mtu", "1400"], ["ip", "link", "set", "lo", "up"]):
            subprocess.run(["ip", "netns", "exec", ns, *cmd], check=True)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        r = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", SMALL_MTU],
                           capture_output=True, text=True, timeout=30, env=env, check=True)
        assert r.stdout.split() == [str(5 * 1452), "0", "True", "True"]  # GSO stays on
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def test_gro_receives_split_back_into_the_datagrams_sent() -> None:
    """Two UdpBinds on loopback: what one sends as GSO runs, the other reads with
    recv_batch (UDP GRO where the kernel coalesces) and splits by the segment size
    the kernel reports: the same datagrams, in order."""
    tx, rx = UdpBind(), UdpBind()
    try:
        tx.open(0)
        rx.open(0)
        assert rx.v4 is not None
        sizes = [1452] * 40 + [300] + [1452] * 20 + [64]
        data = [os.urandom(n) for n in sizes]
        sent, failed = tx.send_run(memoryview(b"".join(data)), sizes, ("127.0.0.1", rx.port))
        assert (sent, failed) == (sum(sizes), 0)
        buf = memoryview(bytearray(1 << 17))
        got: list[bytes] = []
        reads = 0
        rx.v4.settimeout(2)
        while len(got) < len(data):
            n, seg, src = recv_batch(rx.v4, buf)
            assert src == ("127.0.0.1", tx.port)
            got += [bytes(buf[o : min(o + seg, n)]) for o in range(0, n, seg)]
            reads += 1
        assert got == data
        if rx.gro:  # the kernel kept the GSO runs whole: far fewer reads than datagrams
            assert reads < len(data) // 4, reads
    finally:
        tx.close()
        rx.close()


def _transport(index: int, counter: int, n: int) -> bytes:
    """Something shaped like a transport message (type 4, receiver, counter)."""
    return (4).to_bytes(4, "little") + index.to_bytes(4, "little") + counter.to_bytes(
        8, "little") + os.urandom(n - 16)


@pytest.mark.skipif(LIB is None, reason="the compiled library is not built")
@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6])
def test_the_compiled_receive_loop_reads_many_and_marks_what_continues_a_run(
        family: socket.AddressFamily) -> None:
    """BatchReceiver: lone datagrams (a sender without GSO) and a GRO batch in one
    call, each at an aligned offset with its size, segment size and source;
    `joins` only where a transport message continues the one before it from the
    same source under the same receiver index; it stops where `need` no longer
    fits, and the next call goes on."""
    assert LIB is not None
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    rx, tx, other = UdpBind(), UdpBind(), UdpBind()
    try:
        for b in (rx, tx, other):
            b.open(0)
        sock = rx.v6 if family == socket.AF_INET6 else rx.v4
        assert sock is not None
        lone = [_transport(7, c, 200) for c in range(5)]
        plan = [(tx, lone[0]), (tx, lone[1]), (tx, lone[2]), (other, lone[3]), (tx, lone[4]),
                (tx, _transport(8, 9, 100)), (tx, b"\x01" + bytes(147))]
        for sender, d in plan:
            assert sender.send(d, (host, rx.port))
        gso = [_transport(7, 10 + i, 1000) for i in range(6)]
        assert tx.send_run(memoryview(b"".join(gso)), [1000] * 6, (host, rx.port))[1] == 0
        rb = BatchReceiver(LIB, 64)
        arena = bytearray(1 << 16)
        addr = address(arena)
        expect = [d for _, d in plan]
        got: list[bytes] = []
        srcs = []
        joins = []
        k, end, err = rb.recv(sock, addr, 16, len(arena), 4096, 64)
        assert err == 0 and k >= len(plan)
        for i in range(k):
            off, n, seg = rb.offs[i], rb.lens[i], rb.segs[i]
            assert off % 16 == 0 and off >= 16
            got += [bytes(arena[o : o + min(seg, off + n - o)]) for o in range(off, off + n, seg)]
            srcs.append(rb.source(i))
            joins.append(rb.joins[i])
        assert end >= rb.offs[k - 1] + rb.lens[k - 1]
        assert got == expect + gso
        port = {tx: tx.port, other: other.port}
        assert srcs[: len(plan)] == [(host, port[s]) for s, _ in plan]
        # 1 and 2 continue 0; 3 comes from elsewhere; 4 follows a foreign one; 5 has
        # another index; 6 is no transport message.
        assert joins[: len(plan)] == [0, 1, 1, 0, 0, 0, 0]
        assert [rb.ctrs[i] for i in (1, 2)] == [1, 2]
        # Nothing waits now: no read, no error.
        assert rb.recv(sock, addr, end, len(arena), 4096, 64)[:1] == (0,)
        # Room for exactly one read of `need` bytes: one read, then it stops.
        for d in lone[:3]:
            tx.send(d, (host, rx.port))
        k, end, err = rb.recv(sock, addr, 0, 4200, 4096, 64)
        assert (k, err) == (1, 0) and bytes(arena[:200]) == lone[0]
        assert rb.recv(sock, addr, 0, len(arena), 4096, 64)[0] == 2
    finally:
        for b in (rx, tx, other):
            b.close()


@pytest.mark.skipif(LIB is None, reason="the compiled library is not built")
@pytest.mark.parametrize("junk", ["empty", "truncated"])
def test_the_compiled_receive_loop_counts_dropped_datagrams_against_its_bound(
        junk: str) -> None:
    """A datagram that is dropped (empty, or larger than the room left) still costs
    one read of `most`: a flood of them cannot keep the event loop in one call until
    the socket is empty. Observable: what is left to read afterwards."""
    assert LIB is not None
    rx = UdpBind()
    try:
        rx.open(0)
        sock = rx.v4
        assert sock is not None
        room = 512
        bad = b"" if junk == "empty" else os.urandom(room + 1)
        real = _transport(7, 0, 200)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            for _ in range(100):
                tx.sendto(bad, ("127.0.0.1", rx.port))
            tx.sendto(real, ("127.0.0.1", rx.port))
        rb = BatchReceiver(LIB, 64)
        arena = bytearray(1 << 16)
        k, end, err = rb.recv(sock, address(arena), 0, room, room, 4)
        assert (k, end, err) == (0, 0, 0)
        left = []
        sock.setblocking(False)
        while True:
            try:
                left.append(sock.recv(65535))
            except BlockingIOError:
                break
        assert left == [bad] * 96 + [real]
    finally:
        rx.close()


def test_sockaddr_endpoints_are_spelled_as_the_socket_module_does() -> None:
    import struct

    v4 = struct.pack("=H", socket.AF_INET) + struct.pack("!H", 51820) + socket.inet_aton(
        "10.1.2.3") + bytes(20)
    assert sockaddr_endpoint(v4) == ("10.1.2.3", 51820)
    v6 = (struct.pack("=H", socket.AF_INET6) + struct.pack("!H", 443) + bytes(4)
          + socket.inet_pton(socket.AF_INET6, "fd00::1") + struct.pack("=I", 0))
    assert sockaddr_endpoint(v6) == ("fd00::1", 443)
    lo = socket.if_nametoindex("lo")
    ll = v6[:8] + socket.inet_pton(socket.AF_INET6, "fe80::1") + struct.pack("=I", lo)
    assert sockaddr_endpoint(ll) == ("fe80::1%lo", 443)
