"""The phones' network: demo tunnels through each phone's own wg-quick (the
Android one, on the simulated kernel module) to the simulator's server,
isolation between phones."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from support import wait_until

from wgdroid.sim.phone.rootfs import IPERF3, UAPI_DIR
from wgdroid.sim.phone.spec import PHONE_USR

pytestmark = pytest.mark.sim

UP_AND_PING = (
    "su -c 'wg-quick up demo' </dev/null >/dev/null 2>&1 || exit 90; "
    "ping -c 1 -W 3 {server} >/dev/null || exit 91; "
    "su -c 'wg show demo transfer' </dev/null"
)


def _transfer(out: str) -> tuple[int, int]:
    # "<peer key>\t<rx>\t<tx>"
    fields = out.strip().split("\t")
    return int(fields[1]), int(fields[2])


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_twenty_phones_bring_up_demo_and_ping_through_it(sim_phones) -> None:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    phones = sim_phones(20, "android-wgquick")
    booted = time.monotonic() - start
    server = phones[0].info["server_tunnel_ip"]

    def up(phone):  # type: ignore[no-untyped-def]
        return phone.shell(UP_AND_PING.format(server=server), timeout=90)

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(up, phones))
    total = time.monotonic() - start
    print(f"20 phones: boot+connect {booted:.1f}s, all up+ping {total:.1f}s")
    for phone, out in zip(phones, results, strict=True):
        assert out.returncode == 0, (phone.serial, out.returncode, out.stderr)
        rx, tx = _transfer(out.stdout)
        assert rx > 0 and tx > 0, (phone.serial, out.stdout)  # the ping went through wg
    # Each phone has its own tunnel address on its own demo interface.
    addrs = {p.run_in_phone("ip -4 -o addr show dev demo").stdout.split()[3] for p in phones}
    assert len(addrs) == 20
    assert total < 120


def test_two_phones_both_bring_up_wg0_without_interfering(sim_phones) -> None:  # type: ignore[no-untyped-def]
    a, b = sim_phones(2, "android-wgquick")
    server = a.info["server_tunnel_ip"]
    for phone in (a, b):
        out = phone.shell(
            "su -c 'cp /data/misc/wireguard/demo.conf /data/misc/wireguard/wg0.conf && "
            "wg-quick up wg0' </dev/null"
        )
        assert out.returncode == 0, out.stderr
    # Each has its own wg0, own wireguard-go socket (private root), own key.
    keys = []
    for phone in (a, b):
        res = phone.run_in_phone(
            f"ls {UAPI_DIR} && wg show wg0 public-key && ping -c1 -W3 -I wg0 " + server
        )
        assert res.status == 0, res.stderr
        lines = res.stdout.decode().splitlines()
        assert lines[0] == "wg0.sock"
        keys.append(lines[1])
    assert keys[0] != keys[1]
    # Taking a's wg0 down leaves b's working.
    assert a.shell("su -c 'wg-quick down wg0' </dev/null").returncode == 0
    assert a.run_in_phone("ip link show wg0").status != 0
    assert b.run_in_phone(f"ping -c1 -W3 -I wg0 {server}").status == 0
    # A phone can't reach another phone's uplink or tunnel address.
    b_tunnel = b.info["tunnel_ip"]
    assert a.run_in_phone(f"ping -c1 -W1 {b_tunnel}").status != 0
    assert a.run_in_phone(f"ping -c1 -W1 {b.info['uplink']}").status != 0


@pytest.mark.parametrize("sim_phone", [{"profile": "android-wgquick"}], indirect=True)
def test_reboot_takes_tunnels_down_and_keeps_data(sim_phone) -> None:  # type: ignore[no-untyped-def]
    assert sim_phone.shell("su -c 'wg-quick up demo' </dev/null").returncode == 0
    assert sim_phone.run_in_phone("touch /data/local/tmp/kept /dev/gone").status == 0
    reboot = sim_phone.shell("reboot", timeout=30)
    assert reboot.returncode in (0, 255, 137), reboot  # the stream may die with the phone
    res = wait_until(lambda: sim_phone.run_in_phone("ls /sys/class/net; ls /data/local/tmp /tmp"),
                     check=lambda res: b"demo" not in res.stdout, timeout=20, interval=0.2,
                     what="the reboot to take the demo tunnel down")
    assert b"demo" not in res.stdout
    assert b"kept" in res.stdout and b"gone" not in res.stdout
    assert re.search(rb"\beth0\b", res.stdout)
    # The adb server reconnects by itself; `adb reboot` (the reboot: service) works too.
    assert sim_phone.server.adb("-s", sim_phone.serial, "wait-for-device", timeout=60
                                ).returncode == 0
    assert sim_phone.server.adb("-s", sim_phone.serial, "reboot", timeout=30).returncode == 0
    assert sim_phone.server.adb("-s", sim_phone.serial, "wait-for-device", timeout=60
                                ).returncode == 0
    assert sim_phone.shell("id -u", timeout=30).stdout == "2000\n"
    assert sim_phone.counters().get("reboot", 0) >= 1


@pytest.mark.parametrize("sim_phone", [{"profile": "android-wgquick"}], indirect=True)
def test_iperf_server_answers_through_the_tunnel(sim_phone, sim_state) -> None:  # type: ignore[no-untyped-def]
    import json

    address = sim_state.request("iperf")["address"]
    assert address == sim_phone.info["server_tunnel_ip"]
    assert sim_phone.shell("su -c 'wg-quick up demo' </dev/null").returncode == 0
    # iperf3 keeps its buffer in a file under TMPDIR (else /tmp: Android has none).
    # The simulator's probe, not Android's: wherever the phone keeps the host's programs.
    iperf3 = f"$(ls {PHONE_USR}{IPERF3[len('/usr'):]} {IPERF3} 2>/dev/null | head -n 1)"
    res = sim_phone.run_in_phone(f"TMPDIR=/data/local/tmp {iperf3} -c {address} -t 1 -J",
                                 timeout=30)
    assert res.status == 0, res.stdout[-500:]
    report = json.loads(res.stdout)
    assert report["end"]["sum_received"]["bytes"] > 0
    rx, _tx = _transfer(sim_phone.shell("su -c 'wg show demo transfer' </dev/null").stdout)
    assert rx > 0


# The kinder phone's (rules that look up main, bash, resolvconf): no Android phone's.
@pytest.mark.parametrize("sim_phone", [{"android_net": False}], indirect=True)
def test_wg_quick_dns_goes_through_the_resolvconf_shim(sim_phone) -> None:  # type: ignore[no-untyped-def]
    res = sim_phone.run_in_phone(
        "sed 's/^\\[Peer\\]/DNS = 10.99.0.1\\n\\n[Peer]/' /data/misc/wireguard/demo.conf "
        "> /data/misc/wireguard/dns0.conf && chmod 600 /data/misc/wireguard/dns0.conf && "
        "wg-quick up dns0 && resolvconf -l dns0 && wg-quick down dns0 && "
        "ls /run/resolvconf/interface | wc -l")
    assert res.status == 0, res.stderr[-400:]
    assert res.stdout.decode().split("\n")[:2] == ["nameserver 10.99.0.1", "0"]


@pytest.mark.parametrize("sim_phone", [{"profile": "android-wgquick"}], indirect=True)
def test_server_tunnel_address_is_only_reachable_through_the_tunnel(sim_phone) -> None:  # type: ignore[no-untyped-def]
    server = sim_phone.info["server_tunnel_ip"]
    assert sim_phone.run_in_phone(f"ping -c1 -W1 {server}").status != 0
    assert sim_phone.run_in_phone(f"ping -c1 -W1 {sim_phone.info['uplink']}").status == 0
    assert sim_phone.run_in_phone(f"wg-quick up demo && ping -c1 -W3 {server}").status == 0


@pytest.mark.parametrize("sim_phone", [{"profile": "android-wgquick", "userns": True}],
                         indirect=True)
def test_user_namespace_phone(sim_phone) -> None:  # type: ignore[no-untyped-def]
    import os

    assert sim_phone.info["userns"] is True
    out = sim_phone.shell("id -u; su -c 'id -u; cat /proc/self/uid_map' </dev/null")
    lines = out.stdout.split("\n")
    assert lines[:2] == ["2000", "0"], out
    base = int(lines[2].split()[1])
    assert base >= 1 << 20  # phone root is an unprivileged host uid
    up = sim_phone.shell("su -c 'wg-quick up demo' </dev/null && "
                         f"ping -c1 -W3 {sim_phone.info['server_tunnel_ip']}")
    assert up.returncode == 0, up.stderr
    # Seen from the host, the tunnel daemon runs as the phone's (shifted) root.
    from pathlib import Path

    from wgdroid.sim.phone import ns

    owners = set()
    for pid in ns.pids_in_netns(ns.netns_inode(sim_phone.info["pid"])):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "wireguard-go":
                owners.add(os.stat(f"/proc/{pid}").st_uid)
        except OSError:
            continue
    assert owners == {base}
