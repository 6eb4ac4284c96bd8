"""Receive-side TCP coalescing for a TUN opened with IFF_VNET_HDR
(docs/dataplane.md, "Linux fast-path facts").

Decrypted packets of one batch that continue the same TCP flow are written to
the TUN as ONE GSO super-packet (virtio_net_hdr gso_type TCPV4/TCPV6,
NEEDS_CSUM with the pseudo-header sum), so the kernel's TCP stack handles one
packet instead of dozens. The rules follow Linux tcp_gro_receive / wireguard-go
handleGRO: same addresses, ports, ack, header lengths and option bytes; only
ACK/PSH flags; contiguous sequence numbers; equal segment sizes except a shorter
last one; IPv4 without options or fragments. Anything else is written as is
with an all-zero header. Payload checksums are not recomputed: the packets were
authenticated by the AEAD, and NEEDS_CSUM lets the kernel treat them as valid.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

VNET_HDR_LEN = 10
_VNET = struct.Struct("<BBHHHH")  # flags, gso_type, hdr_len, gso_size, csum_start, csum_offset
NEEDS_CSUM = 1
GSO_TCPV4 = 1
GSO_TCPV6 = 4
PLAIN_HDR = bytes(VNET_HDR_LEN)
MAX_SEGMENTS = 64
MAX_TOTAL = 65535
_ACK, _PSH = 0x10, 0x08

Writer = Callable[[Sequence[bytes | memoryview]], bool]  # False: the kernel refused it


def _csum_fold(total: int) -> int:
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def _sum16(data: bytes) -> int:
    return sum(struct.unpack(f"!{len(data) // 2}H", data))


_V4 = struct.Struct("!BBHHHBB")  # version/IHL, TOS, total length, id, frag, TTL, protocol
_V6 = struct.Struct("!IHBB")  # version/class/flow label, payload length, next header, hops
_TCP = struct.Struct("!IIIBB")  # ports, seq, ack, data offset, flags


class _Seg:
    __slots__ = ("flags", "hl", "match", "payload", "pkt", "seq", "v6")

    def __init__(self, pkt: bytes | memoryview, v6: bool, hl: int, match: tuple[object, ...],
                 seq: int, flags: int) -> None:
        self.pkt = pkt
        self.v6 = v6
        self.hl = hl  # IP + TCP header length
        self.match = match  # everything that must be equal to merge
        self.seq = seq
        self.flags = flags
        self.payload = len(pkt) - hl


def _parse(pkt: bytes | memoryview) -> _Seg | None:
    """A TCP segment that may be coalesced, or None. (Hot: one call per packet.)"""
    n = len(pkt)
    if n < 40:
        return None
    ver = pkt[0]
    if ver == 0x45:  # IPv4 without options
        _vi, tos, total, _id, frag, ttl, proto = _V4.unpack_from(pkt)
        if proto != 6 or frag & 0x3FFF or total != n:  # not TCP, or a fragment
            return None
        ip_hl = 20
        addrs = bytes(pkt[12:20])
        same: int = tos << 8 | ttl
    elif ver >> 4 == 6:
        if n < 60:
            return None
        vcf, plen, nh, hops = _V6.unpack_from(pkt)
        if nh != 6 or plen + 40 != n:  # extension headers are not coalesced
            return None
        ip_hl = 40
        addrs = bytes(pkt[8:40])
        same = vcf << 8 | hops
    else:
        return None
    ports, seq, ack, doff, flags = _TCP.unpack_from(pkt, ip_hl)
    hl = ip_hl + (doff >> 4) * 4
    if hl < ip_hl + 20 or hl >= n or flags & ~(_ACK | _PSH) or not flags & _ACK:
        return None
    opts = bytes(pkt[ip_hl + 20 : hl]) if hl > ip_hl + 20 else b""
    return _Seg(pkt, ip_hl == 40, hl, (addrs, ports, ack, doff, same, opts), seq, flags)


def write_coalesced(packets: Sequence[bytes | memoryview], write: Writer) -> int:
    """Write `packets` (in order) through `write` (an os.writev on the TUN fd);
    returns the number of writes."""
    writes = 0
    group: list[_Seg] = []
    total = 0

    def flush() -> None:
        nonlocal writes, total
        if not group:
            return
        if len(group) == 1:
            write((PLAIN_HDR, group[0].pkt))
        elif not write(_super_packet(group, total)):
            # Never lose a run to a refused GSO packet: fall back to the originals.
            for seg in group:
                write((PLAIN_HDR, seg.pkt))
            writes += len(group)
        writes += 1
        group.clear()
        total = 0

    for pkt in packets:
        seg = _parse(pkt)
        if seg is None:
            flush()
            write((PLAIN_HDR, pkt))
            writes += 1
            continue
        if group:
            first, last = group[0], group[-1]
            if (
                seg.match != first.match
                or seg.seq != (last.seq + last.payload) & 0xFFFFFFFF
                or seg.payload > first.payload
                or last.payload != first.payload  # a short segment already ended it
                or last.flags & _PSH
                or len(group) >= MAX_SEGMENTS
                or total + seg.payload > MAX_TOTAL
            ):
                flush()
        if not group:
            total = seg.hl
        group.append(seg)
        total += seg.payload
    flush()
    return writes


def _super_packet(group: list[_Seg], total: int) -> list[bytes | memoryview]:
    first = group[0]
    hl = first.hl
    hdr = bytearray(first.pkt[:hl])
    ip_hl = 40 if first.v6 else 20
    tcp_len = total - ip_hl
    hdr[ip_hl + 13] |= group[-1].flags & _PSH
    if first.v6:
        hdr[4:6] = tcp_len.to_bytes(2, "big")
        pseudo = _sum16(bytes(hdr[8:40])) + tcp_len + 6
        gso_type = GSO_TCPV6
    else:
        hdr[2:4] = total.to_bytes(2, "big")
        hdr[10:12] = b"\0\0"
        hdr[10:12] = (~_csum_fold(_sum16(bytes(hdr[:20]))) & 0xFFFF).to_bytes(2, "big")
        pseudo = _sum16(bytes(hdr[12:20])) + 6 + tcp_len
        gso_type = GSO_TCPV4
    # NEEDS_CSUM: the checksum field holds the (uncomplemented) pseudo-header sum.
    hdr[ip_hl + 16 : ip_hl + 18] = _csum_fold(pseudo).to_bytes(2, "big")
    vnet = _VNET.pack(NEEDS_CSUM, gso_type, hl, first.payload, ip_hl, 16)
    parts: list[bytes | memoryview] = [vnet, bytes(hdr)]
    parts.extend(memoryview(s.pkt)[hl:] for s in group)
    return parts
