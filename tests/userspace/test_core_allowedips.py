"""Allowed IPs: randomised against a brute-force longest-prefix match, v4 and v6."""

from __future__ import annotations

import random
from ipaddress import IPv4Network, IPv6Network, ip_network

import pytest

from wgdroid.userspace.core.allowedips import AllowedIPs, parse_network

Net = IPv4Network | IPv6Network


def brute(entries: dict[Net, int], version: int, addr: int) -> int | None:
    best: tuple[int, int] | None = None
    for net, value in entries.items():
        if net.version != version:
            continue
        shift = net.max_prefixlen - net.prefixlen
        if addr >> shift == int(net.network_address) >> shift and (
            best is None or net.prefixlen > best[0]
        ):
            best = (net.prefixlen, value)
    return None if best is None else best[1]


def random_net(r: random.Random, version: int) -> Net:
    bits = 32 if version == 4 else 128
    # few distinct prefixes at the top so nets overlap often
    addr = (r.getrandbits(8) << (bits - 8)) | r.getrandbits(bits - 8)
    plen = r.choice(
        [0, 1, 7, 8, 12, 16, 24, 31, bits] if version == 4 else [0, 8, 32, 48, 64, 127, bits]
    )
    return ip_network((addr, plen), strict=False)


@pytest.mark.parametrize("seed", range(4))
def test_randomised_against_brute_force(seed: int) -> None:
    r = random.Random(seed)
    table: AllowedIPs[int] = AllowedIPs()
    ref: dict[Net, int] = {}
    for step in range(600):
        version = r.choice((4, 6))
        net = random_net(r, version)
        if r.random() < 0.75:
            value = r.randrange(8)
            table.insert(net, value)
            ref[net] = value
        else:
            owner = ref.get(net)
            guess = owner if r.random() < 0.7 else r.randrange(8)
            removed = table.remove(net, guess)
            assert removed == (owner is not None and owner == guess)
            if removed:
                del ref[net]
        assert len(table) == len(ref)
        if step % 10 == 0:
            for _ in range(50):
                v = r.choice((4, 6))
                bits = 32 if v == 4 else 128
                # probe near existing networks as well as at random
                if ref and r.random() < 0.6:
                    base = r.choice(list(ref))
                    if base.version == v:
                        addr = int(base.network_address) | r.getrandbits(
                            base.max_prefixlen - base.prefixlen
                        )
                    else:
                        addr = r.getrandbits(bits)
                else:
                    addr = r.getrandbits(bits)
                got = table.lookup_v4(addr) if v == 4 else table.lookup_v6(addr)
                assert got == brute(ref, v, addr), (v, hex(addr))
    for value in range(8):
        assert sorted(map(str, table.networks_of(value))) == sorted(
            str(n) for n, v in ref.items() if v == value
        )


def test_packet_lookups_and_host_bits() -> None:
    t: AllowedIPs[str] = AllowedIPs()
    t.insert(parse_network("10.1.2.3/24"), "a")  # host bits ignored, like wg
    t.insert(parse_network("10.1.2.128/25"), "b")
    t.insert(parse_network("fd00::1/64"), "c")
    t.insert(parse_network("0.0.0.0/0"), "default")
    v4 = bytes([0x45]) + bytes(11) + bytes([192, 0, 2, 1]) + bytes([10, 1, 2, 200])
    assert t.lookup_dst(v4) == "b"
    assert t.lookup_src(v4) == "default"
    v6 = bytes([0x60]) + bytes(7) + bytes.fromhex("fd00" + "00" * 13 + "05") + bytes(16)
    assert t.lookup_src(v6) == "c"
    assert t.lookup_dst(v6) is None
    assert t.lookup_dst(b"") is None
    assert t.lookup_dst(b"\x45\x00") is None  # truncated
    assert t.lookup_dst(b"\x70" + bytes(40)) is None  # not IP
    assert [str(n) for n in t.networks_of("a")] == ["10.1.2.0/24"]
    assert t.remove_value("default") == 1
    assert t.lookup_src(v4) is None
