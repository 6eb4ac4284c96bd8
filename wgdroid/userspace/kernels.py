"""The crypto stage's kernels: seal a TX unit, open an RX unit, in preallocated buffers.

A TX unit (`SealWork`) is a run of TUN reads for one peer under one key with
consecutive counters. Each read is a plain IP packet or a TSO/USO super-packet
described by its virtio_net_hdr; the kernel splits super-packets into segments
(IPv4 id/length/header checksum or IPv6 payload length, TCP sequence numbers
with FIN/PSH on the last segment only and CWR on the first only, UDP length),
completes every TCP/UDP checksum the kernel left partial (NEEDS_CSUM), pads each
segment and seals it, writing the datagrams back to back into the unit's output
buffer: one contiguous run, ready for one UDP GSO send. An RX unit (`OpenWork`)
lists transport messages in an input buffer (a UDP GRO batch); their plaintexts
go to the same offsets of an output buffer.

Two implementations with one interface: `PyKernels` (pyca/cryptography, runs
anywhere, the phone included) and `CKernels` (the optional compiled library of
`accel`, byte-for-byte the same output). `select_kernels()` picks the compiled one
when it is built.
"""

from __future__ import annotations

import struct
import threading
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from wgdroid.userspace.buffers import Memory
from wgdroid.userspace.core import Opener, Sealer, opener, padded_length, sealer

HDR_LEN = 16
TAG_LEN = 16
OVERHEAD = HDR_LEN + TAG_LEN
MSG_TRANSPORT = 4
MAX_RESULTS = 4096  # datagrams (seal) or messages (open) of one unit, at most

# virtio_net_hdr (include/uapi/linux/virtio_net.h)
VNET_HDR_LEN = 10
VNET = struct.Struct("<BBHHHH")  # flags, gso_type, hdr_len, gso_size, csum_start, csum_offset
NEEDS_CSUM = 1
DATA_VALID = 2
GSO_NONE = 0
GSO_TCPV4 = 1
GSO_TCPV6 = 4
GSO_UDP_L4 = 5
GSO_ECN = 0x80


class KernelError(Exception):
    """A unit that cannot be sealed (malformed super-packet, no room): the unit
    is dropped in order (DEAD), like a packet the kernel refuses."""


@dataclass(slots=True)
class Item:
    """One TUN read (or a core job's packet) inside a TX unit.

    `buf`/`off`/`length`: where the IP packet is (length 0 = keepalive). The vnet
    fields are those the kernel handed us (all 0 for a plain packet). `seg_from`/
    `seg_count`: the range of its segments this unit seals (a super-packet too big
    for one output buffer is split across units).
    """

    buf: int
    off: int
    length: int
    flags: int = 0
    gso_type: int = GSO_NONE
    gso_size: int = 0
    csum_start: int = 0
    csum_offset: int = 0
    seg_from: int = 0
    seg_count: int = 1


@dataclass(slots=True)
class SealWork:
    key: bytes
    receiver: int
    counter: int  # of the first datagram
    mtu: int
    items: list[Item]
    out: int  # output buffer index
    sizes: list[int] = field(default_factory=list)  # result: datagram sizes, in order


@dataclass(slots=True)
class OpenWork:
    """Messages at `offs[i]` (`lens[i]` bytes) of buffer `inp`, message i under
    `keys[i]`; plaintext i goes to buffer `out` at `offs[i]`."""

    inp: int
    out: int
    keys: list[bytes]
    offs: list[int]
    lens: list[int]
    results: list[int] = field(default_factory=list)  # plaintext length, or -1


# --- the work descriptions on the wire to a worker process ----------------------
#
# Struct-packed, not pickled (pickling the dataclasses cost more than the pipe);
# read by worker processes and by the compiled library (wgaccel.c run_work).
# Seal: "S", key, receiver, counter, mtu, out, item count, then per item its
# fields. Open: "O", in, out, message count, key count, the distinct keys, then
# the messages' key indices (a byte each), their offsets, their lengths.

_SEAL_HEAD = struct.Struct("<c32sIQiIH")
_SEAL_ITEM = struct.Struct("<IIIBBHHHHH")
_OPEN_HEAD = struct.Struct("<cIIHH")


