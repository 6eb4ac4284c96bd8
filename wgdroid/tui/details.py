"""What the detail pane shows of a tunnel (pure: no Textual, no device I/O).

The whole config as the official app shows it, up or down: the interface's
public key, addresses, DNS, MTU, listen port and apps; each peer's full key,
endpoint, allowed IPs, keepalive and whether a preshared key is set. When
the tunnel is up, the live status joins it (resolved endpoint, handshake,
transfer, rates). `ConfigInfo` keeps no secret: the private key is turned
into its public key and dropped as soon as the config is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wgdroid.tui import fmt

if TYPE_CHECKING:
    from wgdroid.config.dialect import Dialect
    from wgdroid.config.models import TunnelConfig
    from wgdroid.device.status import InterfaceStatus, PeerStatus
    from wgdroid.device.store import StoredTunnel

Stamp = tuple[int, int | None]  # (size, mtime) of the stored file: a changed file re-reads


@dataclass(frozen=True)
class PeerInfo:
    public_key: str
    endpoint: str | None
    allowed_ips: list[str]
    keepalive: int | None
    preshared_key: bool


@dataclass(frozen=True)
class ConfigInfo:
    """A stored config without its secrets, or why it could not be read."""

    stamp: Stamp | None
    public_key: str | None = None
    addresses: list[str] = field(default_factory=list)
    dns: list[str] = field(default_factory=list)
    mtu: int | None = None
    listen_port: int | None = None
    included_apps: list[str] = field(default_factory=list)
    excluded_apps: list[str] = field(default_factory=list)
    peers: list[PeerInfo] = field(default_factory=list)
    error: str | None = None


def stamp_of(stored: StoredTunnel) -> Stamp:
    return (stored.size, stored.mtime)


def config_info(config: TunnelConfig, stamp: Stamp | None) -> ConfigInfo:
    iface = config.interface
    return ConfigInfo(
        stamp,
        public_key=iface.private_key.public_key().base64(),
        addresses=[str(a) for a in iface.addresses],
        dns=[str(d) for d in iface.dns_servers] + [str(d) for d in iface.dns_search],
        mtu=iface.mtu,
        listen_port=iface.listen_port,
        included_apps=[str(a) for a in iface.included_applications],
        excluded_apps=[str(a) for a in iface.excluded_applications],
        peers=[PeerInfo(p.public_key.base64(), str(p.endpoint) if p.endpoint else None,
                        [str(n) for n in p.allowed_ips], p.persistent_keepalive or None,
                        p.preshared_key is not None) for p in config.peers],
    )


def read_info(text: str, name: str, stamp: Stamp | None, dialect: Dialect | None) -> ConfigInfo:
    """The info of a config's text; a broken one gives its first problem
    (the parser's messages never echo a key)."""
    from wgdroid.tui.form import check_text

    config, errors, _ = check_text(text, f"{name}.conf", dialect)
    if config is None:
        return ConfigInfo(stamp, error=errors[0].format() if errors else "invalid config")
    return config_info(config, stamp)


def endpoint_summary(endpoints: list[str]) -> str:
    """The first endpoint, and how many more: `vpn.example.com:51820 +1`."""
    if not endpoints:
        return fmt.NONE
    return endpoints[0] + (f" +{len(endpoints) - 1}" if len(endpoints) > 1 else "")


# -- the pane's content ----------------------------------------------------------


@dataclass(frozen=True)
class Section:
    title: str
    rows: list[tuple[str, str]]


@dataclass(frozen=True)
class Detail:
    name: str
    up: bool
    headline: str  # "up · wireguard-go · port 51820 · up 1h 01m · 1 peer"
    rates: tuple[list[float], list[float]] | None  # rx and tx history; None: down
    sections: list[Section]
    note: str | None = None  # the config is being read / could not be read

    def text(self) -> str:
        """Plain text of the pane, for the clipboard (no secret is in it)."""
        lines = [f"{self.name}: {self.headline}"]
        if self.note:
            lines.append(self.note)
        width = max((len(k) for s in self.sections for k, _ in s.rows), default=0)
        for s in self.sections:
            lines += ["", s.title] + [f"  {k.ljust(width)}  {v}" for k, v in s.rows]
        return "\n".join(lines) + "\n"


def _apps(info: ConfigInfo) -> str:
    if info.included_apps:
        return "only " + ", ".join(info.included_apps)
    if info.excluded_apps:
        return "all but " + ", ".join(info.excluded_apps)
    return "all"


def _peer_rows(peer: PeerInfo | None, live: PeerStatus | None) -> list[tuple[str, str]]:
    key = peer.public_key if peer else live.public_key if live else fmt.NONE
    endpoint = peer.endpoint if peer and peer.endpoint else None
    if live is not None and live.endpoint and live.endpoint != endpoint:
        endpoint = f"{endpoint} (now {live.endpoint})" if endpoint else live.endpoint
    allowed = peer.allowed_ips if peer else live.allowed_ips if live else []
    keepalive = (peer.keepalive if peer else live.persistent_keepalive if live else None)
    psk = peer.preshared_key if peer else live.preshared_key if live else False
    rows = [
        ("Public key", key),
        ("Endpoint", endpoint or "none (it connects to us)"),
        ("Allowed IPs", ", ".join(allowed) or fmt.NONE),
        ("Keepalive", f"every {keepalive} s" if keepalive else "off"),
        ("Preshared key", "yes" if psk else "no"),
    ]
    if live is not None:
        stale = " (stale)" if fmt.is_stale(live.handshake_age) else ""
        rows += [("Handshake", fmt.age(live.handshake_age) + stale),
                 ("Transfer", f"received {fmt.size(live.rx_bytes)}, "
                              f"sent {fmt.size(live.tx_bytes)}")]
    return rows


def detail(name: str, info: ConfigInfo | None, iface: InterfaceStatus | None,
           history: list[tuple[float, float]], *, pending: str | None = None) -> Detail:
    if iface is None:
        headline = pending or "down"
    else:
        port = iface.listen_port or "random"
        peers = len(iface.peers)
        headline = (f"up · {iface.backend} · port {port} · up {fmt.duration(iface.uptime)} · "
                    f"{peers} peer{'s' if peers != 1 else ''}")
        if pending:
            headline = f"{pending} · {headline}"
    note = None
    if info is None:
        note = "reading the config from the phone…"
    elif info.error:
        note = f"the config cannot be read: {info.error}"
    good = info if info is not None and info.error is None else None
    sections: list[Section] = []
    if good is not None or iface is not None:
        rows = [("Public key", (good.public_key if good else None)
                 or (iface.public_key if iface else fmt.NONE))]
        if good is not None:
            rows += [
                ("Addresses", ", ".join(good.addresses) or fmt.NONE),
                ("DNS", ", ".join(good.dns) or "none"),
                ("MTU", str(good.mtu) if good.mtu else "automatic"),
                ("Listen port", str(good.listen_port) if good.listen_port else "random"),
                ("Applications", _apps(good)),
            ]
        elif iface is not None:
            rows.append(("Listen port", str(iface.listen_port)))
        sections.append(Section("Interface", rows))
        live = {p.public_key: p for p in iface.peers} if iface else {}
        config_peers = good.peers if good else []
        for n, peer in enumerate(config_peers, 1):
            sections.append(Section(f"Peer {n}", _peer_rows(peer, live.pop(peer.public_key, None))))
        for n, extra in enumerate(live.values(), len(config_peers) + 1):
            sections.append(Section(f"Peer {n}", _peer_rows(None, extra)))
    rates = None
    if iface is not None:
        rates = ([h[0] for h in history], [h[1] for h in history])
    return Detail(name, iface is not None, headline, rates, sections, note)
