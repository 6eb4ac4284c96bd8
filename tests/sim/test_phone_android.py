"""The simulated phone as Android 14 is (profiles with `android_net`): netd's
rules and replies, DNS by uid and network, toybox/mksh, /dev/tun, app uids,
and the root solution's boot stages, seen through the real adb server."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from support import wait_until

pytestmark = pytest.mark.sim
ANDROID = [{"android_net": True}]
APP_IN, APP_OUT = 10145, 10131  # org.mozilla.firefox, com.android.chrome (excluded below)


def root(phone: Any, cmd: str, timeout: float = 60) -> Any:
    """CMD as root through adb and Magisk's su, as a user would type it."""
    quoted = cmd.replace("'", "'\\''")
    return phone.shell(f"su -c '{quoted}' </dev/null", timeout=timeout)


def as_app(phone: Any, uid: int, cmd: str) -> Any:
    quoted = cmd.replace("'", "'\\''")
    return phone.shell(f"su {uid} -c '{quoted}' </dev/null")


RULES = """\
0:	from all lookup local
10000:	from all fwmark 0xc0000/0xd0000 lookup legacy_system
11000:	from all iif lo oif eth0 uidrange 0-0 lookup eth0
16000:	from all fwmark 0x10063/0x1ffff iif lo lookup local_network
16000:	from all fwmark 0x10064/0x1ffff iif lo lookup eth0
17000:	from all iif lo oif eth0 lookup eth0
18000:	from all fwmark 0/0x10000 lookup legacy_system
19000:	from all fwmark 0/0x10000 lookup legacy_network
20000:	from all fwmark 0/0x10000 lookup local_network
23000:	from all fwmark 0x64/0x1ffff iif lo lookup eth0
31000:	from all fwmark 0/0xffff iif lo lookup eth0
32000:	from all unreachable
"""


def gateway(phone: Any) -> str:
    """The phone's router and DNS server: .1 of its uplink /30, the phone .2
    (wgdroid.sim.network; past the 64th phone of a session not 172.16.0.x)."""
    return str(ipaddress.ip_address(phone.info["uplink"]) - 1)


@pytest.mark.parametrize("sim_phone", ANDROID, indirect=True)
def test_netd_rules_tables_and_ndc(sim_phone: Any) -> None:
    assert sim_phone.shell("ip rule").stdout == RULES  # no rule looks up main
    tables = sim_phone.shell("cat /data/misc/net/rt_tables").stdout
    assert "1002 eth0\n" in tables and "1000000002 eth0_local\n" in tables
    routes = sim_phone.shell("ip route show table eth0").stdout
    assert routes.startswith(f"default via {gateway(sim_phone)} ") and "proto static" in routes
    assert "Default network: 100" in root(sim_phone, "dumpsys netd").stdout
    # netd's replies (NdcDispatcher), and ndc exits 0 whatever they say.
    for cmd, reply in (
        ("network create 5000 vpn 1", "200 0 success"),
        ("network create 5000 vpn 1", "400 0 createVirtualNetwork() failed (File exists)"),
        ("network create 7", "400 0 createPhysicalNetwork() failed (Invalid argument)"),
        ("network route add 5000 nosuch0 10.0.0.0/8",
         "400 0 addRoute() failed (No such device)"),
        ("network users add 5000 10-1", "500 0 Invalid UIDs"),
        ("network frobnicate", "500 0 Unknown argument"),
        ("resolver setnetdns 5000 '' 1.1.1.1", "500 0 Command not recognized"),
        ("interface setmtu nosuch0 1280", "400 0 Failed to set MTU (No such device)"),
        ("network destroy 5000", "200 0 success"),
        ("network destroy 5000", "400 0 destroyNetwork() failed (Machine is not on the network)"),
    ):
        out = root(sim_phone, f"ndc {cmd}")
        assert (out.returncode, out.stdout) == (0, reply + "\n"), (cmd, out)
    assert sim_phone.shell("ip rule").stdout == RULES
    # The shell user cannot reach netd at all.
    assert sim_phone.shell("ndc network create 5001 vpn 1").returncode == 1


