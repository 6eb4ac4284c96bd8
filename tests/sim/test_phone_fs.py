"""What the phone looks like from its own shell: Android paths, modes,
properties, tools and shims."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from wgdroid.sim.phone.phone import python_paths

pytestmark = pytest.mark.sim


def test_android_layout_and_permissions(sim_phone) -> None:  # type: ignore[no-untyped-def]
    res = sim_phone.run_in_phone(
        "stat -c '%n %a %U' /data/local/tmp /data/misc/wireguard "
        "/data/misc/wireguard/demo.conf /system/xbin/su /dev/tun"
    )
    assert res.status == 0, res.stderr
    modes = {line.split()[0]: line.split()[1:] for line in res.stdout.decode().splitlines()}
    assert modes["/data/local/tmp"] == ["771", "shell"]
    assert modes["/data/misc/wireguard"] == ["700", "root"]
    assert modes["/data/misc/wireguard/demo.conf"] == ["600", "root"]
    # The shell user can't read root's tunnel configs, but can use /data/local/tmp.
    assert sim_phone.shell("cat /data/misc/wireguard/demo.conf").returncode != 0
    assert sim_phone.shell("echo x > /data/local/tmp/f && cat /data/local/tmp/f").stdout == "x\n"
    # /system is read-only even for root.
    assert sim_phone.run_in_phone("touch /system/bin/x").status != 0


def test_shell_environment(sim_phone) -> None:  # type: ignore[no-untyped-def]
    out = sim_phone.shell(
        "echo $PATH; echo $KSH_VERSION; readlink /system/bin/sh; "
        "command -v wg wg-quick wireguard-go getprop ndc am reboot"
    )
    lines = out.stdout.splitlines()
    assert lines[0].startswith("/product/bin:/apex/com.android.runtime/bin:")
    assert "/system/bin:/system/xbin" in lines[0]
    assert "MIRBSD KSH" in lines[1] or "LEGACY KSH" in lines[1]
    assert lines[2].endswith("mksh")
    assert lines[3:] == [
        f"/system/bin/{t}"
        for t in ("wg", "wg-quick", "wireguard-go", "getprop", "ndc", "am", "reboot")
    ]
    assert sim_phone.shell("command -v python3").stdout == ""  # not in the pixel profile


def test_no_host_shell_or_interpreters_reachable(sim_phone) -> None:  # type: ignore[no-untyped-def]
    # Android has no /usr (system/core/rootdir/Android.mk makes no usr, lib or
    # var): the host programs the phone runs are there, bash, env, python3 and
    # perl are not, not even for root with /usr first on PATH.
    probe = ("PATH=/usr/bin:/usr/sbin:/usr/local/bin:/usr/local/sbin:$PATH; "
             "for p in bash python3 perl dash; do command -v $p; done; "
             "for p in /usr/bin/bash /bin/bash /usr/bin/env /usr/bin/python3 /usr/bin/perl "
             "/usr/sbin/bash; do [ -e $p ] && echo $p; done; true")
    out = sim_phone.shell(probe)
    assert out.stdout == "", out.stdout
    root = sim_phone.shell(f"su -c {probe!r} </dev/null")
    assert (root.returncode, root.stdout) == (0, ""), (root.stdout, root.stderr)
    # What /system/bin runs from there still runs.
    out = sim_phone.shell("ip -V && iptables -V && ls /system && echo ok")
    assert out.stdout.endswith("ok\n"), (out.stdout, out.stderr)


def test_the_root_has_no_usr_lib_or_sbin(sim_phone) -> None:  # type: ignore[no-untyped-def]
    """`adb shell ls /` as on an Android 14 phone: system-as-root makes no usr,
    lib, lib64 or sbin (system/core/rootdir/Android.mk LOCAL_POST_INSTALL_CMD),
    and no root solution has used /sbin since Android 11. The host programs
    the phone runs are in /system/usr, their libraries in /system/lib64, and
    they load through Android's /system/bin/linker64. (The root showed the
    host's /usr, /lib, /lib64 and /sbin.)"""
    top = set(sim_phone.shell("ls /").stdout.split())
    # Android 14's root (Android.mk LOCAL_POST_INSTALL_CMD), nothing else.
    android = {"acct", "apex", "bin", "bugreports", "cache", "config", "d", "data",
               "data_mirror", "debug_ramdisk", "dev", "etc", "linkerconfig", "metadata", "mnt",
               "odm", "oem", "postinstall", "proc", "product", "sdcard",
               "second_stage_resources", "storage", "sys", "system", "system_ext", "vendor"}
    assert top == android, top ^ android
    assert not top & {"usr", "lib", "lib64", "lib32", "libx32", "sbin"}, top
    out = sim_phone.shell("ls -d /lib /usr /sbin /lib64")
    assert out.returncode != 0 and out.stdout == "", out
    assert out.stderr.count("No such file or directory") == 4, out.stderr
    assert sim_phone.shell("readlink /system/bin/linker64").stdout.startswith("/system/lib64/")
    # Everything the phone runs still runs: toybox, mksh, iproute2, xtables
    # (with its extensions), wg, and the Python shims (su, ndc).
    out = sim_phone.shell("ip -V && iptables -V && wg --version && ls /system/lib64 | "
                          "grep -c . && su -c 'iptables -w -A INPUT -m comment --comment "
                          "probe -j ACCEPT && iptables -w -D INPUT -m comment --comment "
                          "probe -j ACCEPT && ndc network list && id -u' </dev/null")
    assert out.returncode == 0 and out.stdout.endswith("\n0\n"), (out.stdout, out.stderr)


