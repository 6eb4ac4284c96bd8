"""Crypto worker pools: inline, threads, and processes over shared memory.

A pool takes units of work (already in their peer's ordered queue), runs the
crypto on them in any order, and sets each unit's state to FINISHED or DEAD.
Completed units are reported through `completed()`; threaded and process pools
also make `wake_fd` readable so an epoll loop can wait on them.

Which runs in parallel (docs/dataplane.md has the measurements): pyca's
ChaCha20Poly1305 holds the GIL for inputs under 2 KiB, so pure-Python kernels in
threads (`ThreadPool`) share one core. With the compiled kernels (`accel`) the
threads are the library's own (`NativePool`): they run a unit's work description
without ever taking the GIL, so they scale with cores and the event loop pays
only the hand-off. Processes scale with either kernel: the packet buffers live
in shared memory that every worker maps, and one small pipe message per unit (a
batch of packets) says where its work is.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import signal
import sys
import threading
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Generic, Protocol, TypeVar

from wgdroid.userspace.buffers import Memory, PoolSpec
from wgdroid.userspace.kernels import OpenWork, SealWork, encode_work
from wgdroid.userspace.queues import Bound, CryptoQueue, State, U, WorkUnit

SWITCH_INTERVAL = 0.0005  # seconds; see ThreadPool
CryptoFn = Callable[[U], None]  # does the crypto in place; raises to mark the unit DEAD


class Distributor(Protocol):
    """Which worker gets the next unit."""

    def choose(self, loads: list[int]) -> int: ...


class RoundRobin:
    """The 2017 queue design's policy (docs/dataplane.md): cycle through the workers."""

    def __init__(self) -> None:
        self._next = 0

    def choose(self, loads: list[int]) -> int:
        i = self._next % len(loads)
        self._next = i + 1
        return i


class LeastLoaded:
    """The worker with the fewest queued units (ties go to the lowest index)."""

    def choose(self, loads: list[int]) -> int:
        return min(range(len(loads)), key=loads.__getitem__)


def _run(fn: CryptoFn[U], unit: U) -> None:
    try:
        fn(unit)
    except Exception:  # a unit that fails to seal/open is dropped in order, never raised
        unit.state = State.DEAD
    else:
        unit.state = State.FINISHED


class WorkerPool(Protocol[U]):
    wake_fd: int | None
    synchronous: bool

    def submit(self, unit: U) -> bool:
        """Hand a unit to the workers; False if the crypto queue is full (caller marks DEAD)."""
        ...

    def completed(self) -> list[U]:
        """Units whose state changed since the last call (consumer side)."""
        ...

    def health_check(self) -> None:
        """Replace dead workers; their units become DEAD (reported by completed())."""
        ...

    def close(self) -> None: ...


class InlinePool(Generic[U]):
    """No workers: the crypto runs in the caller's thread during submit."""

    wake_fd: int | None = None
    synchronous = True  # a unit is finished when submit returns

    def __init__(self, fn: CryptoFn[U]) -> None:
        self._fn = fn
        self._done: list[U] = []

    def submit(self, unit: U) -> bool:
        _run(self._fn, unit)
        self._done.append(unit)
        return True

    def completed(self) -> list[U]:
        done, self._done = self._done, []
        return done

    def health_check(self) -> None:
        pass

    def close(self) -> None:
        self._done.clear()


class _Waker:
    """An eventfd that turns 'some unit completed' into a readable fd (coalesced)."""

    def __init__(self) -> None:
        self.fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._armed = False

    def kick(self) -> None:
        if not self._armed:
            self._armed = True
            with contextlib.suppress(BlockingIOError, OSError):
                os.eventfd_write(self.fd, 1)

    def reset(self) -> None:
        self._armed = False
        with contextlib.suppress(BlockingIOError, OSError):
            os.eventfd_read(self.fd)

    def close(self) -> None:
        os.close(self.fd)


