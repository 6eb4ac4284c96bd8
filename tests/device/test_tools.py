"""`wgdroid tools` and the bundled userspace backend on simulated phones: real
adb server, real su, real wg/wg-quick/wireguard-go and wgdroid's own data
plane in the phone's namespaces. The pure parts (bundle, layout, parsing)
first; they need no phone."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from host_tools import host_tools
from support import wait_for_handshake, wait_until

from wgdroid.device import bundle, tools
from wgdroid.errors import NotFoundError

BIN = tools.BIN_DIR
WGDROID_DIR = "/data/adb/wgdroid"
HEAVY = ("textual", "adbutils", "pydantic", "segno", "PIL", "zxingcpp")


def cli(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wgdroid", *args], capture_output=True, text=True,
        timeout=timeout, env=dict(os.environ), stdin=subprocess.DEVNULL,
    )


def ok(*args: str) -> subprocess.CompletedProcess[str]:
    res = cli(*args)
    assert res.returncode == 0, f"wgdroid {' '.join(args)}: {res.stderr}"
    return res


def on_phone(phone: Any, cmd: str) -> tuple[int, str]:
    res = phone.run_in_phone(cmd, timeout=30)
    out = res.stdout.decode() if isinstance(res.stdout, bytes) else str(res.stdout)
    return res.status, out


# These tests push the host's wg-quick, the Linux one (a bash script), and run
# tunnels with it: only a phone whose rules still look up `main` and that has
# bash can (the simulator's kinder phone; no Android phone is one).
# tests/sim/test_android_bringup.py brings every backend up on Android's.
LINUX_WG_QUICK = {"android_net": False}


# -- pure -----------------------------------------------------------------------


def test_bundle_holds_the_data_plane_and_nothing_heavy() -> None:
    data = bundle.build_zip()
    assert data == bundle.build_zip()  # deterministic
    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert {"wgdroid/__init__.py", "wgdroid/errors.py", "wgdroid/userspace/__main__.py",
            "wgdroid/userspace/daemon.py", "wgdroid/userspace/core/noise.py"} <= names
    assert not any(n.startswith(("wgdroid/cli/", "wgdroid/tui/", "wgdroid/device/",
                                 "wgdroid/sim/")) for n in names)
    assert "wgdroid/userspace/testnet.py" not in names


def test_bundle_runs_from_the_zip_alone(tmp_path: Path) -> None:
    """Imported from the zip (not the checkout), it loads no CLI/TUI dependency."""
    (tmp_path / "u.zip").write_bytes(bundle.build_zip())
    probe = (
        "import sys, wgdroid, wgdroid.userspace.__main__, wgdroid.userspace.daemon\n"
        "print(wgdroid.__file__)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    res = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, "
                          f"{str(tmp_path / 'u.zip')!r}); exec({probe!r})"],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    where, heavy = res.stdout.splitlines()
    assert where.startswith(str(tmp_path / "u.zip")) and heavy == "[]"


def test_local_layouts(tmp_path: Path) -> None:
    per_abi = tmp_path / "a"
    (per_abi / "arm64").mkdir(parents=True)  # the APK lib-dir name works too
    (per_abi / "arm64" / "wg").write_bytes(b"W")
    (per_abi / "x86_64").mkdir()
    (per_abi / "x86_64" / "wg-quick").write_bytes(b"Q")
    where, found = tools.local_binaries(per_abi, ["arm64-v8a", "armeabi-v7a"])
    assert where.endswith("arm64") and found == {"wg": b"W"}
    assert tools.local_binaries(per_abi, ["x86_64"])[1] == {"wg-quick": b"Q"}
    with pytest.raises(NotFoundError, match=r"armeabi-v7a.*it has: arm64, x86_64"):
        tools.local_binaries(per_abi, ["armeabi-v7a"])
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "wg").write_bytes(b"F")
    assert not tools.local_layout_needs_abi(flat)
    assert tools.local_binaries(flat, [])[1] == {"wg": b"F"}
    with pytest.raises(NotFoundError):
        tools.local_binaries(tmp_path / "missing", [])


def test_parse_status() -> None:
    out = "\n".join([
        "fact\tabi\tarm64-v8a", "fact\tabilist\tarm64-v8a,armeabi-v7a",
        "fact\tapp_apk\t/d/base.apk",
        "active\twg\t/data/adb/wgdroid/bin/wg", "active\twg-quick\t/system/bin/wg-quick",
        "found\twg\t/data/adb/wgdroid/bin/wg\twgdroid\twireguard-tools v1.0",
        "found\twg\t/d/lib/arm64/libwg.so\tapp-lib\twireguard-tools v1.0",
        "found\twg\t/d/lib/arm64/libwg.so\tapp-lib\twireguard-tools v1.0",  # duplicate: dropped
        "found\twg-quick\t/system/bin/wg-quick\tsystem\tandroid",
        "fact\tsocket_dir\t/data/data/com.wireguard.android/cache/wireguard", "noise",
    ])
    st = tools.parse_status("S", out)
    assert st.abilist == ["arm64-v8a", "armeabi-v7a"] and st.app_apk == "/d/base.apk"
    assert st.tools["wg"].version == "wireguard-tools v1.0"
    assert [loc.source for loc in st.tools["wg"].locations] == ["wgdroid", "app-lib"]
    assert st.tools["wg-quick"].variant == "android" and st.tools["wg-quick"].version is None
    assert st.tools["wireguard-go"].active is None and st.python3 is None
    assert json.loads(json.dumps(st.to_json()))["tools"]["wg"]["active"].endswith("/bin/wg")


# -- simulated phones -----------------------------------------------------------

sim = pytest.mark.sim


def status_json(phone: Any) -> dict[str, Any]:
    return dict(json.loads(ok("tools", "status", "-s", phone.serial, "--json").stdout))


@sim
def test_status_on_a_full_and_a_bare_phone(sim_phones: Any) -> None:
    full = sim_phones(1, "pixel")[0]
    bare = sim_phones(1, "pixel-bare")[0]
    st = status_json(full)
    assert st["tools"]["wg"]["active"] == "/system/bin/wg"
    assert st["tools"]["wg"]["version"].startswith("wireguard-tools v")
    assert st["tools"]["wg-quick"]["variant"] == "linux"
    assert st["tools"]["wireguard-go"]["version"].startswith("wireguard-go v")
    assert st["tools"]["wgdroid-userspace"]["active"] is None
    assert st["abi"] == "arm64-v8a" and st["method"] == "magisk"
    text = ok("tools", "status", "-s", full.serial).stdout
    assert "wg-quick       /system/bin/wg-quick (linux)" in text

    st = status_json(bare)
    assert all(t["active"] is None and t["locations"] == [] for t in st["tools"].values())
    assert st["app_apk"] is None and st["socket_dir"] is None


@sim
@pytest.mark.parametrize("sim_phone", [{"profile": "pixel-bare", **LINUX_WG_QUICK}],
                         indirect=True)
def test_bare_phone_no_tools_then_from_dir_then_remove(sim_phone: Any, tmp_path: Path) -> None:
    serial = sim_phone.serial
    res = cli("tools", "install", "-s", serial)
    assert res.returncode == 9, res.stderr
    for fix in ("wgdroid tools install --from DIR", "scripts/build-device-tools",
                "official WireGuard app"):
        assert fix in res.stderr
    assert "Traceback" not in res.stderr
    assert on_phone(sim_phone, f"test -e {WGDROID_DIR}")[0] != 0  # nothing left behind
    assert cli("enable", "-s", serial, "demo").returncode == 9

    src = host_tools(tmp_path, ("wg", "wg-quick", "wireguard-go"), "arm64-v8a")
    start = time.monotonic()
    res = ok("tools", "install", "-s", serial, "--from", str(src), "--json")
    took = time.monotonic() - start
    doc = json.loads(res.stdout)
    assert {(t["tool"], t["action"]) for t in doc["tools"]} == {
        ("wg", "installed"), ("wg-quick", "installed"), ("wireguard-go", "installed")}
    assert doc["round_trips"] == 2  # the ABI list, then the install
    size = sum(p.stat().st_size for p in src.rglob("*") if p.is_file()) // 1024
    print(f"\ntools install --from (3 binaries, {size} KiB): {took:.2f} s")
    _, modes = on_phone(sim_phone, f"stat -c '%n %a %u' {BIN}/*")
    assert sorted(modes.split("\n")[:-1]) == [
        f"{BIN}/{n} 755 0" for n in ("wg", "wg-quick", "wireguard-go")]
    assert on_phone(sim_phone, f"cmp {BIN}/wg /usr/bin/wg")[0] == 0
    assert on_phone(sim_phone, f"ls -A {BIN} {tools.LIB_DIR}")[1].count(".tmp") == 0

    res = ok("enable", "-s", serial, "demo", "--json")
    assert json.loads(res.stdout)["backend"] == "wireguard-go"
    ping = sim_phone.run_in_phone(f"ping -c 1 -W 3 {sim_phone.info['server_tunnel_ip']}")
    assert ping.status == 0
    # Removing tools a tunnel runs on is refused; disable first.
    res = cli("tools", "remove", "-s", serial)
    assert res.returncode == 8 and "demo" in res.stderr
    ok("disable", "-s", serial, "demo")

    removed = json.loads(ok("tools", "remove", "-s", serial, "--json").stdout)["removed"]
    assert removed == [WGDROID_DIR]
    assert on_phone(sim_phone, f"test -e {WGDROID_DIR}")[0] != 0
    st = status_json(sim_phone)
    assert all(t["active"] is None for t in st["tools"].values())
    assert "nothing" in cli("tools", "remove", "-s", serial).stderr


@sim
@pytest.mark.parametrize("sim_phone", [{"profile": "pixel-bare", **LINUX_WG_QUICK}],
                         indirect=True)
def test_magisk_module_install_and_remove(sim_phone: Any, tmp_path: Path) -> None:
    src = host_tools(tmp_path, ("wg", "wg-quick"), None)  # flat layout: one round trip
    doc = json.loads(ok("tools", "install", "-s", sim_phone.serial, "--from", str(src),
                        "--magisk-module", "--json").stdout)
    assert doc["round_trips"] == 1
    module = tools.MODULE_DIR
    assert {t["path"] for t in doc["tools"]} == {f"{module}/system/bin/wg",
                                                 f"{module}/system/bin/wg-quick"}
    _, prop = on_phone(sim_phone, f"cat {module}/module.prop")
    assert "id=wgdroid-tools\n" in prop and "versionCode=1\n" in prop
    st = status_json(sim_phone)  # found at once, before any reboot
    assert st["tools"]["wg"]["active"] == f"{module}/system/bin/wg"
    assert st["tools"]["wg"]["locations"][0]["source"] == "magisk:wgdroid-tools"
    ok("tools", "remove", "-s", sim_phone.serial)
    assert on_phone(sim_phone, f"test -e {module} || test -e {WGDROID_DIR}")[0] != 0


def streams(phone: Any) -> int:
    return sum(phone.counters().values())


def assert_daemon_gone(phone: Any, name: str, sock_dir: str = "/var/run/wireguard") -> None:
    """wg-quick down deletes the link; the daemon notices and exits with its socket."""
    wait_until(lambda: on_phone(phone, "pgrep -f 'wgdroid[.]userspace'"),
               check=lambda res: res[0] != 0, timeout=5, interval=0.2,
               what="the userspace daemon to exit after disable")
    assert on_phone(phone, f"test -e {sock_dir}/{name}.sock")[0] != 0
    assert on_phone(phone, f"ip link show {name}")[0] != 0


@sim
@pytest.mark.parametrize("sim_phone", [{"profile": "pixel-userspace", **LINUX_WG_QUICK}],
                         indirect=True)
def test_userspace_backend_on_a_python_only_phone(sim_phone: Any, tmp_path: Path) -> None:
    serial, server = sim_phone.serial, sim_phone.info["server_tunnel_ip"]
    src = host_tools(tmp_path, ("wg", "wg-quick"), None)
    before, start = streams(sim_phone), time.monotonic()
    doc = json.loads(ok("tools", "install", "-s", serial, "--from", str(src), "--userspace",
                        "--json").stdout)
    took, trips = time.monotonic() - start, streams(sim_phone) - before
    assert doc["socket_dir"] == "/var/run/wireguard" and trips == 1
    assert {t["tool"] for t in doc["tools"]} >= {"wg", "wg-quick", tools.LAUNCHER}
    print(f"\ntools install --from --userspace: {took:.2f} s, {trips} adb stream(s)")
    st = status_json(sim_phone)
    assert st["tools"][tools.LAUNCHER]["active"] == f"{BIN}/{tools.LAUNCHER}"
    assert st["userspace_version"] and st["cryptography"]
    # The phone's python3 imports the data plane from the zip, without CLI/TUI deps.
    code = ("import sys, wgdroid, wgdroid.userspace.daemon; print(wgdroid.__file__); "
            f"print([m for m in sys.modules if m.split('.')[0] in {HEAVY!r}])")
    res = sim_phone.run_in_phone(["env", f"PYTHONPATH={tools.USERSPACE_ZIP}",
                                  "/system/bin/python3", "-c", code], timeout=60)
    out = res.stdout.decode() if isinstance(res.stdout, bytes) else str(res.stdout)
    assert res.status == 0, res.stderr
    assert out.split("\n")[:2] == [f"{tools.USERSPACE_ZIP}/wgdroid/__init__.py", "[]"]

    demo = tmp_path / "demo.conf"
    ok("pull", "-s", serial, "demo", "-o", str(demo))
    conf = tmp_path / "us0.conf"
    conf.write_bytes(demo.read_bytes())
    conf.chmod(0o600)
    before, start = streams(sim_phone), time.monotonic()
    res = ok("push", "-s", serial, str(conf), "--enable", "--json")
    took, trips = time.monotonic() - start, streams(sim_phone) - before
    assert json.loads(res.stdout)["backend"] == "userspace"
    # The demo peer has no keepalive: traffic through the tunnel starts the handshake.
    ping = sim_phone.run_in_phone(f"ping -c 2 -W 3 {server}")
    iface = wait_for_handshake(serial, "us0", timeout=10)
    print(f"push --enable (userspace): {took:.2f} s, {trips} adb stream(s); handshake seen "
          f"{time.monotonic() - start:.2f} s after the push started")
    assert ping.status == 0
    assert iface["backend"] == "userspace" and iface["peers"][0]["rx_bytes"] > 0
    ok("disable", "-s", serial, "us0")
    assert_daemon_gone(sim_phone, "us0")

    # Without the userspace part, `enable --backend userspace` installs it by itself.
    ok("tools", "remove", "-s", serial)
    ok("tools", "install", "-s", serial, "--from", str(src))
    assert status_json(sim_phone)["tools"][tools.LAUNCHER]["active"] is None
    before, start = streams(sim_phone), time.monotonic()
    res = ok("enable", "-s", serial, "demo", "--backend", "userspace", "--json")
    took, trips = time.monotonic() - start, streams(sim_phone) - before
    print(f"enable --backend userspace with the install on the way: {took:.2f} s, "
          f"{trips} adb stream(s)")
    assert json.loads(res.stdout)["backend"] == "userspace" and trips == 3
    assert sim_phone.run_in_phone(f"ping -c 1 -W 3 {server}").status == 0
    ok("disable", "-s", serial, "demo")
    assert_daemon_gone(sim_phone, "demo")

    # `auto` too, when the phone has no module and no wireguard-go.
    ok("tools", "remove", "-s", serial)
    ok("tools", "install", "-s", serial, "--from", str(src))
    res = ok("enable", "-s", serial, "demo", "--json")
    assert json.loads(res.stdout)["backend"] == "userspace"
    ok("disable", "-s", serial, "demo")
    assert_daemon_gone(sim_phone, "demo")

    # And `push --enable`: the config is stored, then the data plane installed on the way.
    ok("tools", "remove", "-s", serial)
    ok("tools", "install", "-s", serial, "--from", str(src))
    pulled = tmp_path / "again.conf"
    ok("pull", "-s", serial, "demo", "-o", str(pulled))
    res = ok("push", "-s", serial, str(pulled), "--name", "again", "--enable", "--json")
    assert json.loads(res.stdout)["backend"] == "userspace"
    assert sim_phone.run_in_phone(f"ping -c 1 -W 3 {server}").status == 0
    ok("disable", "-s", serial, "again")
    assert_daemon_gone(sim_phone, "again")
    ok("tools", "remove", "-s", serial)
    assert on_phone(sim_phone, f"test -e {WGDROID_DIR}")[0] != 0


@sim
@pytest.mark.parametrize("sim_phone", [{"profile": "wg-app"}], indirect=True)
def test_reuse_the_official_apps_bundled_tools(sim_phone: Any, tmp_path: Path) -> None:
    serial = sim_phone.serial
    st = status_json(sim_phone)
    assert st["app_apk"] and st["tools"]["wg"]["active"] is None
    libs = {loc["path"].rsplit("/", 1)[1]: loc["path"]
            for name in ("wg", "wg-quick") for loc in st["tools"][name]["locations"]
            if loc["source"] == "app-lib"}
    assert set(libs) == {"libwg.so", "libwg-quick.so"}

    doc = json.loads(ok("tools", "install", "-s", serial, "--json").stdout)
    assert {(t["tool"], t["action"], t["path"]) for t in doc["tools"]} == {
        ("wg", "copied", f"{BIN}/wg"), ("wg-quick", "copied", f"{BIN}/wg-quick")}
    assert doc["round_trips"] == 1
    for tool, lib in (("wg", "libwg.so"), ("wg-quick", "libwg-quick.so")):
        assert on_phone(sim_phone, f"cmp {BIN}/{tool} {libs[lib]}")[0] == 0
        assert on_phone(sim_phone, f"stat -c '%a %u' {BIN}/{tool}")[1].split() == ["755", "0"]
    st = status_json(sim_phone)
    assert st["tools"]["wg"]["active"] == f"{BIN}/wg"
    assert st["tools"]["wg"]["version"].startswith("wireguard-tools v")
    assert st["tools"]["wg-quick"]["variant"] == "android"
    # The app's wg-quick is the Android one, on the phone's kernel module.
    demo = tmp_path / "demo.conf"
    ok("pull", "-s", serial, "demo", "-o", str(demo))
    res = ok("push", "-s", serial, str(demo), "--name", "app0", "--enable", "--json")
    assert json.loads(res.stdout)["backend"] == "kernel"
    server = sim_phone.info["server_tunnel_ip"]
    assert sim_phone.run_in_phone(f"ping -c 1 -W 3 {server}").status == 0
    assert wait_for_handshake(sim_phone.serial, "app0", timeout=10)["peers"][0]["latest_handshake"]
    busy = cli("tools", "remove", "-s", serial)
    assert busy.returncode == 8, busy.stderr  # refused while a tunnel runs on them
    ok("disable", "-s", serial, "app0")
    assert on_phone(sim_phone, "ip link show app0")[0] != 0

    ok("tools", "remove", "-s", serial)
    assert on_phone(sim_phone, f"test -e {WGDROID_DIR}")[0] != 0
    assert all(on_phone(sim_phone, f"test -x {p}")[0] == 0 for p in libs.values())


@sim
@pytest.mark.parametrize("sim_phone", [{"profile": "android-wgquick"}], indirect=True)
def test_tools_already_there_are_kept(sim_phone: Any, tmp_path: Path) -> None:
    doc = json.loads(ok("tools", "install", "-s", sim_phone.serial, "--json").stdout)
    assert {(t["tool"], t["action"], t["path"]) for t in doc["tools"]} == {
        ("wg", "kept", "/system/bin/wg"), ("wg-quick", "kept", "/system/bin/wg-quick")}
    assert on_phone(sim_phone, f"test -e {WGDROID_DIR}")[0] != 0  # nothing written
    # No python3 here: the userspace backend can't be installed, and says why.
    res = cli("tools", "install", "-s", sim_phone.serial, "--userspace")
    assert res.returncode == 9 and "python3" in res.stderr
    assert on_phone(sim_phone, f"test -e {WGDROID_DIR}")[0] != 0


@sim
@pytest.mark.parametrize("sim_phone", [{"profile": "pixel-bare", "root": "aosp", **LINUX_WG_QUICK}],
                         indirect=True)
def test_refusals_say_why(sim_phone: Any, tmp_path: Path) -> None:
    src = host_tools(tmp_path, ("wg", "wg-quick"), None)
    res = cli("tools", "install", "-s", sim_phone.serial, "--from", str(src), "--magisk-module")
    assert res.returncode == 9 and "needs Magisk" in res.stderr, res.stderr
    # A wg-quick script whose interpreter the phone lacks (Android has no /bin/bash).
    script = src / "wg-quick"
    script.write_text("#!/nonexistent/bash -e\necho hi\n")
    res = cli("tools", "install", "-s", sim_phone.serial, "--from", str(src))
    assert res.returncode == 9 and "script for /nonexistent/bash" in res.stderr, res.stderr
    assert on_phone(sim_phone, f"test -e {WGDROID_DIR}")[0] != 0  # refused before writing
    # An old python3 (where a Termux-less phone might have one) can't run the data plane.
    old_py = "#!/system/bin/sh\ncase \"$1\" in -V) echo Python 3.9.2 ;; esac\nexit 1\n"
    made = sim_phone.run_in_phone(["sh", "-c", "mkdir -p /data/local/bin && cat > "
                                   "/data/local/bin/python3 && chmod 755 /data/local/bin/python3"],
                                  input=old_py.encode())
    assert made.status == 0
    src = host_tools(tmp_path / "b", ("wg", "wg-quick"), None)
    res = cli("tools", "install", "-s", sim_phone.serial, "--from", str(src), "--userspace")
    assert res.returncode == 9, res.stderr
    assert "needs Python 3.11 or newer; /data/local/bin/python3 is Python 3.9.2" in res.stderr


def wg_with_runstatedir(src: Path, runstatedir: bytes) -> None:
    """The host's wg with another compiled-in RUNSTATEDIR (same length, patched in),
    like a device build made with RUNSTATEDIR=... for a phone without /var/run."""
    wg = src / "wg"
    data = wg.read_bytes()
    assert len(runstatedir) == len(b"/var/run") and data.count(b"/var/run/wireguard/") == 2
    wg.write_bytes(data.replace(b"/var/run/wireguard/", runstatedir + b"/wireguard/"))


@sim
@pytest.mark.parametrize("sim_phone", [{"profile": "pixel-userspace", **LINUX_WG_QUICK}],
                         indirect=True)
def test_userspace_follows_the_socket_dir_compiled_into_wg(sim_phone: Any,
                                                          tmp_path: Path) -> None:
    serial = sim_phone.serial
    src = host_tools(tmp_path, ("wg", "wg-quick"), None)
    # A directory that can't be made (read-only, as / is on a phone): refused, with the fix.
    wg_with_runstatedir(src, b"/sys/run")
    res = cli("tools", "install", "-s", serial, "--from", str(src), "--userspace")
    assert res.returncode == 9 and "/sys/run/wireguard" in res.stderr, res.stderr
    assert "RUNSTATEDIR=/data/adb/wgdroid/run" in res.stderr
    assert on_phone(sim_phone, f"test -e {tools.USERSPACE_ZIP}")[0] != 0

    src = host_tools(tmp_path / "b", ("wg", "wg-quick"), None)
    wg_with_runstatedir(src, b"/data/wg")  # on /data, as a phone build would be
    doc = json.loads(ok("tools", "install", "-s", serial, "--from", str(src), "--userspace",
                        "--json").stdout)
    assert doc["socket_dir"] == "/data/wg/wireguard"
    assert status_json(sim_phone)["socket_dir"] == "/data/wg/wireguard"
    res = ok("enable", "-s", serial, "demo", "--json")
    assert json.loads(res.stdout)["backend"] == "userspace"
    assert on_phone(sim_phone, "test -S /data/wg/wireguard/demo.sock")[0] == 0
    assert sim_phone.run_in_phone(
        f"ping -c 1 -W 3 {sim_phone.info['server_tunnel_ip']}").status == 0
    iface = wait_for_handshake(serial, "demo", timeout=10)  # wg show reads the socket there
    assert iface["backend"] == "userspace"
    ok("disable", "-s", serial, "demo")
    assert_daemon_gone(sim_phone, "demo", "/data/wg/wireguard")
