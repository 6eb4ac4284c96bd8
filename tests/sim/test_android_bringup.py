"""Every backend brought up the Android way on the simulated Android 14 phone:
a hostname endpoint resolved on the phone, DNS and routes through netd, per-app
routing from ExcludedApplications, and nothing left behind; with the bad
input the issue names (hostile or unknown packages, names that resolve to
nothing or to many addresses, netd refusing a command)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from typing import Any

import pytest
from support import wait_for_handshake, wait_until

from wgdroid.config import keys
from wgdroid.device.script import Layout
from wgdroid.sim.network import SERVER_PUBLIC_IP

pytestmark = pytest.mark.sim
APP_IN, APP_OUT = 10145, 10131  # org.mozilla.firefox; com.android.chrome (excluded)
BACKENDS = [("android-wgquick", "kernel"), ("pixel", "wireguard-go"), ("pixel-py", "userspace")]


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wgdroid", *args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def as_app(phone: Any, uid: int, cmd: str) -> subprocess.CompletedProcess[str]:
    return phone.shell(f"su {uid} -c '{cmd}' </dev/null")


def network_state(phone: Any) -> str:
    """Everything of the phone's networking a tunnel may change."""
    res = phone.run_in_phone("ip rule; ip -6 rule; "
                             "ip route show table all | grep -v 'table local'; "
                             "ip -o link | cut -d' ' -f2; "
                             "dumpsys netd; dumpsys dnsresolver; iptables-save | grep '^-A'; "
                             "ip6tables-save | grep '^-A'")
    return res.stdout.decode()


def tunnel(phone: Any, name: str, *, endpoint: str = "vpn.sim.test:51820",
           interface_extra: str = "DNS = 10.99.0.1\n") -> None:
    """NAME.conf on the phone: the demo tunnel's keys and address, the given
    endpoint and [Interface] lines."""
    demo = phone.run_in_phone("cat /data/misc/wireguard/demo.conf").stdout.decode()
    text = demo.replace("[Peer]", f"{interface_extra}\n[Peer]")
    text = re.sub(r"(?m)^Endpoint = .*$", f"Endpoint = {endpoint}", text)
    res = phone.run_in_phone(f"umask 077 && cat > /data/misc/wireguard/{name}.conf",
                             input=text.encode())
    assert res.status == 0, res.stderr


def own_tunnel(phone: Any, name: str, address: str, interface_extra: str = "") -> None:
    """NAME.conf on the phone: the demo tunnel's peer, a key and ADDRESS of its own."""
    tunnel(phone, name, endpoint=f"{SERVER_PUBLIC_IP}:51820", interface_extra=interface_extra)
    text = phone.run_in_phone(f"cat /data/misc/wireguard/{name}.conf").stdout.decode()
    text = re.sub(r"(?m)^PrivateKey = .*$", f"PrivateKey = {keys.genkey()}", text)
    text = re.sub(r"(?m)^Address = .*$", f"Address = {address}", text)
    res = phone.run_in_phone(f"umask 077 && cat > /data/misc/wireguard/{name}.conf",
                             input=text.encode())
    assert res.status == 0, res.stderr


