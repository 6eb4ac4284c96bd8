"""A config is validated for the phone's own wg-quick before it is pushed:
the Android one (android.c) refuses hooks, Table and SaveConfig, the Linux
one takes them. Pure units for the checks, then simulated phones through the
real adb server (android-wgquick: the Android wg-quick; pixel: the Linux one)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from support import wait_for_handshake

from wgdroid.config import keys
from wgdroid.config.dialect import Dialect
from wgdroid.config.issues import ConfigError
from wgdroid.config.keyspec import android_refused_keys
from wgdroid.device.control import Backend
from wgdroid.device.dialect import check_config, dialect_from_stdout
from wgdroid.exit_codes import ExitCode

STORE = "/data/misc/wireguard"
# The kinder phone (rules that look up main): where wgdroid runs the Linux wg-quick.
LINUX_WG_QUICK: dict[str, Any] = {"android_net": False}
ANDROID, LINUX = Dialect.ANDROID, Dialect.LINUX


def conf(*interface_lines: str) -> bytes:
    return (
        "[Interface]\nPrivateKey = " + keys.genkey() + "\nAddress = 10.0.0.2/32\n"
        + "".join(f"{line}\n" for line in interface_lines)
        + "\n[Peer]\nPublicKey = " + keys.pubkey(keys.genkey())
        + "\nAllowedIPs = 10.0.0.0/24\n"
    ).encode()


# -- pure units -----------------------------------------------------------------
def test_rejected_keys_are_the_wg_quick_keys_android_c_does_not_handle() -> None:
    assert android_refused_keys() == {
        "PreUp", "PostUp", "PreDown", "PostDown", "Table", "SaveConfig",
    }


@pytest.mark.parametrize("line", ["PostUp = echo hi", "Table = off", "SaveConfig = true",
                                  "PreDown = true"])
def test_android_refuses_what_linux_takes(line: str) -> None:
    check = check_config(conf(line), "t.conf")
    assert check.ok(LINUX) and not check.ok(ANDROID)
    with pytest.raises(ConfigError) as exc:
        check.require(ANDROID)
    key = line.split()[0]
    assert exc.value.issues[0].format().startswith(f"t.conf:4: [Interface] {key}: ")
    assert check.require(LINUX) == []
    # No wg-quick found: not refused, but warned about.
    assert [w.key for w in check.warnings[Dialect.NONE]] == [key]


def test_fwmark_is_only_a_warning_on_android() -> None:
    check = check_config(conf("FwMark = 0x1234"), "f.conf")
    warned = check.require(ANDROID)
    assert [(w.line, w.key) for w in warned] == [(4, "FwMark")]
    assert "0x20000" in warned[0].format() and warned[0].format().startswith("f.conf:4: warning:")
    assert check.require(LINUX) == []


def test_app_lists_are_android_only() -> None:
    check = check_config(conf("ExcludedApplications = com.example.app"), "e.conf")
    assert check.ok(ANDROID) and not check.ok(LINUX)
    with pytest.raises(ConfigError, match=r"^e\.conf:4: \[Interface\] ExcludedApplications: "):
        check.require(LINUX)


def test_broken_for_every_wg_quick_is_refused_up_front() -> None:
    with pytest.raises(ConfigError, match=r"^b\.conf:4: \[Interface\] MTU: "):
        check_config(conf("MTU = lots"), "b.conf")


def test_guard_carries_the_verdicts() -> None:
    # test_sh.py runs sh/dialect.sh's dialect_guard with them.
    assert check_config(conf("PostUp = true"), "g.conf").accepts() == (False, True)
    assert dialect_from_stdout("dialect\tandroid\nstored\tx\n") is ANDROID
    assert dialect_from_stdout("stored\tx\n") is None


# -- simulated phones -------------------------------------------------------------
def cli(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wgdroid", *args], capture_output=True, text=True,
        timeout=timeout, env=dict(os.environ), stdin=subprocess.DEVNULL,
    )


def streams(phone: Any) -> int:
    return sum(phone.counters().values())


def store_state(phone: Any) -> str:
    """Names, modes, sizes, times and hashes of everything in the store."""
    res = phone.run_in_phone(
        f"cd {STORE} && ls -la --full-time . && sha256sum $(ls -A | grep -v /) 2>&1",
        timeout=30,
    )
    assert res.status == 0
    return res.stdout.decode() if isinstance(res.stdout, bytes) else str(res.stdout)


def with_post_up(phone: Any, tmp_path: Path, name: str) -> Path:
    """The phone's demo tunnel plus a PostUp hook, as NAME.conf (PostUp on line 3)."""
    demo = tmp_path / "demo.conf"
    assert cli("pull", "-s", phone.serial, "demo", "-o", str(demo)).returncode == 0
    lines = demo.read_text().splitlines(keepends=True)
    at = next(i for i, ln in enumerate(lines) if ln.startswith("[Interface]")) + 2
    lines.insert(at, "PostUp = logger tunnel up\n")
    path = tmp_path / f"{name}.conf"
    path.write_text("".join(lines))
    path.chmod(0o600)
    return path


