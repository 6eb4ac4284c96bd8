"""What wg, wg-quick or the kernel would refuse or get wrong is refused here
first, with FILE:LINE (issue 13's validation misses)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from wgdroid.config import keys
from wgdroid.config.dialect import Dialect
from wgdroid.config.issues import ConfigError
from wgdroid.config.parser import parse
from wgdroid.device import script as sc
from wgdroid.device.dialect import check_config

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


DNS_ITEMS = ["1.1.1.1", "fd00::1", "FD00::53", "::ffff:10.0.0.1", "fe80::1%wlan0", "fe80::1%3",
             "lan", "corp.example.", "xn--bcher-kva.example", "my_dom", "-x", "a:b", "1.2.3"]


def _phone_refuses(dns: str, tmp_path: Path, shell: str) -> bool:
    """What the phone's Android bring-up (sh/android.sh an_parse, run here by
    SHELL as the phone's mksh would) says of `DNS = dns`."""
    conf = tmp_path / "p.conf"
    conf.write_text(f"[Interface]\nPrivateKey={PRIV}\nDNS={dns}\n")
    text = sc.Script("android").call("an_parse", str(conf)).render()
    res = subprocess.run([shell, "-c", text], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0 or "\tbad-value\tDNS\t" in res.stderr, res.stderr
    return res.returncode != 0


def test_dns_on_android_follows_the_phones_rule(tmp_path: Path) -> None:
    """`DNS = fe80::1%wlan0` passed check and push for Android, then enable
    failed "is not usable on the phone". The host now refuses (FILE:LINE)
    every DNS entry the phone's bring-up refuses; the Linux wg-quick takes a
    link-local server with its scope."""
    shells = [s for s in ("sh", "mksh") if shutil.which(s)]
    for dns in DNS_ITEMS:
        data = (iface(f"DNS = {dns}") + peer(PEER1, "AllowedIPs = 0.0.0.0/0")).encode()
        try:
            check = check_config(data, "t.conf")
        except ConfigError:  # refused for every wg-quick (e.g. 'my_dom', '1.2.3')
            host_refuses = True
        else:
            host_refuses = not check.ok(Dialect.ANDROID)
        for shell in shells:
            if _phone_refuses(dns, tmp_path, shell):
                assert host_refuses, (dns, shell)
    scoped = iface("DNS = 1.1.1.1, fe80::1%wlan0") + peer(PEER1, "AllowedIPs = 0.0.0.0/0")
    with pytest.raises(ConfigError) as exc:
        parse(scoped, filename="t.conf", dialect=Dialect.ANDROID, strict=True)
    assert [i.format() for i in exc.value.issues] == [
        "t.conf:3: [Interface] DNS: 'fe80::1%wlan0' has a scope id: the phone takes DNS "
        "servers as plain addresses only (its bring-up refuses it at enable)"]
    assert [w.line for w in parse(scoped, filename="t.conf").warnings] == [3]  # check: a warning
    linux = parse(scoped, filename="t.conf", dialect=Dialect.LINUX, strict=True)
    assert [str(s) for s in linux.config.interface.dns_servers] == ["1.1.1.1", "fe80::1%wlan0"]
    for bad, said in (("fd00::1%wlan0", "only belongs to a link-local address"),
                      ("fe80::1%$(reboot)", "is not an interface name or index")):
        with pytest.raises(ConfigError, match=re.escape(said)):
            parse(iface(f"DNS = {bad}"), filename="t.conf", dialect=Dialect.LINUX)
