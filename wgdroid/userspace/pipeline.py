"""The data-plane pipeline: batches of packets per peer through ordered queues and workers.

TX: packets read from the TUN in one wake-up are grouped per peer; the core's
ordered `prepare_send` assigns counters; the resulting jobs form ONE unit of
work (`TxBatch`), pushed to the peer's TX queue and to the crypto pool. The
peer's consumer releases finished batches strictly in order, sends each
datagram to the peer's current endpoint and reports `on_sent` once per batch.

RX: datagrams read in one wake-up that the core classifies as transport are
grouped per peer into an `RxBatch`; after decryption the consumer calls the
core's ordered `on_received` per packet and hands the packets to the TUN.

Every call into the core happens on the caller's (event loop) thread; workers
only run the pure `seal`/`open_`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar, Union

from cryptography.exceptions import InvalidTag

from wgdroid.userspace.core import Cipher, Peer, RecvJob, SendJob, open_, open_raw, seal, seal_raw
from wgdroid.userspace.queues import Bound, PeerQueue, State
from wgdroid.userspace.workers import InlinePool, WorkerPool

SEAL = 1
OPEN = 2
# A unit of work: at most 64 packets and 64 KiB (the 2017 design's one send() of up to
# 64 KiB), which also sizes the process pool's shared-memory slots.
MAX_UNIT_JOBS = 64
MAX_UNIT_BYTES = 65536
J = TypeVar("J")


def _units(jobs: list[J], sizes: list[int]) -> Iterator[list[J]]:
    """Split one peer's jobs, in order, into units within MAX_UNIT_JOBS/BYTES."""
    start = total = 0
    for i, size in enumerate(sizes):
        if i > start and (i - start >= MAX_UNIT_JOBS or total + size > MAX_UNIT_BYTES):
            yield jobs[start:i]
            start, total = i, 0
        total += size
    if start < len(jobs):
        yield jobs[start:]


class TxBatch:
    """One peer's outgoing jobs from one wake-up; `out` holds the datagrams once sealed."""

    __slots__ = ("jobs", "nbytes", "out", "peer", "state")

    def __init__(self, peer: Peer, jobs: list[SendJob]) -> None:
        self.peer = peer
        self.jobs = jobs
        self.out: list[bytes] = []
        self.state = State.NEW
        self.nbytes = sum(j.nbytes for j in jobs)


class RxBatch:
    """One peer's received transport jobs; `out[i]` is job i's plaintext or None."""

    __slots__ = ("jobs", "nbytes", "out", "peer", "state")

    def __init__(self, peer: Peer, jobs: list[RecvJob]) -> None:
        self.peer = peer
        self.jobs = jobs
        self.out: list[bytes | None] = []
        self.state = State.NEW
        self.nbytes = sum(len(j.data) for j in jobs)


Batch = Union[TxBatch, RxBatch]  # noqa: UP007 (a runtime alias used in isinstance)


def crypt(batch: Batch) -> None:
    """The pure crypto step for in-process workers (inline or threads)."""
    if isinstance(batch, TxBatch):
        batch.out = [seal(j) for j in batch.jobs]
    else:
        batch.out = [open_(j) for j in batch.jobs]


@dataclass
class PipelineStats:
    tx_dropped_full: int = 0  # peer queue full
    tx_dropped_crypto: int = 0  # crypto queue full (unit marked DEAD)
    rx_dropped_full: int = 0
    rx_dropped_crypto: int = 0
    tx_no_endpoint: int = 0
    tx_batches: int = 0
    rx_batches: int = 0


class _PeerQueues:
    __slots__ = ("rx", "tx")

    def __init__(self, bound: Bound) -> None:
        self.tx: PeerQueue[Batch] = PeerQueue(bound)
        self.rx: PeerQueue[Batch] = PeerQueue(bound)


SendFn = Callable[[Peer, list[bytes]], None]  # ordered TX completion
DeliverFn = Callable[[RxBatch], None]  # ordered RX completion


