"""Property tests of the GSoC queue design: order, bounds, dead units (pure, no I/O)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from wgdroid.userspace.queues import Bound, CryptoQueue, PeerQueue, State


@dataclass
class Unit:
    peer: int
    seq: int
    nbytes: int = 100
    state: State = State.NEW
    log: list[str] = field(default_factory=list)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Unit], list[int], set[int]]:
    n = draw(st.integers(1, 60))
    peers = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    units = []
    counters = [0, 0, 0, 0]
    for p in peers:
        units.append(Unit(p, counters[p], nbytes=draw(st.integers(1, 1500))))
        counters[p] += 1
    order = draw(st.permutations(range(n)))
    dead = set(draw(st.lists(st.integers(0, n - 1), max_size=n // 2)))
    return units, list(order), dead


@given(scenarios(), st.integers(1, 5))
@settings(max_examples=300, deadline=None)
def test_any_completion_order_leaves_each_peer_in_order(
    scn: tuple[list[Unit], list[int], set[int]], drain_every: int
) -> None:
    units, order, dead = scn
    queues = {p: PeerQueue[Unit](Bound(items=1000, bytes=10**9)) for p in range(4)}
    for u in units:
        assert queues[u.peer].push(u)
    out: dict[int, list[int]] = {p: [] for p in range(4)}
    dropped: dict[int, list[int]] = {p: [] for p in range(4)}
    for step, i in enumerate(order):
        units[i].state = State.DEAD if i in dead else State.FINISHED
        if step % drain_every == 0:
            for p, q in queues.items():
                out[p] += [u.seq for u in q.pop_ready(lambda u, p=p: dropped[p].append(u.seq))]
    for p, q in queues.items():
        out[p] += [u.seq for u in q.pop_ready(lambda u, p=p: dropped[p].append(u.seq))]
        assert len(q) == 0
        assert q.bytes_held == 0
        expected = [u.seq for u in units if u.peer == p and units.index(u) not in dead]
        assert out[p] == expected  # strictly in push order, nothing missing
        assert out[p] == sorted(out[p])
        assert dropped[p] == sorted(dropped[p])
        assert q.stats.dead == len(dropped[p])


@given(st.lists(st.integers(1, 3000), min_size=1, max_size=400),
       st.integers(1, 64), st.integers(1500, 40000))
@settings(max_examples=200, deadline=None)
def test_stalled_consumer_memory_stays_bounded(sizes: list[int], items: int, nbytes: int) -> None:
    bound = Bound(items=items, bytes=nbytes)
    pq = PeerQueue[Unit](bound)
    cq = CryptoQueue[Unit](bound)
    accepted = 0
    for i, size in enumerate(sizes):
        u = Unit(0, i, nbytes=size)
        ok = pq.push(u)
        accepted += ok
        cq.put(u)
        for q in (pq, cq):
            assert len(q) <= bound.items
            assert q.bytes_held <= bound.bytes
    assert pq.stats.peak_items <= bound.items
    assert pq.stats.peak_bytes <= bound.bytes
    assert pq.stats.enqueued == accepted
    assert pq.stats.dropped == len(sizes) - accepted
    assert cq.stats.enqueued + cq.stats.dropped == len(sizes)
    # Nothing finishes: the consumer releases nothing and the queue holds what it held.
    assert pq.pop_ready() == []
    assert len(pq) == accepted


@given(st.integers(1, 50), st.integers(0, 49))
def test_dead_units_never_block(n: int, alive_at: int) -> None:
    q = PeerQueue[Unit](Bound())
    units = [Unit(0, i) for i in range(n)]
    for u in units:
        q.push(u)
    for u in units:
        u.state = State.DEAD
    alive = min(alive_at, n - 1)
    units[alive].state = State.FINISHED
    assert [u.seq for u in q.pop_ready()] == [alive]
    assert len(q) == 0
    assert q.stats.dead == n - 1


def test_new_head_blocks_finished_followers() -> None:
    q = PeerQueue[Unit](Bound())
    a, b, c = Unit(0, 0), Unit(0, 1), Unit(0, 2)
    for u in (a, b, c):
        q.push(u)
    b.state = c.state = State.FINISHED
    assert q.pop_ready() == []
    a.state = State.FINISHED
    assert [u.seq for u in q.pop_ready()] == [0, 1, 2]


def test_many_producers_keep_each_producers_order() -> None:
    q = PeerQueue[Unit](Bound(items=100_000, bytes=10**9))

    def produce(p: int) -> None:
        for i in range(2000):
            u = Unit(p, i, state=State.FINISHED)
            assert q.push(u)

    threads = [threading.Thread(target=produce, args=(p,)) for p in range(4)]
    for t in threads:
        t.start()
    seen: dict[int, list[int]] = {p: [] for p in range(4)}
    while any(t.is_alive() for t in threads) or len(q):
        for u in q.pop_ready():
            seen[u.peer].append(u.seq)
    for t in threads:
        t.join()
    for p in range(4):
        assert seen[p] == list(range(2000))


def test_crypto_queue_close_wakes_getters() -> None:
    q = CryptoQueue[Unit](Bound(items=4, bytes=1000))
    got: list[object] = []
    t = threading.Thread(target=lambda: got.append(q.get()))
    t.start()
    q.close()
    t.join(timeout=2)
    assert got == [None]
    assert not q.put(Unit(0, 0))
