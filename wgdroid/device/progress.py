"""What a running root operation waits for, for a caller that shows it, and
a way to cancel it from another thread (the TUI). Nothing changes for a
caller that does not ask (the CLI).

The caller runs device calls inside `watching(watch)`; the watch is kept in a
context variable, so each thread (each TUI worker) has its own. rootshell
reports to it, in order:

    ("su", "")       the script now waits for su (not with adbd running as root)
    ("granted", "")  su said yes (also when no su was needed)
    ("step", NAME)   the phone script started a step (`step NAME`, sh/lib.sh)

and gives it the open stream's abort, so `Watch.cancel()` shuts the stream:
the blocked read ends at once and the operation raises `Cancelled`. The
phone-side script then loses its adb stream; what it already did stays done
(the lock and temp-file sweeps in sh/ clean up after a killed script).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from wgdroid.errors import DeviceError

Report = Callable[[str, str], None]


class Cancelled(DeviceError):
    """The caller cancelled the operation while it ran."""


class Watch:
    def __init__(self, report: Report) -> None:
        self.report = report
        self._lock = threading.Lock()
        self._abort: Callable[[], None] | None = None
        self.cancelled = False

    def cancel(self) -> None:
        """Stop waiting (thread-safe): the running operation raises Cancelled."""
        with self._lock:
            self.cancelled = True
            abort = self._abort
        if abort is not None:
            abort()

    def attach(self, abort: Callable[[], None]) -> None:
        with self._lock:
            if self.cancelled:
                raise Cancelled("cancelled")
            self._abort = abort

    def detach(self) -> None:
        with self._lock:
            self._abort = None


_current: ContextVar[Watch | None] = ContextVar("wgdroid_watch", default=None)


def current() -> Watch | None:
    return _current.get()


@contextmanager
def watching(watch: Watch) -> Iterator[Watch]:
    token = _current.set(watch)
    try:
        yield watch
    finally:
        _current.reset(token)
