"""The simulated phone's Android wg-quick (WT src/wg-quick/android.c semantics).

Copied into the phone (as /system/bin/wg-quick, or the official app's
libwg-quick.so) with a shebang to the base interpreter; stdlib only.

What it keeps from android.c: only `up` and `down`; `su -p -c` when not root;
the config searched in /data/misc/wireguard then the app's files dir; only
Address, DNS, MTU, Excluded/IncludedApplications are handled here and every
other line goes to `wg addconf`, so PreUp/PostUp/PreDown/PostDown, Table and
SaveConfig fail there with wg's "Line unrecognized"; `wg set IF fwmark
0x20000` and the iptables rules commented `wireguard rule IF`; routing,
addresses, MTU and users through `ndc network ...`/`ndc interface ...`
(cndc: the reply's code decides, 4xx/5xx fail with ENONET, no reply with
ENOSYS); DNS through the dnsresolver binder
service (createNetworkCache, setResolverConfiguration) on SDK >= 29, else
`ndc resolver setnetdns`; `[#]` lines on stdout; a failed up is torn down by
del_if (cmd_up_cleanup), which finds the netId in `ip rule show`.

`ip link add IF type wireguard` is the phone's `ip`: on a phone whose kernel
"has" the module the simulator stands wireguard-go in (kmod_standin); without
it `ip` fails, like the real binary, which has no userspace fallback.

Left out: the errno of some failures (most exit with the failing command's
status, as cmd() does).
"""

import contextlib
import os
import random
import re
import shlex
import subprocess
import sys

PACKAGE = "com.wireguard.android"
SEARCH_PATHS = ("/data/misc/wireguard/%s.conf", "/data/data/" + PACKAGE + "/files/%s.conf")
IFACE_RE = re.compile(r"^[a-zA-Z0-9_=+.-]{1,15}$")
HANDLED = ("address", "dns", "mtu", "excludedapplications", "includedapplications")
EEXIST, EMEDIUMTYPE, ENONET, ENOSYS = 17, 124, 64, 38
NETD_SOCKET = "/dev/socket/wgdroid_netd"
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


def cmd(line: str, *, stdin: str | None = None, check: bool = True) -> str:
    """android.c cmd(): print `[#] line` on stdout and run it with the shell;
    a failure ends the program with its status (not while exiting)."""
    say(f"[#] {line}")
    proc = subprocess.run(line, shell=True, input=stdin, capture_output=True, text=True)
    if proc.stdout:
        sys.stdout.write(proc.stdout)
    if proc.stderr:
        sys.stderr.write(proc.stderr)
    if proc.returncode != 0 and check:
        raise Die("", proc.returncode)
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
            paths = "".join(f"  - {p % arg}\n" for p in SEARCH_PATHS)
            raise Die(f"Error: Unable to find configuration file for `{arg}' in:\n{paths}"
                      .rstrip("\n"), 2)
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
    return run_quiet(["ip", "link", "show", "dev", iface]).returncode == 0


def cndc(args: str) -> None:
    """android.c cndc(): `[#] ndc ...`, then the first line of ndc's output
    decides: none -> ENOSYS, a 4xx/5xx code -> ENONET."""
    line = f"ndc {args}"
    say(f"[#] {line}")
    proc = subprocess.run(line, shell=True, capture_output=True, text=True)
    first = proc.stdout.splitlines()[0] if proc.stdout else ""
    if not first:
        raise Die("Error: could not call ndc", ENOSYS)
    code = int(re.match(r"\s*(-?\d*)", first).group(1) or 0)  # type: ignore[union-attr]
    if 400 <= code < 600:
        raise Die(f"Error: {first}", ENONET)


def add_if(iface: str) -> None:
    cmd(f"ip link add {iface} type wireguard")


def del_if(iface: str) -> None:
    """android.c del_if: the link, the rules commented `wireguard rule IF`, the
    netId read back from `ip rule show` and its network."""
    cmd(f"ip link del {iface}", check=False)
    comment = f'--comment "wireguard rule {iface}"'
    for tool in ("iptables", "ip6tables"):
        for rule in run_quiet([f"{tool}-save"]).stdout.splitlines():
            if rule.startswith("-A ") and comment in rule:
                cmd(f"{tool} -D {rule[3:]}", check=False)
    rules = run_quiet(["ip", "rule", "show"]).stdout
    netid = re.search(rf"0xc([0-9a-f]+)/0xcffff lookup {re.escape(iface)}\b", rules)
    if netid:
        cndc(f"network destroy {int(netid.group(1), 16)}")