@pytest.mark.sim
@pytest.mark.parametrize("sim_phone", [{"profile": "android-wgquick"}], indirect=True)
def test_android_wg_quick_refuses_hooks_and_nothing_changes(
    sim_phone: Any, tmp_path: Path
) -> None:
    hooked = with_post_up(sim_phone, tmp_path, "hooked")
    line = hooked.read_text().splitlines().index("PostUp = logger tunnel up") + 1
    before, listing = streams(sim_phone), store_state(sim_phone)
    # Hooks run as root where the phone's wg-quick is the Linux one: refused
    # before the phone is asked, unless --allow-hooks.
    res = cli("push", "-s", sim_phone.serial, str(hooked))
    assert res.returncode == 1, res.stderr
    assert f"{hooked} has hooks (PostUp at line {line})" in res.stderr
    assert "--allow-hooks" in res.stderr and streams(sim_phone) == before
    res = cli("push", "-s", sim_phone.serial, str(hooked), "--allow-hooks")
    assert res.returncode == 1, res.stderr
    assert re.search(rf"^{re.escape(str(hooked))}:{line}: \[Interface\] PostUp: .*no hooks",
                     res.stderr, re.M), res.stderr
    assert "android wg-quick" in res.stderr and "Traceback" not in res.stderr
    assert streams(sim_phone) - before == 1  # detected and refused in the push's own script
    assert store_state(sim_phone) == listing
    # Known now, or named: --dialect android refuses without touching the phone.
    before = streams(sim_phone)
    res = cli("push", "-s", sim_phone.serial, str(hooked), "--dialect", "android")
    assert res.returncode == 1 and f"{hooked}:{line}: [Interface] PostUp:" in res.stderr
    assert streams(sim_phone) == before
    # The TUI editor's save once hooks are allowed (store.push underneath):
    # the same refusal, shown as an "Invalid config" notification naming file
    # and line.
    from wgdroid.device import store
    from wgdroid.device.connection import connect
    from wgdroid.tui.errors_view import describe

    with pytest.raises(ConfigError) as refused:
        store.push(connect(sim_phone.serial), hooked.read_bytes(), "hooked",
                   enable=Backend.AUTO, allow_hooks=True)
    shown = describe(refused.value, "Saving hooked")
    assert shown.title == "Saving hooked: Invalid config" and shown.severity == "error"
    assert shown.message.startswith(f"hooked.conf:{line}: [Interface] PostUp: ")
    assert store_state(sim_phone) == listing
    assert sim_phone.run_in_phone("ip link show hooked").status != 0


@pytest.mark.sim
# The kinder phone (rules that look up main): the only kind where wgdroid runs the
# Linux wg-quick, and hooks. An Android one reads configs as android.c does.
@pytest.mark.parametrize("sim_phone", [LINUX_WG_QUICK], indirect=True)
def test_hooks_are_refused_by_the_device_layer_unless_allowed(
    sim_phone: Any, tmp_path: Path
) -> None:
    """Review D2: the TUI's push (store.push underneath) stored a PostUp hook
    and brought it up on a Linux wg-quick: it ran as root, unasked. Now the
    device layer refuses hooks unless the caller allows them (the CLI with
    --allow-hooks; the TUI after the user confirms), before the phone is asked."""
    from wgdroid.device import store
    from wgdroid.device.connection import connect
    from wgdroid.device.dialect import HooksRefused
    from wgdroid.tui.adapter import AdbAdapter
    from wgdroid.tui.errors_view import describe

    pwned = "/data/local/tmp/pwned"
    text = (tmp_path / "demo.conf")
    assert cli("pull", "-s", sim_phone.serial, "demo", "-o", str(text)).returncode == 0
    hooked = text.read_text().replace("[Interface]\n", f"[Interface]\nPostUp = touch {pwned}\n",
                                      1).encode()
    before, listing = streams(sim_phone), store_state(sim_phone)
    with pytest.raises(HooksRefused) as refused:
        AdbAdapter().push(sim_phone.serial, "hook", hooked, restart=True)
    shown = describe(refused.value, "Saving hook")
    assert shown.severity == "error" and "PostUp at line 2" in shown.message, shown
    assert "runs as root" in shown.message and [i.line for i in refused.value.issues] == [2]
    assert streams(sim_phone) == before and store_state(sim_phone) == listing
    assert sim_phone.run_in_phone(f"test -e {pwned}").status != 0
    # Allowed: stored and brought up, and the hook ran (as root).
    store.push(connect(sim_phone.serial), hooked, "hook", enable=Backend.AUTO,
               allow_hooks=True)
    assert sim_phone.run_in_phone(f"test -e {pwned}").status == 0
    assert cli("disable", "-s", sim_phone.serial, "hook").returncode == 0


