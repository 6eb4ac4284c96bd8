"""A small epoll loop: fd readiness callbacks, timers, and signal-safe wake-ups."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import select
import signal
import time
import traceback
from collections.abc import Callable

Callback = Callable[[], None]
# Waits up to the given seconds (< 0: no limit) in place of the loop's own wait;
# False: it did not (the loop waits itself).
IdleWait = Callable[[float], bool]
log = logging.getLogger("wgdroid.userspace")


class Loop:
    def __init__(self) -> None:
        self._ep = select.epoll()
        self._readers: dict[int, Callback] = {}
        self._writers: dict[int, Callback] = {}
        self._timers: list[tuple[float, int, Callback]] = []
        self._seq = itertools.count()
        self._stop_reason: str | None = None
        # Called after every round; returns the longest wait before it must run again.
        self.housekeeping: Callable[[], float | None] = lambda: None
        # Asked to do the waiting whenever nothing is ready (the express path).
        self.idle: IdleWait | None = None
        self.blocked = float("inf")  # seconds the last wait of the loop's own (with idle) took
        # The idle wait is skipped, at no cost, while `blocked` is below this: its
        # owner sets blocked to 0 to rest it until a wait of the loop's own shows a gap.
        self.idle_gap = 0.0
        self.errors = 0
        # Signals only set a flag; the wake pipe makes epoll return at once.
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._wakeup_fd_set = False
        self.add_reader(self._wake_r, self._drain_wake)

    def add_reader(self, fd: int, cb: Callback) -> None:
        self._readers[fd] = cb
        self._update(fd)

    def remove_reader(self, fd: int) -> None:
        if self._readers.pop(fd, None) is not None:
            self._update(fd)

    def set_writer(self, fd: int, cb: Callback | None) -> None:
        """Call `cb` whenever `fd` is writable (None: stop). Independent of the reader."""
        if cb is None:
            if self._writers.pop(fd, None) is None:
                return
        else:
            self._writers[fd] = cb
        self._update(fd)

    def _update(self, fd: int) -> None:
        """Register `fd` with the events its callbacks want (none: unregister)."""
        mask = (select.EPOLLIN if fd in self._readers else 0) | (
            select.EPOLLOUT if fd in self._writers else 0)
        with contextlib.suppress(OSError, ValueError):
            self._ep.unregister(fd)  # modify() needs a registered fd; this needs no state
        if mask:
            self._ep.register(fd, mask)

    def watched(self, exclude: set[int]) -> list[tuple[int, int]]:
        """(fd, poll events) of every descriptor with a callback, but `exclude`."""
        fds = {fd: select.POLLIN for fd in self._readers if fd not in exclude}
        for fd in self._writers:
            if fd not in exclude:
                fds[fd] = fds.get(fd, 0) | select.POLLOUT
        return list(fds.items())

    def call_later(self, delay: float, cb: Callback) -> None:
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._seq), cb))

    def stop(self, reason: str) -> None:
        if self._stop_reason is None:
            self._stop_reason = reason
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    @property
    def stopped(self) -> str | None:
        return self._stop_reason

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda s, _f: self.stop(signal.Signals(s).name))
        # CPython's C-level handler writes here at once, so a wait in compiled code
        # (the express path, which polls this pipe) ends even though the Python
        # handler can only run after it.
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        self._wakeup_fd_set = True
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    def _drain_wake(self) -> None:
        try:
            while os.read(self._wake_r, 512):
                pass
        except BlockingIOError:
            pass

    def run(self) -> str:
        """Run until stop(); returns the reason."""
        wait = self.housekeeping()
        while self._stop_reason is None:
            timeout = -1.0 if wait is None else max(0.0, wait)
            if self._timers:
                t = max(0.0, self._timers[0][0] - time.monotonic())
                timeout = t if timeout < 0 else min(timeout, t)
            try:
                if self.idle is None:
                    events = self._ep.poll(timeout)
                elif self.blocked < self.idle_gap:  # the idle wait is resting: no probe
                    events = self._timed_poll(timeout)
                else:  # nothing ready: the idle wait takes over
                    events = self._ep.poll(0)
                    if not events:
                        try:
                            waited = self.idle(timeout)
                        except Exception as e:
                            self._report(e)
                            waited = False
                        events = self._ep.poll(0) if waited else self._timed_poll(timeout)
            except InterruptedError:
                continue
            for fd, mask in events:
                if mask & select.EPOLLOUT:
                    wcb = self._writers.get(fd)
                    if wcb is not None:
                        self._call(wcb)
                if mask & ~select.EPOLLOUT:  # readable, or hung up / error: the reader sees it
                    cb = self._readers.get(fd)
                    if cb is not None:
                        self._call(cb)
                if self._stop_reason is not None:
                    break
            now = time.monotonic()
            while self._timers and self._timers[0][0] <= now and self._stop_reason is None:
                _, _, cb = heapq.heappop(self._timers)
                self._call(cb)
            if self._stop_reason is None:
                try:
                    wait = self.housekeeping()
                except Exception as e:
                    self._report(e)
                    wait = 0.05
        return self._stop_reason

    def _timed_poll(self, timeout: float) -> list[tuple[int, int]]:
        t0 = time.monotonic()
        events = self._ep.poll(timeout)
        self.blocked = time.monotonic() - t0
        return events

    def _call(self, cb: Callback) -> None:
        try:
            cb()
        except Exception as e:
            self._report(e)

    def _report(self, e: Exception) -> None:
        """A bug in one packet's path must not take the tunnel down: log where, go on.

        Only the type and location are logged; messages could quote packet bytes.
        """
        tb = traceback.extract_tb(e.__traceback__)
        where = f"{os.path.basename(tb[-1].filename)}:{tb[-1].lineno}" if tb else "?"
        self.errors += 1
        log.error("internal error %s at %s (continuing)", type(e).__name__, where)

    def close(self) -> None:
        if self._wakeup_fd_set:
            signal.set_wakeup_fd(-1)
        self._ep.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
