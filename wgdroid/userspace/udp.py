"""The UDP side: one IPv4 and one IPv6 socket on the same port, like wireguard-go.

Binding port 0 picks the IPv4 port first and reuses it for IPv6 (retrying a few
times if that port is taken for IPv6). fwmark is SO_MARK on both sockets.
Sends use UDP GSO (one sendmsg per run of equal-sized datagrams); receives use
UDP GRO where the kernel has it (one recvmsg per run of datagrams from one
source, split by the segment size the kernel reports), enabled at socket
creation: toggling it later can strand a coalesced packet.
"""

from __future__ import annotations

import errno
import socket
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wgdroid.userspace.accel import Library

SO_MARK = 36
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33
SOCKET_BUFFER = 7 << 20  # wireguard-go's 7 MiB, forced when we are root
SOL_UDP = 17
UDP_SEGMENT = 103
UDP_GRO = 104
GRO_ANCILLARY = socket.CMSG_SPACE(4)
MSG_TRUNC = int(socket.MSG_TRUNC)  # a plain int: the enum's & costs more than the read
GSO_MAX_SEGMENTS = 64
GSO_MAX_BYTES = 65507 - 40  # conservative for IPv6 too

Endpoint = tuple[str, int]


class UdpBind:
    """The device's listening sockets. `port` is 0 until opened."""

    def __init__(self) -> None:
        self.v4: socket.socket | None = None
        self.v6: socket.socket | None = None
        self.port = 0
        self.fwmark = 0
        self.gso = True  # UDP_SEGMENT; switched off for good on the first EIO
        self.gro = False  # UDP_GRO accepted by the kernel (set when bound)

    def sockets(self) -> list[socket.socket]:
        return [s for s in (self.v4, self.v6) if s is not None]

    def open(self, port: int) -> int:
        """(Re)bind both families to `port` (0 = any); raises OSError(EADDRINUSE)."""
        last: OSError | None = None
        for _ in range(100 if port == 0 else 1):
            try:
                v4 = _make(socket.AF_INET, port)
            except OSError as e:
                last = e
                continue
            actual: int = v4.getsockname()[1]
            try:
                v6: socket.socket | None = _make(socket.AF_INET6, actual)
            except OSError as e:
                if e.errno == errno.EAFNOSUPPORT or e.errno == errno.EADDRNOTAVAIL:
                    v6 = None  # no IPv6 in this namespace: serve IPv4 only
                else:
                    v4.close()
                    last = e
                    continue
            self.close()
            self.v4, self.v6, self.port = v4, v6, actual
            self.gro = all(_enable_gro(s) for s in self.sockets())
            if self.fwmark:
                self.set_fwmark(self.fwmark)
            return actual
        assert last is not None
        raise last

    def set_fwmark(self, mark: int) -> None:
        self.fwmark = mark
        for s in self.sockets():
            s.setsockopt(socket.SOL_SOCKET, SO_MARK, mark)

    def send(self, data: bytes | bytearray | memoryview, ep: Endpoint) -> bool:
        s = self.v6 if ":" in ep[0] else self.v4
        if s is None:
            return False
        try:
            s.sendto(data, ep)
        except OSError:  # unreachable, no route, buffer full: UDP is lossy anyway
            return False
        return True

    def send_run(self, buf: memoryview, sizes: list[int], ep: Endpoint) -> tuple[int, int]:
        """Send datagrams laid back to back in `buf` (sizes in order): each run of
        equal sizes (the last may be shorter) is one UDP GSO sendmsg of one
        contiguous iovec. Returns (bytes sent, datagrams that failed)."""
        s = self.v6 if ":" in ep[0] else self.v4
        if s is None:
            return 0, len(sizes)
        sent = failed = 0
        i, n, pos = 0, len(sizes), 0
        while i < n:
            size = sizes[i]
            j, total = i + 1, size
            if self.gso:
                while j < n and j - i < GSO_MAX_SEGMENTS and total + size <= GSO_MAX_BYTES:
                    d = sizes[j]
                    if d > size:
                        break
                    total += d
                    j += 1
                    if d < size:
                        break
            try:
                if j - i == 1:
                    s.sendto(buf[pos : pos + size], ep)
                else:
                    s.sendmsg([buf[pos : pos + total]],
                              [(SOL_UDP, UDP_SEGMENT, size.to_bytes(2, "little"))], 0, ep)
                sent += total
            except OSError as e:
                if j - i == 1:
                    failed += 1
                elif e.errno == errno.EIO:
                    self.gso = False  # no GSO on this device: one by one from now on
                    continue
                else:
                    # EINVAL/EMSGSIZE: segments larger than this route's MTU; plain
                    # sends let the kernel fragment them as it would without GSO.
                    p = pos
                    for d in sizes[i:j]:
                        try:
                            s.sendto(buf[p : p + d], ep)
                            sent += d
                        except OSError:
                            failed += 1
                        p += d
            pos += total
            i = j
        return sent, failed

    def close(self) -> None:
        for s in self.sockets():
            s.close()
        self.v4 = self.v6 = None
        self.port = 0


