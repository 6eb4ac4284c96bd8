"""The pipeline with each worker pool: per-peer order, correct crypto end to end,
and every buffer back in its pool afterwards.

Uses the real kernels on the pipeline's own packet memory; peers are plain tokens.
"""

from __future__ import annotations

import os
import random
import select
import time
from typing import Any

import pytest
from support import wait_until

from wgdroid.userspace.accel import load
from wgdroid.userspace.core import Cipher, RecvRun, open_raw, seal_raw
from wgdroid.userspace.kernels import GSO_TCPV4, NEEDS_CSUM, Item, PyKernels, SealWork, segments
from wgdroid.userspace.pipeline import (
    MAX_UNIT_SEGMENTS,
    Pipeline,
    PoolKind,
    RxUnit,
    TxUnit,
    Unit,
)
from wgdroid.userspace.queues import Bound, State
from wgdroid.userspace.workers import InlinePool, NativePool, ProcessPool, ThreadPool

KEY = bytes(range(32))
MTU = 1420


class Token:
    """Stands in for a core Peer: the pipeline only hashes it."""

    def __init__(self, n: int) -> None:
        self.n = n


class FakeKeypair:
    """What a RecvRun needs of a core Keypair here: its peer and receive cipher."""

    def __init__(self, peer: Token) -> None:
        self.peer = peer
        self.recv = Cipher(KEY)


class Sink:
    """Ordered callbacks: copies what the pipeline hands over before it recycles it."""

    def __init__(self) -> None:
        self.tx: list[tuple[Any, list[bytes]]] = []
        self.rx: list[tuple[Any, list[bytes | None]]] = []

    def on_tx(self, unit: TxUnit, out: memoryview) -> None:
        dgs, pos = [], 0
        for n in unit.work.sizes:
            dgs.append(bytes(out[pos : pos + n]))
            pos += n
        self.tx.append((unit.peer, dgs))

    def on_rx(self, unit: RxUnit, out: memoryview) -> None:
        self.rx.append((unit.peer, [None if n < 0 else bytes(out[o : o + n])
                                    for o, n in zip(unit.work.offs, unit.work.results,
                                                    strict=True)]))


def feed_tx(pipe: Pipeline, peer: Any, packets: list[bytes], counter: int) -> None:
    """What the daemon does with TUN reads: into the arena, then one submit."""
    arena = pipe.tx_arena
    items = []
    for p in packets:
        where = arena.space()
        assert where is not None
        buf, pos = where
        pipe.memory.view(buf)[pos : pos + len(p)] = p
        arena.commit(len(p))
        items.append(Item(buf, pos, len(p)))
    pipe.submit_tx(peer, KEY, 7, counter, MTU, items)
    for it in items:
        arena.unref(it.buf)


def stage_rx(pipe: Pipeline, peer: Any, datagrams: list[bytes]) -> tuple[RecvRun, int]:
    """What the daemon does with a UDP read: the datagrams into the rx arena as one
    run (the buffer referenced for the caller)."""
    arena = pipe.rx_arena
    where = arena.space()
    assert where is not None
    buf, pos = where
    view = pipe.memory.view(buf)
    run = RecvRun(FakeKeypair(peer), ("::1", 1))  # type: ignore[arg-type]
    for d in datagrams:
        view[pos : pos + len(d)] = d
        run.counters.append(int.from_bytes(d[8:16], "little"))
        run.offs.append(pos)
        run.lens.append(len(d))
        pos += (len(d) + 15) & ~15
    return run, arena.commit(pos - where[1])


def feed_rx(pipe: Pipeline, peer: Any, datagrams: list[bytes]) -> None:
    run, buf = stage_rx(pipe, peer, datagrams)
    pipe.submit_rx(run, buf)
    pipe.rx_arena.unref(buf)


def settle(pipe: Pipeline, done: Any, expect: int) -> None:
    fd = pipe.pool.wake_fd

    def pump() -> int:
        if fd is not None:
            select.select([fd], [], [], 0.2)
        pipe.process_completions()
        return len(done())

    wait_until(pump, check=lambda n: n >= expect, timeout=20, interval=0.001,
               what=f"{expect} completed units")


