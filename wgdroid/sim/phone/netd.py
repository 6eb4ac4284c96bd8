"""netd and the DNS resolver of a simulated phone: one root daemon per phone.

Started by the phone's runtime at boot (as init starts netd), it owns what
netd and the DnsResolver module own on Android 14 and changes the kernel the
way they do:

- networks (NetworkController.cpp): physical and VPN networks, their
  interfaces, uid ranges (`network users`), the default network, routes; the
  policy rules and per-interface tables of netd_routes (RouteController.cpp);
- `ndc` (server/NdcDispatcher.cpp, which replaced CommandListener in
  Android 10): the same commands, replies and reply texts, printed on stdout
  as `CODE 0 TEXT`; ndc exits 0 even when the command failed (dispatchCommand
  returns 0), so callers read the code, as android.c's cndc does;
- the `dnsresolver` binder service (packages/modules/DnsResolver
  DnsResolverService.cpp, ResolverController.cpp): per-network DNS servers
  set by `createNetworkCache` and `setResolverConfiguration` (what `service
  call dnsresolver` and the Android wg-quick's binder calls reach);
- dnsproxyd (DnsProxyListener.cpp): the stand-in in wgdroid.sim.phone.dnsproxy
  answers lookups by the caller's uid and network.

Clients (ndc, service, dumpsys: wgdroid.sim.phone.netd_client) talk to it
over SOCKET; it checks their uid with SO_PEERCRED, as binder checks callers.

`legacy_main`: the kinder phone the simulator modelled before, kept for
profiles whose product path still puts routes in `main` (the Linux
wg-quick): no policy rules, routes go to `main`, the kernel's `lookup main`
rule stays. DNS works the same in both.

    python -m wgdroid.sim.phone.netd SPEC_JSON
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import json
import os
import socket
import struct
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from wgdroid.sim.phone import binder, dnsproxy
from wgdroid.sim.phone import netd_routes as rc
from wgdroid.sim.phone.netd_routes import Rule

SOCKET = "/dev/socket/wgdroid_netd"
RT_TABLES = "/data/misc/net/rt_tables"
MAX_REQUEST = 1 << 16
NETID_UNSET = 0
MIN_NET_ID, MAX_NET_ID = 100, 65535  # NetworkController.h (OEM ids are not modelled)
DUMMY_NET_ID, UNREACHABLE_NET_ID = 51, 52
FIRST_APPLICATION_UID = 10000
AID_SYSTEM, AID_VPN = 1000, 1016
CMD_ARGS_MAX = 26  # NdcDispatcher::CMD_ARGS_MAX
# INetd permissions as `ndc network create NETID PERMISSION` names them.
PERMISSION_NAMES = {"NETWORK": rc.PERMISSION_NETWORK, "SYSTEM": rc.PERMISSION_SYSTEM}
# IDnsResolver transaction codes (aidl_api/dnsresolver_aidl_interface: method order + 1).
DNS_IS_ALIVE, DNS_SET_CONFIG, DNS_GET_INFO = 1, 3, 4
DNS_CREATE_CACHE, DNS_DESTROY_CACHE, DNS_FLUSH_CACHE = 8, 9, 11
DNS_DESCRIPTOR = "android.net.IDnsResolver"
PERM_INTERNAL = "android.permission.CONNECTIVITY_INTERNAL,android.permission.MAINLINE_NETWORK_STACK"
PERM_STACK = "android.permission.NETWORK_STACK,android.permission.MAINLINE_NETWORK_STACK"


class NetdError(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(os.strerror(code))
        self.errno = code


@dataclass
class Network:
    net_id: int
    kind: str  # physical | virtual
    permission: int = rc.PERMISSION_NONE
    secure: bool = False
    interfaces: list[str] = field(default_factory=list)
    uids: list[tuple[int, int]] = field(default_factory=list)

    def applies_to(self, uid: int) -> bool:
        return any(a <= uid <= b for a, b in self.uids)


@dataclass
class DnsConfig:
    servers: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    timeout_ms: int = 5000
    retries: int = 2


# -- the kernel, through `ip` ----------------------------------------------------

async def _run(argv: list[str], data: str = "") -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate(data.encode())
    return proc.returncode or 0, (err or out).decode(errors="replace")


_ERRNO_TEXT = {os.strerror(e): e for e in (
    errno.EEXIST, errno.ENOENT, errno.ENODEV, errno.ESRCH, errno.EINVAL, errno.ENETUNREACH,
    errno.EPERM, errno.ERANGE, errno.EBUSY, errno.EADDRNOTAVAIL, errno.EOPNOTSUPP)}


def _errno_of(text: str) -> int:
    for message, code in _ERRNO_TEXT.items():
        if message in text:
            return code
    if "Cannot find device" in text:
        return errno.ENODEV
    return errno.EINVAL


class Kernel:
    def __init__(self) -> None:
        # netd adds rules without NLM_F_EXCL (NetlinkCommands.h
        # NETLINK_RULE_CREATE_FLAGS), so the same rule added twice (two VPNs'
        # local-exclusion rule) is there twice and one delete leaves the other.
        # `ip rule add` refuses a duplicate: the copies are counted here.
        self.rule_refs: Counter[Rule] = Counter()

    async def ip(self, *args: str) -> None:
        rc_, text = await _run(["ip", *args])
        if rc_:
            raise NetdError(_errno_of(text))

    async def rules(self, add: bool, rules: list[Rule]) -> None:
        """modifyIpRule for each rule, IPv4 then IPv6 (stops at the first error)."""
        changed = []
        for r in rules:
            if add:
                self.rule_refs[r] += 1
                if self.rule_refs[r] == 1:
                    changed.append(r)
            elif self.rule_refs[r] > 1:
                self.rule_refs[r] -= 1
            else:
                self.rule_refs.pop(r, None)
                changed.append(r)
        verb = "add" if add else "del"
        for family in ("-4", "-6"):
            batch = "".join(f"rule {verb} {' '.join(r.args())}\n" for r in changed)
            if not batch:
                return
            code, text = await _run(["ip", family, "-batch", "-"], batch)
            if code:
                raise NetdError(_errno_of(text))

    async def flush_rules(self) -> None:
        """flushRules: every rule but priority 0 (local input), both families."""
        self.rule_refs.clear()
        for family in ("-4", "-6"):
            _code, text = await _run(["ip", family, "rule", "show"])
            # One `del pref P` per rule: it deletes the first rule of that priority.
            prefs = [line.split(":", 1)[0] for line in text.splitlines()
                     if ":" in line and line.split(":", 1)[0].isdigit()]
            dels = "".join(f"rule del pref {p}\n" for p in prefs if p != "0")
            if dels:
                await _run(["ip", family, "-batch", "-"], dels)

    async def flush_table(self, table: int) -> None:
        for family in ("-4", "-6"):
            await _run(["ip", family, "route", "flush", "table", str(table)])

    def ifindex(self, interface: str) -> int:
        try:
            return socket.if_nametoindex(interface)
        except OSError:
            return 0


# -- NetworkController + RouteController -------------------------------------------

class Netd:
    def __init__(self, *, sdk: int, legacy_main: bool) -> None:
        self.sdk = sdk
        self.legacy = legacy_main
        self.kernel = Kernel()
        self.networks: dict[int, Network] = {}
        self.default_net = NETID_UNSET
        self.tables: dict[str, int] = {}  # sInterfaceToTable
        self.dns: dict[int, DnsConfig] = {}  # the DnsResolver's network caches
        self.protectable = {AID_VPN}
        self.lock = asyncio.Lock()

    # RouteController::Init
    async def init(self) -> None:
        if self.legacy:
            return
        await self.kernel.flush_rules()
        for table in (rc.TABLE_LOCAL_NETWORK, rc.TABLE_LEGACY_NETWORK, rc.TABLE_LEGACY_SYSTEM):
            await self.kernel.flush_table(table)
        await self.kernel.rules(True, rc.init_rules())
        self._write_table_names()

    def _write_table_names(self) -> None:
        os.makedirs(os.path.dirname(RT_TABLES), exist_ok=True)
        tmp = RT_TABLES + ".tmp"
        with open(tmp, "w") as f:
            f.write(rc.table_names(self.tables))
        os.chmod(tmp, 0o644)
        os.rename(tmp, RT_TABLES)

    def _table(self, interface: str) -> int:
        """getRouteTableForInterface: known, or from the interface's index."""
        if interface in self.tables:
            return self.tables[interface]
        index = self.kernel.ifindex(interface)
        if not index:
            raise NetdError(errno.ESRCH)
        self.tables[interface] = rc.interface_table(index)
        return self.tables[interface]

    def _network(self, net_id: int) -> Network:
        network = self.networks.get(net_id)
        if network is None:
            raise NetdError(errno.ENONET)
        return network

    def _network_of_interface(self, interface: str) -> int:
        for net_id, network in self.networks.items():
            if interface in network.interfaces:
                return net_id
        return NETID_UNSET

    def vpn_for(self, uid: int) -> Network | None:
        """getVirtualNetworkForUserLocked."""
        for network in self.networks.values():
            if network.kind == "virtual" and network.applies_to(uid):
                return network
        return None

    def app_default_for(self, uid: int) -> Network | None:
        """getPhysicalOrUnreachableNetworkForUserLocked (per-app default networks)."""
        for network in self.networks.values():
            if network.kind == "physical" and network.applies_to(uid):
                return network
        return None

    # NetworkController::createPhysicalNetworkLocked / createVirtualNetwork
    async def create(self, net_id: int, kind: str, *, permission: int = 0,
                     secure: bool = False) -> None:
        if not MIN_NET_ID <= net_id <= MAX_NET_ID:
            raise NetdError(errno.EINVAL)
        if net_id in self.networks:
            raise NetdError(errno.EEXIST)
        network = Network(net_id, kind, permission=permission, secure=secure)
        if kind == "virtual":
            await self._fallthrough(net_id, True)
        self.networks[net_id] = network

    async def _fallthrough(self, vpn_net_id: int, add: bool) -> None:
        """modifyFallthroughLocked: a VPN falls through to the default network."""
        if self.default_net == NETID_UNSET or self.legacy:
            return
        default = self.networks[self.default_net]
        for interface in default.interfaces:
            table = self._table(interface)
            await self.kernel.rules(add, [
                rc.vpn_fallthrough_rule(vpn_net_id, table, default.permission),
                rc.vpn_local_exclusion_rule(rc.local_table(table))])

    async def _default_rules(self, network: Network, add: bool) -> None:
        """PhysicalNetwork addToDefault/removeFromDefault: the default rule, and
        every VPN's fallthrough to it."""
        if self.legacy:
            return
        for interface in network.interfaces:
            table = self._table(interface)
            await self.kernel.rules(add, [rc.default_network_rule(table, network.permission)])
            for vpn in self.networks.values():
                if vpn.kind == "virtual":
                    await self.kernel.rules(add, [
                        rc.vpn_fallthrough_rule(vpn.net_id, table, network.permission),
                        rc.vpn_local_exclusion_rule(rc.local_table(table))])

    async def destroy(self, net_id: int) -> None:
        """NetworkController::destroyNetwork: keeps going on errors, returns the first."""
        if net_id in (rc.LOCAL_NET_ID, UNREACHABLE_NET_ID):
            raise NetdError(errno.EINVAL)
        network = self._network(net_id)
        first: NetdError | None = None
        for interface in list(network.interfaces):
            try:
                await self._remove_interface(network, interface)
            except NetdError as exc:
                first = first or exc
                network.interfaces.remove(interface)
        if self.default_net == net_id:
            self.default_net = NETID_UNSET
        elif network.kind == "virtual":
            try:
                await self._fallthrough(net_id, False)
            except NetdError as exc:
                first = first or exc
        del self.networks[net_id]
        if first:
            raise first

    async def add_interface(self, net_id: int, interface: str) -> None:
        network = self._network(net_id)
        existing = self._network_of_interface(interface)
        if existing not in (NETID_UNSET, net_id):
            raise NetdError(errno.EBUSY)
        if interface in network.interfaces:
            return
        if self.legacy:
            if not self.kernel.ifindex(interface):
                raise NetdError(errno.ENODEV)
            network.interfaces.append(interface)
            return
        table = self._table(interface)
        if network.kind == "virtual":
            await self.kernel.rules(True, rc.virtual_network_rules(
                net_id, interface, table, secure=network.secure))
            for uids in network.uids:
                await self.kernel.rules(True, rc.virtual_user_rules(
                    net_id, interface, table, uids, secure=network.secure))
        else:
            await self.kernel.rules(True, rc.physical_network_rules(
                net_id, interface, table, network.permission))
            for prefix in rc.FIXED_LOCAL_PREFIXES:  # addFixedLocalRoutes
                await self._route(True, rc.local_table(table), prefix, interface, None)
        network.interfaces.append(interface)
        if network.kind == "physical" and self.default_net == net_id:
            await self._default_rules(Network(net_id, "physical", network.permission,
                                              interfaces=[interface]), True)
        self._write_table_names()

    async def remove_interface(self, net_id: int, interface: str) -> None:
        network = self._network(net_id)
        if interface in network.interfaces:
            await self._remove_interface(network, interface)

    async def _remove_interface(self, network: Network, interface: str) -> None:
        if self.legacy:
            network.interfaces.remove(interface)
            return
        table = self._table(interface)
        if network.kind == "virtual":
            for uids in network.uids:
                await self.kernel.rules(False, rc.virtual_user_rules(
                    network.net_id, interface, table, uids, secure=network.secure))
            await self.kernel.rules(False, rc.virtual_network_rules(
                network.net_id, interface, table, secure=network.secure))
        else:
            if self.default_net == network.net_id:
                await self._default_rules(Network(network.net_id, "physical",
                                                  network.permission, interfaces=[interface]),
                                          False)
            await self.kernel.rules(False, rc.physical_network_rules(
                network.net_id, interface, table, network.permission))
        # flushRoutes: the interface's two tables, then forget its table number.
        await self.kernel.flush_table(rc.local_table(table))
        await self.kernel.flush_table(table)
        self.tables.pop(interface, None)
        network.interfaces.remove(interface)
        self._write_table_names()

    async def set_default(self, net_id: int) -> None:
        """NetworkController::setDefaultNetwork."""
        if net_id == self.default_net:
            return
        if net_id != NETID_UNSET:
            network = self._network(net_id)
            if network.kind != "physical":
                raise NetdError(errno.EINVAL)
            await self._default_rules(network, True)
        if self.default_net != NETID_UNSET:
            old = self.networks.get(self.default_net)
            if old is None:
                raise NetdError(errno.ESRCH)
            await self._default_rules(old, False)
        self.default_net = net_id

    async def users(self, net_id: int, ranges: list[tuple[int, int]], add: bool) -> None:
        """addUsersToNetwork / removeUsersFromNetwork (Network::canAddUidRanges)."""
        network = self.networks.get(net_id)
        if network is None:
            raise NetdError(errno.ENONET)
        if add and any(a <= d and c <= b for i, (a, b) in enumerate(ranges)
                       for (c, d) in ranges[i + 1:]):
            raise NetdError(errno.EINVAL)  # "uid range overlaps self"
        if not self.legacy:
            for interface in network.interfaces:
                table = self._table(interface)
                for uids in ranges:
                    if network.kind == "virtual":
                        rules = rc.virtual_user_rules(net_id, interface, table, uids,
                                                      secure=network.secure)
                    else:  # per-app default network (modifyPhysicalNetwork's uid rules)
                        rules = _physical_user_rules(net_id, table, uids)
                    await self.kernel.rules(add, rules)
        if add:
            network.uids = sorted(network.uids + ranges)
        else:
            network.uids = [r for r in network.uids if r not in ranges]

    async def route(self, add: bool, net_id: int, interface: str, destination: str,
                    nexthop: str | None) -> None:
        """NetworkController::modifyRoute (INTERFACE tables; legacy routes not modelled)."""
        if net_id not in self.networks:
            raise NetdError(errno.ENONET)
        existing = self._network_of_interface(interface)
        if existing == NETID_UNSET:
            raise NetdError(errno.ENODEV)
        if existing != net_id:
            raise NetdError(errno.ENOENT)
        try:
            ipaddress.ip_network(destination, strict=False)
        except ValueError:
            raise NetdError(errno.EINVAL) from None
        if self.legacy:  # the old phone: straight into `main`
            verb = "replace" if add else "del"
            via = ["via", nexthop] if nexthop and nexthop not in ("unreachable", "throw") else []
            await self.kernel.ip("route", verb, destination, *via, "dev", interface)
            return
        table = self._table(interface)
        await self._route(add, table, destination, interface, nexthop)
        if rc.is_local_route(destination, nexthop):
            await self._route(add, rc.local_table(table), destination, interface, nexthop)

    async def _route(self, add: bool, table: int, destination: str, interface: str,
                     nexthop: str | None) -> None:
        """modifyIpRoute: proto static, scope link without a gateway; adding an
        existing route is not an error (RouteController::modifyRoute)."""
        if nexthop in ("unreachable", "throw"):
            spec = [nexthop, destination]
        else:
            spec = [destination, *(["via", nexthop] if nexthop else []), "dev", interface]
            if not nexthop:
                spec += ["scope", "link"]
        try:
            await self.kernel.ip("route", "add" if add else "del", *spec, "table", str(table),
                                 "proto", "static")
        except NetdError as exc:
            if not (add and exc.errno == errno.EEXIST):
                raise

    # -- what dnsproxyd asks: NetworkController::getNetworkForDnsLocked -----------
    def dns_network_for(self, uid: int) -> tuple[int, int]:
        """(netId whose servers to use, the mark for the queries)."""
        base = rc.PROTECTED | rc.permission_bits(rc.PERMISSION_SYSTEM)
        app_default = self.app_default_for(uid)
        default = app_default.net_id if app_default else self.default_net
        vpn = self.vpn_for(uid)
        if vpn is None:
            return default, default | rc.EXPLICIT | base
        if self.dns.get(vpn.net_id) and self.dns[vpn.net_id].servers:
            return vpn.net_id, vpn.net_id | base
        return default, default | base

    # -- InterfaceController, as ndc's `interface` commands reach it --------------
    async def set_cfg(self, interface: str, address: str | None, prefix: int,
                      flags: list[str]) -> None:
        if not self.kernel.ifindex(interface):
            raise NetdError(errno.ENODEV)
        if address:
            # ifc_set_addr/ifc_set_prefixLength (SIOCSIFADDR): the address replaces
            # the interface's IPv4 address.
            await _run(["ip", "-4", "addr", "flush", "dev", interface])
            await self.kernel.ip("addr", "add", f"{address}/{prefix}", "dev", interface)
        for flag in flags:
            await self.kernel.ip("link", "set", interface, flag)


