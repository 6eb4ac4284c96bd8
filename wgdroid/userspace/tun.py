"""The TUN device: `/dev/net/tun` with IFF_TUN|IFF_NO_PI, plus the ioctls around it.

With IFF_VNET_HDR every packet carries a virtio_net_hdr. With TUNSETOFFLOAD
as well (checksum offload, TSO4/TSO6, and USO4/USO6 where the kernel has them,
Linux >= 6.2), the kernel hands us TCP/UDP super-packets of up to 64 KiB with
the checksums left partial: one read instead of dozens, and the pipeline
segments them (kernels.py). Raw ioctl numbers come from <linux/if_tun.h> and
<linux/sockios.h>; the stdlib does not export them (docs/dataplane.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import struct
from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING

from wgdroid.userspace.gro import PLAIN_HDR, VNET_HDR_LEN, write_coalesced

if TYPE_CHECKING:
    from wgdroid.userspace.accel import Library

TUNSETIFF = 0x400454CA
TUNGETIFF = 0x800454D2
TUNSETOFFLOAD = 0x400454D0
TUN_F_CSUM = 0x01
TUN_F_TSO4 = 0x02
TUN_F_TSO6 = 0x04
TUN_F_USO4 = 0x20
TUN_F_USO6 = 0x40
OFFLOAD_TSO = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6
OFFLOAD_ALL = OFFLOAD_TSO | TUN_F_USO4 | TUN_F_USO6
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
SIOCGIFMTU = 0x8921
SIOCGIFINDEX = 0x8933

MAX_PACKET = 65535


class Tun:
    """An open TUN queue. Reads and writes whole IP packets, no packet-info header."""

    def __init__(self, name: str, vnet_hdr: bool = False, offload: bool = False) -> None:
        # With IFF_VNET_HDR but no TUNSETOFFLOAD the kernel still hands us plain,
        # checksummed packets (behind a 10-byte header), while we may write
        # coalesced GSO packets (gro.py): receive-side offload only.
        fd = _open_clone_device()
        flags = IFF_TUN | IFF_NO_PI | (IFF_VNET_HDR if vnet_hdr else 0)
        try:
            ifr = struct.pack("16sH22x", name.encode(), flags)
            res = fcntl.ioctl(fd, TUNSETIFF, ifr)
            os.set_blocking(fd, False)
            self.offload = _set_offload(fd) if vnet_hdr and offload else 0
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        self.vnet_hdr = vnet_hdr
        self.offset = VNET_HDR_LEN if vnet_hdr else 0  # where the IP packet starts in a read
        self.packets_written = 0
        self.writes = 0
        self.name = res[:16].rstrip(b"\0").decode()
        self.ifindex = if_index(self.name)

    def read_into(self, buf: memoryview) -> int:
        """One packet (with IFF_VNET_HDR: its header, then the packet) into buf;
        raises BlockingIOError when none is waiting."""
        return os.readv(self.fd, (buf,))

    def write_spans(self, buf: memoryview, spans: Sequence[tuple[int, int]],
                    lib: Library | None = None, address: int = 0) -> None:
        """Write the packets at buf[off:off + n] for each (off, n), in order. With the
        compiled library (and the buffer's address) one C call does it, coalescing
        as gro.py would, without the GIL; a lone packet (a ping, an ACK) goes through
        write_many's single-packet path."""
        if lib is not None and self.vnet_hdr and len(spans) > 2:  # else: no run to coalesce
            n = len(spans)
            offs = array("I", [o for o, _ in spans])
            lens = array("I", [m for _, m in spans])
            self.packets_written += n
            self.writes += lib.tun_write(self.fd, address, offs.buffer_info()[0],
                                         lens.buffer_info()[0], n)
            return
        self.write_many([buf[o : o + m] for o, m in spans])

    def write_many(self, packets: Sequence[bytes | memoryview]) -> None:
        """Write decrypted packets in order (coalesced per TCP flow with IFF_VNET_HDR)."""
        self.packets_written += len(packets)
        if self.vnet_hdr:
            if len(packets) == 1:  # nothing to coalesce (a ping, an ACK)
                self._writev((PLAIN_HDR, packets[0]))
                self.writes += 1
                return
            self.writes += write_coalesced(packets, self._writev)
            return
        self.writes += len(packets)
        for p in packets:
            # The kernel refuses malformed packets (EINVAL) and a down link (EIO);
            # a data plane drops them like a lossy link instead of dying.
            with contextlib.suppress(OSError):
                os.write(self.fd, p)

    def _writev(self, parts: Sequence[bytes | memoryview]) -> bool:
        try:
            os.writev(self.fd, parts)
        except OSError:
            return False
        return True

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


def _set_offload(fd: int) -> int:
    """Ask for TSO (and USO where the kernel knows it); the flags granted (0: none)."""
    for flags in (OFFLOAD_ALL, OFFLOAD_TSO):
        try:
            fcntl.ioctl(fd, TUNSETOFFLOAD, flags)
        except OSError:  # EINVAL: USO unknown to this kernel (< 6.2), or no offloads
            continue
        return flags
    return 0


def _open_clone_device() -> int:
    """/dev/net/tun; Android kernels name the node /dev/tun."""
    for path in ("/dev/net/tun", "/dev/tun"):
        try:
            return os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
    raise FileNotFoundError(2, "no TUN device (/dev/net/tun or /dev/tun)")


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
