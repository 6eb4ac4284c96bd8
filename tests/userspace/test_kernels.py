"""The crypto kernels: TSO/USO segmentation, checksums, seal/open (pure units).

Every segment is checked against a literal RFC 1071 checksum written here (not
the code under test), both kernels must agree byte for byte when the compiled
one is built, and what they seal must open to exactly the reference segments.
"""

from __future__ import annotations

import os
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wgdroid.userspace.accel import load
from wgdroid.userspace.buffers import Memory, PoolSpec
from wgdroid.userspace.core import Cipher, open_raw
from wgdroid.userspace.kernels import (
    GSO_NONE,
    GSO_TCPV4,
    GSO_TCPV6,
    GSO_UDP_L4,
    NEEDS_CSUM,
    CKernels,
    Item,
    KernelError,
    Kernels,
    OpenWork,
    PyKernels,
    SealWork,
    csum,
    segments,
)

LIB = load()
KERNELS: list[Kernels] = [PyKernels()] + ([CKernels(LIB)] if LIB is not None else [])
KEY = bytes(range(32))
MTU = 1420


def ref_csum(data: bytes) -> int:
    """RFC 1071 as written: 16-bit big-endian words, end-around carry after each add."""
    if len(data) % 2:
        data += b"\0"
    s = 0
    for i in range(0, len(data), 2):
        s += data[i] << 8 | data[i + 1]
        s = (s & 0xFFFF) + (s >> 16)
    return s


def pseudo(pkt: bytes, l4_len: int, proto: int) -> bytes:
    if pkt[0] >> 4 == 6:
        return pkt[8:40] + struct.pack("!IxxxB", l4_len, proto)
    return pkt[12:20] + struct.pack("!xBH", proto, l4_len)


def build(v6: bool, tcp: bool, payload: bytes, opts: int = 0, flags: int = 0x18,
          ip_id: int = 0x1234, seq: int = 1000) -> bytes:
    """A super-packet as the kernel hands it with TSO/USO (checksum field: anything;
    the segmenter recomputes it)."""
    l4 = (struct.pack("!HHIIBBHHH", 40000, 5201, seq, 77, (5 + opts) << 4, flags, 512, 0xBEEF,
                      0) + bytes(range(4 * opts)) if tcp
          else struct.pack("!HHHH", 40000, 5201, 0, 0xBEEF))
    proto = 6 if tcp else 17
    body = l4 + payload
    if v6:
        return struct.pack("!IHBB", 0x60000000, len(body), proto, 64) + bytes(
            range(1, 17)) + bytes(range(101, 117)) + body
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), ip_id, 0x4000, 64, proto, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    return ip + body


