"""Crypto worker pools: inline, threads, and processes over shared memory.

A pool takes units of work (already in their peer's ordered queue), runs the
crypto on them in any order, and sets each unit's state to FINISHED or DEAD.
Completed units are reported through `completed()`; threaded and process pools
also make `wake_fd` readable so an epoll loop can wait on them.

Why processes: pyca's ChaCha20Poly1305 holds the GIL for inputs under 2 KiB
(docs/dataplane.md, "Python facts"), so per-packet crypto in threads never runs on
two cores.
The process pool copies a unit into a shared-memory slot, a worker process runs
a module-level kernel on the slot in place, and the parent copies the result
back: one pipe message per unit (a unit is a batch of packets).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.shared_memory import SharedMemory
from typing import Generic, Protocol, TypeVar

from wgdroid.userspace.queues import Bound, CryptoQueue, State, U, WorkUnit

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


U_contra = TypeVar("U_contra", bound=WorkUnit, contravariant=True)


class SlotCodec(Protocol[U_contra]):
    """Moves a unit in and out of a shared-memory slot for the process pool.

    `kernel` must be a module-level function (it runs in the worker process):
    it reads the slot, does the crypto in place and returns False on failure.
    """

    def pack(self, unit: U_contra, slot: memoryview) -> None: ...

    def unpack(self, unit: U_contra, slot: memoryview) -> None: ...

    @property
    def kernel(self) -> Callable[[memoryview], bool]: ...

    def fits(self, unit: U_contra, slot_size: int) -> bool: ...


@dataclass
class _Pending(Generic[U]):
    unit: U
    slot: int


def _process_main(
    shm_name: str, slot_size: int, inbox: Connection, outbox: Connection,
    kernel: Callable[[memoryview], bool],
) -> None:
    """Worker process: run the kernel on each slot index it receives, report back."""
    # Ctrl-C reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Spawned workers share the parent's resource tracker, so attaching here
    # re-registers the same name (a set) and the parent's unlink clears it.
    shm = SharedMemory(name=shm_name)
    buf = shm.buf
    assert buf is not None
    try:
        while True:
            try:
                msg = inbox.recv_bytes()
            except (EOFError, OSError):
                return
            idx = int.from_bytes(msg, "little")
            view = buf[idx * slot_size : (idx + 1) * slot_size]
            try:
                ok = kernel(view)
            except Exception:
                ok = False
            finally:
                view.release()
            outbox.send_bytes(msg + (b"\x01" if ok else b"\x00"))
    finally:
        del buf
        shm.close()


class ProcessPool(Generic[U]):
    """Worker processes; units travel through preallocated shared-memory slots."""

    def __init__(
        self,
        codec: SlotCodec[U],
        workers: int = 2,
        slots: int = 64,
        slot_size: int = 80 << 10,  # a 64 KiB unit plus per-job records
        distributor: Distributor | None = None,
    ) -> None:
        self._codec = codec
        self._slot_size = slot_size
        self._shm = SharedMemory(create=True, size=slots * slot_size)
        buf = self._shm.buf
        assert buf is not None
        self._buf = buf
        self._free: list[int] = list(range(slots))
        self._pending: dict[int, _Pending[U]] = {}
        self._loads = [0] * workers
        self._dist = distributor or RoundRobin()
        self._ctx = get_context("spawn")  # fork would copy the daemon's threads and keys
        # The parent keeps the write end too, so it can start replacement workers.
        self._results_r, self._results_w = self._ctx.Pipe(duplex=False)
        self.wake_fd: int | None = self._results_r.fileno()
        self._inboxes: list[Connection] = []
        self._procs: list[BaseProcess] = []
        self._owner_of_slot: dict[int, int] = {}
        self._reaped: list[U] = []
        self.restarts = 0
        for i in range(workers):
            inbox, proc = self._spawn(i)
            self._inboxes.append(inbox)
            self._procs.append(proc)

    def _spawn(self, i: int) -> tuple[Connection, BaseProcess]:
        r, w = self._ctx.Pipe(duplex=False)
        p = self._ctx.Process(
            target=_process_main,
            args=(self._shm.name, self._slot_size, r, self._results_w, self._codec.kernel),
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
            for idx in [s for s, w in self._owner_of_slot.items() if w == i]:
                pend = self._pending.pop(idx)
                del self._owner_of_slot[idx]
                pend.unit.state = State.DEAD
                self._free.append(idx)
                self._reaped.append(pend.unit)
            self._loads[i] = 0
            self._inboxes[i].close()
            self._inboxes[i], self._procs[i] = self._spawn(i)
            self.restarts += 1

    def submit(self, unit: U) -> bool:
        if not self._free or not self._codec.fits(unit, self._slot_size):
            return False
        idx = self._free.pop()
        view = self._buf[idx * self._slot_size : (idx + 1) * self._slot_size]
        try:
            self._codec.pack(unit, view)
        finally:
            view.release()
        w = self._dist.choose(self._loads)
        self._loads[w] += 1
        self._pending[idx] = _Pending(unit, idx)
        self._owner_of_slot[idx] = w
        # A dead worker's pipe fails; health_check then reaps the unit as DEAD.
        with contextlib.suppress(OSError):
            self._inboxes[w].send_bytes(idx.to_bytes(4, "little"))
        return True

    def completed(self) -> list[U]:
        out, self._reaped = self._reaped, []
        out.extend(self._collect())
        return out

    def _collect(self) -> list[U]:
        out: list[U] = []
        while self._results_r.poll():
            msg = self._results_r.recv_bytes()
            idx = int.from_bytes(msg[:4], "little")
            pend = self._pending.pop(idx, None)
            if pend is None:
                continue
            self._loads[self._owner_of_slot.pop(idx)] -= 1
            unit = pend.unit
            if msg[4]:
                view = self._buf[idx * self._slot_size : (idx + 1) * self._slot_size]
                try:
                    self._codec.unpack(unit, view)
                    unit.state = State.FINISHED
                except Exception:
                    unit.state = State.DEAD
                finally:
                    view.release()
            else:
                unit.state = State.DEAD
            self._free.append(idx)
            out.append(unit)
        return out

    def wait_idle(self, timeout: float = 5.0) -> list[U]:
        """Collect results until nothing is pending (tests and shutdown)."""
        out: list[U] = []
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
        del self._buf
        self._shm.close()
        self._shm.unlink()