def all_buffers_home(pipe: Pipeline) -> bool:
    """Nothing referenced but each arena's current buffer; every output buffer free."""
    for arena in (pipe.tx_arena, pipe.rx_arena):
        if arena.refs != ({} if arena.buf is None else {arena.buf: 1}):
            return False
    out = pipe.memory.pools["tx_out"]
    return out.free == out.spec.count


# (kind, kernels): "threads" runs the compiled library's C threads (NativePool)
# when it is built, Python threads (ThreadPool) around the pure-Python kernels.
POOLS = [("inline", "any"), ("threads", "any"), ("threads", "python"), ("processes", "any")]


def make_pipeline(sink: Sink, kind: PoolKind, kernels: str) -> Pipeline:
    pipe = Pipeline(sink.on_tx, sink.on_rx, kind=kind, workers=2,
                    kernels=PyKernels() if kernels == "python" else None)
    if kind == "threads":
        want = NativePool if pipe.kernels.name == "compiled" else ThreadPool
        assert isinstance(pipe.pool, want)
    return pipe


@pytest.mark.parametrize(("kind", "kernels"), POOLS)
def test_tx_then_rx_through_each_pool_keeps_order_and_bytes(kind: PoolKind,
                                                            kernels: str) -> None:
    sink = Sink()
    pipe = make_pipeline(sink, kind, kernels)
    peers = [Token(i) for i in range(3)]
    try:
        plain: dict[Token, list[bytes]] = {p: [] for p in peers}
        counters = dict.fromkeys(peers, 0)
        n_units = 40
        for b in range(n_units):
            peer = peers[b % 3]
            pkts = [os.urandom(random.randint(20, 1400)) for _ in range(b % 5 + 1)]
            plain[peer] += pkts
            # As the daemon: no free output buffer, no reading (pump until there is one).
            wait_until(lambda: (pipe.process_completions(), pipe.can_send())[1], check=bool,
                       timeout=20, interval=0.001, what="a free output buffer")
            feed_tx(pipe, peer, pkts, counters[peer])
            counters[peer] += len(pkts)
            pipe.process_completions()
        settle(pipe, lambda: sink.tx, n_units)
        per_peer: dict[Token, list[bytes]] = {p: [] for p in peers}
        for peer, dgs in sink.tx:
            per_peer[peer] += dgs
        for peer in peers:
            ctrs = [int.from_bytes(d[8:16], "little") for d in per_peer[peer]]
            assert ctrs == list(range(len(plain[peer])))  # in order, none lost
            got = [open_raw(Cipher(KEY), c, d) for c, d in zip(ctrs, per_peer[peer], strict=True)]
            assert [g[: len(p)] for g, p in zip(got, plain[peer], strict=True)] == plain[peer]  # type: ignore[index]

        # RX: the same datagrams back through the pipeline, one corrupted.
        expect = 0
        for peer in peers:
            dgs = list(per_peer[peer])
            bad = bytearray(dgs[0])
            bad[-1] ^= 1
            dgs[0] = bytes(bad)
            for i in range(0, len(dgs), 4):
                feed_rx(pipe, peer, dgs[i : i + 4])
                expect += 1
                pipe.process_completions()
        settle(pipe, lambda: sink.rx, expect)
        for peer in peers:
            outs = [o for p, batch in sink.rx if p is peer for o in batch]
            assert outs[0] is None  # the corrupted one fails authentication
            assert [o[: len(p)] for o, p in zip(outs[1:], plain[peer][1:], strict=True)
                    if o is not None] == plain[peer][1:]
        assert pipe.held() == (0, 0)
        assert all_buffers_home(pipe)
    finally:
        pipe.close()


