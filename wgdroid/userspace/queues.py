"""Bounded queues of the data-plane pipeline (the GSoC 2017 design, with its BQL
idea: docs/dataplane.md).

Each peer owns one ordered queue per direction (`PeerQueue`): producers (many)
append units of work in arrival order, the peer's single consumer releases every
unit at the front whose state is no longer NEW, strictly in order. The same unit
is also handed to a crypto queue (`CryptoQueue`) shared by all peers and served
by workers in any order; a worker flips the unit's state to FINISHED or DEAD.
DEAD units are dropped by the consumer in order, so they never block it.

Every queue is bounded by items AND bytes; a full queue refuses the new unit
(the caller drops it and the queue counts the drop) instead of growing.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Generic, Protocol, TypeVar


class State(IntEnum):
    NEW = 0
    FINISHED = 1
    DEAD = 2


class WorkUnit(Protocol):
    """What the queues need from a unit of work: a state and a size in bytes."""

    state: State
    nbytes: int


U = TypeVar("U", bound=WorkUnit)


@dataclass(frozen=True)
class Bound:
    """Limits of one queue. The kernel's 1024 packets, plus a byte limit (BQL idea)."""

    items: int = 1024
    bytes: int = 4 << 20

    def __post_init__(self) -> None:
        if self.items < 1 or self.bytes < 1:
            raise ValueError("queue bounds must be positive")


@dataclass
class QueueStats:
    enqueued: int = 0
    dropped: int = 0  # refused because full (items or bytes)
    released: int = 0  # FINISHED units handed to the consumer
    dead: int = 0  # DEAD units dropped in order by the consumer
    peak_items: int = 0
    peak_bytes: int = 0


class _BoundedDeque(Generic[U]):
    """A deque with item and byte bounds and stats; callers hold the lock."""

    def __init__(self, bound: Bound) -> None:
        self.bound = bound
        self.stats = QueueStats()
        self._items: deque[U] = deque()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def bytes_held(self) -> int:
        return self._bytes

    def _append_locked(self, unit: U) -> bool:
        size = unit.nbytes
        if len(self._items) >= self.bound.items or self._bytes + size > self.bound.bytes:
            self.stats.dropped += 1
            return False
        self._items.append(unit)
        self._bytes += size
        st = self.stats
        st.enqueued += 1
        st.peak_items = max(st.peak_items, len(self._items))
        st.peak_bytes = max(st.peak_bytes, self._bytes)
        return True


class PeerQueue(_BoundedDeque[U]):
    """One peer's ordered queue: many producers, one consumer, bounded, never blocks."""

    def __init__(self, bound: Bound) -> None:
        super().__init__(bound)
        self._lock = threading.Lock()

    def push(self, unit: U) -> bool:
        """Append in order; False (and a counted drop) when it would exceed a bound."""
        with self._lock:
            return self._append_locked(unit)

    def pop_ready(self, on_dead: Callable[[U], None] | None = None) -> list[U]:
        """Release every unit at the front that is no longer NEW, in order.

        FINISHED units are returned; DEAD ones are dropped (given to `on_dead`,
        e.g. to recycle a buffer). Stops at the first NEW unit. Only the peer's
        single consumer calls this.
        """
        out: list[U] = []
        items = self._items
        with self._lock:
            while items:
                head = items[0]
                state = head.state
                if state == State.NEW:
                    break
                items.popleft()
                self._bytes -= head.nbytes
                if state == State.FINISHED:
                    out.append(head)
                else:
                    self.stats.dead += 1
                    if on_dead is not None:
                        on_dead(head)
            self.stats.released += len(out)
        return out

    def clear(self, on_dead: Callable[[U], None] | None = None) -> int:
        """Drop everything (peer removed or key purged); returns how many were held."""
        with self._lock:
            n = len(self._items)
            for unit in self._items:
                unit.state = State.DEAD
                if on_dead is not None:
                    on_dead(unit)
            self.stats.dead += n
            self._items.clear()
            self._bytes = 0
        return n


class CryptoQueue(_BoundedDeque[U]):
    """A bounded queue feeding crypto workers, shared by all peers (MPMC)."""

    def __init__(self, bound: Bound) -> None:
        super().__init__(bound)
        self._cond = threading.Condition(threading.Lock())
        self._closed = False

    def put(self, unit: U) -> bool:
        with self._cond:
            if self._closed:
                self.stats.dropped += 1
                return False
            if not self._append_locked(unit):
                return False
            self._cond.notify()
            return True

    def get(self, timeout: float | None = None) -> U | None:
        """Next unit, waiting up to `timeout`; None on timeout or once closed and empty."""
        with self._cond:
            while not self._items:
                if self._closed or not self._cond.wait(timeout):
                    return None
            return self._take_locked()

    def get_nowait(self) -> U | None:
        with self._cond:
            return self._take_locked() if self._items else None

    def _take_locked(self) -> U:
        unit = self._items.popleft()
        self._bytes -= unit.nbytes
        self.stats.released += 1
        return unit

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
