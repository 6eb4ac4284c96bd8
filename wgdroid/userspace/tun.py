"""The TUN device: `/dev/net/tun` with IFF_TUN|IFF_NO_PI, plus the ioctls around it.

Raw ioctl numbers come from <linux/if_tun.h> and <linux/sockios.h>; the
stdlib does not export them (reference §12).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import struct

TUNSETIFF = 0x400454CA
TUNGETIFF = 0x800454D2
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
SIOCGIFMTU = 0x8921
SIOCGIFINDEX = 0x8933

MAX_PACKET = 65535


class Tun:
    """An open TUN queue. Reads and writes whole IP packets, no packet-info header."""

    def __init__(self, name: str) -> None:
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
        try:
            ifr = struct.pack("16sH22x", name.encode(), IFF_TUN | IFF_NO_PI)
            res = fcntl.ioctl(fd, TUNSETIFF, ifr)
            os.set_blocking(fd, False)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        self.name = res[:16].rstrip(b"\0").decode()
        self.ifindex = if_index(self.name)

    def read_into(self, buf: memoryview) -> int:
        """One packet into buf; raises BlockingIOError when none is waiting."""
        return os.readv(self.fd, (buf,))

    def write(self, packet: bytes | memoryview) -> None:
        # The kernel refuses malformed packets (EINVAL) and a down link (EIO);
        # a data plane drops them like a lossy link instead of dying.
        with contextlib.suppress(OSError):
            os.write(self.fd, packet)

    def attached(self) -> bool:
        """False once the interface was deleted (`ip link delete`): TUNGETIFF fails."""
        try:
            fcntl.ioctl(self.fd, TUNGETIFF, bytes(40))
        except OSError:
            return False
        return True

    def mtu(self) -> int:
        return if_mtu(self.name)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _ifreq_ioctl(name: str, request: int) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16si20x", name.encode(), 0)
        res = fcntl.ioctl(s.fileno(), request, ifr)
    value: int = struct.unpack_from("i", res, 16)[0]
    return value


def if_mtu(name: str) -> int:
    return _ifreq_ioctl(name, SIOCGIFMTU)


def if_index(name: str) -> int:
    return _ifreq_ioctl(name, SIOCGIFINDEX)
