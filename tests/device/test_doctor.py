"""Pure tests of the doctor report: parsing and advice."""

from __future__ import annotations

from wgdroid.device.doctor import advise, parse_doctor_output

FULL = "\n".join([
    "K\tuid\t0", "K\tmodel\tPixel 8", "K\trelease\t14", "K\tsdk\t34", "K\tabi\tarm64-v8a",
    "K\tkernel\t6.1.75", "K\tselinux\tEnforcing", "K\tmodule\tyes", "K\tmodule_version\t1.0.0",
    "K\ttun\tyes", "K\tstore\tyes", "K\tpath:wg\t/system/bin/wg",
    "K\tpath:wg-quick\t/system/bin/wg-quick", "K\tpath:wireguard-go\t",
    "K\tpath:python3\t/data/x/python3", "K\tversion:wg\twireguard-tools v1.0.20210914",
    "K\twg_quick_variant\tandroid", "K\tversion:python3\tPython 3.11.4", "K\tcryptography\t",
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
    caps = parse_doctor_output("S", "K\tsdk\tx\nK\ttun\tno\nnoise")
    caps.root_error = "su denied root"
    advise(caps)
    assert caps.sdk is None and not caps.ready and caps.backends == []
    problems = " | ".join(a.problem for a in caps.advice)
    for words in ("no root (su denied root)", "missing wg, wg-quick", "no WireGuard kernel module",
                  "no backend", "no TUN device"):
        assert words in problems
    assert all(a.fix for a in caps.advice)