def _make(family: socket.AddressFamily, port: int) -> socket.socket:
    s = socket.socket(family, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
    try:
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        for opt, fallback in ((SO_RCVBUFFORCE, socket.SO_RCVBUF),
                              (SO_SNDBUFFORCE, socket.SO_SNDBUF)):
            try:
                s.setsockopt(socket.SOL_SOCKET, opt, SOCKET_BUFFER)
            except OSError:
                s.setsockopt(socket.SOL_SOCKET, fallback, SOCKET_BUFFER)
        s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port))
    except BaseException:
        s.close()
        raise
    return s


def _enable_gro(s: socket.socket) -> bool:
    try:
        s.setsockopt(SOL_UDP, UDP_GRO, 1)
    except OSError:  # ENOPROTOOPT: a kernel without UDP GRO (< 5.0)
        return False
    return True


def recv_batch(s: socket.socket, buf: memoryview) -> tuple[int, int, Endpoint]:
    """One receive into buf: (bytes, segment size, source). With UDP GRO the bytes
    are several datagrams of `segment size` from one source (the last may be
    shorter); otherwise one datagram (segment size = bytes). Raises
    BlockingIOError when nothing is waiting."""
    n, anc, flags, addr = s.recvmsg_into((buf,), GRO_ANCILLARY)
    seg = n
    for level, kind, data in anc:
        if level == SOL_UDP and kind == UDP_GRO and len(data) >= 4:
            seg = int.from_bytes(data[:4], sys.byteorder) or n
    if flags & MSG_TRUNC:
        return 0, 0, (addr[0], addr[1])
    return n, seg, (addr[0], addr[1])


def normalise(addr: tuple[str, int] | tuple[str, int, int, int]) -> Endpoint:
    """recvfrom's address as (host, port); v4-mapped IPv6 is not used (V6ONLY)."""
    return (addr[0], addr[1])


class BatchReceiver:
    """Many UDP reads per call through the compiled library (wg_udp_recv): one
    recvmsg per datagram or GRO batch as recv_batch, looped in C. After `recv`,
    read i is at offs[i] (lens[i] bytes, GRO segment size segs[i]) from
    `source(i)`; joins[i] says it is one transport message continuing read
    i - 1's (same source, same receiver index), with counter ctrs[i]."""

    def __init__(self, lib: Library, reads: int) -> None:
        from array import array

        self._lib = lib
        self.max = reads
        self.offs = array("I", bytes(4 * reads))
        self.lens = array("I", bytes(4 * reads))
        self.segs = array("I", bytes(4 * reads))
        self.joins = bytearray(reads)
        self.ctrs = array("Q", bytes(8 * reads))
        self._srcs = bytearray(28 * reads)
        self._end = array("Q", [0])
        self._err = array("i", [0])
        self._sources: dict[bytes, Endpoint] = {}
        import ctypes

        def addr(a: object) -> int:
            return ctypes.addressof(ctypes.c_char.from_buffer(a))  # type: ignore[arg-type]

        self._args = [addr(a) for a in (self.offs, self.lens, self.segs, self._srcs,
                                          self.joins, self.ctrs, self._end, self._err)]
        self._srcview = memoryview(self._srcs)

    def recv(self, s: socket.socket, address: int, pos: int, cap: int, need: int,
             most: int) -> tuple[int, int, int]:
        """Reads into the buffer at `address` (cap bytes) from pos on: (how many,
        the position after them, the errno that stopped them or 0)."""
        k = self._lib.udp_recv(s.fileno(), address, pos, cap, need, min(most, self.max),
                               *self._args)
        return k, self._end[0], self._err[0]

    def source(self, i: int) -> Endpoint:
        raw = bytes(self._srcview[28 * i : 28 * i + 28])
        ep = self._sources.get(raw)
        if ep is None:
            if len(self._sources) >= 256:
                self._sources.clear()
            ep = self._sources[raw] = sockaddr_endpoint(raw)
        return ep


def endpoint_sockaddr(ep: Endpoint) -> bytes | None:
    """The struct sockaddr_in / sockaddr_in6 of an endpoint (sockaddr_endpoint's
    inverse), or None if its host is not an address."""
    host, port = ep
    try:
        if ":" not in host:
            return (socket.AF_INET.to_bytes(2, sys.byteorder) + port.to_bytes(2, "big")
                    + socket.inet_pton(socket.AF_INET, host) + bytes(8))
        addr, _, scope = host.partition("%")
        sid = (int(scope) if scope.isdigit() else socket.if_nametoindex(scope)) if scope else 0
        return (socket.AF_INET6.to_bytes(2, sys.byteorder) + port.to_bytes(2, "big") + bytes(4)
                + socket.inet_pton(socket.AF_INET6, addr) + sid.to_bytes(4, sys.byteorder))
    except (OSError, ValueError, OverflowError):
        return None


def sockaddr_endpoint(raw: bytes) -> Endpoint:
    """(host, port) of a struct sockaddr_in / sockaddr_in6 as the kernel wrote it,
    spelled as the socket module spells recvmsg's source (a link-local scope as
    %ifname)."""
    family = int.from_bytes(raw[:2], sys.byteorder)
    port = int.from_bytes(raw[2:4], "big")
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, raw[4:8]), port
    host = socket.inet_ntop(socket.AF_INET6, raw[8:24])
    scope = int.from_bytes(raw[24:28], sys.byteorder)
    if scope:
        try:
            host += "%" + socket.if_indextoname(scope)
        except OSError:
            host += f"%{scope}"
    return host, port
