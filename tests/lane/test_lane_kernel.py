"""The kernel backend end to end.

On the VM phone (``[vm]``) WireGuard is Debian's real module, and the demo
tunnel's server a kernel interface too; a host-kernel simulated phone
(``[sim]``) has no module and must refuse `--backend kernel`; a real device
(``[device]``) runs the round trip when its kernel has the module.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import pytest
from lane_support import LanePhone
from test_lane_cli import listed, plain_config, wait_for_handshake, write_conf

SERVER = "10.99.0.1"  # the simulator's WireGuard server, the demo tunnel's peer


def link_kind(phone: LanePhone, name: str) -> str:
    """`ip -d link show NAME`'s link kind (wireguard, tun, ...), read as root."""
    res = phone.root(f"ip -d link show {name}")
    assert res.returncode == 0, res.stderr
    # Line 3 of `ip -d link`: "    wireguard addrgenmode ..." (a TUN device says "tun ...").
    found = re.search(r"^\s+(\w+) ", res.stdout.decode().splitlines()[2], re.M)
    return found.group(1) if found else ""


def gone(phone: LanePhone, name: str) -> bool:
    return phone.root(f"[ -e /sys/class/net/{name} ]").returncode != 0


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
        assert gone(phone, "demo")
        return
    try:
        assert up.returncode == 0, up.stderr
        assert json.loads(up.stdout)["backend"] == "kernel"
        # From the phone's own shell (not root), through the tunnel only: the
        # server answers 10.99.0.1 on its WireGuard interface alone.
        ping = phone.shell(f"ping -c 1 -W 5 {SERVER}")
        assert ping.returncode == 0, ping.stdout + ping.stderr
        iface = wait_for_handshake(phone, "demo")
        assert iface["backend"] == "kernel"
        assert iface["peers"][0]["rx_bytes"] > 0
        assert link_kind(phone, "demo") == "wireguard"
    finally:
        down = phone.wgdroid("disable", "demo")
    assert down.returncode == 0, down.stderr
    assert gone(phone, "demo")
    assert listed(phone).get("demo") is False


@pytest.mark.kernel_backend
def test_kernel_tunnel_push_rename_rm(tunnel_phone: LanePhone, tmp_path: Path) -> None:
    """push --enable, rename --force (down, rename, up) and rm --force of a tunnel
    that is up: a kernel interface where the phone has the module, else a TUN one."""
    phone = tunnel_phone
    kind = "wireguard" if phone.kernel_module else "tun"
    first, second = phone.new_name(), phone.new_name()
    conf = write_conf(tmp_path / f"{first}.conf", plain_config(secrets.randbelow(250) + 1))
    res = phone.wgdroid("push", str(conf), "--enable", "--json")
    assert res.returncode == 0, res.stderr
    assert link_kind(phone, first) == kind
    res = phone.wgdroid("rename", first, second, "--force")
    assert res.returncode == 0, res.stderr
    assert gone(phone, first) and link_kind(phone, second) == kind
    assert phone.stored(second) == conf.read_bytes() and phone.stored(first) == b""
    assert listed(phone).get(second) is True
    res = phone.wgdroid("rm", second, "--force")
    assert res.returncode == 0, res.stderr
    assert gone(phone, second) and phone.stored(second) == b""