class ThreadPool(Generic[U]):
    """N threads, each with its own bounded crypto queue (the 2017 design's per-CPU queues)."""

    synchronous = False

    def __init__(
        self,
        fn: CryptoFn[U],
        workers: int = 2,
        bound: Bound | None = None,
        distributor: Distributor | None = None,
    ) -> None:
        self._fn = fn
        b = bound or Bound()
        self._queues: list[CryptoQueue[U]] = [CryptoQueue(b) for _ in range(workers)]
        self._dist = distributor or RoundRobin()
        self._done: deque[U] = deque()
        self._waker = _Waker()
        self.wake_fd: int | None = self._waker.fd
        # A worker back from a GIL-free kernel call waits for the GIL until the busy
        # event loop drops it: every switch interval (5 ms by default), so each unit
        # could sit finished for 5 ms. 0.5 ms keeps the workers fed.
        if sys.getswitchinterval() > SWITCH_INTERVAL:
            sys.setswitchinterval(SWITCH_INTERVAL)
        self._threads = [
            threading.Thread(target=self._serve, args=(q,), name=f"wg-crypto-{i}", daemon=True)
            for i, q in enumerate(self._queues)
        ]
        for t in self._threads:
            t.start()

    @property
    def queues(self) -> list[CryptoQueue[U]]:
        return self._queues

    def _serve(self, q: CryptoQueue[U]) -> None:
        while (unit := q.get()) is not None:
            _run(self._fn, unit)
            self._done.append(unit)
            self._waker.kick()

    def submit(self, unit: U) -> bool:
        i = self._dist.choose([len(q) for q in self._queues])
        return self._queues[i].put(unit)

    def completed(self) -> list[U]:
        self._waker.reset()
        out = []
        done = self._done
        while done:
            out.append(done.popleft())
        return out

    def health_check(self) -> None:
        pass  # _run catches every exception, so a thread never dies with work held

    def close(self) -> None:
        for q in self._queues:
            q.close()
        for t in self._threads:
            t.join(timeout=2)
        self._waker.close()


class Task(Protocol):
    """What a process pool ships to a worker: a small description of the work."""

    @property
    def work(self) -> SealWork | OpenWork: ...

    def absorb(self, result: object) -> None:
        """Take the worker's result (SealWork.sizes / OpenWork.results) back."""
        ...


TaskU = TypeVar("TaskU", bound="TaskUnit")


class TaskUnit(WorkUnit, Task, Protocol):
    pass


class NativePool(Generic[TaskU]):
    """Threads of the compiled library (wgaccel.c wg_pool_*) that never take the
    GIL: a unit's work description (kernels.encode_work, the process pool's) is
    copied into a free slot, a C thread runs it on the packet memory and stores
    the results beside the slot, and the eventfd `wake_fd` says some slot is done.
    The event loop's whole cost per unit is one description and two short calls;
    the slots bound the units in flight (submit says False when none is free)."""

    synchronous = False

    def __init__(self, lib: object, memory: Memory, workers: int = 2,
                 slots: int = 256, batch: int = 4) -> None:
        from wgdroid.userspace.accel import Library
        from wgdroid.userspace.kernels import MAX_RESULTS

        assert isinstance(lib, Library)
        self._lib = lib
        self._maxr = MAX_RESULTS
        self._status = array("q", bytes(8 * slots))
        # Anonymous memory: a slot's pages cost nothing until a unit's results
        # land there (as many slots as the process pool allows units in flight).
        self._results_map = mmap.mmap(-1, 4 * slots * MAX_RESULTS)
        self._results = memoryview(self._results_map).cast("i")
        self._done = array("i", bytes(4 * slots))
        self._units: list[TaskU | None] = [None] * slots
        self._free = list(range(slots - 1, -1, -1))
        self.wake_fd: int | None = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._memory = memory
        import ctypes

        results_addr = ctypes.addressof(ctypes.c_char.from_buffer(self._results_map))
        handle = lib.pool_new(workers, *memory.table(), slots, self._status.buffer_info()[0],
                              results_addr, MAX_RESULTS, self.wake_fd, batch)
        if not handle:
            os.close(self.wake_fd)
            raise OSError("the compiled worker pool could not start")
        self._handle: int | None = handle

    def submit(self, unit: TaskU) -> bool:
        if not self._free or self._handle is None:
            return False
        desc = encode_work(unit.work)  # before a slot is taken: if it raises, none is lost
        slot = self._free.pop()
        if self._lib.pool_submit(self._handle, slot, desc, len(desc)) != 0:
            self._free.append(slot)
            return False
        self._units[slot] = unit
        return True

    def completed(self) -> list[TaskU]:
        assert self.wake_fd is not None
        with contextlib.suppress(BlockingIOError):
            os.eventfd_read(self.wake_fd)  # reset before draining: no wake-up lost
        if self._handle is None:
            return []
        done = self._done
        n = self._lib.pool_done(self._handle, done.buffer_info()[0], len(done))
        out: list[TaskU] = []
        units, status, results, maxr = self._units, self._status, self._results, self._maxr
        for slot in done[:n]:
            unit = units[slot]
            units[slot] = None
            self._free.append(slot)
            assert unit is not None
            count = status[slot]
            if count < 0:
                unit.state = State.DEAD
            else:
                at = slot * maxr
                unit.absorb(results[at : at + count].tolist())
                unit.state = State.FINISHED
            out.append(unit)
        return out

    def health_check(self) -> None:
        pass  # a C thread cannot die without the process

    def close(self) -> None:
        if self._handle is not None:
            self._lib.pool_free(self._handle)  # joins the threads
            self._handle = None
            assert self.wake_fd is not None
            os.close(self.wake_fd)
            self.wake_fd = None
            self._results.release()
            self._results_map.close()


