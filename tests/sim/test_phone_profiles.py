"""Profiles and addressing: pure units, no namespaces needed."""

from __future__ import annotations

import ipaddress

import pytest

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
