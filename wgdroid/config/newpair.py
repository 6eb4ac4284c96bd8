"""A ready client/server pair: the phone's config and the server's, keys matched."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from wgdroid.config import types as t
from wgdroid.config.models import Interface, Peer, TunnelConfig


@dataclass(frozen=True)
class Pair:
    client: TunnelConfig
    server: TunnelConfig


def make_pair(
    *,
    endpoint: str,
    subnet: ipaddress.IPv4Network,
    subnet6: ipaddress.IPv6Network | None = None,
    allowed_ips: str = "0.0.0.0/0, ::/0",
    dns: str | None = None,
    keepalive: int | None = 25,
    psk: bool = True,
) -> Pair:
    """Server gets the subnet's first host, the client the second."""
    try:
        ep = t.parse_endpoint(endpoint)
    except t.ValueProblem as exc:
        raise ValueError(f"--endpoint: {exc.message}") from None
    hosts = iter(subnet.hosts())  # a list for /31, /32
    server_ip, client_ip = next(hosts, None), next(hosts, None)
    if server_ip is None or client_ip is None:
        raise ValueError(f"--subnet {subnet} has room for fewer than two hosts")
    server_addrs: list[t.IPInterface] = [ipaddress.ip_interface(f"{server_ip}/{subnet.prefixlen}")]
    client_addrs: list[t.IPInterface] = [ipaddress.ip_interface(f"{client_ip}/32")]
    client_nets: list[t.IPNetwork] = [ipaddress.ip_network(f"{client_ip}/32")]
    if subnet6 is not None:
        h6 = iter(subnet6.hosts())
        s6, c6 = next(h6, None), next(h6, None)
        if s6 is None or c6 is None:
            raise ValueError(f"--subnet6 {subnet6} has room for fewer than two hosts")
        server_addrs.append(ipaddress.ip_interface(f"{s6}/{subnet6.prefixlen}"))
        client_addrs.append(ipaddress.ip_interface(f"{c6}/128"))
        client_nets.append(ipaddress.ip_network(f"{c6}/128"))
    server_key, client_key = t.PrivateKey.generate(), t.PrivateKey.generate()
    shared = t.PresharedKey.generate() if psk else None
    dns_items = t.split_list(dns) if dns else []
    try:
        client = TunnelConfig(
            interface=Interface(
                private_key=client_key,
                addresses=client_addrs,
                dns_servers=[d for d in dns_items if t.is_dns_server(d)],
                dns_search=[d for d in dns_items if not t.is_dns_server(d)],
            ),
            peers=[Peer(
                public_key=server_key.public_key(), preshared_key=shared,
                allowed_ips=allowed_ips, endpoint=ep,
                persistent_keepalive=keepalive or None,
            )],
        )
        server = TunnelConfig(
            interface=Interface(private_key=server_key, addresses=server_addrs,
                                listen_port=ep.port),
            peers=[Peer(public_key=client_key.public_key(), preshared_key=shared,
                        allowed_ips=client_nets)],
        )
    except Exception as exc:  # pydantic's message names the field and the problem
        raise ValueError(_first_error(exc)) from None
    return Pair(client, server)


def _first_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors(include_input=False)[0]
        field = ".".join(str(x) for x in first["loc"])
        return f"{field}: {first['msg']}"
    return str(exc)
