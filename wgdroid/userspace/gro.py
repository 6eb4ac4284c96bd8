"""Receive-side TCP coalescing for a TUN opened with IFF_VNET_HDR (reference §10.2, §12).

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

Writer = Callable[[Sequence[bytes | memoryview]], object]


def _csum_fold(total: int) -> int:
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def _sum16(data: bytes) -> int:
    return sum(struct.unpack(f"!{len(data) // 2}H", data))


class _Seg:
    __slots__ = ("ack_opts", "flags", "hl", "key", "payload", "pkt", "seq", "v6")

    def __init__(self, pkt: bytes, v6: bool, hl: int, key: bytes, seq: int, flags: int,
                 ack_opts: bytes) -> None:
        self.pkt = pkt
        self.v6 = v6
        self.hl = hl  # IP + TCP header length
        self.key = key
        self.seq = seq
        self.flags = flags
        self.ack_opts = ack_opts
        self.payload = len(pkt) - hl


def _parse(pkt: bytes) -> _Seg | None:
    """A TCP segment that may be coalesced, or None."""
    n = len(pkt)
    if n < 40:
        return None
    ver = pkt[0] >> 4
    if ver == 4:
        if pkt[0] != 0x45 or pkt[9] != 6 or (pkt[6] & 0x3F) or pkt[7]:  # options/frags/not TCP
            return None
        ip_hl = 20
        key = pkt[12:20]
        same = pkt[1:2] + pkt[8:9]  # TOS/ECN and TTL must match to merge
        if int.from_bytes(pkt[2:4], "big") != n:
            return None
    elif ver == 6:
        if n < 60 or pkt[6] != 6:  # extension headers are not coalesced
            return None
        ip_hl = 40
        key = pkt[8:40]
        same = pkt[0:4] + pkt[7:8]  # traffic class, flow label and hop limit
        if int.from_bytes(pkt[4:6], "big") + 40 != n:
            return None
    else:
        return None
    doff = (pkt[ip_hl + 12] >> 4) * 4
    flags = pkt[ip_hl + 13]
    hl = ip_hl + doff
    if doff < 20 or hl >= n or flags & ~(_ACK | _PSH) or not flags & _ACK:
        return None
    seq = int.from_bytes(pkt[ip_hl + 4 : ip_hl + 8], "big")
    # IP fields, ack, data offset and option bytes must match for coalescing
    ack_opts = same + pkt[ip_hl + 8 : ip_hl + 13] + pkt[ip_hl + 20 : hl]
    return _Seg(pkt, ver == 6, hl, key + pkt[ip_hl : ip_hl + 4], seq, flags, ack_opts)


def write_coalesced(packets: list[bytes], write: Writer) -> int:
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
        else:
            write(_super_packet(group, total))
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
                seg.key != first.key
                or seg.ack_opts != first.ack_opts
                or seg.hl != first.hl
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
