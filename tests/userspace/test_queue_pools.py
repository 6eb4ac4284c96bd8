"""The pipeline with each worker pool: per-peer order and correct crypto end to end.

Uses the core's real transport crypto (seal/open_); peers are plain tokens.
"""

from __future__ import annotations

import os
import random
import select
import time
from typing import Any

import pytest
from support import wait_until

from wgdroid.userspace.core import Cipher, RecvJob, SendJob, open_raw, seal_raw
from wgdroid.userspace.pipeline import Batch, BatchCodec, Pipeline, RxBatch, TxBatch, crypt
from wgdroid.userspace.queues import Bound, State
from wgdroid.userspace.workers import (
    InlinePool,
    LeastLoaded,
    ProcessPool,
    RoundRobin,
    ThreadPool,
    WorkerPool,
)

KEY = bytes(range(32))


class Token:
    """Stands in for a core Peer: the pipeline only hashes it."""

    def __init__(self, n: int) -> None:
        self.n = n


def jittery_crypt(batch: Batch) -> None:
    time.sleep(random.random() * 0.002)  # scramble completion order across threads
    crypt(batch)


def make_pool(kind: str) -> WorkerPool[Batch]:
    if kind == "inline":
        return InlinePool(crypt)
    if kind == "threads":
        return ThreadPool(jittery_crypt, workers=3, distributor=RoundRobin())
    return ProcessPool(BatchCodec(), workers=2, slots=64, distributor=LeastLoaded())


def wait_all(pipe: Pipeline, expect: int, got: list[Any]) -> None:
    fd = pipe.pool.wake_fd

    def pump() -> int:
        if fd is not None:
            select.select([fd], [], [], 0.2)
        pipe.process_completions()
        return len(got)

    wait_until(pump, check=lambda n: n >= expect, timeout=20, interval=0.001,
               what=f"{expect} completed batches")


