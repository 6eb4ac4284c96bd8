"""`wgdroid sim start --kernel vm`: a phone in a qemu guest on Debian's kernel.

The guest is booted once a session (the `vm_phone` fixture); these tests add
a phone to it, and check what the user sees when it cannot boot at all.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sim_fixtures import AdbServer, SimPhone

from wgdroid.exit_codes import ExitCode
from wgdroid.sim.vm import image

# One worker for the VM tests (scripts/test runs xdist), apart from the host phones'.
pytestmark = [pytest.mark.sim, pytest.mark.xdist_group("vm")]


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wgdroid", *args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          env=env if env is not None else dict(os.environ))


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that contain text (a state dir: its qemu)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in argv:
            found.append(f"{pid}: {argv}")
    return found


@pytest.fixture
def private_sim(adb_server: AdbServer, tmp_path: Path) -> dict[str, str]:
    """An environment with its own simulator state dir (a daemon of its own)."""
    return dict(adb_server.env, WGDROID_SIM_DIR=str(tmp_path / "sim"))


def one_line_error(res: subprocess.CompletedProcess[str]) -> str:
    assert res.returncode == ExitCode.ENVIRONMENT, (res.returncode, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wgdroid: error: "), res.stderr
    return lines[0]


def test_no_kernel_in_the_cache_is_named(private_sim: dict[str, str], tmp_path: Path) -> None:
    env = dict(private_sim, WGDROID_VM_CACHE=str(tmp_path / "empty-cache"))
    line = one_line_error(cli("sim", "start", "--kernel", "vm", env=env, timeout=60))
    assert "linux-image-amd64" in line and "scripts/setup" in line
    assert not Path(env["WGDROID_SIM_DIR"]).exists()  # no daemon for nothing


def test_no_qemu_is_named(private_sim: dict[str, str], tmp_path: Path) -> None:
    # A PATH with everything the simulator needs but qemu.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("ip", "wg", "wg-quick", "wireguard-go", "mksh", "adb", "setpriv"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    env = dict(private_sim, PATH=str(bin_dir))
    line = one_line_error(cli("sim", "start", "--kernel", "vm", env=env, timeout=60))
    assert "qemu-system-x86_64" in line and "qemu-system-x86" in line
    assert not Path(env["WGDROID_SIM_DIR"]).exists()


def test_a_guest_that_does_not_boot_in_time(private_sim: dict[str, str]) -> None:
    """A boot timeout: one line, exit 11, no qemu left, the console log kept."""
    image.find()  # the kernel is there: this is about the guest, not the cache
    env = dict(private_sim, WGDROID_VM_BOOT_TIMEOUT="1", WGDROID_VM_ACCEL="tcg")
    state = Path(env["WGDROID_SIM_DIR"])
    line = one_line_error(cli("sim", "start", "--kernel", "vm", env=env, timeout=120))
    assert "did not boot within 1 s" in line and "console.log" in line
    assert processes_mentioning(str(state)) == []
    assert (state / "vm" / "console.log").exists()  # for diagnosis
    assert not (state / "control.sock").exists()
    assert json.loads(cli("sim", "list", "--json", env=env).stdout) == {"phones": []}


@pytest.mark.vm
def test_a_second_vm_phone_lists_reboots_and_stops(vm_phone: SimPhone, adb_server: AdbServer
                                                   ) -> None:
    """On the session's guest: start, list, reboot and stop behave as for host phones,
    and stopping one VM phone leaves the other and the guest running."""
    assert vm_phone.info["kernel"] == "vm" and vm_phone.info["guest_kernel"] == image.find().version
    start = cli("sim", "start", "--kernel", "vm", "--profile", "pixel")
    assert start.returncode == 0, start.stderr
    (serial,) = start.stdout.split()
    assert serial.startswith("127.0.0.1:") and serial != vm_phone.serial
    try:
        assert f"{serial}\tdevice" in adb_server.adb("devices").stdout
        phones = {p["serial"]: p for p in json.loads(cli("sim", "list", "--json").stdout)["phones"]}
        assert phones[serial]["kernel"] == "vm" and phones[serial]["profile"] == "pixel"
        assert phones[serial]["qemu_pid"] == phones[vm_phone.serial]["qemu_pid"]  # one guest
        table = cli("sim", "list").stdout
        assert any(serial in row and " vm " in row for row in table.splitlines()), table
        # Debian's kernel, with the module, is what the phone runs on.
        assert adb_server.adb("-s", serial, "shell", "uname -r").stdout.strip() == \
            vm_phone.info["guest_kernel"] != os.uname().release
        assert adb_server.adb("-s", serial, "shell",
                              "cat /sys/module/wireguard/version").returncode == 0
        # The simulator's own door into a phone (tests' run_in_phone) reaches the guest too.
        ran = vm_phone.run_in_phone("cat /proc/sys/kernel/osrelease; id -u")
        kernel = vm_phone.info["guest_kernel"].encode()
        assert (ran.status, ran.stdout.split()) == (0, [kernel, b"0"])
        # su's policy is the guest simulator's: denied there, granted again.
        assert cli("sim", "su", serial, "--policy", "deny").returncode == 0
        assert adb_server.adb("-s", serial, "shell", "su -c id").returncode != 0
        assert cli("sim", "su", serial, "--policy", "grant").returncode == 0
        assert "uid=0(root)" in adb_server.adb("-s", serial, "shell", "su -c id").stdout
        # Reboot: the transport drops and comes back, /data stays.
        assert adb_server.adb("-s", serial, "shell", "touch /data/local/tmp/kept").returncode == 0
        assert cli("sim", "reboot", serial).returncode == 0
        assert adb_server.adb("-s", serial, "wait-for-device", timeout=120).returncode == 0
        assert adb_server.adb("-s", serial, "shell", "ls /data/local/tmp").stdout == "kept\n"
    finally:
        stop = cli("sim", "stop", serial)
    assert stop.returncode == 0 and stop.stdout.split() == [serial], stop.stderr
    assert serial not in adb_server.adb("devices").stdout
    assert serial not in cli("sim", "list").stdout
    alive = adb_server.adb("-s", vm_phone.serial, "shell", "echo alive")
    assert alive.stdout == "alive\n", stopped_one_disturbed_the_other(alive, vm_phone, adb_server)
    assert Path(f"/proc/{vm_phone.info['qemu_pid']}").exists()


def stopped_one_disturbed_the_other(res: subprocess.CompletedProcess[str], phone: SimPhone,
                                    adb_server: AdbServer) -> str:
    """What to know when the first phone stopped answering (seen once, not reproduced):
    adb's word, adb's device list, whether the guest and the simulator still list it."""
    listed = cli("sim", "list", "--json", timeout=60)
    console = phone.sim.state / "vm" / "console.log"
    tail = console.read_text(errors="replace").splitlines()[-5:] if console.exists() else []
    qemu = Path(f"/proc/{phone.info['qemu_pid']}")
    return (f"adb said rc={res.returncode} stderr={res.stderr!r}; adb devices: "
            f"{adb_server.adb('devices').stdout!r}; qemu alive: "
            f"{qemu.exists()}; sim list: "
            f"{listed.returncode} {listed.stdout.strip()!r} {listed.stderr.strip()!r}; "
            f"console: {tail}")