def test_the_root_is_read_only_even_for_root(sim_phone) -> None:  # type: ignore[no-untyped-def]
    """Android 14's "/" is its system partition, mounted read-only (first
    stage init's TrySwitchSystemAsRoot and SwitchRoot): as root, through adb
    and su, nothing can be made there ("Read-only file system"), while what
    Android mounts writable stays writable. (The root was a read-write tmpfs
    where `touch /x` worked, with a /work dir holding the host checkout.)"""
    def root(cmd: str) -> subprocess.CompletedProcess[str]:
        return sim_phone.shell(f"su -c {shlex.quote(cmd)} </dev/null")

    made = root("touch /x; mkdir /y; ln -s /data /z; echo done")
    assert made.stdout == "done\n", (made.stdout, made.stderr)
    assert made.stderr.count("Read-only file system") == 3, made.stderr
    assert root("ls -d /x /y /z 2>/dev/null").stdout == ""
    fields = [line.split() for line in root("cat /proc/mounts").stdout.splitlines()]
    assert [f[3].split(",")[0] for f in fields if f[1] == "/"] == ["ro"], fields
    assert re.search(r"^\S+ on / type \S+ \(ro,", root("mount").stdout, re.M)
    # Writable as on a phone: /data, the tmpfs mounts, /cache (a link into /data).
    writable = ("/data/local/tmp", "/data/misc/wireguard", "/data/adb", "/mnt", "/dev",
                "/debug_ramdisk", "/cache")
    probe = root(" ".join(f"echo x > {d}/.probe && rm {d}/.probe && echo {d};"
                          for d in writable))
    assert probe.stdout.split() == list(writable), (probe.stdout, probe.stderr)
    assert sim_phone.shell("echo x > /data/local/tmp/p && cat /data/local/tmp/p").stdout == "x\n"
    # No top dir that only held what the phone runs of the host (the checkout
    # under /work here, the interpreter under /root, a CI clone under /tmp).
    top = set(sim_phone.shell("ls /").stdout.split())
    hosts = {Path(b).parts[1] for b in python_paths()[2]}
    assert "work" not in top and not top & hosts, top & (hosts | {"work"})