@pytest.mark.parametrize("kind", ["inline", "threads", "processes"])
def test_tx_then_rx_through_each_pool_keeps_order_and_bytes(kind: str) -> None:
    cipher = Cipher(KEY)
    peers = [Token(i) for i in range(3)]
    sent: list[tuple[Token, list[bytes]]] = []
    delivered: list[RxBatch] = []
    pipe = Pipeline(lambda p, d: sent.append((p, d)), delivered.append, make_pool(kind))
    try:
        plain: dict[Token, list[bytes]] = {p: [] for p in peers}
        counter = 0
        n_batches = 40
        for b in range(n_batches):
            peer = peers[b % 3]
            jobs = []
            for _ in range(b % 5 + 1):
                pkt = os.urandom(random.randint(20, 1400))
                plain[peer].append(pkt)
                jobs.append(SendJob(cipher, 7, counter, pkt, (len(pkt) + 15) & ~15))
                counter += 1
            pipe.submit_tx(peer, jobs)  # type: ignore[arg-type]
            if kind == "processes":
                pipe.process_completions()
        wait_all(pipe, n_batches, sent)
        assert len(sent) == n_batches
        per_peer: dict[Token, list[bytes]] = {p: [] for p in peers}
        for peer, datagrams in sent:
            per_peer[peer] += datagrams
        for peer in peers:
            got = []
            for d in per_peer[peer]:
                ctr = int.from_bytes(d[8:16], "little")
                pt = open_raw(cipher, ctr, d)
                assert pt is not None
                got.append(pt)
            assert [g[: len(p)] for g, p in zip(got, plain[peer], strict=True)] == plain[peer]
            counters = [int.from_bytes(d[8:16], "little") for d in per_peer[peer]]
            assert counters == sorted(counters)  # left in submission order

        # RX: the same datagrams back through the pipeline, one corrupted.
        for peer in peers:
            dgs = list(per_peer[peer])
            bad = bytearray(dgs[0])
            bad[-1] ^= 1
            dgs[0] = bytes(bad)
            jobs = [RecvJob(None, cipher, int.from_bytes(d[8:16], "little"), d, ("::1", 1))  # type: ignore[arg-type]
                    for d in dgs]
            for i in range(0, len(jobs), 4):
                pipe.submit_rx(peer, jobs[i : i + 4])  # type: ignore[arg-type]
        expect_rx = sum((len(per_peer[p]) + 3) // 4 for p in peers)
        wait_all(pipe, expect_rx, delivered)
        assert len(delivered) == expect_rx
        for peer in peers:
            outs = [o for b in delivered if b.peer is peer for o in b.out]
            assert outs[0] is None  # the corrupted one fails authentication
            assert [o[: len(p)] for o, p in zip(outs[1:], plain[peer][1:], strict=True)
                    if o is not None] == plain[peer][1:]
        assert pipe.held() == (0, 0)
    finally:
        pipe.close()


def test_full_crypto_queue_marks_dead_and_does_not_block() -> None:
    """A pool that refuses work: units die in order, later ones still flow."""

    class Refusing(InlinePool[Batch]):
        refuse = True

        def submit(self, unit: Batch) -> bool:
            if self.refuse:
                return False
            return super().submit(unit)

    sent: list[list[bytes]] = []
    pool = Refusing(crypt)
    pipe = Pipeline(lambda p, d: sent.append(d), lambda b: None, pool)
    peer = Token(0)
    job = SendJob(Cipher(KEY), 1, 0, b"x" * 40, 48)
    pipe.submit_tx(peer, [job])  # type: ignore[arg-type]
    assert pipe.stats.tx_dropped_crypto == 1
    pool.refuse = False
    pipe.submit_tx(peer, [SendJob(Cipher(KEY), 1, 1, b"y" * 40, 48)])  # type: ignore[arg-type]
    pipe.process_completions()
    assert len(sent) == 1
    assert int.from_bytes(sent[0][0][8:16], "little") == 1
    assert pipe.held() == (0, 0)


def test_peer_queue_bound_drops_instead_of_growing() -> None:
    class Stalled(InlinePool[Batch]):
        def submit(self, unit: Batch) -> bool:
            return True  # accepted, never finished: the consumer is stalled

    pipe = Pipeline(lambda p, d: None, lambda b: None, Stalled(crypt), Bound(items=8, bytes=4000))
    peer = Token(0)
    for i in range(100):
        pipe.submit_tx(peer, [SendJob(Cipher(KEY), 1, i, b"z" * 600, 608)])  # type: ignore[arg-type]
        units, nbytes = pipe.held()
        assert units <= 8
        assert nbytes <= 4000
    assert pipe.stats.tx_dropped_full == 100 - pipe.held()[0]


def test_slot_kernel_matches_core_seal() -> None:
    """The process kernel is the core's seal_raw, byte for byte."""
    codec = BatchCodec()
    cipher = Cipher(KEY)
    jobs = [SendJob(cipher, 9, c, os.urandom(100 + c), 128 + 16 * (c // 16)) for c in range(5)]
    batch = TxBatch(Token(0), jobs)  # type: ignore[arg-type]
    slot = memoryview(bytearray(1 << 16))
    codec.pack(batch, slot)
    assert codec.kernel(slot)
    codec.unpack(batch, slot)
    assert batch.out == [seal_raw(cipher, 9, j.counter, j.packet, j.padded_len) for j in jobs]
    assert batch.state == State.NEW  # the pool, not the codec, sets the state


def test_a_dead_worker_process_never_blocks_its_peers() -> None:
    sent: list[list[bytes]] = []
    pool = ProcessPool(BatchCodec(), workers=1, slots=8)
    pipe = Pipeline(lambda p, d: sent.append(d), lambda b: None, pool)
    try:
        peer = Token(0)
        proc = pool._procs[0]
        proc.kill()
        proc.join(5)
        pipe.submit_tx(peer, [SendJob(Cipher(KEY), 1, 0, b"a" * 40, 48)])  # type: ignore[arg-type]
        pool.health_check()  # reaps the unit held by the dead worker, starts a new one
        pipe.process_completions()
        assert sent == []
        assert pipe.held() == (0, 0)
        assert pool.restarts == 1
        pipe.submit_tx(peer, [SendJob(Cipher(KEY), 1, 1, b"b" * 40, 48)])  # type: ignore[arg-type]
        wait_all(pipe, 1, sent)
        assert len(sent) == 1
        assert int.from_bytes(sent[0][0][8:16], "little") == 1
    finally:
        pipe.close()


def test_big_sends_are_split_into_units_that_fit_a_slot() -> None:
    """64 full-size packets exceed 64 KiB: the pipeline splits them, in order."""
    sent: list[list[bytes]] = []
    pool = ProcessPool(BatchCodec(), workers=1, slots=8)
    pipe = Pipeline(lambda p, d: sent.append(d), lambda b: None, pool)
    try:
        cipher = Cipher(KEY)
        jobs = [SendJob(cipher, 1, c, os.urandom(1420), 1420) for c in range(100)]
        pipe.submit_tx(Token(0), jobs)  # type: ignore[arg-type]
        units = pipe.stats.tx_batches
        assert units >= 3  # 100 x 1452 B is more than two 64 KiB units
        wait_all(pipe, units, sent)
        assert pipe.stats.tx_dropped_crypto == 0
        flat = [d for batch in sent for d in batch]
        assert [int.from_bytes(d[8:16], "little") for d in flat] == list(range(100))
        assert all(len(b) <= 64 for b in sent)
        assert all(sum(len(d) for d in b) <= 65536 + 64 * 32 for b in sent)
    finally:
        pipe.close()
