"""The one table of config keys, and the wg-quick dialects that read them.

Each key's section, model field, value parser, renderer, which program reads
it, what the Android wg-quick does with it, and its documentation live here
once: the parser, the renderers, `strip`, the models' field descriptions, the
device layer's dialect check and the TUI's editor form all derive from it.

Dialects (which wg-quick reads the file): `linux` is wireguard-tools' bash
wg-quick; `android` is its android.c, as on phones and in the official app,
which handles Address, DNS, MTU and the app lists itself and hands every other
line to `wg addconf` (so Linux-only keys fail there, "Line unrecognized").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from wgdroid.config import types as t
from wgdroid.config.dialect import Dialect


class Reader(StrEnum):
    WG = "wg"  # wg(8) itself reads it (`wg setconf` form)
    WG_QUICK = "wg-quick"  # wg-quick's own key, stripped before wg sees the file
    ANDROID = "android"  # only the Android wg-quick (the app's lists)


class OnAndroid(StrEnum):
    """What the Android wg-quick does with a key."""

    READS = "reads"
    OVERRIDES = "overrides"  # accepts it, but uses its own value
    FAILS = "fails"  # hands it to `wg addconf`, which stops there


@dataclass(frozen=True)
class KeySpec:
    name: str  # canonical spelling
    section: str  # "Interface" or "Peer"
    field: str  # model field ("dns" fills dns_servers and dns_search); the form's attr
    parse: Callable[[str], Any]  # one item's text -> value (raises ValueProblem)
    values: Callable[[Any], list[str]]  # the model's value(s) as text, for rendering
    doc: str  # what the key means (the models' field descriptions)
    hint: str  # the editor form's short help
    placeholder: str = ""  # the editor form's empty-field text
    multi: bool = False  # a list; repeated lines accumulate
    per_line: bool = False  # the whole line is one item (hooks)
    secret: bool = False
    reader: Reader = Reader.WG
    android: OnAndroid = OnAndroid.READS
    android_note: str = ""  # the warning for the Android dialect, if it does not READS

    @property
    def advanced(self) -> bool:
        """Folded away in the form: the phone's wg-quick ignores or refuses it."""
        return self.android is not OnAndroid.READS


def _one(value: object | None) -> list[str]:
    return [] if value is None else [str(value)]


def _all(values: list[Any]) -> list[str]:
    return [str(v) for v in values]


def _fwmark(value: int | None) -> list[str]:
    if value is None:
        return []
    return ["off" if value == 0 else f"0x{value:x}"]


def _bool(value: bool | None) -> list[str]:
    return [] if value is None else ["true" if value else "false"]


def _secret(key: t.SecretKey | None) -> list[str]:
    return [] if key is None else [key.reveal()]


def _hook(name: str, field: str) -> KeySpec:
    when = {"PreUp": "before the interface is created", "PostUp": "after it is up",
            "PreDown": "before it is removed", "PostDown": "after it is removed"}[name]
    return KeySpec(
        name, "Interface", field, t.parse_hook, lambda i: list(getattr(i, field)),
        f"{name}: a shell command the Linux wg-quick runs as root {when}; repeatable.",
        "one command per line (Linux)", multi=True, per_line=True, reader=Reader.WG_QUICK,
        android=OnAndroid.FAILS,
        android_note="the Android wg-quick runs no hooks; it would fail here",
    )


