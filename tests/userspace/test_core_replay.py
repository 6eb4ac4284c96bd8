"""The replay window against the kernel selftest (selftest/counter.c)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from wgdroid.userspace.core.constants import COUNTER_WINDOW_SIZE, REJECT_AFTER_MESSAGES
from wgdroid.userspace.core.replay import ReplayWindow

T_LIM = COUNTER_WINDOW_SIZE + 1
R = REJECT_AFTER_MESSAGES

CASES = [
    (0, True), (1, True), (1, False), (9, True), (8, True), (7, True), (7, False),
    (T_LIM, True), (T_LIM - 1, True), (T_LIM - 1, False), (T_LIM - 2, True),
    (2, True), (2, False), (T_LIM + 16, True), (3, False), (T_LIM + 16, False),
    (T_LIM * 4, True), (T_LIM * 4 - (T_LIM - 1), True), (10, False),
    (T_LIM * 4 - T_LIM, False), (T_LIM * 4 - (T_LIM + 1), False),
    (T_LIM * 4 - (T_LIM - 2), True), (T_LIM * 4 + 1 - T_LIM, False), (0, False),
    (R, False), (R - 1, True), (R, False), (R - 1, False), (R - 2, True),
    (R + 1, False), (R + 2, False), (R - 2, False), (R - 3, True), (0, False),
]  # fmt: skip


def test_kernel_selftest_sequence() -> None:
    assert len(CASES) == 34
    w = ReplayWindow()
    results = [(i + 1, n, w.validate(n)) for i, (n, _) in enumerate(CASES)]
    expected = [(i + 1, n, v) for i, (n, v) in enumerate(CASES)]
    assert results == expected


def test_full_window_then_zero() -> None:
    w = ReplayWindow()
    assert all(w.validate(i) for i in range(1, COUNTER_WINDOW_SIZE + 1))
    assert w.validate(0)
    assert not w.validate(0)


def test_window_plus_one_pushes_zero_out() -> None:
    w = ReplayWindow()
    assert all(w.validate(i) for i in range(2, COUNTER_WINDOW_SIZE + 2))
    assert w.validate(1)
    assert not w.validate(0)


def test_descending_full_window() -> None:
    w = ReplayWindow()
    assert all(w.validate(i) for i in range(COUNTER_WINDOW_SIZE, -1, -1))


def test_descending_from_window_plus_one() -> None:
    w = ReplayWindow()
    assert all(w.validate(i) for i in range(COUNTER_WINDOW_SIZE + 1, 0, -1))
    assert not w.validate(0)


def test_descending_then_top_then_zero() -> None:
    w = ReplayWindow()
    assert all(w.validate(i) for i in range(COUNTER_WINDOW_SIZE, 0, -1))
    assert w.validate(COUNTER_WINDOW_SIZE + 1)
    assert not w.validate(0)


def test_descending_then_zero_then_top() -> None:
    w = ReplayWindow()
    assert all(w.validate(i) for i in range(COUNTER_WINDOW_SIZE, 0, -1))
    assert w.validate(0)
    assert w.validate(COUNTER_WINDOW_SIZE + 1)


def test_far_jump_clears_the_ring() -> None:
    w = ReplayWindow()
    assert w.validate(5)
    assert w.validate(5 + 10 * 8192)  # the whole ring is zeroed, not just part
    assert not w.validate(5)  # too old now
    assert w.validate(5 + 10 * 8192 - 100)
    assert not w.validate(5 + 10 * 8192 - 100)


@given(st.lists(st.one_of(st.integers(0, 20000),
                          st.tuples(st.integers(0, 20000), st.integers(1, 300))),
                max_size=40))
@settings(max_examples=400, deadline=None)
def test_validate_run_is_validate_in_order(steps: list[int | tuple[int, int]]) -> None:
    """Runs (consecutive counters, as a GRO read brings them) and single counters in
    any mix: validate_run answers as validate one by one, and leaves the same window."""
    one, bulk = ReplayWindow(), ReplayWindow()
    for s in steps:
        run = list(range(s[0], s[0] + s[1])) if isinstance(s, tuple) else [s]
        assert bulk.validate_run(run) == [one.validate(c) for c in run]
        assert (bulk.counter, bulk.backtrack) == (one.counter, one.backtrack)


def test_validate_run_longer_than_the_window() -> None:
    one, bulk = ReplayWindow(), ReplayWindow()
    run = list(range(5, 5 + 3 * COUNTER_WINDOW_SIZE))
    assert bulk.validate_run(run) == [one.validate(c) for c in run] == [True] * len(run)
    assert (bulk.counter, bulk.backtrack) == (one.counter, one.backtrack)
    for c in (4, 5 + 2 * COUNTER_WINDOW_SIZE, run[-1], run[-1] + 1):
        assert bulk.validate(c) == one.validate(c)