@pytest.mark.parametrize("sim_phone", ANDROID, indirect=True)
def test_dnsresolver_service(sim_phone: Any) -> None:
    denied = sim_phone.shell("service call dnsresolver 8 i32 5000")
    assert "ffffffff" in denied.stdout  # EX_SECURITY for the shell user
    assert root(sim_phone, "service check dnsresolver").stdout == "Service dnsresolver: found\n"
    ok = root(sim_phone, "service call dnsresolver 8 i32 5000")
    assert ok.stdout.startswith("Result: Parcel(00000000 "), ok.stdout
    again = root(sim_phone, "service call dnsresolver 8 i32 5000")
    assert "fffffff8" in again.stdout  # a ServiceSpecificException: EEXIST
    # setResolverConfiguration for a network without a cache: ENOENT.
    missing = root(sim_phone, "service call dnsresolver 3 i32 1 i32 48 i32 5001 i32 1800 "
                              "i32 25 i32 8 i32 8 i32 5000 i32 2 i32 0 i32 0 i32 -1 i32 0 i32 0")
    assert "fffffff8" in missing.stdout and "00000002" in missing.stdout, missing.stdout
    servers = f"NetId: 100\n  DNS servers: {gateway(sim_phone)}\n"
    assert servers in root(sim_phone, "dumpsys dnsresolver").stdout


def test_android_wgquick_tunnel_routes_and_resolves_per_app(sim_phones: Any) -> None:
    """The Android wg-quick on the simulated kernel module: a hostname
    endpoint, the VPN's DNS for its users, an excluded app on the uplink, and
    the model bites: a route in `main` carries no app traffic."""
    (phone,) = sim_phones(1, "android-wgquick")
    before = (phone.shell("ip rule").stdout, root(phone, "dumpsys netd").stdout)
    conf = ("sed -e 's/^Endpoint.*/Endpoint = vpn.sim.test:51820/' "
            "-e 's/^\\[Peer\\]/DNS = 10.99.0.1\\nExcludedApplications = com.android.chrome"
            "\\n\\n[Peer]/' /data/misc/wireguard/demo.conf > /data/misc/wireguard/wg0.conf && "
            "chmod 600 /data/misc/wireguard/wg0.conf")
    assert root(phone, conf).returncode == 0
    up = root(phone, "wg-quick up wg0")
    assert up.returncode == 0, up.stdout + up.stderr
    assert "[#] <binder>::dnsResolver->setResolverConfiguration(" in up.stdout
    users = f"ndc network users add {up.stdout.split('network create ')[1].split()[0]}"
    assert f"{users} 0-{APP_OUT - 1} {APP_OUT + 1}-99999" in up.stdout, up.stdout
    inside = as_app(phone, APP_IN, "ping -c 1 -W 5 inside.sim.test")
    assert inside.returncode == 0 and "(10.99.0.1)" in inside.stdout, inside
    excluded = as_app(phone, APP_OUT, "ping -c 1 -W 2 inside.sim.test")
    assert excluded.returncode != 0 and "inside.sim.test" in excluded.stderr
    assert as_app(phone, APP_OUT, "ping -c 1 -W 2 vpn.sim.test").returncode == 0
    # A route for the server's tunnel address in main: apps never look there.
    assert root(phone, "ip route add 10.99.0.1/32 dev eth0").returncode == 0
    assert as_app(phone, APP_OUT, "ping -c 1 -W 1 10.99.0.1").returncode != 0
    assert as_app(phone, APP_IN, "ping -c 1 -W 3 10.99.0.1").returncode == 0
    down = root(phone, "wg-quick down wg0")
    assert down.returncode == 0, down.stderr
    gone = as_app(phone, APP_IN, "ping -c 1 -W 2 inside.sim.test")
    assert gone.returncode != 0 and "inside.sim.test" in gone.stderr
    assert (phone.shell("ip rule").stdout, root(phone, "dumpsys netd").stdout) == before
    assert "wireguard rule" not in root(phone, "iptables-save; ip6tables-save").stdout


