"""Receive-side TCP coalescing for the TUN (gro.py): a pure unit, checked by re-segmenting."""

from __future__ import annotations

import struct
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from wgdroid.userspace.gro import GSO_TCPV4, GSO_TCPV6, NEEDS_CSUM, VNET_HDR_LEN, write_coalesced


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def tcp4(src: int, sport: int, seq: int, payload: bytes, flags: int = 0x10, ack: int = 7,
         opts: bytes = b"") -> bytes:
    doff = (20 + len(opts)) // 4
    tcp = struct.pack("!HHIIBBHHH", sport, 80, seq & 0xFFFFFFFF, ack, doff << 4, flags, 500, 0,
                      0) + opts
    total = 20 + len(tcp) + len(payload)
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 1, 0x4000, 64, 6, 0,
                               bytes([10, 0, 0, src]), bytes([10, 0, 0, 9])))
    ip[10:12] = (~_csum(bytes(ip)) & 0xFFFF).to_bytes(2, "big")
    return bytes(ip) + tcp + payload


def tcp6(sport: int, seq: int, payload: bytes, flags: int = 0x10) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", sport, 80, seq & 0xFFFFFFFF, 7, 5 << 4, flags, 500, 0, 0)
    ip = struct.pack("!IHBB16s16s", 6 << 28, len(tcp) + len(payload), 6, 64,
                     b"\xfd" + bytes(14) + b"\x01", b"\xfd" + bytes(14) + b"\x02")
    return ip + tcp + payload


def resegment(writes: list[bytes]) -> list[bytes]:
    """What the kernel does with our writes: split GSO packets back into segments."""
    out = []
    for w in writes:
        flags, gso_type, hdr_len, gso_size, cstart, coff = struct.unpack("<BBHHHH", w[:10])
        pkt = w[VNET_HDR_LEN:]
        if gso_type == 0:
            assert flags == 0
            out.append(pkt)
            continue
        assert flags == NEEDS_CSUM
        v6 = gso_type == GSO_TCPV6
        assert gso_type in (GSO_TCPV4, GSO_TCPV6)
        ip_hl = 40 if v6 else 20
        assert (cstart, coff) == (ip_hl, 16)
        if v6:
            assert int.from_bytes(pkt[4:6], "big") + 40 == len(pkt)
        else:
            assert int.from_bytes(pkt[2:4], "big") == len(pkt)
            assert _csum(pkt[:20]) == 0xFFFF  # a valid IPv4 header checksum
        hdr, payload = pkt[:hdr_len], pkt[hdr_len:]
        seq = int.from_bytes(hdr[ip_hl + 4 : ip_hl + 8], "big")
        for off in range(0, len(payload), gso_size):
            chunk = payload[off : off + gso_size]
            h = bytearray(hdr)
            h[ip_hl + 4 : ip_hl + 8] = ((seq + off) & 0xFFFFFFFF).to_bytes(4, "big")
            out.append((bytes(h), chunk))  # type: ignore[arg-type]
    return out


def key_of(pkt: bytes | tuple[bytes, bytes]) -> tuple[bytes, int, bytes]:
    """(flow+ack, seq, payload) of an original segment or a re-segmented piece."""
    if isinstance(pkt, tuple):
        hdr, payload = pkt
        full = hdr
    else:
        full = pkt
        payload = b""
    ip_hl = 40 if full[0] >> 4 == 6 else 20
    doff = (full[ip_hl + 12] >> 4) * 4
    if not isinstance(pkt, tuple):
        payload = pkt[ip_hl + doff :]
    flow = (full[8:40] if ip_hl == 40 else full[12:20]) + full[ip_hl : ip_hl + 4]
    return flow + full[ip_hl + 8 : ip_hl + 12], int.from_bytes(full[ip_hl + 4 : ip_hl + 8],
                                                                 "big"), payload


def run(packets: list[bytes]) -> tuple[list[bytes], int]:
    writes: list[bytes] = []

    def writer(parts: Sequence[bytes | memoryview]) -> bool:
        writes.append(b"".join(bytes(p) for p in parts))
        return True

    n = write_coalesced(packets, writer)
    assert n == len(writes)
    return writes, n


