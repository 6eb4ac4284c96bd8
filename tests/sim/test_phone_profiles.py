"""Profiles and addressing (pure units), and each phone profile booted and
seen through the real adb server (marked sim)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import pytest

from wgdroid.device.dialect import DETECT_FUNCTION
from wgdroid.errors import UsageError
from wgdroid.sim.network import MAX_PHONES, SERVER_TUNNEL_IP, Uplink, demo_config
from wgdroid.sim.profiles import ANDROID_PATH, PROFILES, resolve


def test_pixel_is_magisk_android_14_arm64_with_wg_tools() -> None:
    p = resolve("pixel")
    assert (p.root, p.su_policy, p.sdk, p.release, p.abi) == ("magisk", "grant", 34, "14",
                                                            "arm64-v8a")
    assert p.tools == {"wg", "wg-quick", "wireguard-go"}
    props = p.props()
    assert props["ro.build.version.sdk"] == "34" and props["ro.debuggable"] == "0"
    assert p.environment()["PATH"] == ANDROID_PATH
    assert p.environment()["WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD"] == "1"


def test_overrides() -> None:
    p = resolve("pixel", root="aosp", su_policy="pending", su_timeout=2.5)
    assert (p.root, p.su_policy, p.su_timeout, p.build_type) == ("aosp", "pending", 2.5,
                                                                 "userdebug")
    assert p.props()["ro.debuggable"] == "1"
    adb_root = resolve("pixel", root="adb-root")
    assert adb_root.adbd_root and adb_root.debuggable and adb_root.props()["ro.secure"] == "0"
    assert not resolve("pixel").adbd_root
    assert resolve("pixel", userns=True).userns


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"name": "nokia"}, "unknown phone profile"),
    ({"root": "supersu"}, "unknown root kind"),
    ({"su_policy": "maybe"}, "unknown su policy"),
    ({"su_timeout": 0.0}, "su timeout"),
])
def test_bad_choices_are_usage_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        resolve(**kwargs)  # type: ignore[arg-type]


def test_banner_values_have_no_separators() -> None:
    for profile in PROFILES.values():
        for value in (profile.model, profile.product, profile.device):
            assert not set(value) & set("=;:"), value


def test_uplinks_are_disjoint_and_tunnel_ips_unique() -> None:
    seen_nets, seen_ips = set(), set()
    for index in (1, 2, 3, 250, 251, MAX_PHONES):
        up = Uplink(index)
        net = ipaddress.ip_network(f"{up.gateway}/30", strict=False)
        assert ipaddress.ip_address(up.address) in net
        assert net not in seen_nets and up.tunnel_ip not in seen_ips
        assert up.tunnel_ip != str(SERVER_TUNNEL_IP)
        seen_nets.add(net)
        seen_ips.add(up.tunnel_ip)
        assert len(up.inet_iface) <= 15
    with pytest.raises(ValueError, match="out of range"):
        Uplink(MAX_PHONES + 1).address  # noqa: B018


def test_demo_config_uses_an_ip_endpoint() -> None:
    text = demo_config("K" * 43 + "=", Uplink(7), "S" * 43 + "=")
    assert "Endpoint = 172.16.0.29:51820" in text
    assert f"AllowedIPs = {SERVER_TUNNEL_IP}/32" in text
    assert "Address = 10.99.0.8/32" in text


# -- phones that mimic real ones, seen through the real adb server -----------
APP = "com.wireguard.android"
APK_PATH = re.compile(
    rf"^package:/data/app/~~[A-Za-z0-9_-]{{22}}==/{APP}-[A-Za-z0-9_-]{{22}}==/base\.apk$"
)


def test_new_profiles_describe_their_phones() -> None:
    aw = resolve("android-wgquick")
    assert aw.tools == {"wg", "wg-quick-android", "kmod"} and aw.root == "magisk"
    app = resolve("wg-app")
    assert app.tools == {"wireguard-app", "kmod"}
    emu = resolve("emulator-root")
    assert (emu.root, emu.abi, emu.build_type, emu.adbd_root) == ("adb-root", "x86_64",
                                                                  "userdebug", True)
    assert emu.props()["ro.secure"] == "0"
    assert resolve("pixel-userspace").tools == {"python3"}


def _dialect(phone: Any, path: str = "") -> str:
    out = phone.shell(f"{DETECT_FUNCTION}\nwg_dialect {path}")
    assert out.returncode == 0, out.stderr
    return str(out.stdout.strip())


@pytest.mark.sim
@pytest.mark.parametrize("sim_phone", [{"profile": "android-wgquick"}], indirect=True)
def test_android_wgquick_phone(sim_phone: Any) -> None:
    assert sim_phone.shell("command -v wg-quick").stdout.strip() == "/system/bin/wg-quick"
    assert sim_phone.shell("command -v wireguard-go").returncode != 0
    assert sim_phone.shell("cat /sys/module/wireguard/version").stdout.strip() == "1.0.0"
    assert _dialect(sim_phone) == "android"
    # Only up and down, like android.c; the Linux subcommands are a usage error.
    save = sim_phone.shell("su -c 'wg-quick save demo' </dev/null")
    assert save.returncode == 1 and "Usage:" in save.stderr and "[ up | down ]" in save.stderr
    up = sim_phone.shell("su -c 'wg-quick up demo' </dev/null")
    assert up.returncode == 0, up.stderr
    for line in ("[#] ip link add demo type wireguard", "[#] wg set demo fwmark 0x20000",
                 "[#] ndc network route add"):
        assert line in up.stdout, up.stdout  # `[#]` lines on stdout, as on Android
    assert "fwmark: 0x20000" in sim_phone.shell("su -c 'wg show demo' </dev/null").stdout
    server = sim_phone.info["server_tunnel_ip"]
    ping = sim_phone.shell(f"ping -c 1 -W 5 {server}")
    assert ping.returncode == 0, ping.stdout + ping.stderr
    again = sim_phone.shell("su -c 'wg-quick up demo' </dev/null")
    # android.c cmd_up's own words
    assert again.returncode == 17 and "Error: demo already exists" in again.stderr
    down = sim_phone.shell("su -c 'wg-quick down demo' </dev/null")
    assert down.returncode == 0, down.stderr
    assert sim_phone.shell("ls /sys/class/net").stdout.split() == ["eth0", "lo"]
    gone = sim_phone.shell("su -c 'wg-quick down demo' </dev/null")
    assert "is not a WireGuard interface" in gone.stderr and gone.returncode != 0
    # Hooks go to wg addconf, which refuses them: nothing is left up.
    hook = sim_phone.shell(
        "su -c 'sed \"/^\\[Interface\\]/a PostUp = true\" /data/misc/wireguard/demo.conf"
        " > /data/misc/wireguard/hook.conf && chmod 600 /data/misc/wireguard/hook.conf"
        " && wg-quick up hook' </dev/null")
    assert hook.returncode != 0 and "Line unrecognized: `PostUp=true'" in hook.stderr
    assert sim_phone.shell("ls /sys/class/net").stdout.split() == ["eth0", "lo"]


@pytest.mark.sim
@pytest.mark.parametrize("sim_phone", [{"profile": "wg-app"}], indirect=True)
def test_wireguard_app_phone(sim_phone: Any) -> None:
    path = sim_phone.shell(f"pm path {APP}")
    assert path.returncode == 0 and APK_PATH.match(path.stdout.strip()), path.stdout
    assert sim_phone.shell("pm path com.example.nothing").returncode == 1
    listed = sim_phone.shell("pm list packages").stdout.split()
    assert f"package:{APP}" in listed and "package:com.android.shell" in listed
    assert sim_phone.shell("pm list packages wireguard").stdout.split() == [f"package:{APP}"]
    for tool in ("wg", "wg-quick", "wireguard-go"):
        assert sim_phone.shell(f"command -v {tool}").returncode != 0, tool
    apk_dir = path.stdout.strip().removeprefix("package:").rsplit("/", 1)[0]
    libs = sim_phone.shell(f"ls {apk_dir}/lib/arm64/").stdout.split()
    assert libs == ["libwg-quick.so", "libwg.so"]
    version = sim_phone.shell(f"{apk_dir}/lib/arm64/libwg.so --version")
    assert version.returncode == 0 and version.stdout.startswith("wireguard-tools v")
    assert _dialect(sim_phone, f"{apk_dir}/lib/arm64/libwg-quick.so") == "android"
    assert _dialect(sim_phone) == "none"
    # The app's data dir is where the Android wg-quick looks second.
    assert sim_phone.shell(f"su -c 'ls -d /data/data/{APP}/files' </dev/null").returncode == 0


@pytest.mark.sim
@pytest.mark.parametrize("sim_phone", [{"profile": "emulator-root"}], indirect=True)
def test_emulator_with_adb_root(sim_phone: Any) -> None:
    assert sim_phone.shell("id -u").stdout.strip() == "0"  # adbd already runs as root
    props = sim_phone.shell("getprop ro.build.type; getprop ro.product.cpu.abi; "
                            "getprop ro.debuggable; getprop ro.secure").stdout.split()
    assert props == ["userdebug", "x86_64", "1", "0"]
    assert sim_phone.shell("getprop service.adb.root").stdout.strip() == "1"
    assert _dialect(sim_phone) == "linux"


@pytest.mark.sim
@pytest.mark.parametrize("sim_phone", [{"profile": "pixel-userspace"}], indirect=True)
def test_pixel_with_python_only(sim_phone: Any) -> None:
    for tool in ("wg", "wg-quick", "wireguard-go"):
        assert sim_phone.shell(f"command -v {tool}").returncode != 0, tool
    assert sim_phone.shell("ls /sys/module/wireguard").returncode != 0
    out = sim_phone.shell("python3 -c 'import cryptography; print(\"ok\")'")
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
    assert _dialect(sim_phone) == "none"
    assert sim_phone.shell("getprop ro.product.model").stdout.strip() == "Pixel 8 Pro"