def enable_both(serial: str) -> list[subprocess.CompletedProcess[str]]:
    """`enable pa` and `enable pb` started together."""
    procs = [subprocess.Popen([sys.executable, "-m", "wgdroid", "enable", "-s", serial, name],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              stdin=subprocess.DEVNULL) for name in ("pa", "pb")]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def test_two_tunnels_enabled_at_once_share_the_phone(sim_phone: Any) -> None:
    """Two `enable`s of different tunnels at once: wireguard-go's /dev/net/tun
    link and a ListenPort's check and bind are the phone's, not one tunnel's
    (once one up removed the link the other was about to open: 'no TUN
    device'; both passed the port check and the loser failed to bind, exit 6)."""
    serial = sim_phone.serial
    own_tunnel(sim_phone, "pa", "10.98.1.2/32")
    own_tunnel(sim_phone, "pb", "10.98.2.2/32")
    for _ in range(4):
        ups = enable_both(serial)
        assert [u.returncode for u in ups] == [0, 0], [u.stderr for u in ups]
        for name in ("pa", "pb"):
            assert cli("disable", "-s", serial, name).returncode == 0
    assert sim_phone.run_in_phone("ls /dev/net/tun").status != 0
    own_tunnel(sim_phone, "pa", "10.98.1.2/32", "ListenPort = 51999\n")
    own_tunnel(sim_phone, "pb", "10.98.2.2/32", "ListenPort = 51999\n")
    for _ in range(3):
        ups = enable_both(serial)
        assert sorted(u.returncode for u in ups) == [0, 8], [u.stderr for u in ups]
        lost = next(u for u in ups if u.returncode == 8)
        assert "ListenPort 51999 is already used by tunnel" in lost.stderr
        for name in ("pa", "pb"):
            assert cli("disable", "-s", serial, name).returncode == 0


def test_what_an_interrupted_enable_left_is_removed(sim_phone: Any) -> None:
    """An enable killed half-way (its shell gone with the adb stream) leaves
    netd's VPN network and rules, and no interface: every later enable failed
    (`ndc network interface add`: EBUSY) and disable said "not up", until a
    reboot. Both now find the leftover from netd's rules and remove it."""
    serial = sim_phone.serial
    tunnel(sim_phone, "wg0")
    before = network_state(sim_phone)

    def leave_leftover() -> None:
        assert cli("enable", "-s", serial, "wg0").returncode == 0
        # What the killed up leaves: the interface went with its backend, and
        # the up never wrote its note.
        gone = sim_phone.run_in_phone(f"ip link del wg0 && rm {Layout().note_dir}/wg0")
        assert gone.status == 0, gone.stderr
        assert "lookup wg0" in sim_phone.run_in_phone("ip rule").stdout.decode()

    leave_leftover()
    up = cli("enable", "-s", serial, "wg0")
    assert up.returncode == 0, up.stderr
    assert "removed what an interrupted enable of wg0 had left" in up.stderr
    assert sim_phone.run_in_phone("ping -c 1 -W 5 10.99.0.1").status == 0
    assert cli("disable", "-s", serial, "wg0").returncode == 0
    assert network_state(sim_phone) == before
    leave_leftover()
    down = cli("disable", "-s", serial, "wg0")
    assert down.returncode == 0 and "was not up" not in down.stderr, down.stderr
    assert network_state(sim_phone) == before


@pytest.mark.parametrize(("profile", "backend"), BACKENDS)
def test_each_backend_the_android_way(sim_phones: Any, profile: str, backend: str) -> None:
    (phone,) = sim_phones(1, profile)
    serial = phone.serial
    doctor = json.loads(cli("doctor", "-s", serial, "--json").stdout)["devices"][0]
    assert doctor["bring_up"] == "android" and doctor["ready"], doctor
    tunnel(phone, "wg0", interface_extra="DNS = 10.99.0.1\n"
                                          "ExcludedApplications = com.android.chrome\n")
    before = network_state(phone)
    up = cli("enable", "-s", serial, "wg0", "--backend", backend, "--json")
    assert up.returncode == 0, up.stderr
    result = json.loads(up.stdout)
    assert result["backend"] == backend and result["resolved"] == {
        "vpn.sim.test": SERVER_PUBLIC_IP}
    # An app on the VPN resolves through the VPN's DNS and reaches the server.
    inside = as_app(phone, APP_IN, "ping -c 1 -W 5 inside.sim.test")
    assert inside.returncode == 0 and "(10.99.0.1)" in inside.stdout, inside
    # The excluded app stays on the uplink: no such name there, no route.
    assert as_app(phone, APP_OUT, "ping -c 1 -W 2 inside.sim.test").returncode != 0
    assert phone.shell("su -c 'ip route add 10.99.0.1/32 dev eth0' </dev/null").returncode == 0
    assert as_app(phone, APP_OUT, "ping -c 1 -W 1 10.99.0.1").returncode != 0  # main is ignored
    assert phone.shell("su -c 'ip route del 10.99.0.1/32 dev eth0' </dev/null").returncode == 0
    # Whatever serves it, nothing made a /var (Android has none).
    assert phone.run_in_phone("ls -d /var").status != 0
    listed = json.loads(cli("list", "-s", serial, "--json").stdout)["tunnels"]
    assert {"name": "wg0", "up": True, "source": "wgdroid", "on_boot": False}.items() <= \
        next(t for t in listed if t["name"] == "wg0").items()
    down = cli("disable", "-s", serial, "wg0")
    assert down.returncode == 0, down.stderr
    gone = as_app(phone, APP_IN, "ping -c 1 -W 2 inside.sim.test")
    assert gone.returncode != 0 and "inside.sim.test" in gone.stderr
    assert network_state(phone) == before
    assert phone.run_in_phone("ls /dev/net/tun").status != 0


