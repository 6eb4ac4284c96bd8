"""What a device operation is doing, for a UI that waits on it, and a way
to stop waiting.

    with progress.observe(on_event, cancel):   # in the thread that runs it
        control.enable(device, "demo")

`on_event(Event)` hears: `su-waiting` (su has not answered for a second:
a prompt is probably on the phone), `su-granted`, and `step` (what the
phone script runs now: its `step` records, e.g. "wg-quick up"). It may be
called from another thread than the operation's. Setting `cancel` closes
the operation's shell stream: the operation raises Cancelled, and the
phone may or may not have made the change (the script runs on, or is
killed, there). The device API keeps its signatures: the observer travels
in a context variable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from wgdroid.errors import DeviceError
from wgdroid.lean import Value

TYPE_CHECKING = False
if TYPE_CHECKING:
    import threading

SU_WAIT_NOTICE = 1.0  # seconds of silence before su-waiting


class Event(Value):
    __slots__ = ("detail", "kind")

    def __init__(self, kind: str, detail: str = "") -> None:
        self.kind = kind  # su-waiting | su-granted | step
        self.detail = detail


class Cancelled(DeviceError):
    """The user stopped waiting; the phone may or may not have made the change."""


class Observer(Value):
    __slots__ = ("cancel", "on_event")

    def __init__(self, on_event: Callable[[Event], None],
                 cancel: threading.Event | None = None) -> None:
        self.on_event = on_event
        self.cancel = cancel


_current: ContextVar[Observer | None] = ContextVar("wgdroid_progress", default=None)


@contextmanager
def observe(on_event: Callable[[Event], None],
            cancel: threading.Event | None = None) -> Iterator[Observer]:
    """Report the device operations run inside this block (this thread) to ON_EVENT."""
    observer = Observer(on_event, cancel)
    token = _current.set(observer)
    try:
        yield observer
    finally:
        _current.reset(token)


def current() -> Observer | None:
    return _current.get()