def test_remount_rw_leaves_the_system_image_read_only(sim_phone) -> None:  # type: ignore[no-untyped-def]
    """Android 14's "/" and "/system" are a read-only filesystem image
    (erofs on a Pixel 8, behind dm-verity): `mount -o remount,rw` as root
    does not make them writable, the kernel still refuses every write with
    EROFS, and /proc/mounts names the image's filesystem type. (Both were
    tmpfs mounts remounted read-only: root's remount,rw made them writable.)"""
    def root(cmd: str) -> subprocess.CompletedProcess[str]:
        return sim_phone.shell(f"su -c {shlex.quote(cmd)} </dev/null")

    # toybox on a phone: "'/dev/block/dm-5' is read-only" (here a loop device).
    remount = root("mount -o remount,rw /; mount -o remount,rw /system")
    assert remount.stderr.count("is read-only") == 2, (remount.stdout, remount.stderr)
    made = root("touch /x; touch /system/x; mkdir /system/bin/y; echo done")
    assert made.stdout == "done\n", (made.stdout, made.stderr)
    assert made.stderr.count("Read-only file system") == 3, made.stderr
    assert root("ls -d /x /system/x /system/bin/y 2>/dev/null").stdout == ""
    fields = [line.split() for line in root("cat /proc/mounts").stdout.splitlines()]
    for point in ("/", "/system"):
        found = [(f[2], f[3].split(",")[0]) for f in fields if f[1] == point]
        assert found in ([], [("erofs", "ro")]), (point, fields)
    assert [f[2] for f in fields if f[1] == "/"] == ["erofs"], fields
    assert sim_phone.shell("touch /data/local/tmp/still-writable").returncode == 0


@pytest.mark.parametrize("sim_phone", [{"profile": "android-wgquick"}], indirect=True)
def test_no_var_even_with_wireguard_go_serving(sim_phone) -> None:  # type: ignore[no-untyped-def]
    """Android has no /var (its root is the read-only system image). The
    phone's wg and wireguard-go keep UAPI sockets in /mnt/run/wireguard (a
    build for Android cannot use /var/run); the host's said /var/run/wireguard,
    so /var appeared once wireguard-go served a tunnel."""
    up = sim_phone.shell("su -c 'wg-quick up demo' </dev/null")
    assert up.returncode == 0, up.stderr
    assert "var" not in sim_phone.shell("ls /").stdout.split()
    out = sim_phone.shell("su -c 'ls -d /var; ls /mnt/run/wireguard; "
                          "wg show demo listen-port' </dev/null")
    assert "No such file" in out.stderr, out
    assert out.stdout.split()[0] == "demo.sock" and out.stdout.split()[1].isdigit(), out
    assert sim_phone.shell("su -c 'wg-quick down demo' </dev/null").returncode == 0
    assert sim_phone.shell("su -c 'ls /mnt/run/wireguard' </dev/null").stdout == ""


def test_getprop(sim_phone) -> None:  # type: ignore[no-untyped-def]
    assert sim_phone.shell("getprop ro.product.model").stdout == "Pixel 8\n"
    assert sim_phone.shell("getprop ro.build.version.sdk").stdout == "34\n"
    assert sim_phone.shell("getprop ro.product.cpu.abi").stdout == "arm64-v8a\n"
    assert sim_phone.shell("getprop no.such.prop fallback").stdout == "fallback\n"
    listing = sim_phone.shell("getprop").stdout.splitlines()
    assert "[ro.build.version.release]: [14]" in listing
    assert sim_phone.adb.prop.model == "Pixel 8"


