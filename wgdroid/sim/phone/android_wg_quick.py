"""The simulated phone's Android wg-quick (WT src/wg-quick/android.c semantics).

Copied into the phone (as /system/bin/wg-quick, or the official app's
libwg-quick.so) with a shebang to the base interpreter; stdlib only.

What it keeps from android.c: only `up` and `down`; `su -p -c` when not root;
the config searched in /data/misc/wireguard then the app's files dir; only
Address, DNS, MTU, Excluded/IncludedApplications are handled here and every
other line goes to `wg addconf`, so PreUp/PostUp/PreDown/PostDown, Table and
SaveConfig fail there with wg's "Line unrecognized"; `wg set IF fwmark
0x20000`; routing, addresses, MTU and DNS through ndc (which the simulator's
ndc applies with ip); `[#]` lines on stdout; a failed up is torn down.

The one stand-in: the host kernel has no WireGuard module, so when `ip link add
IF type wireguard` fails but the phone shows /sys/module/wireguard (the
simulator's stand-in for a kernel that has it), the interface is created by
wireguard-go instead. Without /sys/module/wireguard it fails like the real
binary, which has no userspace fallback.

Left out: the iptables/ip6tables rules (the host has no iptables), DNS over
binder (ndc resolver only), and the errno of every failure (most exit 1).
"""

import ipaddress
import os
import random
import re
import shlex
import subprocess
import sys
import time

PACKAGE = "com.wireguard.android"
SEARCH_PATHS = ("/data/misc/wireguard/%s.conf", "/data/data/" + PACKAGE + "/files/%s.conf")
IFACE_RE = re.compile(r"^[a-zA-Z0-9_=+.-]{1,15}$")
WG_GO = "/usr/bin/wireguard-go"
HANDLED = ("address", "dns", "mtu", "excludedapplications", "includedapplications")
EEXIST, EMEDIUMTYPE, ENONET = 17, 124, 64
USAGE = """Usage: {prog} [ up | down ] [ CONFIG_FILE | INTERFACE ]

  CONFIG_FILE is a configuration file, whose filename is the interface name
  followed by `.conf'. Otherwise, INTERFACE is an interface name, with
  configuration found at:
  /data/misc/wireguard/INTERFACE.conf or /data/data/{pkg}/files/INTERFACE.conf.
  It is to be readable by wg(8)'s `setconf' sub-command, with the exception
  of the following additions to the [Interface] section, which are handled by
  this program:

  - Address: may be specified one or more times and contains one or more
    IP addresses (with an optional CIDR mask) to be set for the interface.
  - MTU: an optional MTU for the interface; if unspecified, auto-calculated.
  - DNS: an optional DNS server to use while the device is up.
  - ExcludedApplications: optional blacklist of applications to exclude from the tunnel.
  - IncludedApplications: optional whitelist of applications to include in the tunnel.

  See wg-quick(8) for more info and examples.
"""