def _physical_user_rules(net_id: int, table: int, uids: tuple[int, int]) -> list[Rule]:
    """modifyPhysicalNetwork's per-range rules (explicit, implicit, per-app default)."""
    return [
        Rule(rc.UID_EXPLICIT_NETWORK, table, fwmark=net_id | rc.EXPLICIT,
             mask=rc.NETID_MASK | rc.EXPLICIT, iif="lo", uids=uids),
        Rule(rc.UID_IMPLICIT_NETWORK, table, fwmark=net_id, mask=rc.NETID_MASK | rc.EXPLICIT,
             iif="lo", uids=uids),
        Rule(rc.UID_DEFAULT_NETWORK, table, fwmark=0, mask=rc.NETID_MASK, iif="lo", uids=uids),
    ]


# -- ndc (NdcDispatcher.cpp) ------------------------------------------------------------

def _msg(code: int, text: str, err: int | None = None) -> str:
    """NdcClient::sendMsg: `CODE 0 TEXT`, with `(strerror)` when addErrno."""
    return f"{code} 0 {text} ({os.strerror(err)})" if err is not None else f"{code} 0 {text}"


def _net_id(arg: str) -> int:
    """stringToNetId: `local`, else strtoul(arg, 0) (0 on garbage)."""
    if arg == "local":
        return rc.LOCAL_NET_ID
    if arg.startswith(("oem", "handle")):
        return NETID_UNSET
    try:
        return int(arg, 0) & 0xFFFFFFFF
    except ValueError:
        digits = ""
        for ch in arg:
            if not ch.isdigit():
                break
            digits += ch
        return int(digits) if digits else 0


