"""What wg, wg-quick or the kernel would refuse or get wrong is refused here
first, with FILE:LINE (issue 13's validation misses)."""

from __future__ import annotations

import pytest

from wgdroid.config import keys
from wgdroid.config.issues import ConfigError
from wgdroid.config.parser import parse

PRIV = keys.genkey()
PEER1, PEER2 = keys.pubkey(keys.genkey()), keys.pubkey(keys.genkey())


def iface(*lines: str) -> str:
    return "[Interface]\n" + f"PrivateKey = {PRIV}\n" + "".join(f"{x}\n" for x in lines)


def peer(key: str, *lines: str) -> str:
    return f"\n[Peer]\nPublicKey = {key}\n" + "".join(f"{x}\n" for x in lines)


CASES = {
    "empty AllowedIPs item": (
        iface() + peer(PEER1, "AllowedIPs = 10.0.0.0/8,,"),
        6, "[Peer] AllowedIPs: has an empty item between commas"),
    "leading comma": (
        iface() + peer(PEER1, "AllowedIPs = ,10.0.0.0/8"),
        6, "[Peer] AllowedIPs: has an empty item"),
    "scope id that is shell": (
        iface() + peer(PEER1, "Endpoint = [fe80::1%$(reboot)]:51820"),
        6, "[Peer] Endpoint: scope id '$(reboot)' is not an interface name or index"),
    "scope id on a global address": (
        iface() + peer(PEER1, "Endpoint = [2001:db8::1%wlan0]:51820"),
        6, "only belongs to a link-local address"),
    "same AllowedIPs on two peers": (
        iface() + peer(PEER1, "AllowedIPs = 10.0.0.0/24, 10.1.0.0/16")
        + peer(PEER2, "AllowedIPs = 10.2.0.0/16", "AllowedIPs = 10.1.0.0/16"),
        11, "[Peer] AllowedIPs: 10.1.0.0/16 is already routed to peer 1"),
    "same address twice": (
        iface("Address = 10.0.0.2/32, 10.0.0.2/32"),
        3, "[Interface] Address: 10.0.0.2/32 is listed twice"),
    "same address on two lines": (
        iface("Address = 10.0.0.2/32", "Address = fd00::2/128, 10.0.0.2/32"),
        4, "[Interface] Address: 10.0.0.2/32 is listed twice"),
    "MTU below 1280 with IPv6": (
        iface("Address = 10.0.0.2/32, fd00::2/128", "MTU = 1200"),
        4, "[Interface] MTU: 1200 is below 1280"),
    "multicast address": (
        iface("Address = 224.0.0.5/32"), 3, "[Interface] Address: 224.0.0.5 is a multicast"),
    "multicast v6 address": (
        iface("Address = ff02::1/128"), 3, "[Interface] Address: ff02::1 is a multicast"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_refused_with_file_and_line(case: str) -> None:
    text, line, message = CASES[case]
    with pytest.raises(ConfigError) as exc:
        parse(text, filename="t.conf")
    shown = [i.format() for i in exc.value.issues]
    assert any(s.startswith(f"t.conf:{line}: ") and message in s for s in shown), shown


@pytest.mark.parametrize("text", [
    iface("Address = 10.0.0.2/32", "MTU = 1200"),  # no IPv6: a small MTU is fine
    iface("Address = 10.0.0.2/32, fd00::2/128", "MTU = 1280"),
    iface() + peer(PEER1, "Endpoint = [fe80::1%wlan0]:51820")
    + peer(PEER2, "Endpoint = [fe80::2%3]:51820"),
    iface() + peer(PEER1, "AllowedIPs = 0.0.0.0/0") + peer(PEER2, "AllowedIPs = 10.0.0.0/8"),
    iface() + peer(PEER1, "AllowedIPs = 10.0.0.0/8, 10.0.0.0/8"),  # one peer: wg keeps one
], ids=["small MTU without IPv6", "MTU 1280 with IPv6", "link-local endpoints with zones",
        "default route and a subnet on two peers", "one network twice in one peer"])
def test_still_accepted(text: str) -> None:
    parse(text, filename="t.conf")


def test_endpoint_hint_never_echoes_a_pasted_key() -> None:
    text = iface() + peer(PEER1, f"Endpoint = 2001:db8::1:51820 {PRIV}")
    with pytest.raises(ConfigError) as exc:
        parse(text, filename="t.conf")
    message = exc.value.issues[0].format()
    assert "needs brackets" in message and PRIV not in message and PRIV[:20] not in message
    ok = iface() + peer(PEER1, "Endpoint = 2001:db8::1:51820")
    with pytest.raises(ConfigError, match=r"like '\[2001:db8::1\]:51820'"):
        parse(ok, filename="t.conf")


def test_many_addresses_are_checked_for_duplicates_in_linear_time() -> None:
    """20,000 distinct Address lines (a valid 440 KB config) took ~22 s to
    check: each address was compared with a rebuilt list of all before it.
    Now a set: the same result (accepted; then the duplicates, on their
    lines, in order) in under a second. No timing asserted: the old code
    gives the same answer here, after some 45 s."""
    many = [f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}/32" for i in range(1, 20_001)]
    lines = [f"Address = {a}" for a in many]
    parsed = parse(iface(*lines) + peer(PEER1, "AllowedIPs = 0.0.0.0/0"), filename="t.conf")
    assert [str(a) for a in parsed.config.interface.addresses] == many
    twice = iface(*lines, f"Address = 10.9.9.9/32, {many[0]}", f"Address = {many[-1]}")
    with pytest.raises(ConfigError) as exc:
        parse(twice, filename="t.conf")
    assert [i.format() for i in exc.value.issues] == [
        f"t.conf:20003: [Interface] Address: {many[0]} is listed twice "
        "(wg-quick would fail adding it again)",
        f"t.conf:20004: [Interface] Address: {many[-1]} is listed twice "
        "(wg-quick would fail adding it again)",
    ]