def should_block_ipv6(iface: str) -> bool:
    has_ipv6, all_none = False, True
    for line in run_quiet(["wg", "show", iface, "endpoints"]).stdout.splitlines():
        _, _, endpoint = line.partition("\t")
        if not endpoint:
            continue
        if not endpoint.startswith("("):
            all_none = False
        if endpoint.startswith("["):
            has_ipv6 = True
    return not has_ipv6 and not all_none


def determine_listen_port(iface: str) -> int:
    cmd(f"ip link set up dev {iface}")
    port_out = run_quiet(["wg", "show", iface, "listen-port"]).stdout.strip()
    cmd(f"ip link set down dev {iface}")
    port = int(port_out) if port_out.isdigit() else 0
    return port if 0 < port <= 65535 else 0


def up_if(iface: str, listen_port: int) -> int:
    netid = 0
    while netid < 4096:
        netid = random.getrandbits(16) & 0xFFFE
    cmd(f"wg set {iface} fwmark 0x20000")
    comment = f'-m comment --comment "wireguard rule {iface}"'
    cmd(f"iptables -I OUTPUT 1 -m mark --mark 0x20000 -j ACCEPT {comment}")
    cmd(f"ip6tables -I OUTPUT 1 -m mark --mark 0x20000 -j ACCEPT {comment}")
    if listen_port:
        cmd(f"iptables -I INPUT 1 -p udp --dport {listen_port} -j ACCEPT {comment}")
        verdict = "DROP" if should_block_ipv6(iface) else "ACCEPT"
        cmd(f"ip6tables -I INPUT 1 -p udp --dport {listen_port} -j {verdict} {comment}")
    cmd(f"ip link set up dev {iface}")
    sdk = run_quiet(["getprop", "ro.build.version.sdk"]).stdout.strip()
    cndc(f"network create {netid} vpn 1 1" if sdk.isdigit() and int(sdk) < 31
         else f"network create {netid} vpn 1")
    cndc(f"network interface add {netid} {iface}")
    return netid


def set_addrs(iface: str, addrs: list[str]) -> None:
    for addr in addrs:
        if "'" in addr or "\\" in addr:
            continue
        if ":" in addr:
            cndc(f"interface ipv6 {iface} enable")
            cmd(f"ip -6 addr add '{addr}' dev {iface}")
        else:
            address, _, mask = addr.partition("/")
            cndc(f"interface setcfg {iface} '{address}' {int(mask) if mask.isdigit() else 32}")


