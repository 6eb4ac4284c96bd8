"""The data-plane pipeline: units of packets per peer through ordered queues and workers.

TX: the TUN reads of one wake-up (plain packets and TSO/USO super-packets, in
the `tx_in` buffers) are grouped per peer; the core reserves one run of
counters for all their segments; the reads then form units (`TxUnit`), each
sealed as ONE piece of work into its own `tx_out` buffer as back-to-back
datagrams, pushed to the peer's TX queue and to the crypto pool. The peer's
consumer releases finished units strictly in order and hands each to the send
callback (one UDP GSO send per run of equal-sized datagrams).

RX: the transport messages of one UDP GRO batch (an `rx_in` buffer) are grouped
per peer into an `RxUnit`; their plaintexts land at the same offsets of the
paired `rx_out` buffer; the consumer hands finished units, in order, to the
receive callback, which runs the core's ordered `on_received`.

Every call into the core happens on the caller's (event loop) thread; workers
only run the kernels (`kernels.py`) on buffers (`buffers.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Union

from wgdroid.userspace.buffers import Arena, Memory, PoolSpec
from wgdroid.userspace.core import Peer, RecvRun, SendJob, padded_length
from wgdroid.userspace.kernels import (
    MAX_RESULTS,
    OVERHEAD,
    CKernels,
    Item,
    KernelError,
    Kernels,
    OpenWork,
    SealWork,
    l4_header_len,
    max_output,
    select_kernels,
)
from wgdroid.userspace.queues import Bound, PeerQueue, State
from wgdroid.userspace.workers import (
    InlinePool,
    NativePool,
    ProcessPool,
    ThreadPool,
    WorkerPool,
)

PoolKind = Literal["inline", "threads", "processes"]

IN_SIZE = 192 << 10  # a TUN read / UDP GRO batch is <= 64 KiB: several fit
OUT_SIZE = 192 << 10  # one unit's datagrams: two 64 KiB super-packets sealed, with headroom
READ_NEED = 65536 + 16  # what one read may need (virtio header + 64 KiB)
MAX_PLAIN = 65535  # the largest IP packet a read holds
# Per unit: the reads of one wake-up for one peer, up to two super-packets. Bigger
# units spend less of the event loop per byte (what lets worker threads scale:
# docs/dataplane.md); sends still go out in UDP GSO runs of at most 64.
MAX_UNIT_SEGMENTS = 128


def memory_specs(in_flight: int) -> list[PoolSpec]:
    """Buffers for `in_flight` units in each direction (inline: a few; workers: more)."""
    n = max(2, in_flight)
    return [PoolSpec("tx_in", n, IN_SIZE), PoolSpec("tx_out", 2 * n, OUT_SIZE),
            PoolSpec("rx_in", n, IN_SIZE), PoolSpec("rx_out", n, IN_SIZE)]


class TxUnit:
    """One peer's datagrams to seal as one piece of work; `work.sizes` once sealed."""

    __slots__ = ("bufs", "data", "nbytes", "peer", "state", "work")

    def __init__(self, peer: Peer, work: SealWork, bufs: list[int], nbytes: int,
                 data: bool) -> None:
        self.peer = peer
        self.work = work
        self.bufs = bufs  # tx_in buffers it reads (references held)
        self.nbytes = nbytes  # upper bound of its output (queue accounting)
        self.data = data  # carries data (not only keepalives)
        self.state = State.NEW

    def absorb(self, result: object) -> None:
        assert isinstance(result, list)
        self.work.sizes = result


class RxUnit:
    """One peer's run of received transport messages; `work.results[i]` is the
    plaintext length of message i (at the same offset of the out buffer), or -1."""

    __slots__ = ("nbytes", "peer", "run", "state", "work")

    def __init__(self, run: RecvRun, work: OpenWork) -> None:
        self.peer = run.keypair.peer
        self.run: RecvRun | None = run  # None once released
        self.work = work
        self.nbytes = sum(work.lens)
        self.state = State.NEW

    def absorb(self, result: object) -> None:
        assert isinstance(result, list)
        self.work.results = result


