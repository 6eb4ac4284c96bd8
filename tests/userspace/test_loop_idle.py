"""The loop's idle wait (the express path's hook) rests after a burst until a wait
of the loop's own shows a gap: a pure unit over a pipe, no daemon."""

from __future__ import annotations

import os

from wgdroid.userspace.loop import Loop


def test_a_resting_idle_wait_is_not_asked_until_a_wait_shows_a_gap() -> None:
    loop = Loop()
    r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    asked: list[int] = []  # how many reads had happened at each idle call
    reads = 0

    def idle(timeout: float) -> bool:
        asked.append(reads)
        return False  # declines: the loop waits itself

    def wake() -> None:
        os.write(w, b"x")

    def on_read() -> None:
        nonlocal reads
        os.read(r, 1)
        reads += 1
        if reads < 5:
            os.write(w, b"x")  # ready again at once: every wait is short
        elif reads == 5:  # nothing ready for 50 ms, twice
            loop.call_later(0.05, lambda: loop.call_later(0.05, wake))
        else:
            loop.stop("done")

    try:
        loop.idle = idle
        loop.idle_gap = 0.02
        loop.blocked = 0.0  # resting, as the daemon leaves it after a burst
        loop.add_reader(r, on_read)
        os.write(w, b"x")
        assert loop.run() == "done"
        # The first 50 ms with nothing ready are waited out by the loop itself
        # (resting); only after that wait is the idle wait asked, exactly once.
        assert asked == [5]
        assert loop.blocked >= 0.02
    finally:
        os.close(r)
        os.close(w)


def test_an_idle_wait_that_is_not_resting_is_asked_whenever_nothing_is_ready() -> None:
    loop = Loop()
    asked: list[float] = []

    def idle(timeout: float) -> bool:
        asked.append(timeout)
        if len(asked) == 3:
            loop.stop("done")
        return True  # it waited (here: not at all)

    loop.idle = idle
    loop.idle_gap = 0.02
    assert loop.run() == "done"
    assert len(asked) == 3
