"""Transport messages: padding, seal/open, pickling for worker processes."""

from __future__ import annotations

import pickle

import pytest

from wgdroid.userspace.core.transport import (
    Cipher,
    RecvJob,
    SendJob,
    open_,
    open_raw,
    padded_length,
    seal,
    seal_raw,
)


@pytest.mark.parametrize(
    ("n", "mtu", "want"),
    [
        (0, 1420, 0),
        (1, 1420, 16),
        (16, 1420, 16),
        (84, 1420, 96),
        (1410, 1420, 1420),  # never past the MTU
        (1419, 1420, 1420),
        (1420, 1420, 1420),
        (1425, 1420, 1425 - 5 + 16),  # GSO-sized: pad the last unit
        (2840, 1420, 2840),
        (1418, 1418, 1418),
        (1417, 1418, 1418),
        (33, 0, 48),  # no MTU known
    ],
)
def test_padding(n: int, mtu: int, want: int) -> None:
    assert padded_length(n, mtu) == want


def test_seal_open_roundtrip_and_layout() -> None:
    c = Cipher(bytes(range(32)))
    job = SendJob(c, 0x11223344, 7, b"hello", padded_length(5, 1420))
    d = seal(job)
    assert len(d) == job.nbytes == 16 + 16 + 16
    assert d[:4] == b"\x04\x00\x00\x00"
    assert d[4:8] == (0x11223344).to_bytes(4, "little")
    assert d[8:16] == (7).to_bytes(8, "little")
    pt = open_raw(c, 7, d)
    assert pt == b"hello" + bytes(11)
    assert open_raw(c, 8, d) is None  # wrong nonce
    assert open_raw(Cipher(bytes(32)), 7, d) is None  # wrong key
    keepalive = seal_raw(c, 1, 0, b"", 0)
    assert len(keepalive) == 32
    assert open_raw(c, 0, keepalive) == b""


def test_jobs_cross_process_boundaries_without_showing_keys() -> None:
    c = Cipher(bytes(range(32)))
    job = SendJob(c, 5, 9, b"abc", 16)
    job2 = pickle.loads(pickle.dumps(job))
    assert seal(job2) == seal(job)
    assert bytes(range(32)).hex() not in repr(job) + repr(c)
    rj = RecvJob.__new__(RecvJob)
    rj.cipher, rj.counter, rj.data = c, 9, seal(job)
    assert open_(rj) == b"abc" + bytes(13)


def test_into_variants_match() -> None:
    from wgdroid.userspace.core.transport import open_into, seal_into

    c = Cipher(bytes(range(32)))
    jobs = [
        SendJob(c, 3, i, b"p" * (i * 37 % 200), padded_length(i * 37 % 200, 1420)) for i in range(5)
    ]
    buf = bytearray(sum(j.nbytes for j in jobs) + 7)
    off = 7
    for j in jobs:
        n = seal_into(j, buf, off)
        assert bytes(buf[off : off + n]) == seal(j)
        rj = RecvJob.__new__(RecvJob)
        rj.cipher, rj.counter, rj.data = c, j.counter, bytes(buf[off : off + n])
        out = bytearray(2000)
        m = open_into(rj, out, 5)
        assert m == j.padded_len and bytes(out[5 : 5 + m]) == open_(rj)
        bad = bytearray(rj.data)
        bad[-1] ^= 1
        rj.data = bytes(bad)
        assert open_into(rj, out, 5) is None
        off += n
