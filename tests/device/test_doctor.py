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
    # Ready: nothing is a problem (python3 without cryptography, no wireguard-go:
    # not needed here; issue 13 item 10 changed this from one "problem").
    assert caps.advice == []
    assert caps.to_json()["ready"] is True


def facts(*pairs: str) -> str:
    return "\n".join(f"fact\t{kv}" for kv in pairs)


def advice_for(text: str, root: str | None = "magisk", error: str | None = None) -> dict[
        str, tuple[str, tuple[str, ...] | None]]:
    caps = parse_doctor_output("S", text)
    caps.root_method, caps.root_error = root, error
    advise(caps)
    assert all(a.fix for a in caps.advice)
    return {a.problem: (a.fix, a.command) for a in caps.advice}


def test_what_root_did_not_let_doctor_see_is_not_a_problem() -> None:
    # As the shell user wg, wg-quick in /data/adb/wgdroid/bin stay unseen.
    denied = advice_for(facts("uid\t2000", "sdk\t34", "tun\tyes", "path:su\t/system/bin/su"),
                        root=None, error="su denied root to the adb shell")
    assert list(denied) == ["could not look: root was denied (su denied root to the adb shell)"]
    nosu = advice_for(facts("uid\t2000", "tun\tno", "path:su\t"), root=None,
                      error="no su on the device: it is not rooted")
    assert list(nosu) == ["no root: the phone has no su"]


def test_each_gap_gets_a_fix_this_phone_can_run() -> None:
    bare = advice_for(facts("uid\t0", "tun\tyes"))
    assert bare["missing wg, wg-quick"][1] == ("tools", "install", "--from", "DIR")
    (no_backend,) = [v for k, v in bare.items() if k.startswith("no backend")]
    assert no_backend[1] == ("tools", "install", "--from", "DIR")
    assert "wireguard-go" in no_backend[0]

    app = advice_for(facts("uid\t0", "tun\tyes", "module\tyes", "app_tools\tyes"))
    assert list(app) == ["missing wg, wg-quick"]  # the module: no backend problem
    assert app["missing wg, wg-quick"][1] == ("tools", "install")

    python = ("version:python3\tPython 3.11.4", "cryptography\t42.0",
              "path:python3\t/system/bin/python3")
    py_only = advice_for(facts("uid\t0", "tun\tyes", *python))
    assert [c for _, c in py_only.values()] == [
        ("tools", "install", "--from", "DIR"), ("tools", "install", "--from", "DIR", "--userspace")]
    tools = ("path:wg\t/x/wg", "path:wg-quick\t/x/wg-quick", "wg_quick_variant\tlinux")
    py_wg = advice_for(facts("uid\t0", "tun\tyes", *python, *tools, "socket_dir_ok\tyes"))
    assert [c for _, c in py_wg.values()] == [("tools", "install", "--userspace")]
    no_sockets = advice_for(facts("uid\t0", "tun\tyes", *python, *tools,
                                  "socket_dir\t/var/run/wireguard", "socket_dir_ok\tno"))
    ((problem, (fix, command)),) = no_sockets.items()
    assert "/var/run/wireguard" in problem and "--userspace" not in fix
    old = advice_for(facts("uid\t0", "tun\tyes", *tools, "socket_dir_ok\tyes",
                           "version:python3\tPython 3.9.2", "cryptography\t3.0"))
    assert all("--userspace" not in fix for fix, _ in old.values())

    android = advice_for(facts("uid\t0", "tun\tyes", "path:wg\t/x/wg", "path:wg-quick\t/x/q",
                               "wg_quick_variant\tandroid", "path:wireguard-go\t/x/wg-go"))
    ((problem, (fix, command)),) = android.items()
    assert "Android" in problem and command is None and "CONFIG_WIREGUARD" in fix
    no_tun = advice_for(facts("uid\t0", "tun\tno", *tools))
    assert [c for _, c in no_tun.values()] == [None]


def test_the_cli_and_the_tui_show_the_same_fact_rows() -> None:
    """They were formatted twice, differently (the TUI lacked versions and
    bring-up, the CLI /dev/net/tun and the store)."""
    from wgdroid.cli.device_cmds import _doctor_text
    from wgdroid.device.doctor import Capabilities, fact_rows
    from wgdroid.tui.screens.doctor import facts

    caps = Capabilities(serial="S1", model="Pixel 8", tun=True, tun_nodes="/dev/tun",
                        root_method="magisk",
                        tools={"wg": "/x/wg", "wg-quick": None}, versions={"wg": "v1.0"},
                        bring_up="android", bring_up_reason="netd routes this phone")
    rows = fact_rows(caps)
    assert facts(caps) == rows
    assert ("wg", "/x/wg (v1.0)") in rows and ("wg-quick", "missing") in rows
    assert ("TUN device", "/dev/tun") in rows  # the node found (it said /dev/net/tun)
    assert ("bring-up", "android (netd routes this phone)") in rows
    text = _doctor_text(caps, multi=False).splitlines()
    assert [ln.split(None, 1)[0] for ln in text] == ["device"] + [k.split()[0] for k, _ in rows]
