"""One way to wait: poll a probe until it shows the effect, or fail saying what was seen."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

_NOTHING = object()  # the probe never ran to completion


class _Poll:
    """The bookkeeping shared by the sync and async loops: deadline, last value, message."""

    def __init__(self, what: str, timeout: float, interval: float,
                 check: Callable[[Any], object] | None,
                 ignore: tuple[type[BaseException], ...]) -> None:
        if timeout <= 0 or interval <= 0:
            raise ValueError("timeout and interval must be positive")
        self.what, self.timeout, self.interval = what, timeout, interval
        self.check, self.ignore = check, ignore
        self.started = time.monotonic()
        self.deadline = self.started + timeout
        self.last: object = _NOTHING
        self.tries = 0

    def done(self, value: object) -> bool:
        self.last, self.tries = value, self.tries + 1
        return bool(self.check(value) if self.check is not None else value)

    def failed(self, error: BaseException) -> None:
        """An ignored exception is an observation like any other."""
        self.last, self.tries = error, self.tries + 1

    def next_pause(self) -> float:
        """Seconds to pause before the next try; raises once the deadline has passed
        (the probe always ran once after the deadline was first noticed)."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            seen = "nothing (the probe never returned)" if self.last is _NOTHING else (
                f"{self.last!r}")
            raise AssertionError(
                f"timed out after {self.timeout:g} s waiting for {self.what} "
                f"({self.tries} tries); last observed: {seen}")
        return min(self.interval, left)


def wait_until(probe: Callable[[], T], *, what: str, timeout: float = 10.0,
               interval: float = 0.1, check: Callable[[T], object] | None = None,
               ignore: tuple[type[BaseException], ...] = ()) -> T:
    """Call `probe` until its value is truthy (or `check(value)` is), and return that value.

    `probe` is either a predicate or a probe returning what it observed (a status
    document, a process list...); with `check` the probe's value is kept for the
    message and `check` decides. Exceptions of the types in `ignore` count as an
    observation and the wait goes on; any other exception propagates at once.
    On timeout: AssertionError naming `what` and the last observed value.
    """
    poll = _Poll(what, timeout, interval, check, ignore)
    while True:
        try:
            value = probe()
        except ignore as e:
            poll.failed(e)
        else:
            if poll.done(value):
                return value
        time.sleep(poll.next_pause())


# ASYNC109: the same keywords as wait_until, on purpose
async def wait_until_async(
    probe: Callable[[], T | Awaitable[T]], *, what: str, timeout: float = 10.0,  # noqa: ASYNC109
    interval: float = 0.1, check: Callable[[T], object] | None = None,
    ignore: tuple[type[BaseException], ...] = (),
    pause: Callable[[float], Awaitable[Any]] | None = None,
) -> T:
    """wait_until for coroutines: `probe` may be sync or async; between tries it awaits
    `pause(seconds)` (asyncio.sleep by default; a Textual test passes `pilot.pause`,
    which also lets the app process its messages)."""
    poll = _Poll(what, timeout, interval, check, ignore)
    sleep = pause or asyncio.sleep
    while True:
        try:
            got = probe()
            value: T = await got if inspect.isawaitable(got) else got
        except ignore as e:
            poll.failed(e)
        else:
            if poll.done(value):
                return value
        await sleep(poll.next_pause())
