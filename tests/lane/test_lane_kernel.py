"""The kernel backend end to end.

On the VM phone (``[vm]``) WireGuard is Debian's real module, and the demo
tunnel's server a kernel interface too; a host-kernel simulated phone
(``[sim]``) has no module and must refuse `--backend kernel`; a real device
(``[device]``) runs the round trip when its kernel has the module.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shlex
from pathlib import Path

import pytest
from lane_support import STORE, LanePhone
from support import wait_for_handshake
from test_lane_cli import plain_config, write_conf

SERVER = "10.99.0.1"  # the simulator's WireGuard server, the demo tunnel's peer


def snapshot(phone: LanePhone, *names: str) -> tuple[dict[str, str], dict[str, str]]:
    """In one root round trip: ({name: link kind} of the names that are interfaces,
    {name: sha256} of the names stored as configs). The kind is the first word of
    `ip -d link show`'s third line: wireguard (the kernel module) or tun (userspace)."""
    quoted = " ".join(shlex.quote(n) for n in names)
    res = phone.root(
        f"for n in {quoted}; do "
        'ip -d link show "$n" 2>/dev/null | awk -v n="$n" \'NR == 3 {print "L", n, $1}\'; '
        f'[ -f {STORE}/"$n".conf ] && echo "S $n $(sha256sum < {STORE}/"$n".conf)"; '
        "done; true")
    assert res.returncode == 0, res.stderr
    kinds, stored = {}, {}
    for line in res.stdout.decode().splitlines():
        tag, name, value = line.split()[:3]
        (kinds if tag == "L" else stored)[name] = value
    return kinds, stored


@pytest.mark.kernel_backend
def test_demo_tunnel_on_the_kernel_module(tunnel_phone: LanePhone) -> None:
    """`enable demo --backend kernel`, traffic to the server, a handshake, disable."""
    phone = tunnel_phone
    if not phone.simulated:
        pytest.skip("the demo tunnel and its server are the simulator's")
    up = phone.wgdroid("enable", "demo", "--backend", "kernel", "--json")
    if not phone.kernel_module:
        # A host-kernel phone has no module (its kmod profiles only pretend).
        assert up.returncode == 9 and "no WireGuard kernel module" in up.stderr, up.stderr
        assert snapshot(phone, "demo")[0] == {}
        return
    try:
        assert up.returncode == 0, up.stderr
        assert json.loads(up.stdout)["backend"] == "kernel"
        # From the phone's own shell (not root), through the tunnel only: the
        # server answers 10.99.0.1 on its WireGuard interface alone.
        ping = phone.shell(f"ping -c 1 -W 5 {SERVER}")
        assert ping.returncode == 0, ping.stdout + ping.stderr
        iface = wait_for_handshake(phone.serial, "demo", timeout=60, run=phone.cli)
        assert iface["backend"] == "kernel"
        assert iface["peers"][0]["rx_bytes"] > 0
        assert snapshot(phone, "demo")[0] == {"demo": "wireguard"}
    finally:
        down = phone.wgdroid("disable", "demo")
    assert down.returncode == 0, down.stderr
    assert snapshot(phone, "demo")[0] == {}


@pytest.mark.kernel_backend
def test_kernel_tunnel_push_rename_rm(tunnel_phone: LanePhone, tmp_path: Path) -> None:
    """push --enable, rename --force (down, rename, up) and rm --force of a tunnel
    that is up: a kernel interface where the phone has the module, else a TUN one."""
    phone = tunnel_phone
    kind = "wireguard" if phone.kernel_module else "tun"
    first, second = phone.new_name(), phone.new_name()
    conf = write_conf(tmp_path / f"{first}.conf", plain_config(secrets.randbelow(250) + 1))
    digest = hashlib.sha256(conf.read_bytes()).hexdigest()
    res = phone.wgdroid("push", str(conf), "--enable", "--json")
    assert res.returncode == 0, res.stderr
    assert snapshot(phone, first, second) == ({first: kind}, {first: digest})
    res = phone.wgdroid("rename", first, second, "--force")
    assert res.returncode == 0, res.stderr
    assert snapshot(phone, first, second) == ({second: kind}, {second: digest})
    res = phone.wgdroid("rm", second, "--force")
    assert res.returncode == 0, res.stderr
    assert snapshot(phone, first, second) == ({}, {})
