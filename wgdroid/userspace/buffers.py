"""Preallocated packet buffers: one block of memory cut into fixed-size buffers.

The hot path reads TUN super-packets and UDP GRO batches straight into these
buffers, the crypto kernels write their output into others, and the sockets
send from them, so a packet is copied only where the crypto has to write it
anyway. A `Memory` is one block (a bytearray, or shared memory that worker
processes map too) holding several `Pool`s; every pool has a fixed number of
buffers, so the data plane's packet memory is bounded by construction: when a
pool is empty the reader stops reading and the kernel's queues (TUN txqueuelen,
the UDP receive buffer) drop, as a full NIC would.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.shared_memory import SharedMemory


@dataclass(frozen=True)
class PoolSpec:
    name: str
    count: int
    size: int


class Pool:
    """Buffer indices [first, first + count) of a Memory, each `size` bytes."""

    def __init__(self, memory: Memory, spec: PoolSpec, first: int, offset: int) -> None:
        self.memory = memory
        self.spec = spec
        self.size = spec.size
        self.first = first
        self.offset = offset  # byte offset of the pool's first buffer in the block
        self._free = list(range(first + spec.count - 1, first - 1, -1))
        self.low_water = spec.count  # fewest free buffers seen (stats, tests)

    def take(self) -> int | None:
        """A free buffer's index, or None when all are in flight."""
        free = self._free
        if not free:
            return None
        idx = free.pop()
        if len(free) < self.low_water:
            self.low_water = len(free)
        return idx

    def give(self, idx: int) -> None:
        self._free.append(idx)

    @property
    def free(self) -> int:
        return len(self._free)


class Arena:
    """Reads packed one after another into a pool's buffers, each buffer counted by
    the units that still use it.

    `space()` gives the current buffer and offset with at least `need` bytes
    free, taking a new buffer when the current one is too full (None: the pool
    is empty, stop reading). `commit(n)` keeps the read and takes a reference for
    the reader, which drops it with `unref` once the read is handed on (units
    `ref` what they use): without it, moving to the next buffer could recycle
    this one under a read still waiting. The arena holds one reference to its
    current buffer; a buffer returns to the pool when the count reaches zero.
    """

    def __init__(self, pool: Pool, need: int, align: int = 16) -> None:
        self.pool = pool
        self.need = need
        self.align = align
        self.refs: dict[int, int] = {}
        self.buf: int | None = None
        self.pos = 0

    def space(self) -> tuple[int, int] | None:
        if self.buf is not None and self.pool.size - self.pos >= self.need:
            return self.buf, self.pos
        if self.buf is not None:
            self.unref(self.buf)
            self.buf = None
        idx = self.pool.take()
        if idx is None:
            return None
        self.refs[idx] = 1
        self.buf, self.pos = idx, 0
        return idx, 0

    def commit(self, n: int) -> int:
        """Keep the last read (n bytes at the current position); returns its buffer,
        referenced for the caller."""
        a = self.align
        self.pos += (n + a - 1) & ~(a - 1)
        buf = self.buf
        assert buf is not None
        self.refs[buf] += 1
        return buf

    def commit_to(self, end: int) -> int:
        """Keep every read up to position `end` of the current buffer (laid out by
        someone else, aligned as commit would): one reference for the caller."""
        buf = self.buf
        assert buf is not None and self.pos <= end <= self.pool.size
        self.pos = (end + self.align - 1) & ~(self.align - 1)
        self.refs[buf] += 1
        return buf

    def ref(self, idx: int) -> None:
        self.refs[idx] += 1

    def unref(self, idx: int) -> None:
        left = self.refs[idx] - 1
        if left:
            self.refs[idx] = left
        else:
            del self.refs[idx]
            self.pool.give(idx)

    def in_use(self) -> int:
        return len(self.refs)


class Memory:
    """The block and its pools. `view(i)` is buffer i; `address(i)` its address for
    the compiled kernels (computed only if asked for)."""

    def __init__(self, specs: list[PoolSpec], shared: bool = False,
                 attach: str | None = None) -> None:
        total = sum(s.count * s.size for s in specs)
        self.specs = specs
        self.shm: SharedMemory | None = None
        self._owner = attach is None
        if shared or attach is not None:
            # Imported here: only the process pool needs it (and a phone's python
            # may lack _posixshmem).
            from multiprocessing.shared_memory import SharedMemory

            # A worker process attaches by name to the block its parent created.
            self.shm = SharedMemory(name=attach) if attach else SharedMemory(create=True,
                                                                              size=total)
            buf = self.shm.buf
            assert buf is not None
            self.block: memoryview = buf
        else:
            self._bytes = bytearray(total)
            self.block = memoryview(self._bytes)
        self.pools: dict[str, Pool] = {}
        self._starts: list[int] = []
        self._sizes: list[int] = []
        idx = off = 0
        for spec in specs:
            self.pools[spec.name] = Pool(self, spec, idx, off)
            for _ in range(spec.count):
                self._starts.append(off)
                self._sizes.append(spec.size)
                off += spec.size
                idx += 1
        self._views = [self.block[s : s + n] for s, n in zip(self._starts, self._sizes,
                                                               strict=True)]
        self._base: int | None = None
        self._anchor: object = None  # the ctypes view pinning the block, once asked for
        self._table: tuple[Any, Any] | None = None  # table()'s arrays, once asked for

    @property
    def name(self) -> str | None:
        return None if self.shm is None else self.shm.name

    def view(self, idx: int) -> memoryview:
        return self._views[idx]

    def start(self, idx: int) -> int:
        return self._starts[idx]

    def size(self, idx: int) -> int:
        return self._sizes[idx]

    def address(self, idx: int) -> int:
        if self._base is None:
            import ctypes  # only the compiled kernels need addresses

            anchor = ctypes.c_char.from_buffer(self.block)
            self._anchor = anchor
            self._base = ctypes.addressof(anchor)
        return self._base + self._starts[idx]

    def table(self) -> tuple[int, int, int, int]:
        """(base address, address of the buffers' uint64 start offsets, address of
        their uint32 sizes, buffer count): how the compiled library finds buffer i
        (valid while the Memory is open)."""
        if self._table is None:
            from array import array

            starts, sizes = array("Q", self._starts), array("I", self._sizes)
            self._table = (starts, sizes)
            self.address(0)
        starts, sizes = self._table
        assert self._base is not None
        return self._base, starts.buffer_info()[0], sizes.buffer_info()[0], len(self._sizes)

    def close(self) -> None:
        for v in self._views:
            v.release()
        self._views = []
        self._anchor = None
        if self.shm is not None:
            # A view of a packet may still exist somewhere: the mapping then goes at exit.
            with contextlib.suppress(BufferError):
                self.shm.close()
            if self._owner:
                self.shm.unlink()
            self.shm = None