class Die(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def cmd(line: str, *, stdin: str | None = None, quiet: bool = False) -> str:
    """Print `[#] line` on stdout (as android.c does) and run it; Die on failure."""
    if not quiet:
        say(f"[#] {line}")
    proc = subprocess.run(line, shell=True, input=stdin, capture_output=True, text=True)
    if proc.stderr:
        sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        raise Die(f"Error: `{line}' returned {proc.returncode}", proc.returncode)
    return proc.stdout


def run_quiet(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True)


def parse_options(arg: str) -> dict[str, object]:
    if IFACE_RE.match(arg):
        iface, path = arg, ""
        for pattern in SEARCH_PATHS:
            if os.access(pattern % arg, os.R_OK):
                path = pattern % arg
                break
        if not path:
            raise Die(f"`{arg}' does not exist as a config file", 2)
    else:
        path = arg
        base = os.path.basename(path)
        if not base.endswith(".conf") or not IFACE_RE.match(base[:-5]):
            raise Die("The config file must be a valid interface name, followed by .conf", 22)
        iface = base[:-5]
    try:
        mode = os.stat(path).st_mode
        with open(path) as f:
            text = f.read()
    except OSError as exc:
        raise Die(f"Unable to open `{path}': {exc.strerror}", exc.errno or 1) from None
    if mode & 0o007:
        sys.stderr.write(f"Warning: `{path}' is world accessible\n")
    opts: dict[str, object] = {"iface": iface, "addrs": [], "dns": [], "mtu": 0,
                               "excluded": [], "included": [], "config": ""}
    config: list[str] = []
    in_interface = False
    for raw in text.splitlines():
        line = "".join(raw.split("#", 1)[0].split())
        if not line:
            continue
        if line.startswith("["):
            in_interface = line.lower() == "[interface]"
        key, _, value = line.partition("=")
        if in_interface and key.lower() in HANDLED:
            values = [v for v in value.split(",") if v]
            if key.lower() == "mtu":
                try:
                    opts["mtu"] = int(value)
                except ValueError:
                    raise Die(f"Invalid MTU: `{value}'", 22) from None
            else:
                name = {"address": "addrs", "excludedapplications": "excluded",
                        "includedapplications": "included"}.get(key.lower(), key.lower())
                opts[name] = [*opts[name], *values]  # type: ignore[misc]
            continue
        config.append(line)
    opts["config"] = "\n".join(config) + "\n"
    if opts["excluded"] and opts["included"]:
        raise Die("Cannot specify both ExcludedApplications and IncludedApplications", EEXIST)
    return opts


def iface_exists(iface: str) -> bool:
    return os.path.exists(f"/sys/class/net/{iface}")


def add_if(iface: str) -> None:
    line = f"ip link add {iface} type wireguard"
    say(f"[#] {line}")
    proc = run_quiet(shlex.split(line))
    if proc.returncode == 0:
        return
    if not os.path.isdir("/sys/module/wireguard"):
        sys.stderr.write(proc.stderr)
        raise Die(f"Error: `{line}' returned {proc.returncode}", proc.returncode)
    # The simulator's kernel-module stand-in (see the module docstring).
    env = dict(os.environ, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD="1")
    go = subprocess.run([WG_GO, iface], capture_output=True, text=True, env=env)
    if go.returncode != 0 or not iface_exists(iface):
        sys.stderr.write(go.stderr)
        raise Die(f"Error: `{line}' returned {go.returncode or 1}")


def determine_netid() -> int:
    used = run_quiet(["ip", "rule", "show"]).stdout
    while True:
        netid = random.randrange(4096, 65534, 2)
        if f"0xc{netid:x}/" not in used and f" {netid} " not in used:
            return netid


def up_if(iface: str) -> tuple[int, int]:
    cmd(f"wg set {iface} fwmark 0x20000")
    run_quiet(["ip", "link", "set", "up", "dev", iface])
    port_out = run_quiet(["wg", "show", iface, "listen-port"]).stdout.strip()
    run_quiet(["ip", "link", "set", "down", "dev", iface])
    listen_port = int(port_out) if port_out.isdigit() else 0
    netid = determine_netid()
    sdk = run_quiet(["getprop", "ro.build.version.sdk"]).stdout.strip()
    vpn_extra = " 1" if sdk.isdigit() and int(sdk) < 31 else ""
    cmd(f"ndc network create {netid} vpn{vpn_extra}")
    cmd(f"ndc network interface add {netid} {iface}")
    return netid, listen_port


def set_addrs(iface: str, addrs: list[str]) -> None:
    for addr in addrs:
        try:
            net = ipaddress.ip_interface(addr)
        except ValueError:
            raise Die(f"Invalid address: `{addr}'", 22) from None
        if net.version == 4:
            cmd(f"ndc interface setcfg {iface} {net.ip} {net.network.prefixlen} up")
        else:
            cmd(f"ndc interface ipv6 {iface} enable")
            cmd(f"ip -6 addr add '{net}' dev {iface}")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def set_dns(netid: int, dns: list[str]) -> None:
    servers = [d for d in dns if _is_ip(d)]
    domains = [d for d in dns if d not in servers and not re.search(r"['\\\"]", d)]
    if servers:
        cmd(f"ndc resolver setnetdns {netid} '{' '.join(domains)}' {' '.join(servers)}")


def set_routes(iface: str, netid: int) -> None:
    out = run_quiet(["wg", "show", iface, "allowed-ips"]).stdout
    for line in out.splitlines():
        for cidr in line.split()[1:]:
            if "/" in cidr:
                cmd(f"ndc network route add {netid} {iface} {cidr}")


def set_mtu(iface: str, mtu: int) -> None:
    if not mtu:
        route = run_quiet(["ip", "-o", "route", "get", "1.1.1.1"]).stdout
        dev = re.search(r"\bdev (\S+)", route)
        base = 1500
        if dev:
            try:
                with open(f"/sys/class/net/{dev.group(1)}/mtu") as f:
                    base = int(f.read())
            except (OSError, ValueError):
                pass
        mtu = max(base - 80, 1280)
    cmd(f"ndc interface setmtu {iface} {mtu}")


def app_uids(packages: list[str]) -> list[int]:
    uids = []
    try:
        with open("/data/system/packages.list") as f:
            for line in f:
                parts = line.split()
                if len(parts) > 1 and parts[0] in packages and parts[1].isdigit():
                    uids.append(int(parts[1]))
    except OSError:
        pass
    return sorted(set(uids))


def set_users(netid: int, excluded: list[str], included: list[str]) -> None:
    if included:
        ranges = [f"{u}-{u}" for u in app_uids(included)]
    else:
        ranges, start = [], 0
        for uid in app_uids(excluded):
            if uid > start:
                ranges.append(f"{start}-{uid - 1}")
            start = uid + 1
        ranges.append(f"{start}-99999")
    for i in range(0, len(ranges), 18):
        cmd(f"ndc network users add {netid} {' '.join(ranges[i:i + 18])}")


def broadcast_change() -> None:
    if os.environ.get("CALLING_PACKAGE") == PACKAGE:
        return
    cmd(f"am broadcast -a {PACKAGE}.action.REFRESH_TUNNEL_STATES {PACKAGE}", quiet=False)


def del_if(iface: str) -> None:
    rules = run_quiet(["ip", "rule", "show"]).stdout
    netid = re.search(rf"0xc([0-9a-f]+)/0xcffff lookup {re.escape(iface)}\b", rules)
    cmd(f"ip link del {iface}")
    # A wireguard-go stand-in leaves its UAPI socket until it notices the link is gone.
    for _ in range(40):
        if not os.path.exists(f"/run/wireguard/{iface}.sock"):
            break
        time.sleep(0.05)
    if netid:
        cmd(f"ndc network destroy {int(netid.group(1), 16)}")


def cmd_up(opts: dict[str, object]) -> None:
    iface = str(opts["iface"])
    if iface_exists(iface):
        raise Die(f"`{iface}' already exists", EEXIST)
    add_if(iface)
    try:
        cmd(f"wg addconf {iface} /proc/self/fd/0", stdin=str(opts["config"]))
        netid, _port = up_if(iface)
        set_addrs(iface, opts["addrs"])  # type: ignore[arg-type]
        set_dns(netid, opts["dns"])  # type: ignore[arg-type]
        set_routes(iface, netid)
        set_mtu(iface, int(opts["mtu"]))  # type: ignore[call-overload]
        set_users(netid, opts["excluded"], opts["included"])  # type: ignore[arg-type]
    except Die:
        # android.c's atexit hook: a failed up leaves nothing behind.
        run_quiet(["ip", "link", "del", iface])
        raise
    broadcast_change()


def cmd_down(opts: dict[str, object]) -> None:
    iface = str(opts["iface"])
    names = run_quiet(["wg", "show", "interfaces"]).stdout.split()
    if iface not in names:
        raise Die(f"`{iface}' is not a WireGuard interface", EMEDIUMTYPE)
    del_if(iface)
    broadcast_change()


def main(argv: list[str]) -> int:
    prog = argv[0] if argv else "wg-quick"
    if len(argv) == 2 and argv[1] in ("help", "--help", "-h"):
        say(USAGE.format(prog=prog, pkg=PACKAGE).rstrip("\n"))
        return 0
    if len(argv) != 3 or argv[1] not in ("up", "down"):
        sys.stderr.write(USAGE.format(prog=prog, pkg=PACKAGE))
        return 1
    if os.getuid() != 0:
        os.execvp("su", ["su", "-p", "-c", shlex.join(argv)])
    try:
        opts = parse_options(argv[2])
        (cmd_up if argv[1] == "up" else cmd_down)(opts)
    except Die as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.code or 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
