#!/usr/bin/env python3
"""Generate the strip corpus: wg-quick configs exercising the dialect's corners.

    sudo .venv/bin/python tests/data/strip/make_corpus.py

writes `<name>.conf` here (mode 0600) and, with the real `wg-quick strip`
(it needs root), `expected/<name>.conf`. Keys are derived from fixed labels, so
re-running gives identical files. Every case is one that the real
`wg-quick strip` accepts and whose output `wg setconf` accepts; endpoints are
IP literals so no test waits on DNS. Keys here are test keys: never use them.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from wgdroid.config import keys  # noqa: E402

CASES: dict[str, Callable[[], str]] = {}


def case(name: str) -> Callable[[Callable[[], str]], Callable[[], str]]:
    # wg-quick wants the file named <interface name>.conf
    assert re.fullmatch(r"[a-zA-Z0-9_=+.-]{1,15}", name), name

    def add(fn: Callable[[], str]) -> Callable[[], str]:
        assert name not in CASES, name
        CASES[name] = fn
        return fn

    return add


def _raw(label: str) -> bytes:
    return hashlib.sha256(f"wgdroid strip corpus: {label}".encode()).digest()


def priv(label: str) -> str:
    return keys.encode(keys.clamp(_raw(label)))


def pub(label: str) -> str:
    return keys.encode(keys.public_raw(keys.clamp(_raw(label))))


def psk(label: str) -> str:
    return keys.encode(_raw("psk " + label))


def lines(*rows: str) -> str:
    return "\n".join(rows) + "\n"


@case("basic")
def _basic() -> str:
    return lines(
        "[Interface]",
        f"PrivateKey = {priv('basic')}",
        "",
        "[Peer]",
        f"PublicKey = {pub('basic-peer')}",
        "AllowedIPs = 10.0.0.2/32",
    )


@case("full-tunnel")
def _full() -> str:
    return lines(
        "[Interface]",
        f"PrivateKey = {priv('full')}",
        "Address = 10.64.0.2/32, fd00:64::2/128",
        "DNS = 10.64.0.1, fd00:64::1",
        "",
        "[Peer]",
        f"PublicKey = {pub('full-peer')}",
        "AllowedIPs = 0.0.0.0/0, ::/0",
        "Endpoint = 203.0.113.10:51820",
        "PersistentKeepalive = 25",
    )


@case("comments")
def _comments() -> str:
    return lines(
        "# Office tunnel -- maintained by hand",
        "#[Peer] a section header inside a comment is still a comment",
        "[Interface] # the local side",
        f"PrivateKey = {priv('comments')} # never share",
        "Address = 10.1.0.2/24 # = not a key",
        "  # indented comment",
        "DNS = 10.1.0.1 #, 10.9.9.9 commented out",
        "#Table = off",
        "ListenPort = 51821 # fixed port",
        "",
        "# the hub",
        "[Peer] # hub",
        f"PublicKey = {pub('comments-peer')} #peer key",
        "AllowedIPs = 10.1.0.0/24 # LAN, # two hashes",
        "Endpoint = 198.51.100.7:51820#no space before the hash",
        "# trailing comment at the end of the file",
    )


@case("blank-lines")
def _blank() -> str:
    return lines(
        "",
        "",
        "[Interface]",
        "",
        f"PrivateKey = {priv('blank')}",
        "   ",
        "Address = 10.2.0.2/24",
        "\t",
        "",
        "",
        "[Peer]",
        "",
        f"PublicKey = {pub('blank-peer')}",
        " \t ",
        "AllowedIPs = 10.2.0.0/24",
        "",
        "",
    )


@case("lowercase")
def _lower() -> str:
    return lines(
        "[interface]",
        f"privatekey = {priv('lower')}",
        "address = 10.3.0.2/24",
        "dns = 10.3.0.1, lan.example",
        "mtu = 1380",
        "table = off",
        "postup = logger up",
        "saveconfig = false",
        "listenport = 51823",
        "",
        "[peer]",
        f"publickey = {pub('lower-peer')}",
        "allowedips = 10.3.0.0/24",
        "endpoint = 192.0.2.3:51820",
        "persistentkeepalive = 15",
    )


@case("UPPERCASE")
def _upper() -> str:
    return lines(
        "[INTERFACE]",
        f"PRIVATEKEY = {priv('upper')}",
        "ADDRESS = 10.4.0.2/24",
        "DNS = 10.4.0.1",
        "MTU = 1420",
        "POSTUP = logger up",
        "POSTDOWN = logger down",
        "FWMARK = 0x4",
        "",
        "[PEER]",
        f"PUBLICKEY = {pub('upper-peer')}",
        "ALLOWEDIPS = 10.4.0.0/24",
        f"PRESHAREDKEY = {psk('upper')}",
        "ENDPOINT = 192.0.2.4:51820",
    )


@case("MiXeD.case")
def _mixed() -> str:
    return lines(
        "[iNtErFaCe]",
        f"pRiVaTeKeY = {priv('mixed')}",
        "aDdReSs = 10.5.0.2/24",
        "Dns = 10.5.0.1",
        "mTu = 1400",
        "TaBlE = 1234",
        "PreUP = true",
        "sAvEcOnFiG = TRUE",
        "",
        "[pEeR]",
        f"PubLicKey = {pub('mixed-peer')}",
        "AllowedIps = 10.5.0.0/24",
    )


@case("tabs")
def _tabs() -> str:
    return lines(
        "[Interface]",
        f"PrivateKey\t=\t{priv('tabs')}",
        "\tAddress\t= 10.6.0.2/24",
        "DNS =\t10.6.0.1\t",
        "\tListenPort\t=\t51826\t",
        "",
        "\t[Peer]",
        f"\tPublicKey\t=\t{pub('tabs-peer')}",
        "\tAllowedIPs\t=\t10.6.0.0/24,\t10.60.0.0/16",
        "\tEndpoint\t=\t192.0.2.6:51820",
    )


@case("no-spaces")
def _nospace() -> str:
    return lines(
        "[Interface]",
        f"PrivateKey={priv('nospace')}",
        "Address=10.7.0.2/24,fd00:7::2/64",
        "DNS=10.7.0.1,corp.example",
        "MTU=1300",
        "[Peer]",
        f"PublicKey={pub('nospace-peer')}",
        "AllowedIPs=10.7.0.0/24,fd00:7::/64",
        "Endpoint=192.0.2.7:51820",
        "PersistentKeepalive=10",
    )


@case("wide-spaces")
def _wide() -> str:
    return lines(
        "   [Interface]   ",
        f"   PrivateKey     =     {priv('wide')}     ",
        "  Address   =   10.8.0.2/24   ,   fd00:8::2/64   ",
        "  DNS   =   10.8.0.1   ,   10.8.0.53  ",
        "  ListenPort =     51828",
        "",
        "  [Peer]  ",
        f"  PublicKey   =   {pub('wide-peer')}  ",
        "  AllowedIPs   =   10.8.0.0/24  ,  fd00:8::/64  ",
        "  Endpoint   =   192.0.2.8:51820   ",
    )


@case("multi-allowed")
def _multi_allowed() -> str:
    return lines(
        "[Interface]",
        f"PrivateKey = {priv('multi-allowed')}",
        "",
        "[Peer]",
        f"PublicKey = {pub('multi-allowed-peer')}",
        "AllowedIPs = 10.9.0.0/24",
        "AllowedIPs = 10.90.0.0/16, 10.91.0.0/16",
        "AllowedIPs = fd00:9::/64,fd00:90::/64",
        "Endpoint = 192.0.2.9:51820",
        "AllowedIPs = 172.16.9.0/24",
    )


@case("multi-address")
def _multi_address() -> str:
    return lines(
        "[Interface]",
        "Address = 10.10.0.2/24",
        f"PrivateKey = {priv('multi-address')}",
        "Address = 10.10.1.2/24, 10.10.2.2/24",
        "Address = fd00:10::2/64",
        "ListenPort = 51830",
        "Address = 192.168.10.2/32",
        "",
        "[Peer]",
        f"PublicKey = {pub('multi-address-peer')}",
        "AllowedIPs = 10.10.0.0/16",
    )


@case("dns-search")
def _dns() -> str:
    return lines(
        "[Interface]",
        f"PrivateKey = {priv('dns')}",
        "Address = 10.11.0.2/24",
        "DNS = 10.11.0.1, 10.11.0.2",
        "DNS = corp.example, lab.corp.example",
        "DNS = fd00:11::1, internal., 2001:db8::53",
        "",
        "[Peer]",
        f"PublicKey = {pub('dns-peer')}",
        "AllowedIPs = 10.11.0.0/24, fd00:11::/64",
        "Endpoint = 198.51.100.11:51820",
    )


@case("mtu-table")
def _mtu_table() -> str:
    return lines(
        "[Interface]",
        "MTU = 1280",
        "Table = off",
        f"PrivateKey = {priv('mtu-table')}",
        "Address = 10.12.0.2/24",
        "",
        "[Peer]",
        f"PublicKey = {pub('mtu-table-peer')}",
        "AllowedIPs = 0.0.0.0/0",
    )


@case("table-auto")
def _table_auto() -> str:
    return lines(
        "[Interface]",
        f"PrivateKey = {priv('table-auto')}",
        "Table = auto",
        "Address = 10.13.0.2/24",
        "MTU = 9000",
        "[Peer]",
        f"PublicKey = {pub('table-auto-peer')}",
        "AllowedIPs = 10.13.0.0/24",
    )


@case("hooks")
def _hooks() -> str:
    return lines(
        "[Interface]",
        f"PrivateKey = {priv('hooks')}",
        "Address = 10.14.0.1/24",
        "ListenPort = 51834",
        "PreUp = sysctl -w net.ipv4.ip_forward=1",
        "PostUp = iptables -A FORWARD -i %i -j ACCEPT; iptables -t nat -A POSTROUTING"
        " -o eth0 -j MASQUERADE",
        "PostDown = iptables -D FORWARD -i %i -j ACCEPT; iptables -t nat -D POSTROUTING"
        " -o eth0 -j MASQUERADE",
        'PreDown = sh -c \'test "$(cat /proc/sys/net/ipv4/ip_forward)" = "1" && echo a=b\'',
        'PostUp = echo "key=value; x==y" > /dev/null',
        "PostUp = wg set %i peer AAA= allowed-ips 10.0.0.0/8 || true # ignore failure",
        "",
        "[Peer]",
        f"PublicKey = {pub('hooks-peer')}",
        "AllowedIPs = 10.14.0.2/32",
    )


@case("hooks-first")
def _hooks_first() -> str:
    return lines(
        "[Interface]",
        "PreUp = echo 'starting up: PrivateKey = is not read from here'",
        "PreDown = printf '%s\\n' \"$(date)\" >> /tmp/wg.log",
        "PostDown = ip rule del from 10.15.0.0/24 table 15 || :",
        f"PrivateKey = {priv('hooks-first')}",
        "[Peer]",
        f"PublicKey = {pub('hooks-first-peer')}",
        "AllowedIPs = 10.15.0.0/24",
    )


@case("saveconfig")
def _saveconfig() -> str:
    return lines(
        "[Interface]",
        f"PrivateKey = {priv('saveconfig')}",
        "Address = 10.16.0.1/24",
        "SaveConfig = true",
        "ListenPort = 51836",
        "",
        "[Peer]",
        f"PublicKey = {pub('saveconfig-peer')}",
        "AllowedIPs = 10.16.0.2/32",
    )


@case("saveconfig-off")
def _saveconfig_off() -> str:
    return lines(
        "[Interface]",
        "SaveConfig = False",
        f"PrivateKey = {priv('saveconfig-off')}",
        "[Peer]",
        f"PublicKey = {pub('saveconfig-off-peer')}",
        "AllowedIPs = 10.17.0.2/32",
    )


@case("iface-after")
def _iface_after() -> str:
    return lines(
        "[Interface]",
        f"PrivateKey = {priv('iface-after')}",
        "",
        "[Peer]",
        f"PublicKey = {pub('iface-after-peer1')}",
        "AllowedIPs = 10.18.1.0/24",
        "",
        "[Interface]",
        "Address = 10.18.0.2/24",
        "ListenPort = 51838",
        "DNS = 10.18.0.1",
        "PostUp = logger second interface section",
        "",
        "[Peer]",
        f"PublicKey = {pub('iface-after-peer2')}",
        "AllowedIPs = 10.18.2.0/24",
        "[Interface]",
        "MTU = 1350",
        "FwMark = 0x18",
    )


@case("v6-endpoint")
def _v6_endpoint() -> str:
    return lines(
        "[Interface]",
        f"PrivateKey = {priv('v6-endpoint')}",
        "Address = 10.19.0.2/24, fd00:19::2/64",
        "",
        "[Peer]",
        f"PublicKey = {pub('v6-endpoint-peer')}",
        "AllowedIPs = 10.19.0.0/24, fd00:19::/64",
        "Endpoint = [2001:db8:19::1]:51820",
        "",
        "[Peer]",
        f"PublicKey = {pub('v6-endpoint-peer2')}",
        "AllowedIPs = 10.19.1.0/24",
        "Endpoint = [2001:db8::19]:443",
    )


@case("v6-only")
def _v6_only() -> str:
    return lines(
        "[Interface]",
        f"PrivateKey = {priv('v6-only')}",
        "Address = fd00:20::2/64",
        "DNS = fd00:20::1, 2001:db8:20::53",
        "",
        "[Peer]",
        f"PublicKey = {pub('v6-only-peer')}",
        "AllowedIPs = ::/0",
        "Endpoint = [2001:db8:20::1]:51820",
        "PersistentKeepalive = 25",
    )


@case("keepalive")
def _keepalive() -> str:
    return lines(
        "[Interface]",
        f"PrivateKey = {priv('keepalive')}",
        "[Peer]",
        f"PublicKey = {pub('keepalive-1')}",
        "AllowedIPs = 10.21.1.0/24",
        "PersistentKeepalive = 1",
        "[Peer]",
        f"PublicKey = {pub('keepalive-2')}",
        "AllowedIPs = 10.21.2.0/24",
        "PersistentKeepalive = off",
        "[Peer]",
        f"PublicKey = {pub('keepalive-3')}",
        "AllowedIPs = 10.21.3.0/24",
        "PersistentKeepalive = 0",
        "[Peer]",
        f"PublicKey = {pub('keepalive-4')}",
        "AllowedIPs = 10.21.4.0/24",
        "PersistentKeepalive = 65535",
    )


@case("fwmark-hex")
def _fwmark_hex() -> str:
    return lines(
        "[Interface]",
        f"PrivateKey = {priv('fwmark-hex')}",
        "FwMark = 0xca6c",
        "Table = 51820",
        "[Peer]",
        f"PublicKey = {pub('fwmark-hex-peer')}",
        "AllowedIPs = 0.0.0.0/0",
    )


@case("fwmark-dec")
def _fwmark_dec() -> str:
    return lines(
        "[Interface]",
        "FwMark = 51820",
        f"PrivateKey = {priv('fwmark-dec')}",
        "[Peer]",
        f"PublicKey = {pub('fwmark-dec-peer')}",
        "AllowedIPs = 10.23.0.0/24",
    )


@case("fwmark-off")
def _fwmark_off() -> str:
    return lines(
        "[Interface]",
        f"PrivateKey = {priv('fwmark-off')}",
        "FwMark = off",
        "ListenPort = 0",
        "[Peer]",
        f"PublicKey = {pub('fwmark-off-peer')}",
        "AllowedIPs = 10.24.0.0/24",
    )


@case("psk")
def _psk() -> str:
    return lines(
        "[Interface]",
        f"PrivateKey = {priv('psk')}",
        "Address = 10.25.0.2/24",
        "",
        "[Peer]",
        f"PublicKey = {pub('psk-peer1')}",
        f"PresharedKey = {psk('psk-peer1')}",
        "AllowedIPs = 10.25.1.0/24",
        "Endpoint = 192.0.2.25:51820",
        "",
        "[Peer]",
        f"PresharedKey = {psk('psk-peer2')}",
        f"PublicKey = {pub('psk-peer2')}",
        "AllowedIPs = 10.25.2.0/24",
    )


@case("site-to-site")
def _site() -> str:
    rows = [
        "# Hub of a site-to-site mesh: three branch offices and a road warrior.",
        "[Interface]",
        f"PrivateKey = {priv('site-hub')}",
        "Address = 10.26.0.1/24",
        "ListenPort = 51846",
        "PostUp = sysctl -q -w net.ipv4.ip_forward=1",
        "",
    ]
    for i, (lan, ep) in enumerate(
        [
            ("10.126.1.0/24", "198.51.100.1"),
            ("10.126.2.0/24", "198.51.100.2"),
            ("10.126.3.0/24", "[2001:db8:26::3]"),
        ],
        start=1,
    ):
        rows += [
            f"# branch {i}",
            "[Peer]",
            f"PublicKey = {pub(f'site-branch{i}')}",
            f"PresharedKey = {psk(f'site-branch{i}')}",
            f"AllowedIPs = 10.26.0.{i + 1}/32, {lan}",
            f"Endpoint = {ep}:51820",
            "PersistentKeepalive = 25",
            "",
        ]
    rows += [
        "# laptop: no endpoint, it roams",
        "[Peer]",
        f"PublicKey = {pub('site-laptop')}",
        "AllowedIPs = 10.26.0.100/32",
    ]
    return lines(*rows)


@case("many-peers")
def _many() -> str:
    rows = [
        "[Interface]",
        f"PrivateKey = {priv('many')}",
        "Address = 10.27.0.1/16",
        "ListenPort = 51847",
    ]
    for i in range(64):
        rows += [
            "",
            f"[Peer] # client {i}",
            f"PublicKey = {pub(f'many-{i}')}",
            f"AllowedIPs = 10.27.{i // 250}.{i % 250 + 2}/32",
        ]
    return lines(*rows)


@case("crlf")
def _crlf() -> str:
    return lines(
        "[Interface]",
        f"PrivateKey = {priv('crlf')}",
        "Address = 10.28.0.2/24",
        "DNS = 10.28.0.1",
        "# written on Windows",
        "",
        "[Peer]",
        f"PublicKey = {pub('crlf-peer')}",
        "AllowedIPs = 10.28.0.0/24",
        "Endpoint = 192.0.2.28:51820",
    ).replace("\n", "\r\n")


@case("no-final-nl")
def _no_nl() -> str:
    return lines(
        "[Interface]",
        f"PrivateKey = {priv('no-nl')}",
        "Address = 10.29.0.2/24",
        "[Peer]",
        f"PublicKey = {pub('no-nl-peer')}",
        "AllowedIPs = 10.29.0.0/24",
    ).rstrip("\n")


@case("interface-only")
def _iface_only() -> str:
    return lines(
        "[Interface]",
        f"PrivateKey = {priv('iface-only')}",
        "Address = 10.30.0.1/24",
        "ListenPort = 51850",
        "DNS = 10.30.0.1",
    )


@case("utf8-comments")
def _utf8() -> str:
    return lines(
        "# Büro München \u2013 VPN \u2713",
        "[Interface]",
        f"PrivateKey = {priv('utf8')} # schlüssel",
        "Address = 10.31.0.2/24 # adresse für den tunnel",
        "DNS = 10.31.0.1 # 名前解決",
        "[Peer]",
        "# Zürich",
        f"PublicKey = {pub('utf8-peer')}",
        "AllowedIPs = 10.31.0.0/24",
    )


@case("wg-quick-last")
def _wq_last() -> str:
    return lines(
        "[Interface]",
        f"PrivateKey = {priv('wq-last')}",
        "ListenPort = 51852",
        "FwMark = 1",
        "Address = 10.32.0.1/24",
        "Address = fd00:32::1/64",
        "DNS = 10.32.0.53",
        "MTU = 1412",
        "Table = main",
        "PreUp = true",
        "PostUp = true",
        "PreDown = true",
        "PostDown = true",
        "SaveConfig = false",
        "[Peer]",
        f"PublicKey = {pub('wq-last-peer')}",
        "AllowedIPs = 10.32.0.2/32, fd00:32::2/128",
        "Endpoint = 192.0.2.32:65535",
    )


@case("wg_0")
def _wg0() -> str:
    return lines(
        "[Interface]",
        f"PrivateKey = {priv('wg_0')}",
        "Address = 10.33.0.2/32",
        "DNS = 1.1.1.1, 1.0.0.1",
        "",
        "[Peer]",
        f"PublicKey = {pub('wg_0-peer')}",
        "AllowedIPs = 0.0.0.0/1, 128.0.0.0/1, ::/1, 8000::/1",
        "Endpoint = 203.0.113.33:1",
    )


@case("a=b+c.d-e_f")
def _punct() -> str:
    return lines(
        "[Interface]",
        f"PrivateKey = {priv('punct')}",
        "Address = 10.34.0.2/24",
        "[Peer]",
        f"PublicKey = {pub('punct-peer')}",
        "AllowedIPs = 10.34.0.0/24",
    )


@case("hostbits")
def _hostbits() -> str:
    # wg masks host bits (and warns only on newer tools); wg-quick passes it through.
    return lines(
        "[Interface]",
        f"PrivateKey = {priv('hostbits')}",
        "[Peer]",
        f"PublicKey = {pub('hostbits-peer')}",
        "AllowedIPs = 10.35.0.7/24, 10.35.1.1",
        "AllowedIPs = fd00:35::1",
    )


def write_corpus(out: Path = HERE) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in CASES.items():
        path = out / f"{name}.conf"
        path.write_bytes(make().encode("utf-8"))
        path.chmod(0o600)
        written.append(path)
    return written


def wg_quick_strip(path: Path) -> bytes:
    """The real `wg-quick strip` of `path`, run on a private copy (no mode warning)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / path.name
        shutil.copyfile(path, copy)
        copy.chmod(0o600)
        proc = subprocess.run(["wg-quick", "strip", str(copy)], capture_output=True, check=False)
    if proc.returncode != 0 or proc.stderr:
        raise RuntimeError(f"wg-quick strip {path.name}: {proc.stderr.decode(errors='replace')}")
    return proc.stdout


def main() -> int:
    written = write_corpus()
    print(f"wrote {len(written)} configs to {HERE}")
    if os.geteuid() != 0 or shutil.which("wg-quick") is None:
        print("not root or no wg-quick: expected/ not regenerated", file=sys.stderr)
        return 0
    expected = HERE / "expected"
    expected.mkdir(exist_ok=True)
    for path in written:
        target = expected / path.name
        target.write_bytes(wg_quick_strip(path))
        target.chmod(0o600)
    print(f"wrote {len(written)} wg-quick strip outputs to {expected}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
