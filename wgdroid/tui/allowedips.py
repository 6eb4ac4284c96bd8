"""The "exclude private IPs" helper of the official Android app (pure).

The app replaces a peer's 0.0.0.0/0 with the public IPv4 ranges below (the
complement of 10/8, 172.16/12, 192.168/16 and 224/3) plus each DNS server as a
/32, and reverses that when switched off (wireguard-android PeerProxy).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

IPV4_WILDCARD = "0.0.0.0/0"
IPV4_PUBLIC_NETWORKS: tuple[str, ...] = (
    "0.0.0.0/5", "8.0.0.0/7", "11.0.0.0/8", "12.0.0.0/6", "16.0.0.0/4", "32.0.0.0/3",
    "64.0.0.0/2", "128.0.0.0/3", "160.0.0.0/5", "168.0.0.0/6", "172.0.0.0/12",
    "172.32.0.0/11", "172.64.0.0/10", "172.128.0.0/9", "173.0.0.0/8", "174.0.0.0/7",
    "176.0.0.0/4", "192.0.0.0/9", "192.128.0.0/11", "192.160.0.0/13", "192.169.0.0/16",
    "192.170.0.0/15", "192.172.0.0/14", "192.176.0.0/12", "192.192.0.0/10",
    "193.0.0.0/8", "194.0.0.0/7", "196.0.0.0/6", "200.0.0.0/5", "208.0.0.0/4",
)


def split_items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _dns_routes(dns_servers: Iterable[str]) -> list[str]:
    routes = []
    for item in dns_servers:
        try:
            addr = ipaddress.ip_address(item.strip())
        except ValueError:
            continue  # a search domain
        if addr.version == 4:
            routes.append(f"{addr}/32")
    return routes


def is_excluding(allowed: Sequence[str]) -> bool:
    return set(IPV4_PUBLIC_NETWORKS) <= set(allowed)


def can_toggle(allowed: Sequence[str]) -> bool:
    """Offered for a peer routing all IPv4 (or already excluding private IPs)."""
    return IPV4_WILDCARD in allowed or is_excluding(allowed)


def exclude_private(allowed: Sequence[str], dns_servers: Iterable[str] = ()) -> list[str]:
    """0.0.0.0/0 -> the public ranges plus DNS /32s; other entries keep their order."""
    if IPV4_WILDCARD not in allowed:
        raise ValueError("excluding private IPs needs 0.0.0.0/0 in AllowedIPs")
    out = [a for a in allowed if a != IPV4_WILDCARD]
    for extra in (*_dns_routes(dns_servers), *IPV4_PUBLIC_NETWORKS):
        if extra not in out:
            out.append(extra)
    return out


def include_private(allowed: Sequence[str], dns_servers: Iterable[str] = ()) -> list[str]:
    """The reverse: the public ranges and DNS /32s back to 0.0.0.0/0."""
    drop = set(IPV4_PUBLIC_NETWORKS) | set(_dns_routes(dns_servers))
    out = [a for a in allowed if a not in drop]
    return [IPV4_WILDCARD, *out]


def toggle(text: str, dns_text: str = "") -> str:
    """The AllowedIPs field text after pressing the helper."""
    allowed = split_items(text)
    dns = split_items(dns_text)
    new = include_private(allowed, dns) if is_excluding(allowed) else exclude_private(allowed, dns)
    return ", ".join(new)
