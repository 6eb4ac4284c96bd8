"""netd's policy routing, as `ip` command lines (a pure unit).

Modelled on AOSP 14 (android-14.0.0_r29) system/netd:
- include/Fwmark.h: the socket mark's bits (netId 0-15, explicitlySelected 16,
  protectedFromVpn 17, permission 18-19);
- server/RouteController.h: the rule priorities;
- server/RouteController.cpp: one function here per function there
  (modifyVpnUidRangeRule, modifyVpnSystemPermissionRule,
  modifyExplicitNetworkRule, modifyOutputInterfaceRules,
  modifyImplicitNetworkRule, modifyVpnOutputToLocalRule,
  modifyVpnFallthroughRule, modifyVpnLocalExclusionRule,
  modifyDefaultNetwork, Init's addLegacyRouteRules/addLocalNetworkRules/
  addUnreachableRule), each returning the rule as `ip rule` arguments;
  modifyIpRule installs every rule for IPv4 and IPv6 (the caller runs each
  line with `ip -4` and `ip -6`).

Tables: an interface's is its ifindex + 1000 (getRouteTableForInterface), its
`_local` twin ifindex + 1000000000; fixed tables local_network 97,
legacy_network 98, legacy_system 99. Names go to /data/misc/net/rt_tables
(updateTableNamesFile), where Android's `ip` reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

# include/Fwmark.h
NETID_MASK = 0xFFFF
EXPLICIT = 1 << 16
PROTECTED = 1 << 17
PERMISSION_SHIFT = 18
# server/Permission.h (as mark bits)
PERMISSION_NONE = 0
PERMISSION_NETWORK = 1
PERMISSION_SYSTEM = 3

# server/RouteController.h (android-14.0.0_r29)
VPN_OVERRIDE_SYSTEM = 10000
VPN_OVERRIDE_OIF = 11000
VPN_OUTPUT_TO_LOCAL = 12000
SECURE_VPN = 13000
PROHIBIT_NON_VPN = 14000
UID_EXPLICIT_NETWORK = 15000
EXPLICIT_NETWORK = 16000
OUTPUT_INTERFACE = 17000
LEGACY_SYSTEM = 18000
LEGACY_NETWORK = 19000
LOCAL_NETWORK = 20000
TETHERING = 21000
UID_IMPLICIT_NETWORK = 22000
IMPLICIT_NETWORK = 23000
BYPASSABLE_VPN_NO_LOCAL_EXCLUSION = 24000
UID_LOCAL_ROUTES = 25000
LOCAL_ROUTES = 26000
BYPASSABLE_VPN_LOCAL_EXCLUSION = 27000
VPN_FALLTHROUGH = 28000
UID_DEFAULT_NETWORK = 29000
UID_DEFAULT_UNREACHABLE = 30000
DEFAULT_NETWORK = 31000
UNREACHABLE = 32000

TABLE_LOCAL_NETWORK = 97
TABLE_LEGACY_NETWORK = 98
TABLE_LEGACY_SYSTEM = 99
TABLE_OFFSET = 1000  # ROUTE_TABLE_OFFSET_FROM_INDEX
LOCAL_TABLE_OFFSET = 1000000000  # ROUTE_TABLE_OFFSET_FROM_INDEX_FOR_LOCAL
LOCAL_SUFFIX = "_local"
FIXED_TABLE_NAMES = ((255, "local"), (254, "main"), (TABLE_LOCAL_NETWORK, "local_network"),
                     (TABLE_LEGACY_NETWORK, "legacy_network"),
                     (TABLE_LEGACY_SYSTEM, "legacy_system"))
LOCAL_NET_ID = 99  # INetd::LOCAL_NET_ID
UID_ROOT = 0
# RouteController::V4_FIXED_LOCAL_PREFIXES and V4_LOCAL_PREFIXES
FIXED_LOCAL_PREFIXES = ("224.0.0.0/24",)
V4_LOCAL_PREFIXES = ("169.254.0.0/16", "100.64.0.0/10", "10.0.0.0/8", "172.16.0.0/12",
                     "192.168.0.0/16")


def permission_bits(permission: int) -> int:
    return permission << PERMISSION_SHIFT


def interface_table(ifindex: int) -> int:
    return ifindex + TABLE_OFFSET


def local_table(table: int) -> int:
    """getRouteTableIndexFromGlobalRouteTableIndex(index, local=true)."""
    return table - TABLE_OFFSET + LOCAL_TABLE_OFFSET


@dataclass(frozen=True)
class Rule:
    """One rule of modifyIpRule: priority, what it does, its selectors."""

    priority: int
    table: int = 0  # FR_ACT_TO_TBL when set
    action: str = ""  # "unreachable" / "prohibit" when there is no table
    fwmark: int = 0
    mask: int = 0
    iif: str | None = None
    oif: str | None = None
    uids: tuple[int, int] | None = None

    def args(self) -> list[str]:
        """`ip rule add|del` arguments after the verb."""
        out = ["pref", str(self.priority)]
        if self.mask:
            out += ["fwmark", f"0x{self.fwmark:x}/0x{self.mask:x}"]
        if self.iif:
            out += ["iif", self.iif]
        if self.oif:
            out += ["oif", self.oif]
        if self.uids is not None:
            out += ["uidrange", f"{self.uids[0]}-{self.uids[1]}"]
        if self.table:
            out += ["lookup", str(self.table)]
        else:
            out.append(self.action)
        return out


def vpn_uid_range_rule(table: int, uids: tuple[int, int], sub_priority: int, *, secure: bool,
                       exclude_local_routes: bool = False) -> Rule:
    """modifyVpnUidRangeRule: a VPN's users go through it unless their socket
    is protected from VPNs (the mark's protectedFromVpn bit)."""
    fwmark, mask = 0, PROTECTED
    if secure:
        priority = SECURE_VPN
    else:
        priority = (BYPASSABLE_VPN_LOCAL_EXCLUSION if exclude_local_routes
                    else BYPASSABLE_VPN_NO_LOCAL_EXCLUSION)
        mask |= EXPLICIT
    return Rule(priority + sub_priority, table, fwmark=fwmark, mask=mask, iif="lo", uids=uids)


def vpn_system_permission_rule(net_id: int, table: int, *, secure: bool,
                               exclude_local_routes: bool = False) -> Rule:
    """modifyVpnSystemPermissionRule: system sockets marked with the VPN's netId
    (DnsProxyListener's queries for the VPN's users) use it too."""
    perm = permission_bits(PERMISSION_SYSTEM)
    if secure:
        priority = SECURE_VPN
    else:
        priority = (BYPASSABLE_VPN_LOCAL_EXCLUSION if exclude_local_routes
                    else BYPASSABLE_VPN_NO_LOCAL_EXCLUSION)
    return Rule(priority, table, fwmark=net_id | perm, mask=NETID_MASK | perm)


def explicit_network_rule(net_id: int, table: int, permission: int,
                          uids: tuple[int, int] | None = None, sub_priority: int = 0) -> Rule:
    """modifyExplicitNetworkRule: sockets that chose this network."""
    perm = permission_bits(permission)
    return Rule(EXPLICIT_NETWORK + sub_priority, table, fwmark=net_id | EXPLICIT | perm,
                mask=NETID_MASK | EXPLICIT | perm, iif="lo", uids=uids)


def output_interface_rules(interface: str, table: int, permission: int,
                           uids: tuple[int, int] | None = None,
                           sub_priority: int = 0) -> list[Rule]:
    """modifyOutputInterfaceRules: sockets bound to the interface; without a
    uid range also a high-priority rule for root (kernel and daemon sockets)."""
    rules = []
    if uids is None:
        rules.append(Rule(VPN_OVERRIDE_OIF, table, iif="lo", oif=interface,
                          uids=(UID_ROOT, UID_ROOT)))
    perm = permission_bits(permission)
    rules.append(Rule(OUTPUT_INTERFACE + sub_priority, table, fwmark=perm, mask=perm,
                      iif="lo", oif=interface, uids=uids))
    return rules


def implicit_network_rule(net_id: int, table: int) -> Rule:
    """modifyImplicitNetworkRule: sockets connected while this was the default."""
    return Rule(IMPLICIT_NETWORK, table, fwmark=net_id, mask=NETID_MASK | EXPLICIT, iif="lo")


def vpn_output_to_local_rule(vpn_interface: str) -> Rule:
    """modifyVpnOutputToLocalRule."""
    return Rule(VPN_OUTPUT_TO_LOCAL, TABLE_LOCAL_NETWORK, iif=vpn_interface)


def vpn_fallthrough_rule(vpn_net_id: int, physical_table: int, permission: int) -> Rule:
    """modifyVpnFallthroughRule: what a VPN's table has no route for goes to the
    default network (split tunnels)."""
    perm = permission_bits(permission)
    return Rule(VPN_FALLTHROUGH, physical_table, fwmark=vpn_net_id | perm,
                mask=NETID_MASK | perm)


def vpn_local_exclusion_rule(physical_local_table: int) -> Rule:
    """modifyVpnLocalExclusionRule (added with each VPN fallthrough)."""
    return Rule(LOCAL_ROUTES, physical_local_table, fwmark=0, mask=EXPLICIT, iif="lo")


def default_network_rule(table: int, permission: int) -> Rule:
    """modifyDefaultNetwork: sockets without a netId use the default network."""
    perm = permission_bits(permission)
    return Rule(DEFAULT_NETWORK, table, fwmark=perm, mask=NETID_MASK | perm, iif="lo")


def init_rules() -> list[Rule]:
    """RouteController::Init after flushRules: legacy routes, the local network,
    and the final unreachable rule (the kernel's `lookup main` is gone)."""
    system = permission_bits(PERMISSION_SYSTEM)
    return [
        Rule(VPN_OVERRIDE_SYSTEM, TABLE_LEGACY_SYSTEM, fwmark=system, mask=system | EXPLICIT),
        explicit_network_rule(LOCAL_NET_ID, TABLE_LOCAL_NETWORK, PERMISSION_NONE),
        Rule(LEGACY_SYSTEM, TABLE_LEGACY_SYSTEM, fwmark=0, mask=EXPLICIT),
        Rule(LEGACY_NETWORK, TABLE_LEGACY_NETWORK, fwmark=0, mask=EXPLICIT),
        Rule(LOCAL_NETWORK, TABLE_LOCAL_NETWORK, fwmark=0, mask=EXPLICIT),
        Rule(UNREACHABLE, action="unreachable"),
    ]


def physical_network_rules(net_id: int, interface: str, table: int,
                           permission: int) -> list[Rule]:
    """modifyPhysicalNetwork's rules that are not per uid range."""
    rules = [explicit_network_rule(net_id, table, permission)]
    rules += output_interface_rules(interface, table, permission)
    if permission == PERMISSION_NONE:
        rules.append(implicit_network_rule(net_id, table))
    return rules


def virtual_network_rules(net_id: int, interface: str, table: int, *, secure: bool) -> list[Rule]:
    """modifyVirtualNetwork's rules that are not per uid range."""
    return [
        vpn_output_to_local_rule(interface),
        vpn_system_permission_rule(net_id, table, secure=secure),
        explicit_network_rule(net_id, table, PERMISSION_NONE, (UID_ROOT, UID_ROOT)),
    ]


def virtual_user_rules(net_id: int, interface: str, table: int, uids: tuple[int, int], *,
                       secure: bool) -> list[Rule]:
    """modifyVirtualNetwork's rules for one uid range."""
    return [
        vpn_uid_range_rule(table, uids, 0, secure=secure),
        explicit_network_rule(net_id, table, PERMISSION_NONE, uids),
        *output_interface_rules(interface, table, PERMISSION_NONE, uids),
    ]


def is_local_route(destination: str, nexthop: str | None) -> bool:
    """RouteController::isLocalRoute: directly connected routes to private
    IPv4 ranges, and every IPv6 one but the default, also go to `_local`."""
    import ipaddress

    if nexthop:
        return False
    prefix = ipaddress.ip_network(destination, strict=False)
    if prefix.version == 6:
        return prefix.prefixlen != 0
    return any(prefix.subnet_of(ipaddress.ip_network(p)) for p in V4_LOCAL_PREFIXES)  # type: ignore[arg-type]


def table_names(tables: dict[str, int]) -> str:
    """updateTableNamesFile: the fixed tables, then each interface's two."""
    lines = [f"{number} {name}" for number, name in FIXED_TABLE_NAMES]
    for name, table in sorted(tables.items(), key=lambda kv: kv[1]):
        lines.append(f"{table} {name}")
        lines.append(f"{local_table(table)} {name}{LOCAL_SUFFIX}")
    return "\n".join(lines) + "\n"
