"""Issue 13 item 8 on a simulated phone: device operations are bounded, say
which step failed and what wg or the resolver said (without wireguard-go's
banner), never leave a UAPI socket behind, and judge `disable` by the state,
not by wg-quick's exit."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from sim_phone_io import demo_config, on_phone
from support import wait_until
from support import wgdroid as cli

from wgdroid.config import keys
from wgdroid.config.parser import parse

pytestmark = pytest.mark.sim



def socket_dir(phone: Any) -> str:
    """Where the phone's wg looks for UAPI sockets: the RUNSTATEDIR compiled into
    it, read as tunnel.sh's sock_dir reads it (the simulator's phones use
    /mnt/run/wireguard: Android has no /var)."""
    found = on_phone(phone, "grep -ao '/[-A-Za-z0-9_./]*/wireguard/%s\\.sock' "
                            "\"$(command -v wg)\" | head -n 1").strip()
    assert found.endswith("/%s.sock"), found
    return found[: -len("/%s.sock")]


def demo_text(phone: Any, tmp_path: Path) -> str:
    return demo_config(phone, tmp_path).decode()


def gone(phone: Any, name: str) -> dict[str, str]:
    """What is left of NAME: its interface, its UAPI socket, its daemon."""
    return {
        "link": on_phone(phone, f"ip link show {name} 2>/dev/null"),
        "socket": on_phone(phone, f"ls {socket_dir(phone)} 2>/dev/null | grep -x {name}.sock"),
        "daemon": on_phone(phone, f"pgrep -fl 'wireguard-go {name}$' || true").strip(),
    }


def assert_nothing_left(phone: Any, name: str) -> None:
    wait_until(lambda: gone(phone, name), check=lambda left: not any(left.values()),
               timeout=10, what=f"nothing of {name} left on the phone")


def test_an_endpoint_that_does_not_resolve_fails_soon_with_the_resolvers_words(
    sim_phone: Any, tmp_path: Path
) -> None:
    conf = tmp_path / "nores.conf"
    conf.write_text(re.sub(r"Endpoint = .*", "Endpoint = nosuch.invalid:51820",
                           demo_text(sim_phone, tmp_path)))
    start = time.monotonic()
    res = cli("push", "-s", sim_phone.serial, str(conf), "--enable")
    took = time.monotonic() - start
    print(f"\nenable with an endpoint that does not resolve: exit {res.returncode} "
          f"after {took:.1f} s")
    assert res.returncode == 6, res.stderr
    # Resolved on the phone (its network's DNS) before anything is made; the
    # config is stored, and the message says so (it said "pushing nores
    # failed", review D10).
    assert ("stored nores, but bringing it up failed: cannot resolve nosuch.invalid on the "
            "phone") in res.stderr
    assert "nores" in cli("list", "-s", sim_phone.serial).stdout.split()
    assert "Running wireguard-go" not in res.stderr and "\u2502" not in res.stderr
    assert took < 10  # 3 s on the phone, the rest is adb and su
    assert_nothing_left(sim_phone, "nores")


def test_a_step_that_runs_out_says_which_and_leaves_nothing(sim_phone: Any,
                                                           tmp_path: Path) -> None:
    """20k AllowedIPs on one line: a route for each, each through netd."""
    from wgdroid.device import control, store
    from wgdroid.device.connection import connect
    from wgdroid.errors import OperationTimeout

    nets = ", ".join(f"10.{40 + i // 65536}.{i // 256 % 256}.{i % 256}/32" for i in range(20000))
    text = re.sub(r"AllowedIPs = .*", f"AllowedIPs = {nets}", demo_text(sim_phone, tmp_path))
    device = connect(sim_phone.serial)
    store.push(device, text.encode(), "many")
    start = time.monotonic()
    with pytest.raises(OperationTimeout) as info:
        control.enable(device, "many", timeout=20)
    took = time.monotonic() - start
    print(f"\nenable with 20000 routes, a 20 s deadline: {info.value.message} ({took:.1f} s)")
    # Android: a route per AllowedIPs entry through netd, bounded by the budget.
    assert re.match(r"enabling many failed: `ndc network route add [^`]*` did not finish "
                    r"in \d+ s", info.value.message), info.value.message
    assert took < 20  # the phone's own budget ran out first: the cause is named
    assert_nothing_left(sim_phone, "many")
    assert cli("rm", "-s", sim_phone.serial, "many").returncode == 0


def test_disable_of_a_tunnel_with_4000_peers(sim_phone: Any, tmp_path: Path) -> None:
    demo = parse(demo_text(sim_phone, tmp_path).encode()).config
    lines = ["[Interface]", f"PrivateKey = {demo.interface.private_key.reveal()}",
             "Address = 10.97.0.2/32", ""]
    for _ in range(4000):
        lines += ["[Peer]", f"PublicKey = {keys.pubkey(keys.genkey())}", ""]
    conf = tmp_path / "peers4k.conf"
    conf.write_text("\n".join(lines))
    up = cli("push", "-s", sim_phone.serial, str(conf), "--enable", timeout=120)
    assert up.returncode == 0, up.stderr
    assert on_phone(sim_phone, "wg show peers4k peers | wc -l").strip() == "4000"
    running = gone(sim_phone, "peers4k")
    if running["daemon"]:  # a userspace backend: its socket is where `gone` looks
        assert running["socket"] == "peers4k.sock\n", running
    start = time.monotonic()
    down = cli("disable", "-s", sim_phone.serial, "peers4k", "--json", timeout=120)
    print(f"\ndisable with 4000 peers: exit {down.returncode} after "
          f"{time.monotonic() - start:.1f} s")
    assert down.returncode == 0, down.stderr
    assert '"action": "down"' in down.stdout
    assert_nothing_left(sim_phone, "peers4k")


def test_a_stored_config_with_a_broken_key_is_refused_before_wg_sees_it(
        sim_phone: Any, tmp_path: Path) -> None:
    """The review's case: a stored PrivateKey of 23 chars of a real key made
    `enable` exit 6 with wg's "Key is not the correct length or format:
    `<the 23 chars>'" (wg-quick had also started wireguard-go)."""
    part = keys.genkey()[:23]
    text = re.sub(r"PrivateKey = .*", f"PrivateKey = {part}", demo_text(sim_phone, tmp_path))
    # On stdin: the phone's mksh has no /tmp for a here-document (an empty file).
    sim_phone.run_in_phone("umask 077; cat > /data/misc/wireguard/bad.conf",
                           input=text.encode(), timeout=30)
    assert part in on_phone(sim_phone, "cat /data/misc/wireguard/bad.conf")
    res = cli("enable", "-s", sim_phone.serial, "bad")
    assert res.returncode == 1, res.stderr
    assert "PrivateKey is not a key wg takes" in res.stderr and part not in res.stderr
    assert_nothing_left(sim_phone, "bad")
    assert cli("rm", "-s", sim_phone.serial, "bad").returncode == 0
