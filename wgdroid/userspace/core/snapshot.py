"""Read-only views of device state for UAPI `get=1` (and `wg show`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network

from wgdroid.userspace.core.actions import Endpoint

IPNetwork = IPv4Network | IPv6Network


@dataclass(frozen=True, slots=True)
class PeerSnapshot:
    public_key: bytes
    preshared_key: bytes = field(repr=False)  # 32 zero bytes = none
    endpoint: Endpoint | None
    last_handshake_sec: int
    last_handshake_nsec: int
    rx_bytes: int
    tx_bytes: int
    persistent_keepalive: int
    allowed_ips: tuple[IPNetwork, ...]


@dataclass(frozen=True, slots=True)
class DeviceSnapshot:
    private_key: bytes | None = field(repr=False)
    public_key: bytes | None
    listen_port: int
    fwmark: int
    peers: tuple[PeerSnapshot, ...]