def encode_work(work: SealWork | OpenWork) -> bytes:
    if isinstance(work, SealWork):
        pack = _SEAL_ITEM.pack
        return b"".join([_SEAL_HEAD.pack(b"S", work.key, work.receiver, work.counter, work.mtu,
                                         work.out, len(work.items)),
                         *[pack(i.buf, i.off, i.length, i.flags, i.gso_type, i.gso_size,
                                i.csum_start, i.csum_offset, i.seg_from, i.seg_count)
                           for i in work.items]])
    keys = work.keys
    n = len(keys)
    first = keys[0] if keys else b""
    if keys.count(first) == n:  # one key (the rule: a run is under one keypair)
        distinct, index = [first] if n else [], bytes(n)
    else:
        at: dict[bytes, int] = {}
        index = bytes([at.setdefault(k, len(at)) for k in keys])
        distinct = list(at)
    offs, lens = array("I", work.offs), array("I", work.lens)
    if len(offs) != n or len(lens) != n:
        raise ValueError("keys, offsets and lengths differ in number")
    return b"".join([_OPEN_HEAD.pack(b"O", work.inp, work.out, n, len(distinct)), *distinct,
                     index, offs.tobytes(), lens.tobytes()])


def decode_work(data: bytes) -> SealWork | OpenWork:
    """encode_work's inverse; ValueError for a damaged description."""
    try:
        return _decode(data)
    except struct.error as e:
        raise ValueError(f"bad work description: {e}") from None


def _decode(data: bytes) -> SealWork | OpenWork:
    if data[:1] == b"S":
        _, key, receiver, counter, mtu, out, n = _SEAL_HEAD.unpack_from(data)
        items = [Item(*f) for f in _SEAL_ITEM.iter_unpack(data[_SEAL_HEAD.size :])]
        if len(items) != n:
            raise ValueError("truncated seal work")
        return SealWork(key, receiver, counter, mtu, items, out)
    _, inp, out, n, nkeys = _OPEN_HEAD.unpack_from(data)
    at = _OPEN_HEAD.size
    keys = [data[at + 32 * i : at + 32 * (i + 1)] for i in range(nkeys)]
    at += 32 * nkeys
    if len(data) != at + 9 * n:
        raise ValueError("truncated open work")
    index = data[at : at + n]
    offs = array("I", data[at + n : at + 5 * n]).tolist()
    lens = array("I", data[at + 5 * n :]).tolist()
    if any(k >= nkeys for k in index):
        raise ValueError("bad key index in open work")
    return OpenWork(inp, out, [keys[k] for k in index], offs, lens)


class Kernels(Protocol):
    name: str

    def seal(self, work: SealWork, mem: Memory) -> None:
        """Fill work.sizes; raise KernelError if the unit cannot be sealed."""
        ...

    def open(self, work: OpenWork, mem: Memory) -> None:
        """Fill work.results."""
        ...

    def seal_one(self, key: bytes, receiver: int, counter: int, pkt: memoryview, flags: int,
                 csum_start: int, csum_offset: int, mtu: int, out: memoryview,
                 pos: int) -> int:
        """One plain packet (no GSO) padded and sealed into out[pos:]: its length."""
        ...

    def open_one(self, key: bytes, counter: int, message: memoryview, out: memoryview,
                 off: int) -> int:
        """One transport message opened into out[off:]: the padded plaintext length,
        or -1 if it does not authenticate."""
        ...


# --- segment geometry (shared by both implementations and the shell) -------------


def l4_header_len(pkt: memoryview | bytes, gso_type: int, csum_start: int) -> int:
    """IP + TCP/UDP header length of a super-packet, from the packet itself (the
    vnet hdr_len is only a hint, as wireguard-go notes)."""
    if gso_type & ~GSO_ECN == GSO_UDP_L4:
        return csum_start + 8
    if len(pkt) < csum_start + 13:
        raise KernelError("truncated TCP header")
    return csum_start + (pkt[csum_start + 12] >> 4) * 4