def test_unresolvable_names_fail_fast_and_leave_nothing(sim_phone: Any) -> None:
    before = network_state(sim_phone)
    for host in ("no-such-host.sim.test", "nodata.sim.test", "timeout.sim.test"):
        tunnel(sim_phone, "wg0", endpoint=f"{host}:51820")
        # What a command costs here without any resolving (a loaded machine
        # starts Python slowly): the 5 s the issue allows come on top of it.
        start = time.monotonic()
        assert cli("list", "-s", sim_phone.serial).returncode == 0
        round_trip = time.monotonic() - start
        start = time.monotonic()
        res = cli("enable", "-s", sim_phone.serial, "wg0")
        took = time.monotonic() - start
        assert res.returncode == 6, res.stderr
        assert f"cannot resolve {host} on the phone" in res.stderr
        assert took < 5 + round_trip, (host, took, round_trip)
        assert network_state(sim_phone) == before


def test_a_name_with_many_addresses_takes_the_first(sim_phone: Any) -> None:
    tunnel(sim_phone, "wg0", endpoint="many.sim.test:51820")
    up = cli("enable", "-s", sim_phone.serial, "wg0", "--json")
    assert up.returncode == 0, up.stderr
    assert json.loads(up.stdout)["resolved"] == {"many.sim.test": SERVER_PUBLIC_IP}
    assert sim_phone.run_in_phone("ping -c 1 -W 5 10.99.0.1").status == 0
    assert cli("disable", "-s", sim_phone.serial, "wg0").returncode == 0


def test_app_lists_bad_input(sim_phone: Any) -> None:
    serial = sim_phone.serial
    before = network_state(sim_phone)
    tunnel(sim_phone, "wg0", interface_extra="IncludedApplications = com.x;reboot\n")
    bad = cli("enable", "-s", serial, "wg0")
    assert bad.returncode == 1 and "'com.x;reboot' is not a package name" in bad.stderr
    tunnel(sim_phone, "wg0", interface_extra="IncludedApplications = org.nope, com.nope\n")
    none = cli("enable", "-s", serial, "wg0")
    assert none.returncode == 1 and "none of IncludedApplications" in none.stderr
    assert network_state(sim_phone) == before
    tunnel(sim_phone, "wg0", interface_extra="IncludedApplications = org.mozilla.firefox, "
                                              "org.nope\n")
    some = cli("enable", "-s", serial, "wg0")
    assert some.returncode == 0, some.stderr
    assert "warning: org.nope is not installed on the phone" in some.stderr
    assert as_app(sim_phone, APP_IN, "ping -c 1 -W 5 10.99.0.1").returncode == 0
    assert as_app(sim_phone, APP_OUT, "ping -c 1 -W 1 10.99.0.1").returncode != 0
    assert cli("disable", "-s", serial, "wg0").returncode == 0
    assert network_state(sim_phone) == before