def test_private_ram_dirs(sim_phones) -> None:  # type: ignore[no-untyped-def]
    a, b = sim_phones(2)
    # No /run or /tmp, as on Android; each phone's /dev and root are its own.
    for path in ("/run", "/tmp"):
        assert a.run_in_phone(f"ls -d {path}").status != 0, path
    assert a.run_in_phone("echo a > /dev/mark && mkdir /mnt/m && echo a > /mnt/m/mark").status == 0
    assert b.run_in_phone("cat /dev/mark").status != 0
    assert b.run_in_phone("cat /mnt/m/mark").status != 0
    # Own PID namespace: the phone sees only its own processes, under its init.
    names = a.run_in_phone("ps -A -o comm=").stdout.split()
    assert b"adb" not in names and len(names) < 10, names  # the host runs adb
    assert a.run_in_phone("ps -o pid= -p 1").stdout.strip() == b"1"


@pytest.mark.parametrize("sim_phone", [{"profile": "pixel-py"}], indirect=True)
def test_python_profile_has_cryptography(sim_phone) -> None:  # type: ignore[no-untyped-def]
    out = sim_phone.shell("python3 -c 'import cryptography; print(\"ok\")'")
    assert out.stdout == "ok\n", out.stderr


def test_stub_tools(sim_phone) -> None:  # type: ignore[no-untyped-def]
    # ndc reaches netd over binder, which the shell user may not use: exit 1, no reply.
    assert (sim_phone.shell("ndc interface list").returncode,
            sim_phone.shell("ndc interface list").stdout) == (1, "")
    out = sim_phone.shell("su -c 'ndc interface list' </dev/null")
    assert out.returncode == 0 and "110 0 eth0\n" in out.stdout, out
    out = sim_phone.shell("am broadcast -a com.wireguard.android.action.REFRESH_TUNNEL_STATES")
    assert "Broadcast completed" in out.stdout
    assert sim_phone.shell("getenforce").stdout == "Enforcing\n"
    assert sim_phone.shell("setenforce 0").returncode == 1  # shell may not
    assert sim_phone.shell("su -c 'setenforce 0' </dev/null; getenforce").stdout == "Permissive\n"


def test_magisk_cli_and_markers(sim_phone) -> None:  # type: ignore[no-untyped-def]
    assert sim_phone.shell("magisk -v").stdout == "28.1:MAGISK:R\n"
    out = sim_phone.shell(
        "su -c 'magisk --sqlite \"UPDATE policies SET notification=0\" && "
        "[ -d /data/adb/modules ] && echo modules' </dev/null")
    assert out.stdout == "modules\n", out.stderr


def test_pty_shell(sim_phone) -> None:  # type: ignore[no-untyped-def]
    out = sim_phone.server.adb("-s", sim_phone.serial, "shell", "-t", "-t", "tty; id -u")
    lines = out.stdout.replace("\r", "").splitlines()
    assert lines[0].startswith("/dev/pts/"), out
    assert lines[1] == "2000"


@pytest.mark.parametrize("sim_phone", [{"profile": "pixel-bare"}], indirect=True)
def test_bare_profile_has_no_wireguard_tools(sim_phone) -> None:  # type: ignore[no-untyped-def]
    out = sim_phone.shell("for t in wg wg-quick wireguard-go python3; do command -v $t; done; "
                          "getprop ro.build.version.sdk")
    assert out.stdout == "33\n"
    assert sim_phone.shell("su -c 'id -u' </dev/null").stdout == "0\n"


@pytest.mark.parametrize("sim_phone", [{"profile": "android-wgquick"}], indirect=True)
def test_demo_private_key_stays_in_the_phone(sim_phone, sim_state) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    conf = sim_phone.run_in_phone("cat /data/misc/wireguard/demo.conf").stdout.decode()
    key = next(line.split("=", 1)[1].strip() for line in conf.splitlines()
               if line.startswith("PrivateKey"))
    assert len(key) == 44
    assert sim_phone.shell("su -c 'wg-quick up demo' </dev/null").returncode == 0
    assert sim_phone.shell("ls /sys/class/net/demo").returncode == 0
    needle = key.encode()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                assert needle not in (proc / "cmdline").read_bytes()
            except OSError:
                continue
    for log in sim_state.state.rglob("*log"):
        assert needle not in log.read_bytes()