def test_a_bulk_flow_becomes_one_gso_packet() -> None:
    segs = [tcp4(1, 1000, 5000 + i * 1000, bytes([i]) * 1000) for i in range(10)]
    segs[-1] = tcp4(1, 1000, 14000, b"z" * 300, flags=0x18)  # short, PSH: ends the run
    writes, n = run(segs)
    assert n == 1
    assert writes[0][1] == GSO_TCPV4
    pieces = resegment(writes)
    assert [key_of(p) for p in pieces] == [key_of(s) for s in segs]


def test_non_tcp_and_odd_segments_pass_through_plain() -> None:
    udp = bytes([0x45, 0, 0, 28]) + bytes(5) + b"\x11" + bytes(18)
    syn = tcp4(1, 1000, 0, b"", flags=0x02)
    with_opts = tcp4(1, 1000, 1, b"a" * 10, opts=b"\x01\x01\x08\x0a" + bytes(8))
    other_ts = tcp4(1, 1000, 11, b"b" * 10, opts=b"\x01\x01\x08\x0a" + bytes(7) + b"\x01")
    writes, n = run([udp, syn, with_opts, other_ts, b"\x60"])
    assert n == 5
    assert [w[VNET_HDR_LEN:] for w in writes] == [udp, syn, with_opts, other_ts, b"\x60"]
    assert all(w[:VNET_HDR_LEN] == bytes(10) for w in writes)


@st.composite
def traffic(draw: st.DrawFn) -> list[bytes]:
    flows = draw(st.integers(1, 3))
    seqs = [draw(st.integers(0, 2**32 - 1)) for _ in range(flows)]
    mss = draw(st.sampled_from([100, 536, 1368]))
    out = []
    for _ in range(draw(st.integers(1, 80))):
        f = draw(st.integers(0, flows - 1))
        size = draw(st.sampled_from([mss, mss, mss, mss // 2, 0]))
        flags = draw(st.sampled_from([0x10, 0x10, 0x10, 0x18, 0x11, 0x12]))
        if draw(st.booleans()) and f == 0:
            pkt = tcp6(2000, seqs[f], b"q" * size, flags)
        else:
            pkt = tcp4(f + 1, 1000 + f, seqs[f], bytes([f]) * size, flags)
        if draw(st.integers(0, 20)) == 0:
            seqs[f] += 7  # a gap: must not be bridged
        seqs[f] = (seqs[f] + size) & 0xFFFFFFFF
        out.append(pkt)
    return out


@given(traffic())
@settings(max_examples=300, deadline=None)
def test_resegmenting_gives_back_every_segment_in_order(packets: list[bytes]) -> None:
    writes, n = run(packets)
    assert n <= len(packets)
    pieces = resegment(writes)
    assert [key_of(p) for p in pieces] == [key_of(p) for p in packets]


def test_a_refused_gso_write_falls_back_to_the_original_packets() -> None:
    segs = [tcp4(1, 1000, i * 500, bytes([i]) * 500) for i in range(4)]
    written: list[bytes] = []

    def picky(parts: Sequence[bytes | memoryview]) -> bool:
        data = b"".join(bytes(p) for p in parts)
        if data[1] != 0:  # refuse every GSO packet, like a kernel that can't take them
            return False
        written.append(data[VNET_HDR_LEN:])
        return True

    assert write_coalesced(segs, picky) == 5  # the refused attempt + 4 plain writes
    assert written == segs


@given(traffic())
@settings(max_examples=200, deadline=None)
def test_the_compiled_tun_writer_writes_what_gro_py_writes(packets: list[bytes]) -> None:
    """accel's wg_tun_write is gro.py in C: the same writes, byte for byte, in order
    (a SOCK_SEQPACKET socket keeps each writev a separate message)."""
    import ctypes
    import socket

    from wgdroid.userspace.accel import load

    lib = load()
    if lib is None:
        return  # not built here: gro.py alone is tested above
    want, n = run(packets)
    buf = bytearray(b"".join(packets) + b"\0")
    offs, o = [], 0
    for p in packets:
        offs.append(o)
        o += len(p)
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with a, b:
        b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        arr = ctypes.c_uint32 * len(packets)
        o_arr, l_arr = arr(*offs), arr(*(len(p) for p in packets))
        writes = lib.tun_write(a.fileno(), ctypes.addressof(ctypes.c_char.from_buffer(buf)),
                               ctypes.addressof(o_arr), ctypes.addressof(l_arr), len(packets))
        b.setblocking(False)
        got = []
        while True:
            try:
                got.append(b.recv(1 << 17))
            except BlockingIOError:
                break
    assert writes == n
    assert got == want