@pytest.mark.parametrize("sim_phone", ANDROID, indirect=True)
def test_android_userland(sim_phone: Any) -> None:
    sh = sim_phone.shell
    assert sh("command -v bash").returncode != 0
    for path in ("/dev/net/tun", "/var/run", "/etc/resolv.conf", "/system/bin/resolvconf",
                 "/tmp", "/run"):
        assert sh(f"ls -d {path}").returncode != 0, path
    assert sh("ls -l /system/bin/ls").stdout.rstrip().endswith("/system/bin/ls -> toybox")
    assert sh("readlink /system/bin/sh").stdout.strip().endswith("mksh")
    assert sh("stat -c '%a %U %G' /dev/tun").stdout == "660 system vpn\n"
    assert sh("getenforce").stdout == "Enforcing\n"
    assert sh("ip rule").stdout.splitlines()[-1] == "32000:\tfrom all unreachable"
    label = root(sim_phone, "touch /data/local/tmp/f && chcon u:object_r:system_file:s0 "
                            "/data/local/tmp/f && ls -Z /data/local/tmp/f")
    assert label.stdout == "u:object_r:system_file:s0 /data/local/tmp/f\n", label
    assert root(sim_phone, "iptables -I OUTPUT 1 -m mark --mark 0x20000 -j ACCEPT && "
                           "iptables -S OUTPUT").stdout.endswith(
        "-A OUTPUT -m mark --mark 0x20000 -j ACCEPT\n")
    listed = root(sim_phone, "cat /data/system/packages.list").stdout
    assert f"com.android.chrome {APP_OUT} 0 /data/user/0/com.android.chrome " in listed
    assert sh("cat /data/system/packages.list").returncode != 0  # 0640 system:package_info
    ident = as_app(sim_phone, APP_OUT, "id")
    assert ident.stdout.startswith(f"uid={APP_OUT}(u0_a131) gid={APP_OUT}"), ident
    assert "3003(inet)" in ident.stdout


BOOT_SCRIPTS = """
mkdir -p /data/adb/modules/m1/system/bin
printf '#!/system/bin/sh\\necho from-module\\n' > /data/adb/modules/m1/system/bin/hello
chmod 755 /data/adb/modules/m1/system/bin/hello
echo 'echo "pfs $ASH_STANDALONE $KSU" >> /data/local/tmp/boot' > /data/adb/post-fs-data.d/a.sh
chmod 755 /data/adb/post-fs-data.d/a.sh
echo 'echo not-executable >> /data/local/tmp/boot' > /data/adb/post-fs-data.d/b.sh
echo 'echo "svc $(getenforce)" >> /data/local/tmp/boot' > /data/adb/service.d/c.sh
chmod 755 /data/adb/service.d/c.sh
echo 'echo "module-svc ${0%/*}" >> /data/local/tmp/boot' > /data/adb/modules/m1/service.sh
"""


@pytest.mark.parametrize("sim_phone", [{"android_net": True}, {"android_net": True,
                                                               "root": "kernelsu"}],
                         indirect=True)
def test_boot_stages_on_reboot(sim_phone: Any, sim_state: Any) -> None:
    kernelsu = sim_phone.info["root"] == "kernelsu"
    assert root(sim_phone, BOOT_SCRIPTS).returncode == 0
    reboot_and_reconnect(sim_phone, sim_state)
    lines = wait_until(
        lambda: sim_phone.run_in_phone("cat /data/local/tmp/boot").stdout.decode().splitlines(),
        check=lambda lines: len(lines) >= 3, timeout=20, what="the three boot scripts' lines")
    assert lines[0].strip() == ("pfs 1 true" if kernelsu else "pfs 1"), lines
    assert sorted(lines[1:]) == ["module-svc /data/adb/modules/m1", "svc Enforcing"], lines
    assert sim_phone.shell("hello").stdout == "from-module\n"  # the module's system/ overlay
    assert root(sim_phone, "touch /data/adb/modules/m1/disable").returncode == 0
    reboot_and_reconnect(sim_phone, sim_state)
    gone = sim_phone.shell("command -v hello || echo no-hello")
    assert gone.stdout == "no-hello\n", gone


def reboot_and_reconnect(sim_phone: Any, sim_state: Any) -> None:
    """Reboot, then wait until `adb shell` reaches the phone again: the adb server
    notices the dropped transport and reconnects on its own schedule, so a shell
    right after the reboot may meet "device offline" (an empty stdout)."""
    sim_state.request("reboot", serial=sim_phone.serial)
    wait_until(lambda: sim_phone.shell("echo up", timeout=30), check=lambda r: r.stdout == "up\n",
               timeout=60, interval=0.2, what="adb shell on the rebooted phone")