class Pipeline:
    """Owns the per-peer ordered queues and the crypto pool; calls back in order."""

    def __init__(
        self,
        on_tx: SendFn,
        on_rx: DeliverFn,
        pool: WorkerPool[Batch] | None = None,
        bound: Bound | None = None,
    ) -> None:
        self._on_tx = on_tx
        self._on_rx = on_rx
        # Per-peer bound: batches up to 1024 (the kernel's packets limit) and 4 MiB.
        self._bound = bound or Bound(items=1024, bytes=4 << 20)
        self.pool: WorkerPool[Batch] = pool or InlinePool(crypt)
        self._queues: dict[Peer, _PeerQueues] = {}
        self.stats = PipelineStats()

    def _queues_of(self, peer: Peer) -> _PeerQueues:
        q = self._queues.get(peer)
        if q is None:
            q = self._queues[peer] = _PeerQueues(self._bound)
        return q

    def forget(self, peer: Peer) -> None:
        """The peer was removed: drop what it still holds."""
        q = self._queues.pop(peer, None)
        if q is not None:
            q.tx.clear()
            q.rx.clear()

    def forget_all(self) -> None:
        for peer in list(self._queues):
            self.forget(peer)

    def held(self) -> tuple[int, int]:
        """(units, bytes) held in all peer queues (for tests and stats)."""
        units = sum(len(q.tx) + len(q.rx) for q in self._queues.values())
        nbytes = sum(q.tx.bytes_held + q.rx.bytes_held for q in self._queues.values())
        return units, nbytes

    def submit_tx(self, peer: Peer, jobs: list[SendJob]) -> None:
        q = self._queues_of(peer).tx
        for chunk in _units(jobs, [j.nbytes for j in jobs]):
            batch = TxBatch(peer, chunk)
            if not q.push(batch):
                self.stats.tx_dropped_full += 1
                continue
            self.stats.tx_batches += 1
            if not self.pool.submit(batch):
                batch.state = State.DEAD  # the consumer frees it in order
                self.stats.tx_dropped_crypto += 1

    def submit_rx(self, peer: Peer, jobs: list[RecvJob]) -> None:
        q = self._queues_of(peer).rx
        for chunk in _units(jobs, [len(j.data) for j in jobs]):
            batch = RxBatch(peer, chunk)
            if not q.push(batch):
                self.stats.rx_dropped_full += 1
                continue
            self.stats.rx_batches += 1
            if not self.pool.submit(batch):
                batch.state = State.DEAD
                self.stats.rx_dropped_crypto += 1

    def process_completions(self) -> None:
        """Run the ordered consumers of every peer that has completed work."""
        done = self.pool.completed()
        if not done:
            return
        tx_peers: dict[Peer, None] = {}
        rx_peers: dict[Peer, None] = {}
        for b in done:
            (tx_peers if isinstance(b, TxBatch) else rx_peers)[b.peer] = None
        for peer in rx_peers:
            self._drain_rx(peer)
        for peer in tx_peers:
            self._drain_tx(peer)

    def _drain_tx(self, peer: Peer) -> None:
        q = self._queues.get(peer)
        if q is None:
            return
        for b in q.tx.pop_ready():
            assert isinstance(b, TxBatch)
            self._on_tx(peer, b.out)

    def _drain_rx(self, peer: Peer) -> None:
        q = self._queues.get(peer)
        if q is None:
            return
        for b in q.rx.pop_ready():
            assert isinstance(b, RxBatch)
            self._on_rx(b)

    def close(self) -> None:
        self.forget_all()
        self.pool.close()


# --- the process pool's view of a batch: a shared-memory slot --------------------
#
# Slot layout (little-endian): op u8, n u16, then per job: key 32 bytes, counter u64,
# receiver index u32, padded length u32, input length u32, input bytes. (A batch
# may mix keypairs around a rekey, hence a key per job.) The worker overwrites
# the slot from offset 0 with per job: u32 length (0xFFFFFFFF = failed) + output.

_FAIL = 0xFFFFFFFF
_REC = 52  # per-job record header
_OUT_EXTRA = 4 + 16 + 16 + 16  # length word, header, tag, padding


def _inputs(unit: Batch) -> list[tuple[bytes, int, int, int, bytes]]:
    if isinstance(unit, TxBatch):
        return [(j.cipher.key, j.counter, j.receiver_index, j.padded_len, j.packet)
                for j in unit.jobs]
    return [(r.cipher.key, r.counter, 0, 0, r.data) for r in unit.jobs]


class BatchCodec:
    """SlotCodec for TxBatch/RxBatch; the kernel reuses the core's seal_raw/open_raw."""

    @property
    def kernel(self) -> Callable[[memoryview], bool]:
        return slot_kernel

    def fits(self, unit: Batch, slot_size: int) -> bool:
        size = 3 + sum(_REC + _OUT_EXTRA + len(x[4]) for x in _inputs(unit))
        return size <= slot_size and len(unit.jobs) < 65536

    def pack(self, unit: Batch, slot: memoryview) -> None:
        items = _inputs(unit)
        slot[0] = SEAL if isinstance(unit, TxBatch) else OPEN
        slot[1:3] = len(items).to_bytes(2, "little")
        off = 3
        for key, counter, ridx, padded, data in items:
            _RECORD.pack_into(slot, off, key, counter, ridx, padded, len(data))
            off += _REC
            slot[off : off + len(data)] = data
            off += len(data)

    def unpack(self, unit: Batch, slot: memoryview) -> None:
        off = 0
        outs: list[bytes | None] = []
        for _ in unit.jobs:
            n = int.from_bytes(slot[off : off + 4], "little")
            off += 4
            if n == _FAIL:
                outs.append(None)
                continue
            outs.append(bytes(slot[off : off + n]))
            off += n
        if isinstance(unit, TxBatch):
            sealed = [o for o in outs if o is not None]
            if len(sealed) != len(outs):
                raise ValueError("a seal failed")
            unit.out = sealed
        else:
            unit.out = outs


_RECORD = struct.Struct("<32sQIII")
_cipher_cache: dict[bytes, Cipher] = {}


def slot_kernel(slot: memoryview) -> bool:
    """Runs in a worker process: seal or open every job of the slot, in place."""
    op = slot[0]
    n = int.from_bytes(slot[1:3], "little")
    off = 3
    results: list[bytes | None] = []
    for _ in range(n):
        key, counter, ridx, padded, length = _RECORD.unpack_from(slot, off)
        off += _REC
        data = bytes(slot[off : off + length])
        off += length
        cipher = _cipher_cache.get(key)
        if cipher is None:
            if len(_cipher_cache) >= 64:  # keys rotate every 2 minutes per peer
                _cipher_cache.clear()
            cipher = _cipher_cache[key] = Cipher(key)
        if op == SEAL:
            results.append(seal_raw(cipher, ridx, counter, data, padded))
        else:
            try:
                results.append(open_raw(cipher, counter, data))
            except (InvalidTag, ValueError):
                results.append(None)
    off = 0
    for r in results:
        if r is None:
            slot[off : off + 4] = _FAIL.to_bytes(4, "little")
            off += 4
        else:
            slot[off : off + 4] = len(r).to_bytes(4, "little")
            slot[off + 4 : off + 4 + len(r)] = r
            off += 4 + len(r)
    return True
