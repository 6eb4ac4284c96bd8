"""UDP batch sends and receives (udp.py): GSO runs arrive as the same datagrams, in
order, on loopback; GRO batches split back into them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from wgdroid.userspace.udp import UdpBind, recv_batch


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
