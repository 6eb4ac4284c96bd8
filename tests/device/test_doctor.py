"""Pure tests of the doctor report: parsing and advice."""

from __future__ import annotations

from wgdroid.device.doctor import advise, parse_doctor_output

FULL = "\n".join(f"fact\t{kv}" for kv in [
    "uid\t0", "model\tPixel 8", "release\t14", "sdk\t34", "abi\tarm64-v8a",
    "kernel\t6.1.75", "selinux\tEnforcing", "module\tyes", "module_version\t1.0.0",
    "tun\tyes", "store\tyes", "path:wg\t/system/bin/wg",
    "path:wg-quick\t/system/bin/wg-quick", "path:wireguard-go\t",
    "path:python3\t/data/x/python3", "version:wg\twireguard-tools v1.0.20210914",
    "wg_quick_variant\tandroid", "version:python3\tPython 3.11.4", "cryptography\t",
])


def test_parse_full_phone() -> None:
    caps = parse_doctor_output("S", FULL)
    caps.root_method = "magisk"
    advise(caps)
    assert (caps.android_release, caps.sdk, caps.abi, caps.kernel) == ("14", 34, "arm64-v8a",
                                                                        "6.1.75")
    assert caps.kernel_module and caps.kernel_module_version == "1.0.0"
    assert caps.tools["wg"] == "/system/bin/wg" and caps.tools["wireguard-go"] is None
    assert caps.versions == {"wg": "wireguard-tools v1.0.20210914", "python3": "Python 3.11.4"}
    assert caps.wg_quick_variant == "android" and caps.backends == ["kernel"]
    assert caps.ready
    # Only python3 without cryptography is worth advice here.
    assert [a.problem for a in caps.advice] == [
        "python3 on the phone lacks the cryptography package"
    ]
    assert caps.to_json()["ready"] is True


def test_bare_phone_gets_a_fix_for_each_gap() -> None:
    caps = parse_doctor_output("S", "fact\tsdk\tx\nfact\ttun\tno\nnoise")
    caps.root_error = "su denied root"
    advise(caps)
    assert caps.sdk is None and not caps.ready and caps.backends == []
    problems = " | ".join(a.problem for a in caps.advice)
    for words in ("no root (su denied root)", "missing wg, wg-quick", "no WireGuard kernel module",
                  "no backend", "no TUN device"):
        assert words in problems
    assert all(a.fix for a in caps.advice)