def _binder(method: str, params: dict[str, object]) -> str:
    """A dnsresolver binder call (libbinder_ndk in android.c): the phone's
    netd daemon serves the service. Returns an error text, or ''."""
    import json
    import socket

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(NETD_SOCKET)
            sock.sendall(json.dumps({"tool": "binder", "service": "dnsresolver",
                                     "method": method, "params": params}).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        reply = json.loads(data)
    except (OSError, ValueError):
        return "transaction failed"
    return "" if reply.get("status") == 0 else str(reply.get("stderr", "")).strip()


def set_dns(netid: int, dns: list[str]) -> None:
    entries = [d for d in dns if "'" not in d and "\\" not in d]
    servers = [d for d in entries if re.match(r"^[0-9.]+$", d) or ":" in d]
    domains = [d for d in entries if d not in servers]
    if not servers:
        return
    sdk = run_quiet(["getprop", "ro.build.version.sdk"]).stdout.strip()
    if sdk.isdigit() and int(sdk) >= 29:  # the dnsresolver service exists (Android 10+)
        say(f"[#] <binder>::dnsResolver->createNetworkCache({netid})")
        if _binder("createNetworkCache", {"netId": netid}):
            raise Die("Error: unable to create network cache", ENONET)
        say(f"[#] <binder>::dnsResolver->setResolverConfiguration({netid}, "
            f"[{', '.join(servers)}], [{', '.join(domains)}], 1800, 25, 8, 8, 5000, 2, [], [])")
        error = _binder("setResolverConfiguration",
                        {"netId": netid, "servers": servers, "domains": domains})
        if error:
            raise Die(f"Error: unable to set DNS servers through Binder: {error}", ENONET)
        return
    quoted = " ".join(f"'{d}'" for d in servers)
    cndc(f"resolver setnetdns {netid} '{' '.join(domains)}' {quoted}")


def set_routes(iface: str, netid: int) -> None:
    out = run_quiet(["wg", "show", iface, "allowed-ips"]).stdout
    for line in out.splitlines():
        for cidr in line.split("\t", 1)[-1].split():
            if cidr != "(none)":
                cndc(f"network route add {netid} {iface} {cidr}")


def _route_mtu(target: str) -> int:
    argv = ["ip", "-o", "route", "show", target] if target == "default" else [
        "ip", "-o", "route", "get", target]
    route = run_quiet(argv).stdout
    mtu = re.search(r"mtu ([0-9]+)", route)
    if mtu:
        return int(mtu.group(1))
    dev = re.search(r"dev ([^ ]+)", route)
    if not dev:
        return -1
    link = re.search(r"mtu ([0-9]+)", run_quiet(["ip", "-o", "link", "show", "dev",
                                                   dev.group(1)]).stdout)
    return int(link.group(1)) if link else -1


def set_mtu(iface: str, mtu: int) -> None:
    if mtu:
        cndc(f"interface setmtu {iface} {mtu}")
        return
    best = _route_mtu("default")
    if best == -1:
        best = 1500
    for line in run_quiet(["wg", "show", iface, "endpoints"]).stdout.splitlines():
        found = re.match(r"^\S+\t\[?([a-z0-9:.]+)\]?:[0-9]+$", line)
        if found:
            nxt = _route_mtu(found.group(1))
            if 0 < nxt < best:
                best = nxt
    cndc(f"interface setmtu {iface} {best - 80}")


def app_uids(packages: list[str]) -> list[int]:
    """get_uid_list: uids of the listed packages in packages.list (unknown ones
    are skipped silently), sorted."""
    uids = []
    with open("/data/system/packages.list") as f:
        for line in f:
            parts = line.split()
            if len(parts) > 1 and parts[0] in packages and parts[1].isdigit() and int(parts[1]):
                uids.append(int(parts[1]))
    return sorted(uids)


def set_users(netid: int, excluded: list[str], included: list[str]) -> None:
    ranges: list[str] = []

    def flush_if_full() -> None:
        if len(ranges) % 18 == 0:
            cndc(f"network users add {netid} {' '.join(ranges)}")
            ranges.clear()

    count = 0
    if excluded or not included:
        start = 0
        for uid in app_uids(excluded):
            if start > uid - 1:
                start = uid + 1
                continue
            ranges.append(f"{start}" if start == uid - 1 else f"{start}-{uid - 1}")
            count += 1
            if count % 18 == 0:
                cndc(f"network users add {netid} {' '.join(ranges)}")
                ranges.clear()
            start = uid + 1
        if start < 99999:
            ranges.append(f"{start}-99999")
    else:
        for uid in app_uids(included):
            ranges.append(f"{uid}")
            count += 1
            if count % 18 == 0:
                cndc(f"network users add {netid} {' '.join(ranges)}")
                ranges.clear()
    if ranges:
        cndc(f"network users add {netid} {' '.join(ranges)}")


def broadcast_change() -> None:
    if os.environ.get("CALLING_PACKAGE") == PACKAGE:
        return
    cmd(f"am broadcast -a {PACKAGE}.action.REFRESH_TUNNEL_STATES {PACKAGE}")


def cmd_up(opts: dict[str, object]) -> None:
    iface = str(opts["iface"])
    if iface_exists(iface):
        raise Die(f"Error: {iface} already exists", EEXIST)
    try:
        add_if(iface)
        cmd(f"wg addconf {iface} /proc/self/fd/0", stdin=str(opts["config"]))
        listen_port = determine_listen_port(iface)
        netid = up_if(iface, listen_port)
        set_addrs(iface, opts["addrs"])  # type: ignore[arg-type]
        set_dns(netid, opts["dns"])  # type: ignore[arg-type]
        set_routes(iface, netid)
        set_mtu(iface, int(opts["mtu"]))  # type: ignore[call-overload]
        set_users(netid, opts["excluded"], opts["included"])  # type: ignore[arg-type]
    except Die:
        # android.c's atexit hook (cmd_up_cleanup): a failed up leaves nothing behind.
        with contextlib.suppress(Die):
            del_if(iface)
        raise
    broadcast_change()


def cmd_down(opts: dict[str, object]) -> None:
    iface = str(opts["iface"])
    names = run_quiet(["wg", "show", "interfaces"]).stdout.split()
    if iface not in names:
        raise Die(f"Error: {iface} is not a WireGuard interface", EMEDIUMTYPE)
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
        if str(exc):
            sys.stderr.write(f"{exc}\n")
        return exc.code or 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
