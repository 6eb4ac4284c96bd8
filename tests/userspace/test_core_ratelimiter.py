"""Handshake rate limiter: 20/s, burst 5 per source, /64 for IPv6, bounded table."""

from __future__ import annotations

from wgdroid.userspace.core.ratelimiter import RateLimiter


def test_burst_then_rate() -> None:
    rl = RateLimiter()
    t = 100.0
    assert [rl.allow("192.0.2.1", t) for _ in range(7)] == [True] * 5 + [False] * 2
    assert rl.allow("192.0.2.2", t)  # other sources have their own bucket
    assert not rl.allow("192.0.2.1", t + 0.04)  # less than 1/20 s refilled
    assert rl.allow("192.0.2.1", t + 0.05 + 1e-6)
    assert not rl.allow("192.0.2.1", t + 0.051)
    # a second later the bucket is full again: the burst of 5, then 20/s
    ok = sum(rl.allow("192.0.2.1", t + 1 + i / 1000) for i in range(1000))
    assert 24 <= ok <= 25


def test_refill_caps_at_burst() -> None:
    rl = RateLimiter()
    assert rl.allow("192.0.2.1", 0.0)
    assert [rl.allow("192.0.2.1", 100.0) for _ in range(6)] == [True] * 5 + [False]


def test_ipv6_shares_a_bucket_per_64() -> None:
    rl = RateLimiter()
    assert all(rl.allow(f"2001:db8::{i}", 5.0) for i in range(1, 6))
    assert not rl.allow("2001:db8::ffff", 5.0)
    assert rl.allow("2001:db8:0:1::1", 5.0)
    assert not rl.allow("not an ip", 5.0)


def test_table_is_bounded_and_collected() -> None:
    rl = RateLimiter(max_entries=4)
    assert all(rl.allow(f"10.0.0.{i}", 1.0) for i in range(4))
    assert not rl.allow("10.0.0.9", 1.5)  # full, nothing idle for a second yet
    assert len(rl) == 4
    assert rl.allow("10.0.0.9", 2.5)  # the idle ones were collected
    assert len(rl) == 1
    rl.maybe_gc(10.0)
    assert len(rl) == 0


def test_kernel_selftest_timings_and_capacity() -> None:
    """selftest/ratelimiter.c: the same sequence for one IPv4 source and one IPv6
    /64 (low 64 bits varying), while other sources are always allowed."""
    cost = 1 / 20
    expected = [(True, 0.0)] * 5 + [
        (False, 0.0),
        (True, cost),
        (False, 0.0),
        (True, cost * 2),
        (True, 0.0),
        (False, 0.0),
    ]
    rl = RateLimiter()
    now = 50.0
    for i, (result, sleep) in enumerate(expected):
        now += sleep
        assert rl.allow("0.0.31.246", now) is result, i  # 8182
        assert rl.allow(f"0.0.{(8182 + i + 1) >> 8}.{(8182 + i + 1) & 255}", now)
        assert rl.allow(f"0:4bc:4:69a4:0:{i:x}:0:{i:x}", now) is result, i
        assert rl.allow(f"0:{0x4BC + i + 1:x}:4:69a4:0:{i:x}:0:{i:x}", now)
    cap = RateLimiter(max_entries=100)
    assert [cap.allow(f"10.0.{i >> 8}.{i & 255}", 1.0) for i in range(101)] == [True] * 100 + [
        False
    ]