@pytest.mark.sim
@pytest.mark.parametrize("sim_phone", [LINUX_WG_QUICK], indirect=True)
def test_linux_wg_quick_takes_the_same_config(sim_phone: Any, tmp_path: Path) -> None:
    hooked = with_post_up(sim_phone, tmp_path, "hooked")
    res = cli("push", "-s", sim_phone.serial, str(hooked), "--json", "--allow-hooks")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["dialect"] == "linux"
    # The Linux wg-quick runs hooks, as root: allowed, and said.
    assert "warning: " in res.stderr and "runs as root" in res.stderr
    got = sim_phone.run_in_phone(f"cat {STORE}/hooked.conf", timeout=30)
    assert got.status == 0 and got.stdout == hooked.read_bytes()


@pytest.mark.sim
@pytest.mark.parametrize("sim_phone", [{"profile": "android-wgquick"}], indirect=True)
def test_clean_config_pushes_and_comes_up_on_android_wg_quick(
    sim_phone: Any, tmp_path: Path
) -> None:
    path = tmp_path / "wga.conf"
    assert cli("pull", "-s", sim_phone.serial, "demo", "-o", str(path)).returncode == 0
    text = path.read_text().replace("[Interface]\n", "[Interface]\nFwMark = 0x1234\n", 1)
    path.write_text(text)
    res = cli("push", "-s", sim_phone.serial, str(path), "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["dialect"] == "android"
    assert re.search(rf"^{re.escape(str(path))}:2: warning: \[Interface\] FwMark: ",
                     res.stderr, re.M), res.stderr
    start = time.monotonic()
    up = cli("enable", "-s", sim_phone.serial, "wga", "--json")
    assert up.returncode == 0, up.stderr
    # fwmark replaced by 0x20000, as the Android wg-quick does.
    shown = sim_phone.run_in_phone("wg show wga fwmark", timeout=30)
    assert shown.stdout.strip() == b"0x20000"
    ping = sim_phone.run_in_phone(f"ping -c 1 -W 3 {sim_phone.info['server_tunnel_ip']}")
    assert ping.status == 0
    wait_for_handshake(sim_phone.serial, "wga", timeout=15, run=cli)
    print(f"\nhandshake {time.monotonic() - start:.2f} s after enable on the Android wg-quick")
    assert cli("disable", "-s", sim_phone.serial, "wga").returncode == 0
    assert sim_phone.run_in_phone("ip link show wga").status != 0


@pytest.mark.sim
def test_push_all_decides_per_phone(sim_phones: Any, tmp_path: Path) -> None:
    linux = sim_phones(1, "pixel", **LINUX_WG_QUICK)[0]
    android = sim_phones(1, "android-wgquick")[0]
    hooked = with_post_up(linux, tmp_path, "hooked")
    res = cli("push", "--all", str(hooked), "--json", "--allow-hooks")
    assert res.returncode == ExitCode.PARTIAL, res.stderr
    devices = {d["serial"]: d for d in json.loads(res.stdout)["devices"]}
    assert devices[linux.serial]["error"] is None and devices[linux.serial]["dialect"] == "linux"
    refused = devices[android.serial]["error"]
    assert refused["exit_code"] == 1 and "[Interface] PostUp:" in refused["message"]
    assert linux.run_in_phone(f"test -f {STORE}/hooked.conf").status == 0
    assert android.run_in_phone(f"test -e {STORE}/hooked.conf").status != 0


def test_hooks_are_refused_unless_allowed() -> None:
    from wgdroid.device.dialect import HooksRefused

    check = check_config(conf("PostUp = touch /x", "PreDown = true"), "h.conf")
    with pytest.raises(HooksRefused) as refused:
        check.allow_hooks(False)
    assert refused.value.message == ("h.conf has hooks (PostUp at line 4, PreDown at line 5) "
                                     "that a Linux wg-quick on the phone runs as root")
    assert refused.value.exit_code == ExitCode.INVALID and refused.value.hint
    assert check.allow_hooks(True) == refused.value.message  # allowed: still said
    assert check_config(conf(), "n.conf").allow_hooks(False) is None
