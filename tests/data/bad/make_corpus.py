"""Generate the bad-input corpus: each file has one thing wrong.

Run from anywhere: `python tests/data/bad/make_corpus.py`. Keys derive from
fixed seeds so the corpus is stable. Expectations (line and message) live in
expected.json, written by hand from what wg/wg-quick would complain about.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

HERE = Path(__file__).resolve().parent


def _key(seed: str) -> bytes:
    raw = bytearray(hashlib.sha256(seed.encode()).digest())
    raw[0] &= 248
    raw[31] = (raw[31] & 127) | 64
    return bytes(raw)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


PRIV = b64(_key("bad-corpus-interface"))
PEER_PRIV = _key("bad-corpus-peer")
PUB = b64(X25519PrivateKey.from_private_bytes(PEER_PRIV).public_key().public_bytes_raw())
OWN_PUB = b64(
    X25519PrivateKey.from_private_bytes(_key("bad-corpus-interface")).public_key().public_bytes_raw()
)
PSK = b64(hashlib.sha256(b"bad-corpus-psk").digest())


def iface(*extra: str) -> str:
    return "\n".join(["[Interface]", f"PrivateKey = {PRIV}", *extra]) + "\n"


def peer(*extra: str, pub: str = PUB) -> str:
    return "\n".join(["", "[Peer]", f"PublicKey = {pub}", *extra]) + "\n"


GOOD_PEER = peer("AllowedIPs = 10.0.0.0/24", "Endpoint = 192.0.2.1:51820")

CASES: dict[str, str | bytes] = {
    "priv_short.conf": "[Interface]\nPrivateKey = abc=\n",
    "priv_chars.conf": "[Interface]\nPrivateKey = " + "!" * 43 + "=\n",
    "priv_noncanon.conf": "[Interface]\nPrivateKey = " + PRIV[:42] + "B=\n",
    "priv_nopad.conf": "[Interface]\nPrivateKey = " + PRIV[:43] + "\n",
    "pubkey_short.conf": iface() + peer(pub="AAAA"),
    "pubkey_hex.conf": iface() + peer(pub="ab" * 32),
    "psk_bad.conf": iface() + peer("PresharedKey = " + PSK[:40] + "===="),
    "cidr_octet.conf": iface() + peer("AllowedIPs = 10.0.0.300/32"),
    "cidr_prefix.conf": iface() + peer("AllowedIPs = 10.0.0.0/33"),
    "cidr_v6_prefix.conf": iface() + peer("AllowedIPs = fd00::/129"),
    "cidr_text.conf": iface() + peer("AllowedIPs = 10.0.0.0/8, everything"),
    "address_prefix.conf": iface("Address = 10.0.0.1/40"),
    "address_text.conf": iface("Address = hello"),
    "port_too_big.conf": iface("ListenPort = 70000"),
    "port_negative.conf": iface("ListenPort = -1"),
    "port_text.conf": iface("ListenPort = fifty"),
    "ep_port_big.conf": iface() + peer("Endpoint = 192.0.2.1:65536"),
    "ep_no_port.conf": iface() + peer("Endpoint = 192.0.2.1"),
    "ep_v6_bare.conf": iface() + peer("Endpoint = fd00::1:51820"),
    "ep_bad_host.conf": iface() + peer("Endpoint = bad_host!:51820"),
    "ep_bad_v6.conf": iface() + peer("Endpoint = [fd00::zz]:51820"),
    "ep_empty.conf": iface() + peer("Endpoint ="),
    "keepalive_big.conf": iface() + peer("PersistentKeepalive = 65536"),
    "keepalive_text.conf": iface() + peer("PersistentKeepalive = 0L"),
    "mtu_small.conf": iface("MTU = 10"),
    "mtu_text.conf": iface("MTU = big"),
    "fwmark_bad.conf": iface("FwMark = 0xZZ"),
    "dns_bad_name.conf": iface("DNS = 192.0.2.0, invalid_value"),
    "dns_bad_ip.conf": iface("DNS = 1.2.3.456"),
    "table_bad.conf": iface("Table = bad/table"),
    "saveconf_bad.conf": iface("SaveConfig = yes"),
    "dup_peer_psk.conf": iface() + GOOD_PEER + peer("PresharedKey = " + PSK),
    "dup_peer.conf": iface() + GOOD_PEER + peer("AllowedIPs = 10.1.0.0/24"),
    "peer_own_key.conf": iface() + peer("AllowedIPs = 10.0.0.0/24", pub=OWN_PUB),
    "unknown_key.conf": iface("Foo = bar"),
    "unknown_sect.conf": iface() + "\n[Peers]\nPublicKey = " + PUB + "\n",
    "key_outside.conf": "ListenPort = 51820\n" + iface(),
    "wrong_section.conf": iface("Endpoint = 192.0.2.1:51820"),
    "no_privkey.conf": "[Interface]\nAddress = 10.0.0.2/32\n" + GOOD_PEER,
    "no_pubkey.conf": iface() + "\n[Peer]\nAllowedIPs = 10.0.0.0/24\n",
    "no_interface.conf": GOOD_PEER.lstrip("\n"),
    "no_equals.conf": "[Interface]\nPrivateKey\n",
    "pasted_key.conf": "[Interface]\n" + PRIV + "\n",
    "empty.conf": "",
    "comments_only.conf": "# nothing here\n\n# at all\n",
    "binary.conf": b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4,
    "latin1.conf": iface("# caf\xe9").encode("latin-1"),
    "bom.conf": "\ufeff" + iface(),
    "huge.conf": iface() + ("# padding padding padding padding padding padding\n" * 21000),
    "apps_both.conf": iface(
        "IncludedApplications = com.example.a", "ExcludedApplications = com.example.b"
    ),
    "apps_bad_pkg.conf": iface("ExcludedApplications = com.bad-name"),
    "header_spaces.conf": "[ Interface ]\nPrivateKey = " + PRIV + "\n",
    "averyveryverylongname.conf": iface("Address = 10.0.0.2/32"),
    "tun@home.conf": iface("Address = 10.0.0.2/32"),
    "linux_apps.conf": iface("ExcludedApplications = com.example.app"),
    "android_postup.conf": iface("PostUp = echo up"),
}


def main() -> None:
    for old in HERE.glob("*.conf"):
        old.unlink()
    for name, content in CASES.items():
        data = content.encode() if isinstance(content, str) else content
        (HERE / name).write_bytes(data)


if __name__ == "__main__":
    main()
