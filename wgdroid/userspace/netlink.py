"""Link events from rtnetlink: MTU changes (padding depends on them) and removal.

`wg-quick down` is `ip link delete`; the daemon must notice and exit.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

RTMGRP_LINK = 1
RTM_NEWLINK = 16
RTM_DELLINK = 17
IFLA_IFNAME = 3
IFLA_MTU = 4
IFF_UP = 1
_NLMSG_HDR = struct.Struct("=IHHII")
_IFINFO = struct.Struct("=BxHiII")
_RTA = struct.Struct("=HH")


@dataclass(frozen=True)
class LinkEvent:
    ifindex: int
    removed: bool
    mtu: int | None
    up: bool


def parse_link_events(data: bytes) -> list[LinkEvent]:
    """Decode RTM_NEWLINK/RTM_DELLINK messages; everything else is skipped."""
    events = []
    off = 0
    while off + _NLMSG_HDR.size <= len(data):
        length, mtype, _flags, _seq, _pid = _NLMSG_HDR.unpack_from(data, off)
        if length < _NLMSG_HDR.size or off + length > len(data):
            break
        if mtype in (RTM_NEWLINK, RTM_DELLINK):
            body = off + _NLMSG_HDR.size
            _fam, _type, index, ifflags, _change = _IFINFO.unpack_from(data, body)
            mtu = None
            a = body + _IFINFO.size
            end = off + length
            while a + _RTA.size <= end:
                alen, atype = _RTA.unpack_from(data, a)
                if alen < _RTA.size:
                    break
                if atype == IFLA_MTU and alen >= 8:
                    mtu = struct.unpack_from("=I", data, a + 4)[0]
                a += (alen + 3) & ~3
            events.append(LinkEvent(index, mtype == RTM_DELLINK, mtu, bool(ifflags & IFF_UP)))
        off += (length + 3) & ~3
    return events


class LinkMonitor:
    """A non-blocking rtnetlink socket subscribed to link changes."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                                  socket.NETLINK_ROUTE)
        self.sock.bind((0, RTMGRP_LINK))
        self.sock.setblocking(False)

    def fileno(self) -> int:
        return self.sock.fileno()

    def read(self) -> list[LinkEvent]:
        events: list[LinkEvent] = []
        while True:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                return events
            except OSError:  # ENOBUFS: events were lost; callers re-check the link
                return events
            events.extend(parse_link_events(data))

    def close(self) -> None:
        self.sock.close()