@pytest.mark.parametrize(("kind", "kernels"), POOLS)
def test_a_super_packet_is_segmented_and_split_into_units_in_order(kind: PoolKind,
                                                                   kernels: str) -> None:
    """150 segments: more than one unit holds (MAX_UNIT_SEGMENTS); they go out in
    counter order."""
    from test_kernels import build  # the reference super-packet builder

    sink = Sink()
    pipe = make_pipeline(sink, kind, kernels)
    try:
        pkt = build(False, True, os.urandom(400 * 150))
        arena = pipe.tx_arena
        where = arena.space()
        assert where is not None
        buf, pos = where
        pipe.memory.view(buf)[pos : pos + len(pkt)] = pkt
        arena.commit(len(pkt))
        pipe.submit_tx(Token(0), KEY, 7, 1000, MTU,
                       [Item(buf, pos, len(pkt), NEEDS_CSUM, GSO_TCPV4, 400, 20, 16, 0, 150)])
        arena.unref(buf)
        settle(pipe, lambda: sink.tx, pipe.stats.tx_units)
        assert pipe.stats.tx_units >= -(-150 // MAX_UNIT_SEGMENTS) >= 2
        flat = [d for _, dgs in sink.tx for d in dgs]
        assert [int.from_bytes(d[8:16], "little") for d in flat] == list(range(1000, 1150))
        want = segments(pkt, NEEDS_CSUM, GSO_TCPV4, 400, 20, 16)
        got = [open_raw(Cipher(KEY), 1000 + i, d) for i, d in enumerate(flat)]
        assert [g[: len(w)] for g, w in zip(got, want, strict=True)] == want  # type: ignore[index]
        assert all_buffers_home(pipe)
    finally:
        pipe.close()


@pytest.mark.parametrize(("kind", "kernels"), POOLS)
def test_a_receive_run_longer_than_one_units_results_is_opened_in_parts(
        kind: PoolKind, kernels: str) -> None:
    """A run of more than MAX_RESULTS messages (GRO reads of many small segments)
    is opened in order as several units, not dropped whole as the compiled kernels
    would refuse it; every message is opened, a corrupted one in the last part
    fails alone."""
    from wgdroid.userspace.kernels import MAX_RESULTS

    sink = Sink()
    pipe = make_pipeline(sink, kind, kernels)
    try:
        n = MAX_RESULTS + 200
        dgs = [seal_raw(Cipher(KEY), 7, c, b"", 0) for c in range(n)]  # keepalives
        bad = bytearray(dgs[MAX_RESULTS + 3])
        bad[-1] ^= 1
        dgs[MAX_RESULTS + 3] = bytes(bad)
        feed_rx(pipe, Token(0), dgs)
        settle(pipe, lambda: sink.rx, 2)
        assert len(sink.rx) == 2 and pipe.stats.rx_dropped_crypto == 0
        outs = [o for _, batch in sink.rx for o in batch]
        assert outs == [b""] * (MAX_RESULTS + 3) + [None] + [b""] * 196
        assert pipe.held() == (0, 0)
        assert all_buffers_home(pipe)
    finally:
        pipe.close()


def test_two_worker_processes_with_long_results_at_once_keep_their_replies_apart() -> None:
    """Two worker processes finishing units of MAX_RESULTS messages at the same
    time: each unit's results come back whole and to their own unit (replies of
    16 KiB through the one shared pipe interleaved and broke its framing)."""
    from wgdroid.userspace.kernels import MAX_RESULTS

    sink = Sink()
    pipe = make_pipeline(sink, "processes", "any")
    try:
        # One run per rx buffer (more than the pipe holds in replies: 16 KiB each),
        # fed while the workers finish the ones before: nothing
        # reads their replies meanwhile, so the pipe (64 KiB) fills and writers
        # block part-way, which is when two replies could interleave.
        runs = pipe.memory.pools["rx_in"].spec.count
        assert runs * 4 * MAX_RESULTS > 65536
        keepalives = [seal_raw(Cipher(KEY), 7, c, b"", 0) for c in range(MAX_RESULTS)]
        for n in range(runs):
            dgs = list(keepalives)
            bad = bytearray(dgs[n])  # each run fails at its own index
            bad[-1] ^= 1
            dgs[n] = bytes(bad)
            feed_rx(pipe, Token(n), dgs)
        settle(pipe, lambda: sink.rx, runs)
        assert len(sink.rx) == runs and pipe.stats.rx_dropped_crypto == 0
        for peer, batch in sink.rx:
            want: list[bytes | None] = [b""] * MAX_RESULTS
            want[peer.n] = None
            assert batch == want
        assert pipe.held() == (0, 0)
        assert all_buffers_home(pipe)
    finally:
        pipe.close()


def test_full_crypto_queue_marks_dead_and_does_not_block() -> None:
    """A pool that refuses work: units die in order, later ones still flow."""
    sink = Sink()

    class Refusing(InlinePool[Unit]):
        refuse = True
        synchronous = False  # it refuses: the pipeline must go through submit

        def submit(self, unit: Unit) -> bool:
            if self.refuse:
                return False
            return super().submit(unit)

    pipe = Pipeline(sink.on_tx, sink.on_rx)
    pool = Refusing(pipe.crypt)
    pipe.pool = pool
    peer = Token(0)
    feed_tx(pipe, peer, [b"x" * 40], 0)
    assert pipe.stats.tx_dropped_crypto == 1
    pool.refuse = False
    feed_tx(pipe, peer, [b"y" * 40], 1)
    pipe.process_completions()
    assert len(sink.tx) == 1
    assert int.from_bytes(sink.tx[0][1][0][8:16], "little") == 1
    assert pipe.held() == (0, 0)
    assert all_buffers_home(pipe)
    pipe.close()


class Stalled(InlinePool[Unit]):
    synchronous = False  # it never finishes what it accepts

    def submit(self, unit: Unit) -> bool:
        return True  # accepted, never finished: the consumer is stalled


def test_peer_queue_bound_drops_instead_of_growing() -> None:
    pipe = Pipeline(lambda u, o: None, lambda u, o: None, bound=Bound(items=3, bytes=4000))
    pipe.pool = Stalled(pipe.crypt)
    peer = Token(0)
    for i in range(20):
        if pipe.can_send():
            feed_tx(pipe, peer, [b"z" * 600], i)
        units, nbytes = pipe.held()
        assert units <= 3
        assert nbytes <= 4000
    assert pipe.stats.tx_dropped_full + pipe.stats.tx_dropped_nobuf > 0
    assert not pipe.can_send() or pipe.stats.tx_dropped_full > 0
    out = pipe.memory.pools["tx_out"]
    assert out.spec.count - out.free <= 3  # only what the queue holds is out of the pool
    pipe.forget(peer)
    assert pipe.held() == (0, 0)
    pipe.close()


def test_forgetting_a_peer_mid_crypto_releases_its_buffers_only_after_the_worker() -> None:
    """A removed peer's units still in a worker keep their buffers until the worker
    is done with them: no buffer is reused while a thread writes into it."""
    sink = Sink()
    pipe = Pipeline(sink.on_tx, sink.on_rx, kind="threads", workers=2)
    slow = pipe.crypt

    def crypt(unit: Unit) -> None:
        time.sleep(0.05)
        slow(unit)

    pipe.pool.close()
    pipe.pool = ThreadPool(crypt, workers=2)
    try:
        peer = Token(0)
        feed_tx(pipe, peer, [os.urandom(1000)] * 3, 0)
        in_use = pipe.memory.pools["tx_out"].spec.count - pipe.memory.pools["tx_out"].free
        assert in_use == 1
        pipe.forget(peer)
        assert pipe.memory.pools["tx_out"].free == pipe.memory.pools["tx_out"].spec.count - 1
        wait_until(lambda: (pipe.process_completions(), all_buffers_home(pipe))[1],
                   check=bool, timeout=10, interval=0.01, what="the orphan's buffers back")
        assert sink.tx == []  # never sent: the peer is gone
    finally:
        pipe.close()


def test_a_dead_worker_process_never_blocks_its_peers() -> None:
    sink = Sink()
    pipe = Pipeline(sink.on_tx, sink.on_rx, kind="processes", workers=1)
    try:
        pool = pipe.pool
        assert isinstance(pool, ProcessPool)
        peer = Token(0)
        proc = pool._procs[0]
        proc.kill()
        proc.join(5)
        feed_tx(pipe, peer, [b"a" * 40], 0)
        pool.health_check()  # reaps the unit held by the dead worker, starts a new one
        pipe.process_completions()
        assert sink.tx == []
        assert pipe.held() == (0, 0)
        assert pool.restarts == 1
        feed_tx(pipe, peer, [b"b" * 40], 1)
        settle(pipe, lambda: sink.tx, 1)
        assert int.from_bytes(sink.tx[0][1][0][8:16], "little") == 1
        assert all_buffers_home(pipe)
    finally:
        pipe.close()


@pytest.mark.skipif(load() is None, reason="the compiled library is not built")
def test_a_unit_the_c_threads_refuse_dies_in_order_and_later_ones_flow() -> None:
    """A work description the compiled pool cannot run (here: a read in a buffer
    beyond the packet memory) marks its unit DEAD; the peer's later units still
    go out in order."""
    sink = Sink()
    pipe = Pipeline(sink.on_tx, sink.on_rx, kind="threads", workers=2)
    try:
        pool = pipe.pool
        assert isinstance(pool, NativePool)
        peer = Token(0)
        real = pipe._push_tx

        def broken(peer: Any, work: SealWork, bufs: list[int], nbytes: int,
                   data: bool) -> None:
            first = work.items[0]
            work.items = [Item(10_000, first.off, first.length), *work.items[1:]]
            real(peer, work, bufs, nbytes, data)

        pipe._push_tx = broken  # type: ignore[method-assign]
        feed_tx(pipe, peer, [b"a" * 40] * 3, 0)
        pipe._push_tx = real  # type: ignore[method-assign]
        feed_tx(pipe, peer, [b"b" * 40] * 3, 3)
        settle(pipe, lambda: [d for _, dgs in sink.tx for d in dgs], 3)
        assert [int.from_bytes(d[8:16], "little") for _, dgs in sink.tx for d in dgs] == [3, 4, 5]
        assert pipe.stats.tx_units == 2
        assert pipe._queues[peer].tx.stats.dead == 1
    finally:
        pipe.close()


class Job:
    """The least a NativePool runs: a work description, a state, a result."""

    def __init__(self, work: SealWork) -> None:
        self.work = work
        self.state = State.NEW
        self.size = 0
        self.result: object = None

    def absorb(self, result: object) -> None:
        self.result = result


@pytest.fixture
def native() -> Any:
    """A NativePool (one C thread, two slots) on packet memory of its own."""
    from wgdroid.userspace.buffers import Memory
    from wgdroid.userspace.pipeline import memory_specs

    lib = load()
    if lib is None:
        pytest.skip("the compiled library is not built")
    mem = Memory(memory_specs(2))
    pool: NativePool[Any] = NativePool(lib, mem, workers=1, slots=2)
    try:
        yield lib, pool
    finally:
        pool.close()
        mem.close()


def _take_done(lib: Any, pool: NativePool[Any]) -> list[int]:
    """The slots the C threads finished (wg_pool_done), waiting for the first."""
    from array import array

    done = array("i", bytes(4 * 4))
    n = wait_until(lambda: lib.pool_done(pool._handle, done.buffer_info()[0], 4), check=bool,
                   timeout=10, interval=0.001, what="a finished slot")
    return done[:n].tolist()


def test_the_c_threads_refuse_a_slot_that_is_not_free(native: Any) -> None:
    """wg_pool_submit keeps each slot's state: a slot submitted and not yet taken
    back by wg_pool_done (queued, running or done) is refused, as is one out of
    range; taken back, it is free again."""
    lib, pool = native
    h = pool._handle
    desc = b"?"  # malformed: the thread finishes it at once, with an error status
    assert lib.pool_submit(h, 1, desc, 1) == 0
    assert lib.pool_submit(h, 1, desc, 1) == -1
    assert lib.pool_submit(h, 2, desc, 1) == -1 and lib.pool_submit(h, -1, desc, 1) == -1
    assert _take_done(lib, pool) == [1]
    assert lib.pool_submit(h, 1, desc, 1) == 0
    assert _take_done(lib, pool) == [1]


def test_a_unit_that_cannot_be_described_costs_the_c_threads_no_slot(native: Any) -> None:
    """encode_work raising (here: a receiver index out of range) leaves every slot
    free: both later units are taken and come back."""
    import struct

    _, pool = native
    with pytest.raises(struct.error):
        pool.submit(Job(SealWork(KEY, -1, 0, MTU, [], 0)))
    jobs = [Job(SealWork(KEY, 7, 0, MTU, [], 0)) for _ in range(2)]
    assert all(pool.submit(j) for j in jobs)
    fd = pool.wake_fd
    got: list[Any] = []

    def pump() -> int:
        select.select([fd], [], [], 0.2)
        got.extend(pool.completed())
        return len(got)

    wait_until(pump, check=lambda n: n == 2, timeout=10, interval=0.001, what="both units")
    assert sorted(map(id, got)) == sorted(map(id, jobs))


def test_pure_python_kernels_in_a_process_pool_match_the_core() -> None:
    """prefer_compiled=False: workers seal with pyca, byte for byte the core's seal."""
    sink = Sink()
    pipe = Pipeline(sink.on_tx, sink.on_rx, kind="processes", workers=1, kernels=PyKernels())
    try:
        pkts = [os.urandom(100 + 50 * i) for i in range(5)]
        feed_tx(pipe, Token(0), pkts, 3)
        settle(pipe, lambda: sink.tx, 1)
        from wgdroid.userspace.core import padded_length

        assert sink.tx[0][1] == [seal_raw(Cipher(KEY), 7, 3 + i, p, padded_length(len(p), MTU))
                                 for i, p in enumerate(pkts)]
    finally:
        pipe.close()


@pytest.mark.parametrize("kernels", ["python", "compiled"])
def test_a_lone_packet_run_at_once_matches_the_unit_path(kernels: str) -> None:
    """seal_now/open_now (the daemon's path for a ping or an ACK) give the same
    datagrams and plaintexts as units do, and only where nothing can overtake."""

    from wgdroid.userspace.kernels import CKernels

    if kernels == "compiled":
        lib = load()
        if lib is None:
            pytest.skip("the compiled library is not built")
        chosen: Any = CKernels(lib)
    else:
        chosen = PyKernels()
    sink = Sink()
    pipe = Pipeline(sink.on_tx, sink.on_rx, kind="inline", kernels=chosen)
    stalled = Pipeline(sink.on_tx, sink.on_rx)
    stalled.pool = Stalled(stalled.crypt)
    peer = Token(0)
    try:
        assert pipe.runs_now(peer, True) and pipe.runs_now(peer, False)
        # Any pool: at once only while nothing of the peer is in flight that way.
        assert stalled.runs_now(peer, True)
        feed_tx(stalled, peer, [b"x" * 40] * 3, 0)
        assert not stalled.runs_now(peer, True) and stalled.runs_now(peer, False)
        assert stalled.runs_now(Token(1), True)
        packets = [os.urandom(n) for n in (20, 100, 1419, 1420, 3000)]
        feed_tx(pipe, peer, packets, 0)  # through units: the reference
        want = [d for _, dgs in sink.tx for d in dgs]
        assert len(want) == len(packets)
        got = []
        arena = pipe.tx_arena
        for i, p in enumerate(packets):
            where = arena.space()
            assert where is not None
            buf, pos = where
            pipe.memory.view(buf)[pos : pos + len(p)] = p
            arena.commit(len(p))
            dgram = pipe.seal_now(KEY, 7, i, MTU, Item(buf, pos, len(p)))
            assert dgram is not None
            got.append(bytes(dgram))
            arena.unref(buf)
        assert got == want

        bad = bytearray(want[1])
        bad[-1] ^= 1
        for dgs in ([want[0]], [bytes(bad), want[2]]):
            run, buf = stage_rx(pipe, peer, dgs)
            done = pipe.open_now(run, buf)
            assert done is not None
            out_idx, results = done
            out = pipe.memory.view(out_idx)
            opened = [None if n < 0 else bytes(out[o : o + n])
                      for o, n in zip(run.offs, results, strict=True)]
            pipe.rx_arena.unref(buf)
            for d, o in zip(dgs, opened, strict=True):
                c = int.from_bytes(d[8:16], "little")
                assert o == (None if d is not want[c] else open_raw(Cipher(KEY), c, d))
        assert all_buffers_home(pipe)
    finally:
        pipe.close()
        stalled.close()


def test_reads_laid_out_by_the_library_are_kept_with_one_reference() -> None:
    """Arena.commit_to (the compiled UDP receive loop fills the buffer itself): the
    next read goes after them, aligned; the buffer goes home once the caller's
    reference and the arena's own are dropped."""
    from wgdroid.userspace.buffers import Arena, Memory, PoolSpec

    mem = Memory([PoolSpec("rx", 2, 4096)])
    try:
        pool = mem.pools["rx"]
        arena = Arena(pool, 1000)
        buf, pos = arena.space()  # type: ignore[misc]
        assert arena.commit_to(pos + 1000 + 3) == buf
        assert arena.space() == (buf, 1008)
        assert arena.commit_to(4090) == buf  # past `need`: the next read takes a new buffer
        nxt = arena.space()
        assert nxt is not None and nxt[0] != buf
        assert pool.free == 0
        arena.unref(buf)
        arena.unref(buf)
        assert pool.free == 1  # both reads released, the arena moved on
    finally:
        mem.close()
