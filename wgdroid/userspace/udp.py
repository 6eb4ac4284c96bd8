"""The UDP side: one IPv4 and one IPv6 socket on the same port, like wireguard-go.

Binding port 0 picks the IPv4 port first and reuses it for IPv6 (retrying a few
times if that port is taken for IPv6). fwmark is SO_MARK on both sockets.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Sequence

SO_MARK = 36
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33
SOCKET_BUFFER = 7 << 20  # wireguard-go's 7 MiB, forced when we are root
SOL_UDP = 17
UDP_SEGMENT = 103
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

    def send_batch(self, datagrams: Sequence[bytes | memoryview], ep: Endpoint) -> tuple[int, int]:
        """Send in order; runs of equal-sized datagrams go out as one UDP GSO sendmsg.

        Returns (bytes sent, datagrams that failed).
        """
        s = self.v6 if ":" in ep[0] else self.v4
        if s is None:
            return 0, len(datagrams)
        sent = failed = 0
        i, n = 0, len(datagrams)
        while i < n:
            size = len(datagrams[i])
            j = i + 1
            total = size
            if self.gso:
                # Equal sizes; only the last segment of a run may be shorter.
                while j < n and j - i < GSO_MAX_SEGMENTS and total + size <= GSO_MAX_BYTES:
                    d = len(datagrams[j])
                    if d > size:
                        break
                    total += d
                    j += 1
                    if d < size:
                        break
            try:
                if j - i == 1:
                    s.sendto(datagrams[i], ep)
                else:
                    # Scatter-gather: one iovec per datagram, no joined copy.
                    s.sendmsg(datagrams[i:j],
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
                    for dg in datagrams[i:j]:
                        try:
                            s.sendto(dg, ep)
                            sent += len(dg)
                        except OSError:
                            failed += 1
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


def normalise(addr: tuple[str, int] | tuple[str, int, int, int]) -> Endpoint:
    """recvfrom's address as (host, port); v4-mapped IPv6 is not used (V6ONLY)."""
    return (addr[0], addr[1])