def _uid_ranges(args: list[str]) -> list[tuple[int, int]] | None:
    """UidRanges::parseFrom: `N` or `N-M`, sorted; None if any is invalid."""
    out = []
    for arg in args:
        start_s, dash, end_s = arg.partition("-")
        try:
            start = int(start_s, 0)
            end = int(end_s, 0) if dash else start
        except ValueError:
            return None
        if end < start or start < 0 or end >= 0xFFFFFFFF:
            return None
        out.append((start, end))
    return sorted(out)


class Ndc:
    def __init__(self, netd: Netd) -> None:
        self.netd = netd

    async def dispatch(self, argv: list[str]) -> list[str]:
        if not argv:
            return []
        lines = []
        if len(argv) >= CMD_ARGS_MAX:
            lines.append(_msg(500, "Command too long"))
        name = argv[0]
        handler = {"interface": self.interface, "network": self.network}.get(name)
        if handler is not None:
            async with self.netd.lock:
                lines += await handler(argv)
        elif name == "resolver" and self.netd.sdk < 29:
            lines += await self.resolver(argv)
        elif name in ("ipfwd", "tether", "nat", "bandwidth", "idletimer"):
            lines.append(_msg(500, f"Unknown {name} cmd"))  # not modelled: refused
        elif name in ("firewall", "strict"):
            lines.append(_msg(500, "Unknown command"))
        else:
            lines.append(_msg(500, "Command not recognized"))
        return lines

    async def interface(self, argv: list[str]) -> list[str]:
        n = self.netd
        if len(argv) < 2:
            return [_msg(500, "Missing argument")]
        if argv[1] == "list":
            return [_msg(110, name) for name in sorted(os.listdir("/sys/class/net"))] + [
                _msg(200, "Interface list completed")]
        if len(argv) < 3:
            return [_msg(500, "Missing argument")]
        sub, iface = argv[1], argv[2]
        if sub == "setcfg":
            if len(argv) < 4:
                return [_msg(500, "Missing argument")]
            address, index = None, 3
            try:
                ip = ipaddress.IPv4Address(argv[3])
            except ValueError:
                ip = None
            if ip is not None:
                index = 5
                if int(ip):
                    prefix = _c_int(argv[4]) if len(argv) > 4 else None
                    if prefix is None:
                        return [_msg(400, "Failed to set address", errno.EINVAL)]
                    address = str(ip)
                    try:
                        await n.set_cfg(iface, address, prefix, [])
                    except NetdError as exc:
                        return [_msg(400, "Failed to set address", exc.errno)]
            for flag in argv[index:]:
                if flag in ("up", "down"):
                    try:
                        await n.set_cfg(iface, None, 0, [flag])
                    except NetdError as exc:
                        return [_msg(400, f"Failed to {flag} interface", exc.errno)]
                elif flag not in ("broadcast", "multicast", "running", "loopback",
                                  "point-to-point"):
                    return [_msg(501, "Flag unsupported")]
            return [_msg(200, "Interface configuration set")]
        if sub == "ipv6":
            if len(argv) != 4:
                return [_msg(500, "Usage: interface ipv6 <interface> <enable|disable>")]
            value = "0" if argv[3] == "enable" else "1"
            try:
                _write_file(f"/proc/sys/net/ipv6/conf/{iface}/disable_ipv6", value)
            except OSError as exc:
                return [_msg(400, "Failed to change IPv6 state", exc.errno or errno.ENODEV)]
            return [_msg(200, "IPv6 state changed")]
        if sub == "setmtu":
            if len(argv) != 4:
                return [_msg(500, "Usage: interface setmtu <interface> <val>")]
            mtu = _c_int(argv[3])
            if mtu is None:
                return [_msg(400, "Failed to set MTU", errno.EINVAL)]
            try:
                await n.kernel.ip("link", "set", iface, "mtu", str(mtu))
            except NetdError as exc:
                return [_msg(400, "Failed to set MTU", exc.errno)]
            return [_msg(200, "MTU changed")]
        if sub == "clearaddrs":
            await _run(["ip", "addr", "flush", "dev", iface])
            return [_msg(200, "Interface IP addresses cleared")]
        if sub == "getcfg":
            return await self._getcfg(iface)
        return [_msg(500, "Unknown interface cmd")]

    async def _getcfg(self, iface: str) -> list[str]:
        code, text = await _run(["ip", "-o", "-4", "addr", "show", "dev", iface])
        if code:
            return [_msg(400, "Interface not found", errno.ENODEV)]
        addr, prefix = "0.0.0.0", 0
        for line in text.splitlines():
            parts = line.split()
            if "inet" in parts:
                addr, _, p = parts[parts.index("inet") + 1].partition("/")
                prefix = int(p or 32)
                break
        try:
            hw = _read_file(f"/sys/class/net/{iface}/address") or "00:00:00:00:00:00"
            state = "up" if _read_file(f"/sys/class/net/{iface}/operstate") != "down" else "down"
        except OSError:
            hw, state = "00:00:00:00:00:00", "down"
        return [_msg(213, f"{hw} {addr} {prefix} {state}")]

    async def network(self, argv: list[str]) -> list[str]:
        n = self.netd
        argc = len(argv)

        def syntax(text: str) -> list[str]:
            return [_msg(500, text)]

        def failed(text: str, exc: NetdError) -> list[str]:
            return [_msg(400, text, exc.errno)]

        if argc < 2:
            return syntax("Missing argument")
        sub = argv[1]
        if sub == "route":
            if argc < 6 or argc > 9:
                return syntax("Incorrect number of arguments")
            i = 2
            if argv[i] == "legacy":
                i += 1
                if _c_uint(argv[i]) is None:
                    return [_msg(400, "Unknown argument", errno.EINVAL)]
                i += 1
                return syntax("Unknown argument")  # legacy routes are not modelled
            if argv[i] not in ("add", "remove"):
                return syntax("Unknown argument")
            add = argv[i] == "add"
            i += 1
            if argc < i + 3 or argc > i + 4:
                return syntax("Incorrect number of arguments")
            net_id, iface, dest = _net_id(argv[i]), argv[i + 1], argv[i + 2]
            nexthop = argv[i + 3] if argc > i + 3 else None
            try:
                await n.route(add, net_id, iface, dest, nexthop)
            except NetdError as exc:
                return failed("addRoute() failed" if add else "removeRoute() failed", exc)
            return [_msg(200, "success")]
        if sub == "interface":
            if argc != 5:
                return syntax("Missing argument")
            net_id = _net_id(argv[3])
            try:
                if argv[2] == "add":
                    await n.add_interface(net_id, argv[4])
                elif argv[2] == "remove":
                    await n.remove_interface(net_id, argv[4])
                else:
                    return syntax("Unknown argument")
            except NetdError as exc:
                verb = "addInterfaceToNetwork" if argv[2] == "add" else "removeInterfaceFromNetwork"
                return failed(f"{verb}() failed", exc)
            return [_msg(200, "success")]
        if sub == "create":
            if argc < 3:
                return syntax("Missing argument")
            net_id = _net_id(argv[2])
            vpn_argc = 6 if n.sdk < 31 else 5  # SDK < 31 takes <hasDns> before <secure>
            if argc == vpn_argc and argv[3] == "vpn":
                secure = _strtol2(argv[4]) != 0
                try:
                    await n.create(net_id, "virtual", secure=secure)
                except NetdError as exc:
                    return failed("createVirtualNetwork() failed", exc)
            elif argc > 4:
                return syntax("Unknown trailing argument(s)")
            else:
                permission = rc.PERMISSION_NONE
                if argc == 4:
                    permission = PERMISSION_NAMES.get(argv[3], rc.PERMISSION_NONE)
                    if permission == rc.PERMISSION_NONE:
                        return syntax("Unknown permission")
                try:
                    await n.create(net_id, "physical", permission=permission)
                except NetdError as exc:
                    return failed("createPhysicalNetwork() failed", exc)
            return [_msg(200, "success")]
        if sub == "destroy":
            if argc != 3:
                return syntax("Incorrect number of arguments")
            net_id = _net_id(argv[2])
            try:
                await n.destroy(net_id)
            except NetdError as exc:
                return failed("destroyNetwork() failed", exc)
            n.dns.pop(net_id, None)  # mDnsResolver->destroyNetworkCache(netId)
            return [_msg(200, "success")]
        if sub == "default":
            if argc < 3:
                return syntax("Missing argument")
            net_id = NETID_UNSET
            if argv[2] == "set":
                if argc < 4:
                    return syntax("Missing netId")
                net_id = _net_id(argv[3])
            elif argv[2] != "clear":
                return syntax("Unknown argument")
            try:
                await n.set_default(net_id)
            except NetdError as exc:
                return failed("setDefaultNetwork() failed", exc)
            return [_msg(200, "success")]
        if sub == "users":
            if argc < 4:
                return syntax("Missing argument")
            ranges = _uid_ranges(argv[4:])
            if ranges is None:
                return syntax("Invalid UIDs")
            if argv[2] not in ("add", "remove"):
                return syntax("Unknown argument")
            add = argv[2] == "add"
            try:
                await n.users(_net_id(argv[3]), ranges, add)
            except NetdError as exc:
                return failed("addUsersToNetwork() failed" if add
                              else "removeUsersFromNetwork() failed", exc)
            return [_msg(200, "success")]
        if sub == "protect":
            if argc < 4:
                return syntax("Missing argument")
            uids = [_c_uint(a) for a in argv[3:]]
            if any(u is None for u in uids):
                return [_msg(400, "Unknown argument", errno.EINVAL)]
            if argv[2] == "allow":
                n.protectable.update(u for u in uids if u is not None)
            elif argv[2] == "deny":
                n.protectable.difference_update(uids)
            else:
                return syntax("Unknown argument")
            return [_msg(200, "success")]
        if sub == "permission":
            return syntax("Unknown argument")  # per-network permissions are not modelled
        return syntax("Unknown argument")

    async def resolver(self, argv: list[str]) -> list[str]:
        """SDK < 29 only (CommandListener's ResolverCmd): setnetdns NETID DOMAINS SERVER..."""
        if len(argv) < 4 or argv[1] != "setnetdns":
            return [_msg(500, "Resolver unknown command")]
        net_id = _net_id(argv[2])
        self.netd.dns[net_id] = DnsConfig(servers=argv[4:], domains=argv[3].split())
        return [_msg(200, "Resolver command succeeded")]


