"""UDP batch sends (udp.py): GSO runs arrive as the same datagrams, in order, on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from wgdroid.userspace.udp import UdpBind


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
            sent, failed = bind.send_batch(data, rx.getsockname())
            assert (sent, failed) == (sum(sizes), 0)
            assert _receive_all(rx, len(data)) == data
        finally:
            bind.close()


SMALL_MTU = r"""
import os, socket
from wgdroid.userspace.udp import UdpBind
bind = UdpBind()
bind.open(0)
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.bind(("127.0.0.1", 0))
rx.settimeout(2)
data = [os.urandom(1452) for _ in range(5)]
sent, failed = bind.send_batch(data, rx.getsockname())
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