def segment_count(pkt: memoryview | bytes, gso_type: int, gso_size: int,
                  csum_start: int) -> int:
    """How many transport messages one TUN read becomes; KernelError for a
    super-packet we cannot segment (the same checks as the compiled kernel)."""
    if gso_type == GSO_NONE:
        return 1
    kind = gso_type & ~GSO_ECN
    tcp = kind != GSO_UDP_L4
    if kind not in (GSO_TCPV4, GSO_TCPV6, GSO_UDP_L4) or gso_size <= 0 or len(pkt) < 20:
        raise KernelError("unsupported GSO packet")
    proto = 6 if tcp else 17
    if pkt[0] >> 4 == 6:
        if csum_start != 40 or len(pkt) < 40 or pkt[6] != proto or kind == GSO_TCPV4:
            raise KernelError("unsupported IPv6 GSO packet")
    elif (pkt[0] >> 4 != 4 or csum_start != (pkt[0] & 15) * 4 or pkt[9] != proto
          or kind == GSO_TCPV6):
        raise KernelError("unsupported IPv4 GSO packet")
    hdr = l4_header_len(pkt, gso_type, csum_start)
    if tcp and hdr < csum_start + 20:
        raise KernelError("bad TCP header length")
    payload = len(pkt) - hdr
    if payload < 0:
        raise KernelError("truncated super-packet")
    return max(1, -(-payload // gso_size))


def max_output(item: Item, pkt_hdr_len: int, mtu: int) -> int:
    """Upper bound of the datagram bytes `item` produces (for sizing units)."""
    if item.gso_type == GSO_NONE:
        return padded_length(item.length, mtu) + OVERHEAD
    per = pkt_hdr_len + item.gso_size
    return item.seg_count * (padded_length(per, mtu) + OVERHEAD)


# --- the Internet checksum ---------------------------------------------------------


def csum(data: bytes | bytearray | memoryview, init: int = 0) -> int:
    """The folded (not complemented) one's-complement sum of big-endian 16-bit
    words plus `init` (RFC 1071), exactly as the compiled wg_csum: 0 only for an
    all-zero sum. (2**16 = 1 mod 0xffff, so the integer's residue is the sum.)"""
    x = int.from_bytes(data, "big")
    if len(data) & 1:
        x <<= 8
    x += init
    r = x % 0xFFFF
    return r if r or not x else 0xFFFF


def _put16(buf: bytearray | memoryview, off: int, value: int) -> None:
    buf[off] = value >> 8 & 0xFF
    buf[off + 1] = value & 0xFF


def segment_into(seg: bytearray, pkt: memoryview | bytes, item: Item, i: int,
                 hdr: int) -> int:
    """Write segment i of super-packet `pkt` (headers fixed, checksums complete)
    to the start of `seg`; returns its length."""
    gso = item.gso_size
    payload = len(pkt) - hdr
    off = i * gso
    plen = min(gso, payload - off)
    slen = hdr + plen
    seg[:hdr] = pkt[:hdr]
    seg[hdr:slen] = pkt[hdr + off : hdr + off + plen]
    ip_hl = item.csum_start
    tcp = item.gso_type & ~GSO_ECN != GSO_UDP_L4
    if pkt[0] >> 4 == 6:
        _put16(seg, 4, slen - 40)
        pseudo = csum(pkt[8:40])
    else:
        _put16(seg, 2, slen)
        _put16(seg, 4, (pkt[4] << 8 | pkt[5]) + i & 0xFFFF)
        seg[10] = seg[11] = 0
        _put16(seg, 10, ~csum(memoryview(seg)[:ip_hl]) & 0xFFFF)
        pseudo = csum(pkt[12:20])
    l4 = ip_hl
    l4_len = slen - l4
    if tcp:
        seq = int.from_bytes(pkt[l4 + 4 : l4 + 8], "big") + off & 0xFFFFFFFF
        seg[l4 + 4 : l4 + 8] = seq.to_bytes(4, "big")
        n = -(-payload // gso) if payload else 1
        if i + 1 < n:
            seg[l4 + 13] &= ~0x09 & 0xFF  # FIN and PSH only on the last segment
        if i > 0:
            seg[l4 + 13] &= ~0x80 & 0xFF  # CWR only on the first
        seg[l4 + 16] = seg[l4 + 17] = 0
        c = ~csum(memoryview(seg)[l4:slen], pseudo + 6 + l4_len) & 0xFFFF
        _put16(seg, l4 + 16, c)
    else:
        _put16(seg, l4 + 4, l4_len)
        seg[l4 + 6] = seg[l4 + 7] = 0
        c = ~csum(memoryview(seg)[l4:slen], pseudo + 17 + l4_len) & 0xFFFF
        _put16(seg, l4 + 6, c or 0xFFFF)
    return slen


def finish_partial_checksum(pkt: bytearray | memoryview, start: int, offset: int) -> None:
    """Complete a NEEDS_CSUM packet in place: the field at start + offset holds the
    pseudo-header sum; the checksum covers pkt[start:]."""
    if start + offset + 2 > len(pkt):
        raise KernelError("checksum field outside the packet")
    c = ~csum(pkt[start:]) & 0xFFFF
    if offset == 6 and c == 0:  # UDP: 0 means "no checksum"
        c = 0xFFFF
    _put16(pkt, start + offset, c)


def segments(pkt: bytes | memoryview, flags: int, gso_type: int, gso_size: int,
             csum_start: int, csum_offset: int) -> list[bytes]:
    """A TUN read as the plain IP packets it stands for (complete checksums): the
    slow path (packets staged while waiting for a handshake) and the tests'
    reference."""
    if gso_type == GSO_NONE:
        p = bytearray(pkt)
        if flags & NEEDS_CSUM:
            finish_partial_checksum(p, csum_start, csum_offset)
        return [bytes(p)]
    n = segment_count(pkt, gso_type, gso_size, csum_start)
    hdr = l4_header_len(pkt, gso_type, csum_start)
    item = Item(0, 0, len(pkt), flags, gso_type, gso_size, csum_start, csum_offset, 0, n)
    seg = bytearray(hdr + gso_size)
    return [bytes(seg[: segment_into(seg, pkt, item, i, hdr)]) for i in range(n)]


# --- pure Python -------------------------------------------------------------------


class _Local(threading.local):
    def __init__(self) -> None:
        self.scratch = bytearray(65536 + 64)
        self.keys: dict[bytes, tuple[Sealer, Opener]] = {}


def _bound(local: _Local, key: bytes) -> tuple[Sealer, Opener]:
    """The seal/open primitives bound to `key` (cached: keys rotate every 2 minutes)."""
    fns = local.keys.get(key)
    if fns is None:
        if len(local.keys) >= 64:
            local.keys.clear()
        aead = ChaCha20Poly1305(key)
        fns = local.keys[key] = (sealer(aead), opener(aead))
    return fns


_ZEROS = bytes(16)


class PyKernels:
    """pyca/cryptography per segment, segmentation and checksums in Python."""

    name = "python"

    def __init__(self) -> None:
        self._local = _Local()

    def seal(self, work: SealWork, mem: Memory) -> None:
        local = self._local
        seal = _bound(local, work.key)[0]
        scratch = local.scratch
        sview = memoryview(scratch)
        out = mem.view(work.out)
        cap = len(out)
        mtu = work.mtu
        counter = work.counter
        receiver = work.receiver
        pos = 0
        sizes = work.sizes
        for item in work.items:
            length = item.length
            pkt = mem.view(item.buf)[item.off : item.off + length]
            if item.gso_type == GSO_NONE:
                n = self.seal_one(work.key, receiver, counter, pkt, item.flags,
                                  item.csum_start, item.csum_offset, mtu, out, pos)
                sizes.append(n)
                pos += n
                counter += 1
                continue
            total = segment_count(pkt, item.gso_type, item.gso_size, item.csum_start)
            if item.seg_from + item.seg_count > total:
                raise KernelError("segment range beyond the packet")
            hdr = l4_header_len(pkt, item.gso_type, item.csum_start)
            for i in range(item.seg_from, item.seg_from + item.seg_count):
                slen = segment_into(scratch, pkt, item, i, hdr)
                padded = padded_length(slen, mtu)
                scratch[slen:padded] = bytes(padded - slen)
                if pos + padded + OVERHEAD > cap:
                    raise KernelError("output buffer too small")
                n = seal(receiver, counter, sview[:padded], out, pos)
                sizes.append(n)
                pos += n
                counter += 1

    def seal_one(self, key: bytes, receiver: int, counter: int, pkt: memoryview, flags: int,
                 csum_start: int, csum_offset: int, mtu: int, out: memoryview,
                 pos: int) -> int:
        local = self._local
        length = len(pkt)
        padded = padded_length(length, mtu)
        if pos + padded + OVERHEAD > len(out):
            raise KernelError("output buffer too small")
        if padded == length and not flags & NEEDS_CSUM:
            plain: memoryview = pkt  # nothing to add: seal straight from the read
        else:
            scratch = local.scratch
            scratch[:length] = pkt
            plain = memoryview(scratch)[:padded]
            if flags & NEEDS_CSUM:
                finish_partial_checksum(plain[:length], csum_start, csum_offset)
            scratch[length:padded] = _ZEROS[: padded - length] if (
                padded - length <= 16) else bytes(padded - length)
        return _bound(local, key)[0](receiver, counter, plain, out, pos)

    def open_one(self, key: bytes, counter: int, message: memoryview, out: memoryview,
                 off: int) -> int:
        got = _bound(self._local, key)[1](counter, message, out, off)
        return -1 if got is None else got

    def open(self, work: OpenWork, mem: Memory) -> None:
        local = self._local
        inp = mem.view(work.inp)
        out = mem.view(work.out)
        results = work.results
        key = b""
        open_ = None
        for k, off, n in zip(work.keys, work.offs, work.lens, strict=True):
            if k is not key or open_ is None:
                key, open_ = k, _bound(local, k)[1]
            got = open_(int.from_bytes(inp[off + 8 : off + 16], "little"), inp[off : off + n],
                        out, off)
            results.append(-1 if got is None else got)


# --- compiled ----------------------------------------------------------------------


# The one-packet kernels' signatures (Kernels.seal_one / open_one).
SealOne = Callable[[bytes, int, int, memoryview, int, int, int, int, memoryview, int], int]
OpenOne = Callable[[bytes, int, memoryview, memoryview, int], int]


class CKernels:
    """The same work through accel's compiled library (the GIL released per call)."""

    name = "compiled"

    def __init__(self, lib: object) -> None:
        from wgdroid.userspace.accel import ERRORS, Library

        assert isinstance(lib, Library)
        self.lib = lib
        self._errors = ERRORS
        self._local = threading.local()
        self._py = py = PyKernels()
        # One packet: pyca is quicker than any C call's set-up; PyKernels' own
        # bound methods, so a lone packet pays no extra Python call.
        self.seal_one: SealOne = py.seal_one
        self.open_one: OpenOne = py.open_one

    def _results(self) -> tuple[array[int], int]:
        loc = self._local
        res = getattr(loc, "res", None)
        if res is None:
            res = loc.res = array("i", bytes(4 * MAX_RESULTS))
        return res, res.buffer_info()[0]

    def run(self, desc: bytes, mem: Memory) -> list[int]:
        """A whole unit from its work description (encode_work) in one call: the
        datagram sizes (seal) or plaintext lengths / -1 (open)."""
        res, addr = self._results()
        n = self.lib.run(*mem.table(), desc, len(desc), addr, MAX_RESULTS)
        if n < 0:
            raise KernelError(self._errors.get(n, f"error {n}"))
        return res[:n].tolist()

    def seal(self, work: SealWork, mem: Memory) -> None:
        items = work.items
        if len(items) <= 2 and all(it.gso_type == GSO_NONE for it in items):
            # A ping or an ACK: pyca is quicker than the C call's set-up.
            self._py.seal(work, mem)
            return
        work.sizes.extend(self.run(encode_work(work), mem))

    def open(self, work: OpenWork, mem: Memory) -> None:
        if len(work.offs) <= 2:  # a ping or an ACK: pyca is quicker than the C call
            self._py.open(work, mem)
            return
        work.results.extend(self.run(encode_work(work), mem))


def select_kernels(prefer_compiled: bool = True) -> Kernels:
    """The compiled kernels when built (and not disabled by WGDROID_ACCEL=0), else
    pure Python."""
    if prefer_compiled:
        try:
            from wgdroid.userspace.accel import load
        except ImportError:  # no ctypes in this python: pure Python it is
            return PyKernels()
        lib = load()
        if lib is not None:
            return CKernels(lib)
    return PyKernels()