def test_a_config_without_a_private_key_is_refused(sim_phone: Any) -> None:
    """An empty stored file (or one whose key line is gone) once came up, exit 0:
    an interface that can never talk is not a tunnel that is up."""
    serial = sim_phone.serial
    before = network_state(sim_phone)
    tunnel(sim_phone, "wg0")
    demo = sim_phone.run_in_phone("cat /data/misc/wireguard/wg0.conf").stdout.decode()
    keyless = re.sub(r"(?m)^PrivateKey = .*\n", "", demo)
    for text in ("", keyless):
        res = sim_phone.run_in_phone("umask 077 && cat > /data/misc/wireguard/wg0.conf",
                                     input=text.encode())
        assert res.status == 0, res.stderr
        bad = cli("enable", "-s", serial, "wg0")
        assert bad.returncode == 1, bad.stderr
        assert "the stored config has no PrivateKey in [Interface]" in bad.stderr
        assert network_state(sim_phone) == before


def test_netd_refusing_a_command_leaves_nothing_half_up(sim_phone: Any) -> None:
    before = network_state(sim_phone)
    tunnel(sim_phone, "wg0", interface_extra="MTU = 50\n")  # the kernel's minimum is 68
    res = cli("enable", "-s", sim_phone.serial, "wg0")
    assert res.returncode == 6
    assert ("netd refused `ndc interface setmtu wg0 50`: 400 0 Failed to set MTU "
            "(Invalid argument)") in res.stderr
    assert network_state(sim_phone) == before


@pytest.mark.parametrize("sim_phone", [{"root": "magisk"}, {"root": "kernelsu"}], indirect=True)
def test_on_boot_brings_the_tunnel_back_after_a_reboot(sim_phone: Any, sim_state: Any) -> None:
    serial = sim_phone.serial
    up = cli("enable", "-s", serial, "demo", "--on-boot", "--json")
    assert up.returncode == 0, up.stderr
    assert {"on_boot": True, "boot_script": "installed"}.items() <= json.loads(up.stdout).items()
    listed = json.loads(cli("list", "-s", serial, "--json").stdout)["tunnels"]
    assert [t["on_boot"] for t in listed if t["name"] == "demo"] == [True]
    start = time.monotonic()
    sim_state.request("reboot", serial=serial)

    def demo_up() -> bool:
        res = cli("list", "-s", serial, "--json")
        return res.returncode == 0 and any(
            t["name"] == "demo" and t["up"] for t in json.loads(res.stdout)["tunnels"])

    wait_until(demo_up, check=bool, timeout=30, interval=0.3, what="demo up after the reboot")
    # The demo peer keeps no keepalive: traffic makes the handshake (once the
    # boot script has the tunnel's routes in place too).
    wait_until(lambda: sim_phone.run_in_phone("ping -c 1 -W 1 10.99.0.1").status,
               check=lambda status: status == 0, timeout=30 - (time.monotonic() - start),
               interval=0.2, what="the server through demo after the reboot")
    wait_for_handshake(serial, "demo", timeout=30 - (time.monotonic() - start))
    assert time.monotonic() - start < 30
    # The backend it last used, through netd again (its VPN network is back).
    assert "VIRTUAL SECURE demo" in sim_phone.run_in_phone("dumpsys netd").stdout.decode()
    off = cli("enable", "-s", serial, "demo", "--no-on-boot", "--json")
    assert off.returncode == 0 and json.loads(off.stdout)["on_boot"] is False, off.stderr
    assert cli("disable", "-s", serial, "demo").returncode == 0
    assert cli("tools", "remove", "-s", serial).returncode == 0
    assert sim_phone.run_in_phone("ls /data/adb/service.d/wgdroid-boot.sh").status != 0


def test_on_boot_without_magisk_says_so(sim_phones: Any) -> None:
    (phone,) = sim_phones(1, "emulator")  # AOSP su: nothing runs boot scripts
    up = cli("enable", "-s", phone.serial, "demo", "--on-boot", "--json")
    assert up.returncode == 0, up.stderr
    assert "no Magisk or KernelSU on the phone" in up.stderr
    # A script sees it too: marked, but no boot script will run it.
    assert {"on_boot": True, "boot_script": "none"}.items() <= json.loads(up.stdout).items()
    assert cli("disable", "-s", phone.serial, "demo").returncode == 0