Unit = Union[TxUnit, RxUnit]  # noqa: UP007 (a runtime alias used in isinstance)


@dataclass
class PipelineStats:
    tx_dropped_full: int = 0  # peer queue full
    tx_dropped_crypto: int = 0  # crypto queue full, or the kernel refused the unit
    tx_dropped_nobuf: int = 0  # no output buffer free
    rx_dropped_full: int = 0
    rx_dropped_crypto: int = 0
    tx_no_endpoint: int = 0
    tx_units: int = 0
    rx_units: int = 0


class _PeerQueues:
    __slots__ = ("rx", "tx")

    def __init__(self, bound: Bound) -> None:
        self.tx: PeerQueue[Unit] = PeerQueue(bound)
        self.rx: PeerQueue[Unit] = PeerQueue(bound)


SendFn = Callable[[TxUnit, memoryview], None]  # ordered TX completion: unit, its datagrams
DeliverFn = Callable[[RxUnit, memoryview], None]  # ordered RX completion: unit, plaintexts


class Pipeline:
    """Owns the packet memory, the per-peer ordered queues and the crypto pool;
    calls back in order and recycles the buffers after the callbacks."""

    def __init__(
        self,
        on_tx: SendFn,
        on_rx: DeliverFn,
        kind: PoolKind = "inline",
        workers: int = 2,
        bound: Bound | None = None,
        kernels: Kernels | None = None,
        pool: WorkerPool[Unit] | None = None,
    ) -> None:
        self._on_tx = on_tx
        self._on_rx = on_rx
        # Per-peer bound: units up to 1024 (the kernel's packets limit) and 4 MiB.
        self._bound = bound or Bound(items=1024, bytes=4 << 20)
        self.kernels: Kernels = kernels or select_kernels()
        in_flight = 4 if kind == "inline" else 4 * workers
        self.memory = Memory(memory_specs(in_flight), shared=kind == "processes")
        pools = self.memory.pools
        self.tx_arena = Arena(pools["tx_in"], READ_NEED)
        self.rx_arena = Arena(pools["rx_in"], READ_NEED)
        self._tx_out = pools["tx_out"]
        self._rx_pair = pools["rx_out"].first - pools["rx_in"].first
        # seal_now's output: one datagram of the largest plain packet.
        self._lone = memoryview(bytearray(MAX_PLAIN + OVERHEAD + 16))
        self.pool: WorkerPool[Unit] = pool or self._make_pool(kind, workers)
        self._queues: dict[Peer, _PeerQueues] = {}
        # Units handed to the pool and not yet reported back: their buffers may
        # still be written by a worker, so dropping a peer defers their release.
        self._inflight: dict[int, Unit] = {}
        self._orphans: set[int] = set()
        self.stats = PipelineStats()

    def _make_pool(self, kind: PoolKind, workers: int) -> WorkerPool[Unit]:
        if kind == "threads":
            if isinstance(self.kernels, CKernels):
                # C threads that never take the GIL (the Python threads' every
                # return from a kernel waited for the busy event loop's GIL).
                return NativePool(self.kernels.lib, self.memory, workers=workers)
            return ThreadPool(self.crypt, workers=workers)
        if kind == "processes":
            return ProcessPool(self.memory, workers=workers,
                               prefer_compiled=self.kernels.name == "compiled")
        return InlinePool(self.crypt)

    def crypt(self, unit: Unit) -> None:
        """The crypto step for in-process workers (inline or threads)."""
        if isinstance(unit, TxUnit):
            self.kernels.seal(unit.work, self.memory)
        else:
            self.kernels.open(unit.work, self.memory)

    # --- peers ---

    def _queues_of(self, peer: Peer) -> _PeerQueues:
        q = self._queues.get(peer)
        if q is None:
            q = self._queues[peer] = _PeerQueues(self._bound)
        return q

    def forget(self, peer: Peer) -> None:
        """The peer was removed: drop what it still holds."""
        q = self._queues.pop(peer, None)
        if q is not None:
            q.tx.clear(self._drop)
            q.rx.clear(self._drop)

    def _drop(self, unit: Unit) -> None:
        if id(unit) in self._inflight:
            self._orphans.add(id(unit))  # released when the pool reports it
        else:
            self._release(unit)

    def forget_all(self) -> None:
        for peer in list(self._queues):
            self.forget(peer)

    def held(self) -> tuple[int, int]:
        """(units, bytes) held in all peer queues (for tests and stats)."""
        units = sum(len(q.tx) + len(q.rx) for q in self._queues.values())
        nbytes = sum(q.tx.bytes_held + q.rx.bytes_held for q in self._queues.values())
        return units, nbytes

    # --- run to completion ---

    def runs_now(self, peer: Peer, tx: bool) -> bool:
        """Whether nothing of `peer` is ahead in this direction (its ordered queue
        holds every unit from submit until its consumer released it, whatever the
        pool): then `seal_now`/`open_now` may do a lone packet's crypto right here,
        without building a unit or waking a worker, and it still leaves in order."""
        q = self._queues.get(peer)
        return q is None or not len(q.tx if tx else q.rx)

    def seal_now(self, key: bytes, receiver: int, counter: int, mtu: int,
                 item: Item) -> memoryview | None:
        """Seal one plain packet (a read in tx_in, its counter reserved) into the
        pipeline's own datagram buffer: the datagram, valid until the next call
        (None: the kernel refused it, counted as a unit dropped in crypto)."""
        st = self.stats
        st.tx_units += 1
        pkt = self.memory.view(item.buf)[item.off : item.off + item.length]
        try:
            n = self.kernels.seal_one(key, receiver, counter, pkt, item.flags, item.csum_start,
                                      item.csum_offset, mtu, self._lone, 0)
        except Exception:  # as _run_now: the packet is dropped, the loop goes on
            st.tx_dropped_crypto += 1
            return None
        return self._lone[:n]

    def open_now(self, run: RecvRun, buf: int) -> tuple[int, list[int]] | None:
        """Open the messages of `run` (in rx_in buffer `buf`) one by one into the
        paired rx_out buffer: (its index, the results as a unit's); None: the
        kernel failed, counted as a unit dropped in crypto."""
        st = self.stats
        st.rx_units += 1
        mem = self.memory
        inp = mem.view(buf)
        out_idx = buf + self._rx_pair
        out = mem.view(out_idx)
        key = run.cipher.key
        open_one = self.kernels.open_one
        try:
            results = [open_one(key, c, inp[o : o + n], out, o)
                       for c, o, n in zip(run.counters, run.offs, run.lens, strict=True)]
        except Exception:  # as _run_now
            st.rx_dropped_crypto += 1
            return None
        return out_idx, results

    # --- TX ---

    def can_send(self, pending: int = 0) -> bool:
        """An output buffer is free beyond `pending` reads already taken (each needs
        one, as a rule, unless the pool is synchronous: then units finish one after
        the other): else the reader leaves packets queued in the kernel."""
        return self._tx_out.free > (0 if self.pool.synchronous else pending)

    def submit_tx(self, peer: Peer, key: bytes, receiver: int, counter: int, mtu: int,
                  items: list[Item]) -> None:
        """Seal `items` (in tx_in buffers; counters from `counter` on, one per
        segment, as reserved) in units that fit an output buffer, in order."""
        arena = self.tx_arena
        if len(items) == 1 and not items[0].gso_type:  # a lone packet (a ping, an ACK)
            item = items[0]
            arena.ref(item.buf)
            self._push_tx(peer, SealWork(key, receiver, counter, mtu, items, -1), [item.buf],
                          max_output(item, 0, mtu), item.length > 0)
            return
        views = self.memory.view
        work_items: list[Item] = []
        bufs: list[int] = []
        out_bytes = segs = 0
        data = False
        first = counter
        for item in items:
            if item.gso_type:  # each segment: the headers + gso_size of payload, sealed
                hdr = l4_header_len(views(item.buf)[item.off : item.off + item.length],
                                    item.gso_type, item.csum_start)
                per = padded_length(hdr + item.gso_size, mtu) + OVERHEAD
            else:
                per = padded_length(item.length, mtu) + OVERHEAD
            total = item.seg_count
            done = 0
            while done < total:
                # A unit holds what fits one output buffer; a super-packet that
                # does not fit is split across units by segment range.
                room = min(MAX_UNIT_SEGMENTS - segs, (OUT_SIZE - out_bytes) // per)
                if room <= 0:
                    self._push_tx(peer, SealWork(key, receiver, first, mtu, work_items, -1),
                                  bufs, out_bytes, data)
                    first += segs
                    work_items, bufs, out_bytes, segs, data = [], [], 0, 0, False
                    continue
                take = min(total - done, room)
                part = item if (done, take) == (0, total) else Item(
                    item.buf, item.off, item.length, item.flags, item.gso_type,
                    item.gso_size, item.csum_start, item.csum_offset, done, take)
                work_items.append(part)
                if part.buf not in bufs:
                    bufs.append(part.buf)
                    arena.ref(part.buf)
                out_bytes += per * take
                segs += take
                data = data or item.length > 0
                done += take
        if work_items:
            self._push_tx(peer, SealWork(key, receiver, first, mtu, work_items, -1), bufs,
                          out_bytes, data)

    def submit_jobs(self, peer: Peer, jobs: list[SendJob], mtu: int) -> None:
        """The core's SendJobs (keepalives, staged packets, bytes): copied into a
        tx_in buffer, then sealed like reads. Their counters are consecutive."""
        if not jobs:
            return
        arena = self.tx_arena
        items: list[Item] = []
        for job in jobs:
            n = len(job.packet)
            where = arena.space()
            if where is None:
                self.stats.tx_dropped_nobuf += len(jobs)
                for it in items:
                    arena.unref(it.buf)
                return
            buf, pos = where
            self.memory.view(buf)[pos : pos + n] = job.packet
            arena.commit(n)
            items.append(Item(buf, pos, n))
        first = jobs[0]
        self.submit_tx(peer, first.cipher.key, first.receiver_index, first.counter, mtu, items)
        for it in items:
            arena.unref(it.buf)

    def _push_tx(self, peer: Peer, work: SealWork, bufs: list[int], nbytes: int,
                 data: bool) -> None:
        out = self._tx_out.take()
        if out is None:
            self.stats.tx_dropped_nobuf += 1
            for b in bufs:
                self.tx_arena.unref(b)
            return
        work.out = out
        self._enqueue(TxUnit(peer, work, bufs, nbytes, data), self._queues_of(peer).tx)

    def _enqueue(self, unit: Unit, q: PeerQueue[Unit]) -> None:
        """Into the peer's ordered queue, then to the crypto pool: a full queue drops
        the unit; a pool that refuses it marks it DEAD, freed in order.

        Run to completion when nothing can overtake: with a synchronous (inline)
        pool and nothing ahead in the peer's queue, the unit is finished and handed
        to its consumer at once, without a trip through the queue."""
        tx = isinstance(unit, TxUnit)
        st = self.stats
        if self.pool.synchronous and not len(q):
            self._run_now(unit, tx)
            return
        if not q.push(unit):
            if tx:
                st.tx_dropped_full += 1
            else:
                st.rx_dropped_full += 1
            self._release(unit)
            return
        if tx:
            st.tx_units += 1
        else:
            st.rx_units += 1
        self._inflight[id(unit)] = unit
        if not self.pool.submit(unit):
            del self._inflight[id(unit)]
            unit.state = State.DEAD
            if tx:
                st.tx_dropped_crypto += 1
            else:
                st.rx_dropped_crypto += 1

    def _run_now(self, unit: Unit, tx: bool) -> None:
        st = self.stats
        if tx:
            st.tx_units += 1
        else:
            st.rx_units += 1
        try:
            try:
                self.crypt(unit)
            except Exception:  # a unit that fails to seal/open is dropped, as in _run
                if tx:
                    st.tx_dropped_crypto += 1
                else:
                    st.rx_dropped_crypto += 1
                return
            unit.state = State.FINISHED
            callback = self._on_tx if tx else self._on_rx
            callback(unit, self.memory.view(unit.work.out))  # type: ignore[arg-type]
        finally:
            self._release(unit)

    # --- RX ---

    def submit_rx(self, run: RecvRun, buf: int) -> None:
        """Open `run` (messages of rx_in buffer `buf`) as one unit, or as several
        in order when it is longer than one unit's results hold (MAX_RESULTS, what
        the compiled kernels refuse: a round of GRO reads can bring more). The
        units share `buf` and its output buffer: plaintext i lands at offs[i]."""
        if len(run) > MAX_RESULTS:
            for i in range(0, len(run), MAX_RESULTS):
                part = RecvRun(run.keypair, run.src)
                part.counters = run.counters[i : i + MAX_RESULTS]
                part.offs = run.offs[i : i + MAX_RESULTS]
                part.lens = run.lens[i : i + MAX_RESULTS]
                self.submit_rx(part, buf)
            return
        work = OpenWork(buf, buf + self._rx_pair, [run.cipher.key] * len(run), run.offs,
                        run.lens)
        self.rx_arena.ref(buf)
        unit = RxUnit(run, work)
        self._enqueue(unit, self._queues_of(unit.peer).rx)

    # --- completion ---

    def process_completions(self) -> None:
        """Run the ordered consumers of every peer that has completed work."""
        if not self._inflight and self.pool.synchronous:
            return  # nothing submitted since the last call (a lone packet ran at once)
        done = self.pool.completed()
        if not done:
            return
        tx_peers: dict[Peer, None] = {}
        rx_peers: dict[Peer, None] = {}
        inflight = self._inflight
        for u in done:
            inflight.pop(id(u), None)
            if self._orphans and id(u) in self._orphans:
                self._orphans.discard(id(u))
                self._release(u)
                continue
            (tx_peers if isinstance(u, TxUnit) else rx_peers)[u.peer] = None
        for peer in rx_peers:
            q = self._queues.get(peer)
            if q is not None:
                self._consume(q.rx, self._on_rx)  # type: ignore[arg-type]
        for peer in tx_peers:
            q = self._queues.get(peer)
            if q is not None:
                self._consume(q.tx, self._on_tx)  # type: ignore[arg-type]

    def _consume(self, q: PeerQueue[Unit], callback: Callable[[Unit, memoryview], None]) -> None:
        """Hand the finished units at the front of `q` to `callback`, strictly in
        order, then recycle their buffers (dead ones are recycled in order too)."""
        for u in q.pop_ready(self._release):
            try:
                callback(u, self.memory.view(u.work.out))
            finally:
                self._release(u)

    def _release(self, unit: Unit) -> None:
        """Give a finished or dead unit's buffers back (exactly once)."""
        if isinstance(unit, TxUnit):
            if unit.work.out >= 0:
                self._tx_out.give(unit.work.out)
                unit.work.out = -1
            for b in unit.bufs:
                self.tx_arena.unref(b)
            unit.bufs = []
        elif unit.run is not None:
            self.rx_arena.unref(unit.work.inp)
            unit.run = None

    def close(self) -> None:
        self.forget_all()
        self.pool.close()
        self.memory.close()


def tx_overhead(n: int, mtu: int) -> int:
    """Datagram size of an n-byte plaintext (for tests and accounting)."""
    return padded_length(n, mtu) + OVERHEAD


__all__ = ["KernelError", "Pipeline", "PoolKind", "RxUnit", "TxUnit", "memory_specs",
           "tx_overhead"]
