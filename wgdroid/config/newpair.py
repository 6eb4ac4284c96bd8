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
        raise ValueError(f"--endpoint {endpoint}: {exc.message}") from None
    server_ip, client_ip = _two_hosts("--subnet", subnet)
    server_addrs: list[t.IPInterface] = [ipaddress.ip_interface(f"{server_ip}/{subnet.prefixlen}")]
    client_addrs: list[t.IPInterface] = [ipaddress.ip_interface(f"{client_ip}/32")]
    client_nets: list[t.IPNetwork] = [ipaddress.ip_network(f"{client_ip}/32")]
    if subnet6 is not None:
        s6, c6 = _two_hosts("--subnet6", subnet6)
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
    except Exception as exc:  # pydantic's message says the problem; the option, ours
        options = {
            "dns_servers": f"--dns {dns}", "dns_search": f"--dns {dns}",
            "persistent_keepalive": f"--keepalive {keepalive}",
            "allowed_ips": f"--allowed-ips {allowed_ips}",
        }
        raise ValueError(_first_error(exc, options)) from None
    return Pair(client, server)


def _two_hosts(option: str, net: t.IPNetwork) -> tuple[t.IPAddress, t.IPAddress]:
    """The server's and the client's address in NET, each one an Address
    line may hold (the parser's rule), else a ValueError naming OPTION."""
    hosts = iter(net.hosts())  # a list for /31, /32
    pair = next(hosts, None), next(hosts, None)
    if pair[0] is None or pair[1] is None:
        raise ValueError(f"{option} {net}: has room for fewer than two hosts")
    try:
        server, client = (t.parse_address(str(host)).ip for host in pair)
    except t.ValueProblem as exc:
        raise ValueError(f"{option} {net}: {exc.message}") from None
    return server, client


def _first_error(exc: Exception, options: dict[str, str]) -> str:
    """`OPTION VALUE: problem` for the first field pydantic refused."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors(include_input=False)[0]
        loc = [str(x) for x in first["loc"]]
        option = options.get(loc[0] if loc else "", ".".join(loc))
        return f"{option}: {first['msg']}"
    return str(exc)
