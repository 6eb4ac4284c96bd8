"""Per-source token bucket for handshakes under load (ratelimiter.c).

20 packets/s with a burst of 5 per source IP (IPv6 by /64, as the kernel does,
since a host can pick any address in its /64). The table is bounded: when full
and nothing is old enough to collect, new sources are refused.
"""

from __future__ import annotations

from ipaddress import ip_address

from wgdroid.userspace.core.constants import (
    RATELIMIT_BURST,
    RATELIMIT_GC_INTERVAL,
    RATELIMIT_MAX_ENTRIES,
    RATELIMIT_PACKETS_PER_SECOND,
)

_NS = 1_000_000_000
PACKET_COST = _NS // RATELIMIT_PACKETS_PER_SECOND
TOKEN_MAX = PACKET_COST * RATELIMIT_BURST


def source_key(ip: str) -> bytes:
    addr = ip_address(ip)
    if addr.version == 6:
        mapped = addr.ipv4_mapped
        return mapped.packed if mapped is not None else addr.packed[:8]
    return addr.packed


class RateLimiter:
    def __init__(self, max_entries: int = RATELIMIT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        # key -> [last time ns, tokens ns]; integers so a burst is exactly 5
        self._table: dict[bytes, list[int]] = {}
        self._last_gc_ns: int | None = None

    def __len__(self) -> int:
        return len(self._table)

    def allow(self, ip: str, now: float) -> bool:
        now_ns = int(now * _NS)
        try:
            key = source_key(ip)
        except ValueError:
            return False
        entry = self._table.get(key)
        if entry is not None:
            tokens = min(TOKEN_MAX, entry[1] + now_ns - entry[0])
            entry[0] = now_ns
            if tokens >= PACKET_COST:
                entry[1] = tokens - PACKET_COST
                return True
            entry[1] = tokens
            return False
        if len(self._table) >= self.max_entries:
            self.gc(now)
            if len(self._table) >= self.max_entries:
                return False
        self._table[key] = [now_ns, TOKEN_MAX - PACKET_COST]
        return True

    def gc(self, now: float) -> None:
        """Forget sources idle for more than a second (their bucket is full again)."""
        now_ns = int(now * _NS)
        self._last_gc_ns = now_ns
        limit = now_ns - int(RATELIMIT_GC_INTERVAL * _NS)
        stale = [k for k, e in self._table.items() if e[0] < limit]
        for k in stale:
            del self._table[k]

    def maybe_gc(self, now: float) -> None:
        if (
            self._last_gc_ns is None
            or int(now * _NS) - self._last_gc_ns >= RATELIMIT_GC_INTERVAL * _NS
        ):
            self.gc(now)
