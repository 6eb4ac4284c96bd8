"""`wgdroid sim start/list/stop` as a user runs them, and what stop leaves behind."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import wait_until

from wgdroid.exit_codes import ExitCode
from wgdroid.sim.phone import ns


def wgdroid(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wgdroid", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def cli_env(adb_server, tmp_path: Path):  # type: ignore[no-untyped-def]
    env = dict(adb_server.env, WGDROID_SIM_DIR=str(tmp_path / "sim"))
    yield env
    wgdroid(env, "sim", "stop", "--all")


def _host_links() -> set[str]:
    return set(os.listdir("/sys/class/net"))


@pytest.mark.sim
def test_start_list_stop_leaves_nothing(cli_env, adb_server) -> None:  # type: ignore[no-untyped-def]
    state = Path(cli_env["WGDROID_SIM_DIR"])
    links_before = _host_links()
    out = wgdroid(cli_env, "sim", "start", "--devices", "2", "--root", "kernelsu", "--json")
    assert out.returncode == 0, out.stderr
    phones = json.loads(out.stdout)["phones"]
    assert [p["root"] for p in phones] == ["kernelsu", "kernelsu"]
    serials = [p["serial"] for p in phones]
    assert all(s.startswith("127.0.0.1:") and int(s.split(":")[1]) >= 15555 for s in serials)
    devices = adb_server.adb("devices").stdout
    for serial in serials:
        assert f"{serial}\tdevice" in devices
    # A tunnel, so there is a tunnel daemon to clean up too.
    up = wgdroid(cli_env, "enable", "-s", serials[0], "demo")
    assert up.returncode == 0, up.stderr
    zygotes = [p["pid"] for p in phones]
    netns = {ns.netns_inode(pid) for pid in zygotes}
    assert all(ns.pids_in_netns(i) for i in netns)

    listed = json.loads(wgdroid(cli_env, "sim", "list", "--json").stdout)["phones"]
    assert [p["serial"] for p in listed] == serials
    assert listed[0]["counters"].get("shell", 0) >= 1
    table = wgdroid(cli_env, "sim", "list").stdout
    assert serials[0] in table and "kernelsu" in table

    # A second start reuses the daemon and adds a phone.
    more = wgdroid(cli_env, "sim", "start")
    assert more.returncode == 0, more.stderr
    assert more.stdout.strip() not in serials

    stop = wgdroid(cli_env, "sim", "stop", "--all")
    assert stop.returncode == 0, stop.stderr
    assert set(stop.stdout.split()) == {*serials, more.stdout.strip()}
    devices = adb_server.adb("devices").stdout
    assert not any(s in devices for s in serials)
    # No process in any phone namespace, no zygote, no mount, no veth, no files.
    assert not any(ns.pids_in_netns(i) for i in netns)
    for pid in zygotes:
        assert not Path(f"/proc/{pid}").exists()
    assert str(state) not in Path("/proc/self/mountinfo").read_text()
    assert not state.exists()
    # Our veths were created straight inside the namespaces and died with them
    # (other test runs may add their own links and named netns meanwhile).
    new_links = _host_links() - links_before
    assert not [n for n in new_links if re.fullmatch(r"p\d+|eth0", n)], new_links
    named = Path("/run/netns")
    if named.is_dir():
        assert not {os.stat(f).st_ino for f in named.iterdir()} & netns


@pytest.mark.sim
def test_stop_one_phone_keeps_the_other(cli_env, adb_server) -> None:  # type: ignore[no-untyped-def]
    out = wgdroid(cli_env, "sim", "start", "--devices", "2")
    a, b = out.stdout.split()
    assert wgdroid(cli_env, "sim", "stop", a).stdout.split() == [a]
    assert adb_server.adb("-s", b, "shell", "echo", "alive").stdout == "alive\n"
    assert adb_server.adb("-s", b, "shell", "touch /data/local/tmp/kept").returncode == 0
    assert wgdroid(cli_env, "sim", "reboot", b).returncode == 0
    assert adb_server.adb("-s", b, "wait-for-device").returncode == 0
    assert adb_server.adb("-s", b, "shell", "ls /data/local/tmp").stdout == "kept\n"
    listed = json.loads(wgdroid(cli_env, "sim", "list", "--json").stdout)["phones"]
    assert [p["serial"] for p in listed] == [b]
    # Stopping the last one removes the simulator as well.
    assert wgdroid(cli_env, "sim", "stop", b).returncode == 0
    assert not Path(cli_env["WGDROID_SIM_DIR"]).exists()


@pytest.mark.sim
def test_errors_are_one_line(cli_env) -> None:  # type: ignore[no-untyped-def]
    out = wgdroid(cli_env, "sim", "start", "--devices", "0")
    assert out.returncode == ExitCode.USAGE
    assert out.stderr.strip().splitlines()[-1].startswith("wgdroid: error:")
    out = wgdroid(cli_env, "sim", "start", "--profile", "nokia")
    assert out.returncode == ExitCode.USAGE and "unknown phone profile" in out.stderr
    assert "Traceback" not in out.stderr
    out = wgdroid(cli_env, "sim", "start", "--port", "5555", "--no-connect")
    assert out.returncode == ExitCode.USAGE and "emulator port" in out.stderr
    assert not Path(cli_env["WGDROID_SIM_DIR"]).exists()  # no daemon left for nothing
    out = wgdroid(cli_env, "sim", "su", "127.0.0.1:1", "--answer", "grant")
    assert out.returncode == ExitCode.NOT_FOUND
    assert out.stderr.count("\n") <= 2 and "Traceback" not in out.stderr
    out = wgdroid(cli_env, "sim", "stop", "127.0.0.1:1")
    assert out.returncode == ExitCode.OK and "no simulator is running" in out.stderr
    out = wgdroid(cli_env, "sim", "list")
    assert out.returncode == ExitCode.OK and out.stdout == ""


@pytest.mark.sim
def test_not_root_is_an_environment_problem(cli_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = dict(cli_env, WGDROID_SIM_DIR=str(tmp_path / "nobody"), HOME=str(tmp_path))
    os.chmod(tmp_path, 0o777)
    out = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            sys.executable,
            "-m",
            "wgdroid",
            "sim",
            "start",
            "--no-connect",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd="/",
    )
    assert out.returncode == ExitCode.ENVIRONMENT, out.stderr
    assert "needs root" in out.stderr


@pytest.mark.sim
def test_a_killed_daemon_takes_its_phones_along(cli_env, adb_server) -> None:  # type: ignore[no-untyped-def]
    import signal

    state = Path(cli_env["WGDROID_SIM_DIR"])
    out = wgdroid(cli_env, "sim", "start", "--json", "--devices", "2")
    phone, other = json.loads(out.stdout)["phones"]
    inode = ns.netns_inode(phone["pid"])
    assert ns.pids_in_netns(inode)
    os.kill(int((state / "daemon.pid").read_text()), signal.SIGKILL)
    wait_until(lambda: ns.pids_in_netns(inode), check=lambda pids: pids == [], timeout=10,
               what="the phone's processes to die with the daemon")
    assert ns.pids_in_netns(inode) == []
    # The next start cleans up after it (stale adb entries too) and works.
    again = wgdroid(cli_env, "sim", "start")
    assert again.returncode == 0, again.stderr
    devices = adb_server.adb("devices").stdout
    assert f"{again.stdout.strip()}\tdevice" in devices
    assert other["serial"] not in devices or again.stdout.strip() == other["serial"]
    assert wgdroid(cli_env, "sim", "stop", "--all").returncode == 0
    assert not state.exists()