@dataclass
class _Pending(Generic[TaskU]):
    unit: TaskU
    worker: int
    slot: int  # where the worker puts the unit's results (ProcessPool._results)


def _process_main(mem_name: str, specs: list[PoolSpec], results_name: str,
                  inbox: Connection, outbox: Connection, prefer_compiled: bool) -> None:
    """Worker process: map the parent's packet memory, run the kernels on each
    work description it receives (no packet bytes cross the pipe), put the
    results in the unit's slot of the shared results block and report back."""
    # Ctrl-C reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from multiprocessing.shared_memory import SharedMemory

    from wgdroid.userspace.kernels import MAX_RESULTS, CKernels, decode_work, select_kernels

    # Spawned workers share the parent's resource tracker, so attaching here
    # re-registers the same name (a set) and the parent's unlink clears it.
    mem = Memory(specs, attach=mem_name)
    results_shm = SharedMemory(name=results_name)
    assert results_shm.buf is not None
    results = results_shm.buf.cast("i")
    kernels = select_kernels(prefer_compiled)
    try:
        while True:
            try:
                msg = inbox.recv_bytes()
            except (EOFError, OSError):
                return
            uid = msg[:4]
            at = int.from_bytes(msg[4:8], "little") * MAX_RESULTS
            try:
                if isinstance(kernels, CKernels):  # one call, straight from the description
                    result = array("i", kernels.run(msg[8:], mem))
                else:
                    work = decode_work(msg[8:])
                    if isinstance(work, SealWork):
                        kernels.seal(work, mem)
                        result = array("i", work.sizes)
                    else:
                        kernels.open(work, mem)
                        result = array("i", work.results)
                if len(result) > MAX_RESULTS:
                    raise ValueError("more results than a slot holds")
                results[at : at + len(result)] = result
                reply = uid + b"\x01" + len(result).to_bytes(4, "little")
            except Exception:
                reply = uid + b"\x00"
            # Every worker writes to one pipe: a reply of at most PIPE_BUF bytes
            # is one atomic write, so replies of two workers never interleave
            # (a results list sent whole, up to 16 KiB, could).
            outbox.send_bytes(reply)
    finally:
        results.release()
        results_shm.close()
        mem.close()


