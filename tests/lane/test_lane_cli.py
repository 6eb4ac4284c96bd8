"""The device CLI end to end, on a simulated phone (`[sim]`) or a real one (`[device]`).

Each test names its tunnels `wgl<random>` and the lane_phone fixture removes
them (and fails the test if anything of them is left on the phone).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
from lane_support import STORE, LanePhone
from support import wait_for_handshake

from wgdroid.config import keys


def write_conf(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    path.chmod(0o600)
    return path


def plain_config(net: int, *, peer_key: str | None = None) -> str:
    """A valid tunnel whose peer has no endpoint: it comes up without any server."""
    return (
        f"[Interface]\nPrivateKey = {keys.genkey()}\nAddress = 10.213.{net}.1/32\n\n"
        f"[Peer]\nPublicKey = {peer_key or keys.pubkey(keys.genkey())}\n"
        f"AllowedIPs = 10.213.{net}.2/32\n"
    )


def listed(phone: LanePhone) -> dict[str, bool]:
    res = phone.wgdroid("list", "--json")
    assert res.returncode == 0, res.stderr
    return {t["name"]: t["up"] for t in json.loads(res.stdout)["tunnels"]}


def interface(phone: LanePhone, name: str) -> dict[str, Any]:
    res = phone.wgdroid("status", name, "--json", "--interval", "0.2")
    assert res.returncode == 0, res.stderr
    ifaces = json.loads(res.stdout)["devices"][0]["interfaces"]
    assert [i["name"] for i in ifaces] == [name]
    return dict(ifaces[0])


def test_doctor_reports_a_rooted_phone(lane_phone: LanePhone) -> None:
    res = lane_phone.wgdroid("doctor", "--json")
    assert res.returncode == 0, res.stderr
    caps = json.loads(res.stdout)["devices"][0]
    assert caps["serial"] == lane_phone.serial
    assert isinstance(caps["sdk"], int) and caps["sdk"] > 0 and caps["abi"]
    # The root form doctor found really gives uid 0, and it is adb-root exactly
    # when adbd itself runs as root.
    assert lane_phone.root_text("id -u").strip() == "0"
    adbd_uid = lane_phone.shell("id -u").stdout.decode().strip()
    assert (caps["root_method"] == "adb-root") == (adbd_uid == "0"), (caps, adbd_uid)
    if lane_phone.simulated:
        assert caps["root_method"] == "aosp" and caps["ready"] is True
    text = lane_phone.wgdroid("doctor", "--check")
    assert text.returncode == (0 if caps["ready"] else 9), text.stderr
    assert lane_phone.serial in text.stdout or caps["model"] in text.stdout


def test_push_is_private_and_atomic(lane_phone: LanePhone, tmp_path: Path) -> None:
    name = lane_phone.new_name()
    good = write_conf(tmp_path / f"{name}.conf", plain_config(secrets.randbelow(250) + 1))
    res = lane_phone.wgdroid("push", str(good))
    assert res.returncode == 0, res.stderr
    mode = lane_phone.root_text(f"stat -c '%a %u %g' {STORE}/{name}.conf").split()
    assert mode == ["600", "0", "0"]
    assert lane_phone.stored(name) == good.read_bytes()
    assert listed(lane_phone).get(name) is False

    # A bad config under the same name: refused here with FILE:LINE, the phone untouched.
    before_listing, before_bytes = lane_phone.store_listing(), lane_phone.stored(name)
    bad = write_conf(tmp_path / "bad.conf", (
        f"[Interface]\nPrivateKey = {keys.genkey()}\n\n[Peer]\n"
        "PublicKey = not-a-key\nAllowedIPs = 10.213.0.0/24\n"
    ))
    res = lane_phone.wgdroid("push", str(bad), "--name", name)
    assert res.returncode == 1
    assert re.search(rf"^{re.escape(str(bad))}:5: ", res.stderr, re.M), res.stderr
    assert "Traceback" not in res.stderr
    assert lane_phone.store_listing() == before_listing
    assert lane_phone.stored(name) == before_bytes


def test_pull_round_trip_is_byte_identical(lane_phone: LanePhone, tmp_path: Path) -> None:
    name = lane_phone.new_name()
    net = secrets.randbelow(250) + 1
    # Comments, blank lines, odd spacing, UTF-8 and no final newline all survive.
    text = (
        "# lane round trip: kept byte for byte — ünïcode too\n\n"
        f"[Interface]\n  # indented comment\nPrivateKey   =   {keys.genkey()}\n"
        f"Address = 10.213.{net}.1/32   # trailing comment\n\n\n"
        f"[Peer]\nPublicKey = {keys.pubkey(keys.genkey())}\nAllowedIPs = 10.213.{net}.2/32"
    )
    src = write_conf(tmp_path / "src.conf", text)
    assert lane_phone.wgdroid("push", str(src), "--name", name).returncode == 0
    out = tmp_path / "pulled.conf"
    res = lane_phone.wgdroid("pull", name, "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert out.read_bytes() == src.read_bytes()
    assert out.stat().st_mode & 0o777 == 0o600
    to_stdout = lane_phone.wgdroid_bytes("pull", name, "-o", "-")
    assert to_stdout.returncode == 0 and to_stdout.stdout == src.read_bytes()
    missing = lane_phone.wgdroid("pull", f"{name}x", "-o", str(tmp_path / "x.conf"))
    assert missing.returncode == 7 and not (tmp_path / "x.conf").exists()


def test_rename_then_rm(lane_phone: LanePhone, tmp_path: Path) -> None:
    first, second, other = (lane_phone.new_name() for _ in range(3))
    conf = write_conf(tmp_path / "r.conf", plain_config(secrets.randbelow(250) + 1))
    for name in (first, other):
        assert lane_phone.wgdroid("push", str(conf), "--name", name).returncode == 0
    res = lane_phone.wgdroid("rename", first, second)
    assert res.returncode == 0, res.stderr
    names = listed(lane_phone)
    assert second in names and first not in names
    assert lane_phone.stored(second) == conf.read_bytes() and lane_phone.stored(first) == b""
    assert lane_phone.root_text(f"stat -c '%a %u' {STORE}/{second}.conf").split() == ["600", "0"]
    clash = lane_phone.wgdroid("rename", second, other)
    assert clash.returncode == 8 and "Traceback" not in clash.stderr, clash.stderr
    assert lane_phone.stored(second) == conf.read_bytes()

    for name in (second, other):
        res = lane_phone.wgdroid("rm", name)
        assert res.returncode == 0, res.stderr
    names = listed(lane_phone)
    assert second not in names and other not in names
    gone = lane_phone.wgdroid("rm", second)
    assert gone.returncode == 7 and f"no tunnel '{second}'" in gone.stderr


def test_enable_status_disable_with_a_peer(tunnel_phone: LanePhone, tmp_path: Path) -> None:
    """Two tunnels on the phone that are each other's peer over 127.0.0.1: a real
    handshake with no server anywhere, so it runs on any phone."""
    phone = tunnel_phone
    a, b = phone.new_name(), phone.new_name()
    net = secrets.randbelow(250) + 1
    port_a = 40000 + secrets.randbelow(10000) * 2
    key_a, key_b = keys.genkey(), keys.genkey()
    for name, key, port, peer, peer_port, me, them in (
        (a, key_a, port_a, key_b, port_a + 1, 1, 2),
        (b, key_b, port_a + 1, key_a, port_a, 2, 1),
    ):
        write_conf(tmp_path / f"{name}.conf", (
            f"[Interface]\nPrivateKey = {key}\nListenPort = {port}\n"
            f"Address = 10.213.{net}.{me}/32\n\n[Peer]\nPublicKey = {keys.pubkey(peer)}\n"
            f"AllowedIPs = 10.213.{net}.{them}/32\nEndpoint = 127.0.0.1:{peer_port}\n"
            "PersistentKeepalive = 1\n"
        ))
        assert phone.wgdroid("push", str(tmp_path / f"{name}.conf")).returncode == 0
    started = time.monotonic()
    for name in (a, b):
        res = phone.wgdroid("enable", name, "--json")
        assert res.returncode == 0, res.stderr
        doc = json.loads(res.stdout)
        assert doc["action"] == "up" and doc["backend"], doc
    assert {a: True, b: True}.items() <= listed(phone).items()
    for name, port, peer in ((a, port_a, key_b), (b, port_a + 1, key_a)):
        iface = wait_for_handshake(phone.serial, name)
        assert iface["listen_port"] == port
        (p,) = iface["peers"]
        assert p["public_key"] == keys.pubkey(peer) and p["rx_bytes"] > 0 and p["tx_bytes"] > 0
    print(f"\n{phone.serial}: both handshakes seen {time.monotonic() - started:.1f} s after up")
    text = phone.wgdroid("status", a)
    assert text.returncode == 0 and f"interface {a}" in text.stdout, text.stdout

    for name in (a, b):
        res = phone.wgdroid("disable", name, "--json")
        assert res.returncode == 0 and json.loads(res.stdout)["action"] == "down", res.stderr
        assert phone.root(f"[ -e /sys/class/net/{name} ]").returncode != 0
    assert {a: False, b: False}.items() <= listed(phone).items()
    down = phone.wgdroid("status", a)
    assert down.returncode == 7 and "is not up" in down.stderr
    again = phone.wgdroid("disable", a, "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["action"] == "noop"


def test_enable_through_the_simulators_server(tunnel_phone: LanePhone, tmp_path: Path) -> None:
    """push --enable a copy of the demo tunnel, then ping its server through it."""
    phone = tunnel_phone
    if not phone.simulated:
        pytest.skip("needs the simulator's internet server (the demo tunnel's peer)")
    demo = tmp_path / "demo.conf"
    assert phone.wgdroid("pull", "demo", "-o", str(demo)).returncode == 0
    name = phone.new_name()
    res = phone.wgdroid("push", str(demo), "--name", name, "--enable", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["backend"] == "wireguard-go"
    ping = phone.sim.run_in_phone(f"ping -c 1 -W 3 {phone.sim.info['server_tunnel_ip']}")
    assert ping.status == 0, ping.stderr
    peer = wait_for_handshake(phone.serial, name)["peers"][0]
    assert peer["rx_bytes"] > 0 and peer["tx_bytes"] > 0
    assert phone.wgdroid("disable", name).returncode == 0
    assert phone.sim.run_in_phone(f"ip link show {name}").status != 0