# In the order a fresh section is rendered.
SPECS: tuple[KeySpec, ...] = (
    KeySpec("PrivateKey", "Interface", "private_key", t.PrivateKey.from_base64,
            lambda i: _secret(i.private_key),
            "PrivateKey: this tunnel's Curve25519 private key.",
            "this tunnel's private key", secret=True),
    KeySpec("Address", "Interface", "addresses", t.parse_address, lambda i: _all(i.addresses),
            "Address: IPs of the tunnel interface, with prefix.",
            "tunnel IPs with prefix", "e.g. 10.0.0.2/32, fd00::2/128",
            multi=True, reader=Reader.WG_QUICK),
    KeySpec("DNS", "Interface", "dns", lambda s: s,
            lambda i: _all([*i.dns_servers, *i.dns_search]),
            "DNS: server addresses, and search domains (entries that are not addresses).",
            "DNS servers and search domains", "e.g. 1.1.1.1",
            multi=True, reader=Reader.WG_QUICK),
    KeySpec("ListenPort", "Interface", "listen_port", t.parse_listen_port,
            lambda i: _one(i.listen_port),
            "ListenPort: UDP port; unset or 0 picks a random one.",
            "UDP port; empty = random", "empty: random"),
    KeySpec("MTU", "Interface", "mtu", t.parse_mtu, lambda i: _one(i.mtu),
            "MTU: unset means automatic (route MTU - 80).",
            "empty = automatic", "empty: automatic", reader=Reader.WG_QUICK),
    KeySpec("FwMark", "Interface", "fwmark", t.parse_fwmark, lambda i: _fwmark(i.fwmark),
            "FwMark: mark on outgoing packets; 0 means off. The Android wg-quick overrides it.",
            "Android's wg-quick overrides it", "empty: off", android=OnAndroid.OVERRIDES,
            android_note="the Android wg-quick always sets fwmark 0x20000, replacing this value"),
    KeySpec("Table", "Interface", "table", t.parse_table, lambda i: _one(i.table),
            "Table: routing table (Linux wg-quick only): off, auto, a number or a name.",
            "Linux wg-quick only", "empty: auto", reader=Reader.WG_QUICK,
            android=OnAndroid.FAILS,
            android_note="the Android wg-quick has no Table (it routes through netd); "
            "it would fail here"),
    _hook("PreUp", "pre_up"),
    _hook("PostUp", "post_up"),
    _hook("PreDown", "pre_down"),
    _hook("PostDown", "post_down"),
    KeySpec("SaveConfig", "Interface", "save_config", t.parse_bool,
            lambda i: _bool(i.save_config),
            "SaveConfig: Linux wg-quick writes the live state back on down.",
            "true/false (Linux)", "empty: false", reader=Reader.WG_QUICK,
            android=OnAndroid.FAILS,
            android_note="the Android wg-quick has no SaveConfig; it would fail here"),
    KeySpec("IncludedApplications", "Interface", "included_applications", t.parse_package,
            lambda i: _all(i.included_applications),
            "IncludedApplications (Android): only these apps use the tunnel.",
            "only these apps (Android)", "e.g. com.example.app",
            multi=True, reader=Reader.ANDROID),
    KeySpec("ExcludedApplications", "Interface", "excluded_applications", t.parse_package,
            lambda i: _all(i.excluded_applications),
            "ExcludedApplications (Android): these apps bypass the tunnel.",
            "these apps bypass (Android)", "e.g. com.example.app",
            multi=True, reader=Reader.ANDROID),
    KeySpec("PublicKey", "Peer", "public_key", t.PublicKey.from_base64,
            lambda p: [p.public_key.base64()],
            "PublicKey: the peer's public key.", "the peer's public key"),
    KeySpec("PresharedKey", "Peer", "preshared_key", t.PresharedKey.from_base64,
            lambda p: _secret(p.preshared_key),
            "PresharedKey: optional extra symmetric key.", "optional", "empty: none",
            secret=True),
    KeySpec("AllowedIPs", "Peer", "allowed_ips", t.parse_allowed_ip,
            lambda p: _all(p.allowed_ips),
            "AllowedIPs: networks routed to and accepted from this peer.",
            "routed to this peer", "e.g. 0.0.0.0/0, ::/0", multi=True),
    KeySpec("Endpoint", "Peer", "endpoint", t.parse_endpoint, lambda p: _one(p.endpoint),
            "Endpoint: where to reach the peer: IPv4:port, [IPv6]:port or hostname:port.",
            "host:port", "e.g. vpn.example.com:51820"),
    KeySpec("PersistentKeepalive", "Peer", "persistent_keepalive", t.parse_keepalive,
            lambda p: _one(p.persistent_keepalive),
            "PersistentKeepalive: seconds between keepalives; 0 or off disables.",
            "seconds; empty = off", "empty: off"),
)
SPEC_BY_KEY: dict[str, KeySpec] = {s.name.lower(): s for s in SPECS}
HOOK_KEYS = frozenset(s.name for s in SPECS if s.per_line)
INTERFACE_SPECS = tuple(s for s in SPECS if s.section == "Interface")
PEER_SPECS = tuple(s for s in SPECS if s.section == "Peer")


def spec(name: str) -> KeySpec:
    return SPEC_BY_KEY[name.lower()]


def doc(name: str) -> str:
    return spec(name).doc


def render_lines(key: KeySpec, obj: Any) -> list[str]:
    """`Key = value` lines of one key of a model (hooks: one line each)."""
    values = key.values(obj)
    if not values:
        return []
    if key.per_line:
        return [f"{key.name} = {v}" for v in values]
    return [f"{key.name} = {', '.join(values)}"]


def own_keys(dialect: Dialect) -> frozenset[str]:
    """Lower-cased keys a dialect's wg-quick keeps for itself (what `strip` drops)."""
    if dialect is Dialect.LINUX:
        return frozenset(s.name.lower() for s in SPECS if s.reader is Reader.WG_QUICK)
    return frozenset(
        s.name.lower() for s in SPECS
        if s.reader is not Reader.WG and s.android is OnAndroid.READS
    )


# Keys whose values the Android bring-up checks itself (sh/android.sh an_parse):
# a dialect issue on one (under the Android dialect) names a value the phone
# refuses, e.g. a DNS server's scope id; push refuses it as a refused key.
ANDROID_REFUSED_VALUES = frozenset({"DNS"})


def android_refused_keys() -> frozenset[str]:
    """Keys the Android wg-quick would fail on (it passes them to `wg addconf`)."""
    return frozenset(s.name for s in SPECS if s.android is OnAndroid.FAILS)