def _write_file(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _read_file(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


def _c_int(text: str) -> int | None:
    """android::base::ParseInt: the whole string, base 10, optional sign."""
    try:
        return int(text, 10)
    except ValueError:
        return None


def _c_uint(text: str) -> int | None:
    value = _c_int(text)
    return value if value is not None and value >= 0 else None


def _strtol2(text: str) -> int:
    """strtol(arg, nullptr, 2): leading binary digits."""
    digits = ""
    for ch in text.strip():
        if ch not in "01":
            break
        digits += ch
    return int(digits, 2) if digits else 0


# -- the dnsresolver binder service ------------------------------------------------------

class DnsResolverService:
    def __init__(self, netd: Netd) -> None:
        self.netd = netd

    def transact(self, code: int, data: binder.Parcel, caller: int) -> binder.Parcel | None:
        """onTransact; None means the call failed below AIDL (an empty reply)."""
        if code == DNS_IS_ALIVE:
            reply = binder.reply_ok()
            reply.write_int32(1)
            return reply
        try:
            if code == DNS_SET_CONFIG:
                if denied := self._check(caller, PERM_INTERNAL):
                    return denied
                return self._set_config(data)
            if code in (DNS_CREATE_CACHE, DNS_DESTROY_CACHE, DNS_FLUSH_CACHE):
                if denied := self._check(caller, PERM_STACK):
                    return denied
                net_id = data.read_int32()
                if code == DNS_CREATE_CACHE:
                    if net_id in self.netd.dns:
                        return _service_error(errno.EEXIST)
                    self.netd.dns[net_id] = DnsConfig()
                elif code == DNS_DESTROY_CACHE:
                    self.netd.dns.pop(net_id, None)
                elif net_id not in self.netd.dns:
                    return _service_error(errno.ENONET)
                return binder.reply_ok()
            if code == DNS_GET_INFO:
                if denied := self._check(caller, PERM_STACK):
                    return denied
                return self._get_info(data.read_int32())
        except binder.ParcelError:
            return None
        return None  # UNKNOWN_TRANSACTION

    def _check(self, caller: int, permissions: str) -> binder.Parcel | None:
        """DnsResolverService::checkAnyPermission: system always; root and the
        network stack hold the permissions; apps and the shell do not."""
        if caller in (0, AID_SYSTEM):
            return None
        return binder.reply_exception(
            binder.EX_SECURITY,
            f"UID {caller} / PID 0 does not have any of the following permissions: {permissions}")

    def _set_config(self, data: binder.Parcel) -> binder.Parcel:
        """setResolverConfiguration(in ResolverParamsParcel), read as the AIDL stub
        does (a size-prefixed parcelable), then ResolverController's checks."""
        if data.read_int32() == 0:
            return binder.reply_exception(binder.EX_NULL_POINTER, "Unexpected null parcelable")
        start = data.pos
        size = data.read_int32()
        if size < 4 or start + size > len(data.data):
            raise binder.ParcelError("Bad parcelable size")
        end = start + size
        values: dict[str, Any] = {}
        fields = ("netId", "sampleValiditySeconds", "successThreshold", "minSamples",
                  "maxSamples", "baseTimeoutMsec", "retryCount", "servers", "domains",
                  "tlsName", "tlsServers", "tlsFingerprints", "caCertificate")
        for name in fields:
            if data.pos >= end:
                break
            if name in ("servers", "domains", "tlsServers", "tlsFingerprints"):
                values[name] = data.read_string16_list() or []
            elif name in ("tlsName", "caCertificate"):
                values[name] = data.read_string16() or ""
            else:
                values[name] = data.read_int32()
            if data.pos > end:
                raise binder.ParcelError("Parcelable overflows its size")
        data.pos = end
        net_id = values.get("netId", 0)
        if net_id not in self.netd.dns:
            return _service_error(errno.ENOENT)  # !has_named_cache(netId)
        servers = values.get("servers", [])
        for server in servers:
            try:
                ipaddress.ip_address(server)
            except ValueError:
                return _service_error(errno.EINVAL)  # resolv_set_nameservers: not numeric
        config = self.netd.dns[net_id]
        config.servers = list(servers)[:4]  # MAXNS
        config.domains = list(values.get("domains", []))[:6]  # MAXDNSRCH
        config.timeout_ms = values.get("baseTimeoutMsec", 5000) or 5000
        config.retries = values.get("retryCount", 2) or 2
        return binder.reply_ok()

    def _get_info(self, net_id: int) -> binder.Parcel:
        config = self.netd.dns.get(net_id)
        if config is None:
            return _service_error(errno.ENOENT)
        reply = binder.reply_ok()
        for items in (config.servers, config.domains, []):
            reply.write_int32(len(items))
            for item in items:
                reply.write_string16(item)
        for ints in ([1800, 25, 8, 8, config.timeout_ms, config.retries], [], [0]):
            reply.write_int32(len(ints))
            for value in ints:
                reply.write_int32(value)
        return reply


def _service_error(code: int) -> binder.Parcel:
    """statusFromErrcode: a ServiceSpecificException carrying the errno."""
    return binder.reply_exception(binder.EX_SERVICE_SPECIFIC, os.strerror(code), code)


# -- dumpsys (the parts tests read) ---------------------------------------------------------

def dump_netd(netd: Netd) -> str:
    """NetworkController::dump's networks part."""
    out = ["  NetworkController", f"    Default network: {netd.default_net}", "",
           "    Networks:"]
    for net_id, network in sorted(netd.networks.items()):
        kind = "PHYSICAL" if network.kind == "physical" else (
            "VIRTUAL" + (" SECURE" if network.secure else ""))
        out.append("      " + " ".join([str(net_id), kind, *([",".join(network.interfaces)]
                                                            if network.interfaces else [])]))
        if network.kind == "physical":
            name = {0: "NONE", 1: "NETWORK", 3: "SYSTEM"}[network.permission]
            out.append(f"        Required permission: {name}")
        if network.uids:
            ranges = " ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in network.uids)
            out.append(f"        Per-app UID ranges: prio 0 uids{{ {ranges} }}")
        out.append("")
    return "\n".join(out) + "\n"


def dump_dnsresolver(netd: Netd) -> str:
    out = []
    for net_id, config in sorted(netd.dns.items()):
        out.append(f"NetId: {net_id}")
        out.append(f"  DNS servers: {' '.join(config.servers) or '<none>'}")
        out.append(f"  search domains: {' '.join(config.domains) or '<none>'}")
        out.append("")
    return "\n".join(out) + "\n" if out else "\n"


# -- the daemon ---------------------------------------------------------------------------------

class Daemon:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.netd = Netd(sdk=int(spec.get("sdk", 34)), legacy_main=bool(spec.get("legacy_main")))
        self.ndc = Ndc(self.netd)
        self.dnsresolver = DnsResolverService(self.netd)

    async def serve(self) -> None:
        await self.netd.init()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(SOCKET)
        server = await asyncio.start_unix_server(self._client, SOCKET, limit=MAX_REQUEST)
        os.chmod(SOCKET, 0o666)  # clients are checked by uid, not by the socket's mode
        proxy = dnsproxy.DnsProxy(self.netd)
        await proxy.start()
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        async with server:
            await server.serve_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        try:
            line = await reader.readline()
            if line[:1] == b"{":
                reply = await self.handle(json.loads(line), uid)
                data = json.dumps(reply).encode() + b"\n"
            else:
                # The sh `ndc`: `ndc<TAB>ARG...`; the answer is ndc's stdout
                # only (nothing at all when netd refuses the caller).
                tool, *argv = line.decode(errors="replace").rstrip("\n").split("\t")
                reply = await self.handle({"tool": tool, "argv": argv}, uid)
                data = reply["stdout"].encode() if tool == "ndc" else b""
        except (ValueError, asyncio.LimitOverrunError):
            data = json.dumps({"stdout": "", "stderr": "netd: bad request\n",
                               "status": 1}).encode() + b"\n"
        with contextlib.suppress(ConnectionError):
            writer.write(data)
            await writer.drain()
            writer.close()

    async def handle(self, request: dict[str, Any], uid: int) -> dict[str, Any]:
        tool = request.get("tool")
        argv = [str(a) for a in request.get("argv", [])]
        privileged = uid in (0, AID_SYSTEM)
        if tool == "ndc":
            if not privileged:
                # The netd binder service is not visible to apps or the shell:
                # ndc logs "Unable to get binder service" and exits 1.
                return {"stdout": "", "stderr": "", "status": 1}
            lines = await self.ndc.dispatch(argv)
            return {"stdout": "".join(line + "\n" for line in lines), "stderr": "", "status": 0}
        if tool == "service":
            return self.service(argv, uid)
        if tool == "dumpsys":
            if not privileged and uid != 2000:
                return {"stdout": "", "stderr": "Permission Denial\n", "status": 1}
            text = {"netd": dump_netd, "dnsresolver": dump_dnsresolver}.get(
                argv[0] if argv else "", lambda _n: "")(self.netd)
            return {"stdout": text, "stderr": "", "status": 0}
        if tool == "binder" and privileged:
            return self.binder_call(request)
        if tool == "connectivity" and uid == 0:
            return await self.connectivity(request)
        return {"stdout": "", "stderr": f"netd: unknown request {tool!r}\n", "status": 1}

    def service(self, argv: list[str], uid: int) -> dict[str, Any]:
        """frameworks/native cmds/service: check, list, call (dnsresolver only)."""
        usage = ("Usage: service [-h|-?]\n       service list\n       service check SERVICE\n"
                 "       service call SERVICE CODE [i32 N | i64 N | f N | d N | s16 STR | null"
                 " | fd f | nfd n | afd f ] ...\n")
        services = {"dnsresolver": DNS_DESCRIPTOR, "netd": "android.net.INetd"}
        if not argv or argv[0] in ("-h", "-?"):
            return {"stdout": usage, "stderr": "", "status": 0}
        if argv[0] == "check":
            if len(argv) < 2:
                return {"stdout": usage, "stderr": "service: No service specified for check\n",
                        "status": 10}
            found = "found" if argv[1] in services else "not found"
            return {"stdout": f"Service {argv[1]}: {found}\n", "stderr": "", "status": 0}
        if argv[0] == "list":
            lines = [f"Found {len(services)} services:"] + [
                f"{i}\t{name}: [{desc}]" for i, (name, desc) in enumerate(sorted(services.items()))]
            return {"stdout": "\n".join(lines) + "\n", "stderr": "", "status": 0}
        if argv[0] != "call":
            return {"stdout": usage, "stderr": f"service: Unknown command {argv[0]}\n",
                    "status": 10}
        if len(argv) < 3:
            which = "service" if len(argv) < 2 else "code"
            return {"stdout": usage, "stderr": f"service: No {which} specified for call\n",
                    "status": 10}
        name, code = argv[1], binder._atoi(argv[2])
        if name not in services:
            return {"stdout": "", "stderr": f"service: Service {name} does not exist\n",
                    "status": 10}
        try:
            parcel = binder.from_service_args(argv[3:])
        except ValueError as exc:
            return {"stdout": usage, "stderr": f"{exc}\n", "status": 10}
        reply = self.dnsresolver.transact(code, parcel, uid) if name == "dnsresolver" else None
        return {"stdout": f"Result: {binder.print_parcel(reply)}\n", "stderr": "", "status": 0}

    def binder_call(self, request: dict[str, Any]) -> dict[str, Any]:
        """A typed dnsresolver call, as libbinder_ndk callers (the Android
        wg-quick) make it: the same stub decodes what they write."""
        method, params = request.get("method"), request.get("params", {})
        parcel = binder.Parcel()
        if method == "createNetworkCache":
            code = DNS_CREATE_CACHE
            parcel.write_int32(int(params["netId"]))
        elif method == "setResolverConfiguration":
            code = DNS_SET_CONFIG
            parcel = encode_resolver_params(int(params["netId"]), params.get("servers", []),
                                            params.get("domains", []))
        else:
            return {"stdout": "", "stderr": f"netd: unknown method {method!r}\n", "status": 1}
        reply = self.dnsresolver.transact(code, parcel, 0)
        if reply is None:
            return {"stdout": "", "stderr": "transaction failed\n", "status": 1}
        reply.pos = 0
        exception = reply.read_int32()
        if exception == 0:
            return {"stdout": "", "stderr": "", "status": 0}
        message = reply.read_string16() or ""
        reply.read_int32()
        specific = reply.read_int32() if exception == binder.EX_SERVICE_SPECIFIC else 0
        return {"stdout": "", "stderr": f"{exception} {specific} {message}\n", "status": 1}

    async def connectivity(self, request: dict[str, Any]) -> dict[str, Any]:
        """What ConnectivityService and IpClient do for the uplink: address it,
        make it a physical network with its routes, the default network, with
        its DNS servers (netId 100: NetIdManager's first id)."""
        iface, address, gateway = request["iface"], request["address"], request["gateway"]
        net_id = int(request.get("net_id", MIN_NET_ID))
        network = ipaddress.ip_interface(address)
        n = self.netd
        try:
            async with n.lock:
                await n.set_cfg(iface, str(network.ip), network.network.prefixlen, ["up"])
                if n.legacy:  # the old phone: a default route in `main`
                    await n.kernel.ip("route", "replace", "default", "via", gateway)
                await n.create(net_id, "physical")
                await n.add_interface(net_id, iface)
                await n.route(True, net_id, iface, str(network.network), None)
                if not n.legacy:
                    await n.route(True, net_id, iface, "0.0.0.0/0", gateway)
                await n.set_default(net_id)
            n.dns[net_id] = DnsConfig(servers=list(request.get("dns", [])))
        except NetdError as exc:
            return {"stdout": "", "stderr": f"connectivity: {exc}\n", "status": 1}
        return {"stdout": "", "stderr": "", "status": 0}


def encode_resolver_params(net_id: int, servers: list[str], domains: list[str]) -> binder.Parcel:
    """setResolverConfiguration's argument as android.c's
    dnsresolver_set_resolver_configuration writes it (fields up to
    tlsFingerprints, AOSP's default parameters)."""
    body = binder.Parcel()
    for value in (net_id, 1800, 25, 8, 8, 5000, 2):
        body.write_int32(value)
    for items in (servers, domains):
        body.write_int32(len(items))
        for item in items:
            body.write_string16(item)
    body.write_string16("")
    body.write_int32(0)
    body.write_int32(0)
    parcel = binder.Parcel()
    parcel.write_int32(1)
    parcel.write_int32(4 + len(body.data))
    parcel.data += body.data
    return parcel


def request(message: dict[str, Any]) -> dict[str, Any]:
    """One request to the running daemon (as the caller's uid)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(SOCKET)
        sock.sendall(json.dumps(message).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    reply: dict[str, Any] = json.loads(data)
    return reply


def main() -> None:
    if sys.argv[1:2] == ["--request"]:
        sys.stdout.write(json.dumps(request(json.loads(sys.argv[2]))) + "\n")
        return
    spec = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    asyncio.run(Daemon(spec).serve())


if __name__ == "__main__":
    main()