def check_segments(pkt: bytes, segs: list[bytes], tcp: bool, gso: int, ip_hl: int,
                   l4_hl: int) -> None:
    hdr = ip_hl + l4_hl
    payload = pkt[hdr:]
    assert len(segs) == max(1, -(-len(payload) // gso))
    assert b"".join(s[hdr:] for s in segs) == payload
    flags = pkt[ip_hl + 13] if tcp else 0
    for i, s in enumerate(segs):
        last = i == len(segs) - 1
        if ip_hl == 20:
            assert struct.unpack("!H", s[2:4])[0] == len(s)
            assert struct.unpack("!H", s[4:6])[0] == (struct.unpack("!H", pkt[4:6])[0] + i) & 0xFFFF
            assert ref_csum(s[:20]) == 0xFFFF  # header checksum
        else:
            assert struct.unpack("!H", s[4:6])[0] == len(s) - 40
        l4 = s[ip_hl:]
        assert ref_csum(pseudo(s, len(l4), 6 if tcp else 17) + l4) == 0xFFFF
        if tcp:
            seq0 = struct.unpack("!I", pkt[ip_hl + 4 : ip_hl + 8])[0]
            assert struct.unpack("!I", l4[4:8])[0] == (seq0 + i * gso) & 0xFFFFFFFF
            want = flags & ~(0x00 if last else 0x09) & ~(0x00 if i == 0 else 0x80)
            assert l4[13] == want
            assert l4[:4] + l4[8:13] + l4[14:16] + l4[18:l4_hl] == (
                pkt[ip_hl : ip_hl + 4] + pkt[ip_hl + 8 : ip_hl + 13] + pkt[ip_hl + 14 : ip_hl + 16]
                + pkt[ip_hl + 18 : hdr])
        else:
            assert struct.unpack("!H", l4[4:6])[0] == len(l4)
            assert l4[6:8] != b"\0\0"


def seal_all(k: Kernels, pkt: bytes, item: Item, counter: int = 50) -> tuple[list[int], bytes]:
    mem = Memory([PoolSpec("in", 1, 70000), PoolSpec("out", 1, 1 << 20)])
    try:
        mem.view(0)[: len(pkt)] = pkt
        work = SealWork(KEY, 0xA1B2C3D4, counter, MTU, [item], 1)
        k.seal(work, mem)
        return work.sizes, bytes(mem.view(1)[: sum(work.sizes)])
    finally:
        mem.close()


def opened(sizes: list[int], out: bytes, counter: int = 50,
           receiver: int = 0xA1B2C3D4) -> list[bytes]:
    pts, pos = [], 0
    for i, n in enumerate(sizes):
        d = out[pos : pos + n]
        assert d[:4] == b"\x04\0\0\0" and d[4:8] == receiver.to_bytes(4, "little")
        assert int.from_bytes(d[8:16], "little") == counter + i
        pt = open_raw(Cipher(KEY), counter + i, d)
        assert pt is not None
        pts.append(pt)
        pos += n
    return pts


@given(st.binary(max_size=3000), st.integers(0, 0xFFFF))
@settings(max_examples=300, deadline=None)
def test_csum_is_rfc1071(data: bytes, init: int) -> None:
    want = ref_csum(data + b"\0" * (len(data) % 2) + init.to_bytes(2, "big"))
    assert csum(data, init) == want
    if LIB is not None:
        assert LIB.csum(data, len(data), init) == want


super_packets = st.tuples(
    st.booleans(), st.booleans(), st.integers(0, 9000), st.integers(1, 1400),
    st.integers(0, 10), st.sampled_from([0x10, 0x18, 0x19, 0x11, 0x98, 0x90]),
    st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF))


@given(super_packets)
@settings(max_examples=150, deadline=None)
def test_segmentation_checksums_and_headers(case: tuple[bool, bool, int, int, int, int, int,
                                                         int]) -> None:
    v6, tcp, size, gso, opts, flags, ip_id, seq = case
    opts = opts if tcp else 0
    gso = max(gso, size // 60 + 1)  # at most ~60 segments, as a 64 KiB TSO packet has
    pkt = build(v6, tcp, os.urandom(size), opts, flags, ip_id, seq)
    ip_hl = 40 if v6 else 20
    l4_hl = 20 + 4 * opts if tcp else 8
    gso_type = (GSO_TCPV6 if v6 else GSO_TCPV4) if tcp else GSO_UDP_L4
    segs = segments(pkt, NEEDS_CSUM, gso_type, gso, ip_hl, 16 if tcp else 6)
    check_segments(pkt, segs, tcp, gso, ip_hl, l4_hl)
    item = Item(0, 0, len(pkt), NEEDS_CSUM, gso_type, gso, ip_hl, 16 if tcp else 6, 0,
                len(segs))
    results = [seal_all(k, pkt, item) for k in KERNELS]
    assert all(r == results[0] for r in results)  # compiled == pure Python, byte for byte
    sizes, out = results[0]
    for pt, seg in zip(opened(sizes, out), segs, strict=True):
        assert pt[: len(seg)] == seg and not any(pt[len(seg) :])  # zero padding only
        n = len(seg)  # padding (send.c): to 16, never past the MTU; over it, the last unit
        last = n % MTU if n > MTU else n
        assert len(pt) == n - last + min(MTU, (last + 15) // 16 * 16)


def test_a_super_packet_split_across_units_seals_the_same_bytes() -> None:
    pkt = build(False, True, os.urandom(1300 * 20 + 7))
    n = 21
    for k in KERNELS:
        whole = seal_all(k, pkt, Item(0, 0, len(pkt), NEEDS_CSUM, GSO_TCPV4, 1300, 20, 16, 0, n))
        parts = [seal_all(k, pkt, Item(0, 0, len(pkt), NEEDS_CSUM, GSO_TCPV4, 1300, 20, 16, a,
                                       b - a), counter=50 + a)
                 for a, b in ((0, 5), (5, 6), (6, 21))]
        assert [n for p in parts for n in p[0]] == whole[0]
        assert b"".join(p[1] for p in parts) == whole[1]


@pytest.mark.parametrize("v6", [False, True])
@pytest.mark.parametrize("tcp", [False, True])
def test_a_plain_packet_with_a_partial_checksum_is_completed(v6: bool, tcp: bool) -> None:
    """TUN_F_CSUM: a packet that is not GSO may still come with NEEDS_CSUM, the field
    holding the pseudo-header sum; the kernel sums from csum_start to the end."""
    pkt = bytearray(build(v6, tcp, os.urandom(333)))
    ip_hl = 40 if v6 else 20
    field = ip_hl + (16 if tcp else 6)
    l4_len = len(pkt) - ip_hl
    seed = ref_csum(pseudo(bytes(pkt), l4_len, 6 if tcp else 17))
    pkt[field : field + 2] = seed.to_bytes(2, "big")
    if not v6:
        pkt[10:12] = b"\0\0"
        pkt[10:12] = (~ref_csum(bytes(pkt[:20])) & 0xFFFF).to_bytes(2, "big")
    item = Item(0, 0, len(pkt), NEEDS_CSUM, GSO_NONE, 0, ip_hl, field - ip_hl)
    (seg,) = segments(bytes(pkt), NEEDS_CSUM, GSO_NONE, 0, ip_hl, field - ip_hl)
    assert ref_csum(pseudo(seg, l4_len, 6 if tcp else 17) + seg[ip_hl:]) == 0xFFFF
    for k in KERNELS:
        sizes, out = seal_all(k, bytes(pkt), item)
        (pt,) = opened(sizes, out)
        assert pt[: len(seg)] == seg


def test_keepalive_and_plain_packets_and_open_with_a_bad_tag() -> None:
    mem = Memory([PoolSpec("in", 1, 1 << 16), PoolSpec("out", 1, 1 << 16),
                  PoolSpec("rx", 1, 1 << 16), PoolSpec("plain", 1, 1 << 16)])
    try:
        pkts = [b"", os.urandom(20), os.urandom(1419), os.urandom(1420), os.urandom(100)]
        items, off = [], 0
        for p in pkts:
            mem.view(0)[off : off + len(p)] = p
            items.append(Item(0, off, len(p)))
            off += len(p)
        for k in KERNELS:
            work = SealWork(KEY, 9, 0, MTU, items, 1)
            k.seal(work, mem)
            assert work.sizes == [32, 64, 1452, 1452, 144]
            pts = opened(work.sizes, bytes(mem.view(1)[: sum(work.sizes)]), 0, 9)
            assert [pt[: len(p)] for pt, p in zip(pts, pkts, strict=True)] == pkts
            # and back through the open kernel, one message corrupted, two keys
            other = bytes(32)
            mem.view(2)[: sum(work.sizes)] = mem.view(1)[: sum(work.sizes)]
            mem.view(2)[40] ^= 1
            offs = [sum(work.sizes[:i]) for i in range(len(pkts))]
            keys = [KEY, KEY, KEY, other, KEY]
            ow = OpenWork(2, 3, keys, offs, list(work.sizes))
            k.open(ow, mem)
            assert ow.results == [0, -1, 1420, -1, 112]
            assert bytes(mem.view(3)[offs[2] : offs[2] + 1419]) == pkts[2]
    finally:
        mem.close()


def test_malformed_super_packets_are_refused_not_crashed() -> None:
    good = build(False, True, os.urandom(3000))
    bad_cases = [
        Item(0, 0, 30, NEEDS_CSUM, GSO_TCPV4, 1000, 20, 16, 0, 1),  # truncated TCP header
        Item(0, 0, len(good), NEEDS_CSUM, GSO_TCPV6, 1000, 40, 16, 0, 3),  # v4 packet as v6
        Item(0, 0, len(good), NEEDS_CSUM, GSO_TCPV4, 1000, 20, 16, 0, 9),  # more segments
    ]
    for k in KERNELS:
        for item in bad_cases:
            with pytest.raises(KernelError):
                seal_all(k, good, item)


def test_work_descriptions_round_trip_for_worker_processes() -> None:
    from wgdroid.userspace.kernels import decode_work, encode_work

    seal = SealWork(KEY, 0xDEADBEEF, 2**60 + 5, MTU,
                    [Item(3, 100, 65000, NEEDS_CSUM, GSO_TCPV4, 1368, 20, 16, 5, 40),
                     Item(4, 0, 0)], 9)
    opened_ = OpenWork(2, 6, [KEY, bytes(32), KEY], [0, 1500, 3000], [1452, 32, 700])
    for work in (seal, opened_):
        assert decode_work(encode_work(work)) == work
    with pytest.raises(ValueError, match=r"bad work description|truncated"):
        decode_work(encode_work(seal)[:-3])


@pytest.mark.skipif(LIB is None, reason="the compiled library is not built")
def test_the_compiled_library_refuses_damaged_work_descriptions() -> None:
    """wg_run (worker processes, inline units, the C threads) checks every index and
    offset of a description against the packet memory instead of trusting it."""
    from wgdroid.userspace.kernels import encode_work

    assert LIB is not None
    k = CKernels(LIB)
    mem = Memory([PoolSpec("in", 1, 4096), PoolSpec("out", 1, 4096)])
    try:
        good = SealWork(KEY, 1, 0, MTU, [Item(0, 0, 100), Item(0, 100, 100), Item(0, 200, 9)], 1)
        assert k.run(encode_work(good), mem) == [144, 144, 48]
        damaged = [
            encode_work(good)[:-1],  # truncated
            encode_work(SealWork(KEY, 1, 0, MTU, [Item(2, 0, 100)] * 3, 1)),  # no buffer 2
            encode_work(SealWork(KEY, 1, 0, MTU, [Item(0, 4000, 100)] * 3, 1)),  # past its end
            encode_work(SealWork(KEY, 1, 0, MTU, [Item(0, 0, 100)] * 3, 5)),  # no out buffer 5
            encode_work(OpenWork(0, 7, [KEY] * 3, [0, 10, 20], [32, 32, 32])),  # no buffer 7
            b"X" + bytes(60),  # neither seal nor open
        ]
        for desc in damaged:
            with pytest.raises(KernelError):
                k.run(desc, mem)
        # An open message whose offsets leave its buffer fails alone (-1).
        assert k.run(encode_work(OpenWork(0, 1, [KEY] * 3, [0, 4090, 0], [32, 32, 32])),
                     mem) == [-1, -1, -1]
    finally:
        mem.close()
