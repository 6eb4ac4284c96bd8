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

from collections.abc import Callable
from contextvars import ContextVar, Token

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


def observe(on_event: Callable[[Event], None],
            cancel: threading.Event | None = None) -> _Observing:
    """Report the device operations run inside this block (this thread) to ON_EVENT."""
    return _Observing(Observer(on_event, cancel))


class _Observing:
    # A class, not @contextmanager: contextlib is not imported on a command's path.
    def __init__(self, observer: Observer) -> None:
        self.observer = observer
        self._token: Token[Observer | None] | None = None

    def __enter__(self) -> Observer:
        self._token = _current.set(self.observer)
        return self.observer

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _current.reset(self._token)
            self._token = None


def current() -> Observer | None:
    return _current.get()
