"""Allowed IPs: longest-prefix match from an address to a peer, IPv4 and IPv6.

One dict per prefix length, keyed by the address shifted right to the prefix
(so the key is the network itself); a lookup tries the lengths in use from the
longest down. Typical configs use few distinct lengths, so a lookup is a
handful of dict probes, cheaper in Python than walking a bit trie.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Generic, TypeVar

from wgdroid.userspace.core.errors import CoreLimitError

T = TypeVar("T")
IPNetwork = IPv4Network | IPv6Network

MAX_ALLOWED_IPS = 1 << 20  # implementation limit over both families


class _Family(Generic[T]):
    __slots__ = ("bits", "lengths", "tables")

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self.tables: dict[int, dict[int, T]] = {}
        self.lengths: list[int] = []  # prefix lengths in use, longest first

    def insert(self, key: int, plen: int, value: T) -> bool:
        table = self.tables.get(plen)
        if table is None:
            table = self.tables[plen] = {}
            self.lengths = sorted(self.tables, reverse=True)
        new = key not in table
        table[key] = value
        return new

    def remove(self, key: int, plen: int, value: T | None) -> bool:
        table = self.tables.get(plen)
        if table is None or key not in table or (value is not None and table[key] is not value):
            return False
        del table[key]
        if not table:
            del self.tables[plen]
            self.lengths = sorted(self.tables, reverse=True)
        return True

    def lookup(self, addr: int) -> T | None:
        bits = self.bits
        tables = self.tables
        for plen in self.lengths:
            value = tables[plen].get(addr >> (bits - plen))
            if value is not None:
                return value
        return None


class AllowedIPs(Generic[T]):
    def __init__(self) -> None:
        self._v4: _Family[T] = _Family(32)
        self._v6: _Family[T] = _Family(128)
        self._count = 0
        self.version = 0  # changes with every insert or remove (for copies of the table)

    def __len__(self) -> int:
        return self._count

    def _family(self, net: IPNetwork) -> _Family[T]:
        return self._v4 if net.version == 4 else self._v6

    @staticmethod
    def _key(net: IPNetwork) -> tuple[int, int]:
        plen = net.prefixlen
        return int(net.network_address) >> (net.max_prefixlen - plen), plen

    def insert(self, net: IPNetwork, value: T) -> None:
        """Map `net` (host bits ignored) to `value`, replacing any previous owner."""
        key, plen = self._key(net)
        fam = self._family(net)
        table = fam.tables.get(plen)
        if (table is None or key not in table) and self._count >= MAX_ALLOWED_IPS:
            raise CoreLimitError(f"too many allowed IPs (limit {MAX_ALLOWED_IPS})")
        self.version += 1
        if fam.insert(key, plen, value):
            self._count += 1

    def remove(self, net: IPNetwork, value: T | None = None) -> bool:
        """Remove `net` (only if `value` owns it, when given)."""
        key, plen = self._key(net)
        if self._family(net).remove(key, plen, value):
            self.version += 1
            self._count -= 1
            return True
        return False

    def remove_value(self, value: T) -> int:
        """Remove every prefix that maps to `value`; returns how many."""
        nets = self.networks_of(value)
        for net in nets:
            self.remove(net, value)
        return len(nets)

    def networks_of(self, value: T) -> list[IPNetwork]:
        out: list[IPNetwork] = []
        for fam, version in ((self._v4, 4), (self._v6, 6)):
            for plen in sorted(fam.tables):
                for key, v in fam.tables[plen].items():
                    if v is value:
                        addr = key << (fam.bits - plen) if plen else 0
                        out.append(_make_net(version, addr, plen))
        return out

    def entries(self) -> list[tuple[int, int, int, T]]:
        """Every prefix as (IP version, network address, prefix length, owner),
        longest first within each family: the first match is the longest."""
        out: list[tuple[int, int, int, T]] = []
        for fam, version in ((self._v4, 4), (self._v6, 6)):
            for plen in fam.lengths:
                shift = fam.bits - plen
                out += [(version, key << shift, plen, v) for key, v in fam.tables[plen].items()]
        return out

    def lookup_v4(self, addr: int) -> T | None:
        return self._v4.lookup(addr)

    def lookup_v6(self, addr: int) -> T | None:
        return self._v6.lookup(addr)

    def lookup_dst(self, packet: bytes | memoryview) -> T | None:
        """Owner of an IP packet's destination (TX routing); None if not IP or no match."""
        if not packet:
            return None
        version = packet[0] >> 4
        if version == 4 and len(packet) >= 20:
            return self._v4.lookup(int.from_bytes(packet[16:20], "big"))
        if version == 6 and len(packet) >= 40:
            return self._v6.lookup(int.from_bytes(packet[24:40], "big"))
        return None

    def lookup_src(self, packet: bytes | memoryview) -> T | None:
        """Owner of an IP packet's source (RX crypto-key routing check)."""
        if not packet:
            return None
        version = packet[0] >> 4
        if version == 4 and len(packet) >= 20:
            return self._v4.lookup(int.from_bytes(packet[12:16], "big"))
        if version == 6 and len(packet) >= 40:
            return self._v6.lookup(int.from_bytes(packet[8:24], "big"))
        return None


def _make_net(version: int, addr: int, plen: int) -> IPNetwork:
    if version == 4:
        return IPv4Network((addr, plen))
    return IPv6Network((addr, plen))


def parse_network(text: str) -> IPNetwork:
    """`a.b.c.d/n` or `x::y/n` (host bits allowed, masked off, as wg does)."""
    return ip_network(text, strict=False)
