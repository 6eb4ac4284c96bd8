"""Receiver indices: random 32-bit ids naming our handshakes and keypairs
(peerlookup.c index hashtable). Bounded; ids are drawn from the injected RNG."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from wgdroid.userspace.core.constants import MAX_INDICES
from wgdroid.userspace.core.errors import CoreLimitError

T = TypeVar("T")
_MAX_TRIES = 64


class IndexTable(Generic[T]):
    def __init__(self, rng: Callable[[int], bytes], max_entries: int = MAX_INDICES) -> None:
        self._rng = rng
        self.max_entries = max_entries
        self._entries: dict[int, T] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def insert(self, value: T) -> int:
        """Register `value` under a fresh random index."""
        if len(self._entries) >= self.max_entries:
            raise CoreLimitError("receiver index table is full")
        # A few collisions are normal in a busy table; endless ones mean a broken RNG.
        for _ in range(_MAX_TRIES):
            idx = int.from_bytes(self._rng(4), "little")
            if idx not in self._entries:
                self._entries[idx] = value
                return idx
        raise CoreLimitError("could not draw a free receiver index (RNG repeating?)")

    def replace(self, idx: int, value: T) -> None:
        """Hand an existing index to a new owner (handshake -> its keypair)."""
        self._entries[idx] = value

    def remove(self, idx: int, value: T) -> None:
        """Remove `idx` if `value` still owns it."""
        if self._entries.get(idx) is value:
            del self._entries[idx]

    def get(self, idx: int) -> T | None:
        return self._entries.get(idx)