class ProcessPool(Generic[TaskU]):
    """Worker processes over the shared packet memory: a unit's buffers are already
    where the worker can see them, so only its small work description (buffer
    indices, offsets, key, counters) goes through a pipe; its results (sizes)
    go to the unit's slot of a shared results block, and only a short reply
    comes back."""

    synchronous = False

    def __init__(
        self,
        memory: Memory,
        workers: int = 2,
        max_pending: int = 256,
        distributor: Distributor | None = None,
        prefer_compiled: bool = True,
    ) -> None:
        if memory.name is None:
            raise ValueError("the process pool needs shared packet memory")
        from multiprocessing.shared_memory import SharedMemory

        from wgdroid.userspace.kernels import MAX_RESULTS

        self._memory = memory
        self._pending: dict[int, _Pending[TaskU]] = {}
        # One results slot per unit in flight (pages are touched only when used).
        self._maxr = MAX_RESULTS
        self._results_shm = SharedMemory(create=True, size=4 * max_pending * MAX_RESULTS)
        assert self._results_shm.buf is not None
        self._results = self._results_shm.buf.cast("i")
        self._free = list(range(max_pending - 1, -1, -1))
        self._results_open = True
        self._next_id = 0
        self._loads = [0] * workers
        self._dist = distributor or RoundRobin()
        self._prefer_compiled = prefer_compiled
        self._ctx = get_context("spawn")  # fork would copy the daemon's threads and keys
        # The parent keeps the write end too, so it can start replacement workers.
        self._results_r, self._results_w = self._ctx.Pipe(duplex=False)
        self.wake_fd: int | None = self._results_r.fileno()
        self._inboxes: list[Connection] = []
        self._procs: list[BaseProcess] = []
        self._reaped: list[TaskU] = []
        self.restarts = 0
        for i in range(workers):
            inbox, proc = self._spawn(i)
            self._inboxes.append(inbox)
            self._procs.append(proc)

    def _spawn(self, i: int) -> tuple[Connection, BaseProcess]:
        r, w = self._ctx.Pipe(duplex=False)
        p = self._ctx.Process(
            target=_process_main,
            args=(self._memory.name, self._memory.specs, self._results_shm.name, r,
                  self._results_w, self._prefer_compiled),
            name=f"wg-crypto-{i}",
            daemon=True,
        )
        p.start()
        r.close()
        return w, p

    def health_check(self) -> None:
        self._reaped.extend(self._collect())  # results already sent by a dying worker
        for i, p in enumerate(self._procs):
            if p.is_alive():
                continue
            for uid in [u for u, pend in self._pending.items() if pend.worker == i]:
                pend = self._pending.pop(uid)
                self._free.append(pend.slot)  # its worker is gone: nothing writes there
                pend.unit.state = State.DEAD
                self._reaped.append(pend.unit)
            self._loads[i] = 0
            self._inboxes[i].close()
            self._inboxes[i], self._procs[i] = self._spawn(i)
            self.restarts += 1

    def submit(self, unit: TaskU) -> bool:
        if not self._free:  # max_pending units in flight
            return False
        desc = encode_work(unit.work)
        slot = self._free.pop()
        uid = self._next_id
        self._next_id = (uid + 1) & 0x7FFFFFFF
        w = self._dist.choose(self._loads)
        self._loads[w] += 1
        self._pending[uid] = _Pending(unit, w, slot)
        # A dead worker's pipe fails; health_check then reaps the unit as DEAD.
        with contextlib.suppress(OSError):
            self._inboxes[w].send_bytes(uid.to_bytes(4, "little") + slot.to_bytes(4, "little")
                                        + desc)
        return True

    def completed(self) -> list[TaskU]:
        out, self._reaped = self._reaped, []
        out.extend(self._collect())
        return out

    def _collect(self) -> list[TaskU]:
        out: list[TaskU] = []
        while self._results_r.poll():
            msg = self._results_r.recv_bytes()
            pend = self._pending.pop(int.from_bytes(msg[:4], "little"), None)
            if pend is None:
                continue
            self._loads[pend.worker] -= 1
            self._free.append(pend.slot)
            unit = pend.unit
            if msg[4]:
                at = pend.slot * self._maxr
                unit.absorb(self._results[at : at + int.from_bytes(msg[5:9], "little")]
                            .tolist())
                unit.state = State.FINISHED
            else:
                unit.state = State.DEAD
            out.append(unit)
        return out

    def wait_idle(self, timeout: float = 5.0) -> list[TaskU]:
        """Collect results until nothing is pending (tests and shutdown)."""
        out: list[TaskU] = []
        while self._pending and self._results_r.poll(timeout):
            out.extend(self.completed())
        return out

    def close(self) -> None:
        for w in self._inboxes:
            w.close()
        for p in self._procs:
            p.join(timeout=2)
            if p.is_alive():
                p.terminate()
                p.join(timeout=1)
        self._results_r.close()
        self._results_w.close()
        if self._results_open:  # once: unlink would fail the second time
            self._results_open = False
            self._results.release()
            self._results_shm.close()
            self._results_shm.unlink()
