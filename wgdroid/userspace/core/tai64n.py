"""TAI64N timestamps for handshake initiations (tai64n.go; noise.c tai64n_now)."""

from __future__ import annotations

import struct

from wgdroid.userspace.core.constants import TAI64_BASE, TAI64N_NSEC_MASK

_TAI64N = struct.Struct(">QI")


def tai64n(unix_ns: int) -> bytes:
    """12 big-endian bytes: (2**62 + 10 + unix seconds) ‖ nanoseconds rounded down
    to a multiple of 2**24 ns, so the timestamp does not leak a precise clock."""
    sec, nsec = divmod(unix_ns, 1_000_000_000)
    return _TAI64N.pack(TAI64_BASE + sec, nsec & TAI64N_NSEC_MASK)


def is_after(candidate: bytes, latest: bytes) -> bool:
    """The initiation replay rule: strictly greater, compared bytewise (big-endian)."""
    return candidate > latest
