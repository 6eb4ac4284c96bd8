"""Builds a phone's private root inside its fresh mount namespace (run by the
zygote, as root, before it pivots into it)."""

from __future__ import annotations

import base64
import glob
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

from wgdroid.sim.phone import elf, kmod_standin, ns, shims, sysimage
from wgdroid.sim.phone.android_ids import AID_APP_START, getpwent
from wgdroid.sim.phone.spec import PHONE_TREES, STAGE_DIR, NodeSpec

SHELL_UID = 2000
SYSTEM_UID = 1000
MISC_GID = 9998
# The shell user's supplementary groups on a Pixel (input, log, adb, sdcard_rw,
# sdcard_r, net_bt_admin, net_bt, inet, net_bw_stats, readproc, uhid).
SHELL_GROUPS = (1004, 1007, 1011, 1015, 1028, 3001, 3002, 3003, 3006, 3009, 3011)
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
AID_VPN = 1016
AID_CACHE = 2001
TUN_MAJOR, TUN_MINOR = 10, 200
# The root's dirs (system/core/rootdir/Android.mk LOCAL_POST_INSTALL_CMD for
# Android 14: dev proc sys system data data_mirror odm oem acct config storage
# mnt apex debug_ramdisk linkerconfig second_stage_resources postinstall, plus
# vendor, product, system_ext and metadata for their partitions).
EMPTY_DIRS = (
    "product/bin", "apex/com.android.runtime/bin", "apex/com.android.art/bin",
    "system_ext/bin", "odm/bin", "vendor/bin", "vendor/xbin", "mnt", "storage",
    "config", "acct", "data_mirror", "oem", "debug_ramdisk", "linkerconfig",
    "second_stage_resources", "postinstall", "metadata",
)
# Its links besides bin, etc and sdcard (the same LOCAL_POST_INSTALL_CMD; a
# phone with no cache partition, as a Pixel 8, has /cache -> /data/cache).
ROOT_LINKS = {"d": "/sys/kernel/debug", "cache": "/data/cache",
              "bugreports": "/data/user_de/0/com.android.shell/files/bugreports"}
WG_APP = "com.wireguard.android"
WG_APP_UID = 10123
# The apps every simulated phone has installed (package, uid), for per-app
# routing: /data/system/packages.list, their data dirs, `pm list packages`.
APPS = (("com.android.chrome", 10131), ("org.mozilla.firefox", 10145),
        ("com.google.android.youtube", 10152), ("com.termux", 10166))
# Host files the phone's glibc userland needs in /system/etc (the rest of the
# host's /etc, resolv.conf above all, is not there: Android has none of it).
HOST_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime",
            "protocols", "services", "ethertypes", "gai.conf", "host.conf", "ssl",
            "magic", "magic.mime", "python3", "python3.11", "python3.12", "python3.13")
# /system/etc/hosts on Android (system/core/rootdir/etc/hosts).
ANDROID_HOSTS = "127.0.0.1       localhost\n::1             ip6-localhost\n"
# For the glibc programs: where names come from (DNS: 127.0.0.1, as no
# resolv.conf says; the phone's dnsproxyd stand-in answers there).
NSSWITCH = ("passwd: files\ngroup: files\nhosts: files dns\nnetworks: files\n"
            "protocols: files\nservices: files\n")
# Build.SUPPORTED_ABIS name -> the APK's lib/ dir on the phone.
ABI_DIRS = {"arm64-v8a": "arm64", "armeabi-v7a": "arm", "x86_64": "x86_64", "x86": "x86"}


def _mkdir(path: Path, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def _write(path: Path, text: str, mode: int = 0o755) -> None:
    path.write_text(text)
    os.chmod(path, mode)


def prepare_data(data: Path, su_variant: str = "none") -> None:
    """/data as Android lays it out (idempotent: kept across reboots)."""
    _mkdir(data, 0o771, SYSTEM_UID, SYSTEM_UID)
    _mkdir(data / "local", 0o751)
    _mkdir(data / "local/tmp", 0o771, SHELL_UID, SHELL_UID)
    _mkdir(data / "misc", 0o1771, SYSTEM_UID, MISC_GID)
    _mkdir(data / "misc/wireguard", 0o700)
    _mkdir(data / "adb", 0o700)
    # What apps probe to tell root solutions apart (the WireGuard app: /data/adb/modules).
    # Boot script dirs Magisk (docs/guides.md "Boot Scripts") and KernelSU create.
    extra = {"magisk": ("modules", "magisk", "post-fs-data.d", "service.d"),
             "kernelsu": ("modules", "ksu", "post-fs-data.d", "service.d", "post-mount.d",
                          "boot-completed.d")}
    for sub in extra.get(su_variant, ()):
        _mkdir(data / "adb" / sub, 0o700 if sub in ("modules", "magisk", "ksu") else 0o755)
    _mkdir(data / "data", 0o771, SYSTEM_UID, SYSTEM_UID)
    # init.rc `mkdir /data/cache 0770 system cache`: what /cache is on a phone.
    _mkdir(data / "cache", 0o770, SYSTEM_UID, AID_CACHE)
    # init.rc `mkdir /data/misc/net 0750 root shell`: netd's rt_tables, which ip reads.
    _mkdir(data / "misc/net", 0o750, 0, SHELL_UID)
    _mkdir(data / "media/0", 0o770, 1023, 1023)
    os.chmod(data / "media/0", 0o777)  # no FUSE here: let shell write /sdcard
    _mkdir(data / "user", 0o711, SYSTEM_UID, SYSTEM_UID)
    if not (data / "user/0").is_symlink():
        (data / "user/0").symlink_to("/data/data")
    _mkdir(data / "system", 0o775, SYSTEM_UID, SYSTEM_UID)
    for package, uid in APPS:
        _mkdir(data / "data" / package, 0o700, uid, uid)


def _package_line(package: str, uid: int) -> str:
    """A packages.list line (Settings.writePackageListLPr: name, uid, debuggable,
    data dir, seinfo, gids, profileableFromShell, versionCode, profileable,
    installer)."""
    return (f"{package} {uid} 0 /data/user/0/{package} default:targetSdkVersion=34 3003 "
            f"0 1 1 @system\n")


def write_packages(data: Path, installed: list[tuple[str, int, str]]) -> None:
    """/data/system/packages.list (0640 system:package_info, read by root and
    netd) and the simulator's `pm` database (package and APK path)."""
    entries = [(p, u, f"/data/app/~~sim==/{p}-sim==/base.apk") for p, u in APPS] + installed
    _write(data / "system/packages.list", "".join(_package_line(p, u) for p, u, _ in entries),
           0o640)
    os.chown(data / "system/packages.list", SYSTEM_UID, 1032)
    _write(data / "system" / shims.PM_DB.rsplit("/", 1)[1],
           "".join(f"{p} {apk}\n" for p, _u, apk in entries), 0o644)


def _identity_files(system: Path) -> None:
    """passwd and group: what bionic's getpwent/getgrent list (Android's ids,
    oem_NNNN, user 0's u0_aNNN and u0_iNNN), for the glibc programs that read
    names from files where bionic computes them; installed apps' homes are
    their data dirs."""
    homes = {uid: f"/data/user/0/{pkg}" for pkg, uid in [*APPS, (WG_APP, WG_APP_UID)]}
    users = [(name, uid, homes.get(uid, "/data" if uid >= AID_APP_START else "/"))
             for name, uid in getpwent()]
    _write(system / "etc/passwd", "".join(
        f"{name}:x:{uid}:{uid}::{home}:/system/bin/sh\n" for name, uid, home in users), 0o644)
    _write(system / "etc/group", "".join(f"{name}:x:{uid}:\n" for name, uid, _h in users),
           0o644)


def _populate_system(spec: NodeSpec, system: Path, root: Path) -> None:
    for sub in ("bin", "xbin", "etc"):
        _mkdir(system / sub)
    bin_ = system / "bin"
    hidden = hides_host(spec)
    on_phone = spec.on_phone
    for name, target in shims.system_bin_links().items():
        (bin_ / name).symlink_to(on_phone(target))
    (bin_ / "sh").symlink_to(on_phone(shims.MKSH))
    # The shims' interpreter where the phone has it (one under /usr: /system/usr).
    python = on_phone(spec.base_python)
    client = shims.netd_client(python)
    scripts = {
        "getprop": shims.GETPROP, "am": shims.AM, "getenforce": shims.GETENFORCE,
        "setenforce": shims.SETENFORCE, "chcon": shims.CHCON, "restorecon": shims.RESTORECON,
        "reboot": shims.su_script(python), "pm": shims.PM,
        "ndc": shims.NDC, "service": client, "dumpsys": client,
        "toybox": shims.toybox_wrapper(on_phone(shims.TOYBOX_BIN)),
    }
    if not spec.android_net:
        scripts["resolvconf"] = shims.RESOLVCONF  # the kinder phone's; Android has none
    if "kmod" in spec.tools:
        real_ip = os.readlink(bin_ / "ip")
        (bin_ / "ip").unlink()
        scripts["ip"] = shims.kmod_ip(real_ip, python)
        scripts[shims.KMOD_STANDIN.rsplit("/", 1)[1]] = shims.kmod_standin(python)
    host_tools = shims.tool_paths()
    for tool in spec.tools:
        if tool == "wg-quick":
            scripts["wg-quick"] = shims.wg_quick(on_phone(shims.LINUX_WG_QUICK))
        elif tool == "wg-quick-android":
            scripts["wg-quick"] = shims.android_wg_quick(python)
        elif tool == "python3":
            scripts["python3"] = shims.python_wrapper(spec.phone_venv_python)
        elif tool in host_tools:
            (bin_ / tool).symlink_to(on_phone(host_tools[tool]))
    for name, text in scripts.items():
        _write(bin_ / name, text)
    if spec.su_variant == "kernelsu":
        # What the uids KernelSU allows see at SU_PATH; the others' processes
        # get a /system/bin without it (zygote.hide_kernel_su).
        _write(bin_ / "su", shims.su_script(python))
    elif spec.su_variant != "none":
        _write(system / "xbin/su", shims.su_script(python))
    if spec.su_variant == "magisk":
        version, code = spec.su_versions.get("magisk", ["28.1", 28100])
        _write(bin_ / "magisk", shims.magisk_script(str(version), int(code)))
    _write(system / "build.prop", shims.build_prop(spec.props), 0o644)
    etc = system / "etc"
    _write(etc / "mkshrc", shims.mkshrc(spec.props.get("ro.product.device", "phone")), 0o644)
    _write(etc / "profile", shims.PROFILE, 0o644)
    _write(etc / "hosts", ANDROID_HOSTS, 0o644)
    _write(etc / "nsswitch.conf", NSSWITCH, 0o644)
    _write(etc / shims.XTABLES_LOCK.rsplit("/", 1)[1], "", 0o644)
    # Android's ip reads its table names from /data/misc/net (netd writes rt_tables).
    (etc / "iproute2").symlink_to("/data/misc/net")
    _identity_files(system)
    for name in HOST_ETC:
        host = Path("/etc") / name
        if not host.exists() or (hidden and name in LOADER_ETC):
            continue
        mount_point = etc / name
        if host.is_dir():
            mount_point.mkdir()
        else:
            mount_point.touch()
        ns.bind(str(host), str(mount_point), readonly=True, recursive=host.is_dir())
    if hidden:
        _host_runtime(spec, system, root)


def build_phone_root(spec: NodeSpec, staged: dict[str, str]) -> None:
    """Mount the phone's root at spec.root_dir, then pivot into it.

    staged maps host dirs (data dir, ro_binds) to where they were bound before
    entering a user namespace (see zygote.stage_host_dirs); empty otherwise."""

    def host_path(path: str) -> str:
        return staged.get(path, path)

    root = Path(STAGE_DIR) / "root" if staged else Path(spec.root_dir)
    ns.mount("tmpfs", str(root), "tmpfs", ns.MS_NOSUID, "mode=0755,size=64m")
    for d in EMPTY_DIRS:
        _mkdir(root / d)
    # The host userland (read-only) so real wg, wireguard-go, ip and toybox
    # work; /etc is Android's link to /system/etc, with only what they need.
    # An android_net phone keeps it off its root (_host_runtime: /system).
    hidden = hides_host(spec)
    if not hidden:
        _mkdir(root / "usr")
        ns.bind("/usr", str(root / "usr"), readonly=True, recursive=True)
    (root / "etc").symlink_to("/system/etc")
    # Android's /bin is /system/bin: `#!/bin/bash` finds no bash there.
    links: tuple[str, ...] = ("bin", "sbin", "lib", "lib64", "lib32", "libx32")
    if hidden:
        links = ()
        (root / "bin").symlink_to("/system/bin")
    for link in links:
        host = Path("/") / link
        if host.is_symlink():
            (root / link).symlink_to(os.readlink(host))
        elif host.is_dir():
            _mkdir(root / link)
            ns.bind(str(host), str(root / link), readonly=True, recursive=True)

    _mkdir(root / "data", 0o771, SYSTEM_UID, SYSTEM_UID)
    ns.bind(host_path(spec.data_dir), str(root / "data"))
    prepare_data(root / "data", spec.su_variant)
    installed = []
    if "wireguard-app" in spec.tools:
        installed.append(install_wireguard_app(
            root / "data", spec.props.get("ro.product.cpu.abi", ""),
            spec.on_phone(spec.base_python), for_android=hidden))
    write_packages(root / "data", installed)
    (root / "sdcard").symlink_to("/storage/emulated/0")
    for name, points_to in ROOT_LINKS.items():
        (root / name).symlink_to(points_to)
    _mkdir(root / "storage/emulated")
    (root / "storage/emulated/0").symlink_to("/data/media/0")

    # Android has no /run, /tmp or /var; the kinder phone keeps them.
    for d, mode in () if spec.android_net else (("run", 0o755), ("tmp", 0o1777)):
        _mkdir(root / d, mode)
        ns.mount("tmpfs", str(root / d), "tmpfs", ns.MS_NOSUID | ns.MS_NODEV, f"mode={mode:o}")
    if not hidden:
        # After the private /run and /tmp: a checkout or venv under /tmp (as
        # in a CI clone) must stay visible, not be hidden by the phone's /tmp.
        _bind_host_trees(spec, root, host_path)
    if not spec.android_net:
        _mkdir(root / "var")
        (root / "var/run").symlink_to("/run")
    # first_stage_init.cpp FirstStageMain: /mnt is a tmpfs (0755 root:system).
    ns.mount("tmpfs", str(root / "mnt"), "tmpfs", ns.MS_NOSUID | ns.MS_NODEV | ns.MS_NOEXEC,
             f"mode=0755,uid=0,gid={SYSTEM_UID},size=16m")
    # FirstStageMain mounts a tmpfs at /debug_ramdisk too (noexec); Magisk's
    # init binds its own over it, where its binaries run from (Magisk
    # native/src/init MagiskInit::setup_tmp: magisk's tmp dir on Android 11+).
    ns.mount("tmpfs", str(root / "debug_ramdisk"), "tmpfs",
             ns.MS_NOSUID | ns.MS_NODEV | (0 if spec.su_variant == "magisk" else ns.MS_NOEXEC),
             "mode=0755,uid=0,gid=0,size=16m")
    _mkdir(root / "proc", 0o555)
    ns.mount("proc", str(root / "proc"), "proc", ns.MS_NOSUID | ns.MS_NODEV | ns.MS_NOEXEC)
    _mkdir(root / "sys", 0o555)
    # A fresh sysfs: /sys/class/net must show this namespace's interfaces.
    ns.mount("sysfs", str(root / "sys"), "sysfs", ns.MS_NOSUID | ns.MS_NODEV | ns.MS_NOEXEC)
    if "kmod" in spec.tools and not (root / "sys/module/wireguard").exists():
        _fake_wireguard_module(root / "sys/module")  # a real kernel's (the VM's) needs none
    _build_dev(root / "dev", legacy_tun=not spec.android_net)

    system = root / "system"
    _mkdir(system)
    ns.mount("tmpfs", str(system), "tmpfs", ns.MS_NOSUID, "mode=0755,size=64m")
    if hidden:
        _bind_host_trees(spec, root, host_path)
    _populate_system(spec, system, root)
    # Android 14's root is the system partition, read-only (dm-verity): first
    # stage init mounts it (fstab `ro`) and makes it "/" (system/core/init/
    # first_stage_mount.cpp FirstStageMount::TrySwitchSystemAsRoot ->
    # switch_root.cpp SwitchRoot, which moves /dev, /proc, /sys, /mnt and the
    # other mounts made before onto it). Writes anywhere but a writable mount
    # (/data, /dev, /mnt, /debug_ramdisk, /proc, /sys) fail with EROFS, for
    # root too, even after `mount -o remount,rw` (sysimage: erofs images);
    # /cache is a link into /data (Android.mk, no cache partition).
    new_root = _remount_ro(root, system) if spec.userns else _seal(root, system)

    os.chdir(new_root)
    ns.pivot_root(".", ".")
    ns.umount(".", ns.MNT_DETACH)  # drop the host's tree from this namespace
    os.chdir("/")
    if hidden:
        # This process imports on after the pivot: the checkout, its venv and
        # a standard library are now where the phone has them (on_phone).
        sys.path[:] = [spec.on_phone(p) for p in sys.path]
        if sys.pycache_prefix:
            sys.pycache_prefix = spec.on_phone(sys.pycache_prefix)


def _seal(root: Path, system: Path) -> Path:
    """The built root and /system as erofs images (sysimage), the mounts made
    on them moved over; returns where the new root is mounted. The scratch
    tmpfs goes on an empty dir of the root (none of it is left on the host)."""
    work = root / "postinstall"
    ns.mount("tmpfs", str(work), "tmpfs", ns.MS_NOSUID | ns.MS_NODEV, "mode=0700")
    new_root = work / "root"
    new_root.mkdir()
    sysimage.seal(root, work, "root", new_root, ns.MS_NOSUID, skip=(work, system))
    sysimage.seal(system, work, "system", new_root / "system", ns.MS_NOSUID)
    return new_root


def _remount_ro(root: Path, system: Path) -> Path:
    """In a user namespace no block filesystem can be mounted: the tmpfs
    mounts made read-only (root there could remount them read-write)."""
    ns.mount(None, str(system), None, ns.MS_REMOUNT | ns.MS_RDONLY | ns.MS_NOSUID)
    ns.mount(None, str(root), None, ns.MS_REMOUNT | ns.MS_RDONLY | ns.MS_NOSUID)
    return root


def _bind_host_trees(spec: NodeSpec, root: Path, host_path: Callable[[str], str]) -> None:
    """The host dirs the phone runs from (spec.ro_binds: the checkout, its
    venv, an interpreter outside /usr), read-only where spec.on_phone has
    them: on an Android phone under /system (call it once /system is
    mounted), so the root holds nothing Android's lacks (it had /work,
    /root or /tmp just to hold them)."""
    for path in spec.ro_binds:
        target = root / spec.on_phone(path).lstrip("/")
        created = [p for p in [target, *target.parents] if not p.exists()]
        target.mkdir(parents=True, exist_ok=True)
        for parent in created:  # e.g. .../root: traversable for uid 2000
            os.chmod(parent, 0o755)
        ns.bind(host_path(path), str(target), readonly=True, recursive=True)


# Where an android_net phone keeps what it runs of the host: its programs in
# /system/usr (Android has a /system/usr, off PATH: keylayout, idc, share),
# their libraries in Android's /system/lib64, loaded by Android's dynamic
# linker path /system/bin/linker64 (elf.py). The root then has no usr, lib,
# lib64 or sbin (system/core/rootdir/Android.mk LOCAL_POST_INSTALL_CMD).
PHONE_LIB = "/system/lib64"
# /etc files of the host's loader: the phone gets its own ld.so.cache.
LOADER_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d")
# Where the phone's wg and wireguard-go keep UAPI sockets. The host's builds
# say /var/run/wireguard (wireguard-tools RUNSTATEDIR, wireguard-go
# ipc/uapi_unix.go socketDirectory), which Android's read-only root cannot
# have; a build for Android sets another (wireguard-android: wg's RUNSTATEDIR
# and `-X ipc.socketDirectory` name the app's cache dir). The phone's copies
# say /mnt/run/wireguard instead, the same length so it is changed in place:
# /mnt is the tmpfs root may write (system/core/init/first_stage_init.cpp
# FirstStageMain mounts it), RAM as /var/run is.
HOST_UAPI_DIR = "/var/run/wireguard"
UAPI_DIR = "/mnt/run/wireguard"
ANDROID_PATHS = ((HOST_UAPI_DIR, UAPI_DIR),)


def hides_host(spec: NodeSpec) -> bool:
    """Whether the phone keeps the host's tree off its root: every android_net
    phone, whatever its interpreter (one under /usr, such as Debian's
    /usr/bin/python3, runs from /system/usr: _python_for_phone)."""
    return spec.android_net


def _host_interp() -> str:
    """The host's ELF interpreter (PT_INTERP of the Python running this)."""
    with open(os.path.realpath(sys.executable), "rb") as f:
        found = elf.interpreter(f.read(4096))
    return found or "/lib64/ld-linux-x86-64.so.2"


def _bind_copy(data: bytes, mode: int, target: Path, scratch: Path) -> None:
    """DATA bound read-only over the file TARGET (the copy itself unlinked)."""
    tmp = scratch / f"{len(os.listdir(scratch))}"
    tmp.write_bytes(data)
    os.chmod(tmp, mode)
    ns.bind(str(tmp), str(target), readonly=True)
    tmp.unlink()


def _host_runtime(spec: NodeSpec, system: Path, root: Path) -> None:
    """The host's programs and libraries at Android's places (see PHONE_USR):
    each program the phone runs copied to /system/usr with Android's linker
    path; the interpreter outside /usr (the shims') made so where it is; the
    libraries bound at /system/lib64 with an ld.so.cache for them; the
    xtables extension dir iptables has compiled in moved along."""
    loader = os.path.realpath(_host_interp())
    libdir = os.path.dirname(loader)
    _mkdir(system / "lib64")
    ns.bind(libdir, str(system / "lib64"), readonly=True, recursive=True)
    (system / "bin/linker64").symlink_to(f"{PHONE_LIB}/{os.path.basename(loader)}")
    # Copies bound over a file are unlinked once bound, on a tmpfs of their
    # own (one holding such files could not be remounted read-only), detached.
    scratch = root / ".wgdroid-scratch"
    _mkdir(scratch, 0o700)
    ns.mount("tmpfs", str(scratch), "tmpfs", ns.MS_NOSUID | ns.MS_NODEV, "mode=0700,size=32m")
    for path in sorted(_host_programs(spec)):
        if path.startswith("/usr/"):
            target = system / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            if os.path.islink(path):
                target.symlink_to(spec.on_phone(os.path.realpath(path)))
            else:
                elf.copy_for_phone(path, str(target), ANDROID_PATHS)
        else:  # under a ro_bind (the interpreter): read where it is bound
            bound = root / spec.on_phone(path).lstrip("/")
            if bound.is_file() and not bound.is_symlink():
                data = bound.read_bytes()
                if elf.interpreter(data):
                    _bind_copy(elf.with_interpreter(data), bound.stat().st_mode & 0o7777,
                               bound, scratch)
    xtables = f"{libdir}/xtables"
    for lib in sorted(Path(libdir).glob("libxtables.so*")):
        if lib.is_file() and not lib.is_symlink():
            data = lib.read_bytes()
            if xtables.encode() + b"\0" in data:
                _bind_copy(elf.replace_cstring(data, xtables, f"{PHONE_LIB}/xtables"), 0o644,
                           system / "lib64" / lib.name, scratch)
    trees = root / PHONE_TREES.lstrip("/")
    for dirpath, dirs, _files in os.walk(system / "usr"):
        dirs[:] = [d for d in dirs if Path(dirpath, d) != trees]  # bound read-only
        os.chmod(dirpath, 0o755)
    _python_for_phone(spec, system, root, scratch)
    ns.umount(str(scratch), ns.MNT_DETACH)
    scratch.rmdir()
    # An interpreter outside /usr built with a shared libpython (pyenv's)
    # finds it by a RUNPATH of its host prefix's lib, which the phone has
    # under PHONE_TREES: the phone's loader cache lists it there.
    prefix_lib = os.path.join(os.path.dirname(os.path.dirname(spec.base_python)), "lib")
    lib_dirs = [PHONE_LIB]
    if not prefix_lib.startswith("/usr/") and spec.on_phone(prefix_lib) != prefix_lib \
            and os.path.isdir(prefix_lib):
        lib_dirs.append(spec.on_phone(prefix_lib))
    _write(system / "etc/ld.so.conf", "".join(f"{d}\n" for d in lib_dirs), 0o644)
    ldconfig = shutil.which("ldconfig", path="/usr/sbin:/sbin:/usr/bin:/bin") or "ldconfig"
    subprocess.run([ldconfig, "-X", "-r", str(root), "-f", "/system/etc/ld.so.conf",
                    "-C", "/system/etc/ld.so.cache"], check=True, stdin=subprocess.DEVNULL)


# The simulator's throughput probe (the server side is `sim iperf`), run by
# path from the phone by tests: not part of Android, not on its PATH.
IPERF3 = "/usr/bin/iperf3"


def _host_programs(spec: NodeSpec) -> set[str]:
    """The host programs the phone runs (what /system/bin links to, the
    interpreter of the shims, wireguard-go for the kernel stand-in), with
    the symlinks on their way."""
    needed = {p for p in shims.system_bin_links().values() if p.startswith("/")}
    needed |= set(shims.tool_paths().values())
    needed |= {shims.MKSH, shims.TOYBOX_BIN, shims.LINUX_WG_QUICK, kmod_standin.WG_GO,
               spec.base_python, IPERF3}
    closure: set[str] = set()
    todo = list(needed)
    while todo:
        path = os.path.normpath(todo.pop())
        if path in closure or not os.path.lexists(path):
            continue
        closure.add(path)
        if os.path.islink(path):
            todo.append(os.path.join(os.path.dirname(path), os.readlink(path)))
    return closure


def _stdlib_dirs(python: str) -> list[str]:
    """The standard library dirs of PYTHON under /usr (lib/python3.X, and
    lib64/python3.X where platlibdir is lib64), from its name."""
    version = re.fullmatch(r"python(\d+\.\d+)", os.path.basename(python))
    if not python.startswith("/usr/") or not version:
        return []
    prefix = os.path.dirname(os.path.dirname(python))
    return sorted(d for d in glob.glob(f"{prefix}/lib*/python{version[1]}")
                  if os.path.isdir(d) and not os.path.islink(d))


def _python_for_phone(spec: NodeSpec, system: Path, root: Path, scratch: Path) -> None:
    """An interpreter under /usr (Debian's /usr/bin/python3), copied to
    /system/usr/bin, finds its standard library by its landmark
    lib/python3.X/os.py in a dir above its own (CPython Modules/getpath.py,
    search_up for STDLIB_LANDMARKS): the host's stdlib dirs are bound at
    /system/usr/lib. A venv names its host paths in pyvenv.cfg (`home`, which
    getpath.py searches from), in its bin/python3 link and, for an editable
    install, in a site-packages .pth (site.py addpackage): the phone sees
    each with the path it has (spec.on_phone)."""
    for path in _stdlib_dirs(spec.base_python):
        target = root / spec.on_phone(path).lstrip("/")
        for parent in reversed([target, *target.parents]):
            if parent != system and system in parent.parents and not parent.exists():
                _mkdir(parent)
        ns.bind(path, str(target), readonly=True, recursive=True)
    venv = root / spec.on_phone(os.path.dirname(os.path.dirname(spec.venv_python))).lstrip("/")
    cfg = venv / "pyvenv.cfg"
    if not spec.venv_python or not cfg.is_file():
        return

    def moved(path: str) -> bool:
        return os.path.isabs(path) and spec.on_phone(path) != path

    lines = cfg.read_text().splitlines(keepends=True)
    for i, line in enumerate(lines):
        key, eq, value = line.partition("=")
        if eq and moved(value.strip()):
            lines[i] = f"{key}= {spec.on_phone(value.strip())}\n"
    _bind_copy("".join(lines).encode(), 0o644, cfg, scratch)
    for pth in sorted(venv.glob("lib*/python3*/site-packages/*.pth")):
        lines = pth.read_text().splitlines(keepends=True)
        if any(moved(line.strip()) for line in lines):
            _bind_copy("".join(f"{spec.on_phone(line.strip())}\n" if moved(line.strip())
                               else line for line in lines).encode(), 0o644, pth, scratch)
    bindir = venv / "bin"
    if not bindir.is_dir() or not any(e.is_symlink() and moved(os.readlink(e.path))
                                      for e in os.scandir(bindir)):
        return
    # Links can't be mounted over: the dir gets a tmpfs with its entries
    # (the links made to point where the phone has their targets, the rest
    # bound as they are).
    saved = scratch / "venv-bin"
    saved.mkdir()
    ns.bind(str(bindir), str(saved))
    ns.mount("tmpfs", str(bindir), "tmpfs", ns.MS_NOSUID | ns.MS_NODEV, "mode=0755,size=64k")
    for entry in sorted(os.scandir(saved), key=lambda e: e.name):
        target = bindir / entry.name
        if entry.is_symlink():
            link = os.readlink(entry.path)
            if moved(link):
                link = spec.on_phone(os.path.realpath(link))
            target.symlink_to(link)
        elif entry.is_dir():
            target.mkdir()
            ns.bind(entry.path, str(target), readonly=True, recursive=True)
        else:
            target.touch()
            ns.bind(entry.path, str(target), readonly=True)
    ns.mount(None, str(bindir), None, ns.MS_REMOUNT | ns.MS_RDONLY | ns.MS_NOSUID | ns.MS_NODEV)
    ns.umount(str(saved), ns.MNT_DETACH)


def _fake_wireguard_module(module_dir: Path) -> None:
    """/sys/module/wireguard as a kernel with the module shows it (the host has
    none; the simulated Android wg-quick then stands wireguard-go in)."""
    ns.mount("tmpfs", str(module_dir), "tmpfs", ns.MS_NOSUID | ns.MS_NODEV | ns.MS_NOEXEC,
             "mode=0755,size=64k")
    _mkdir(module_dir / "wireguard")
    _write(module_dir / "wireguard/version", "1.0.0\n", 0o444)
    ns.mount(None, str(module_dir), None, ns.MS_REMOUNT | ns.MS_RDONLY | ns.MS_NOSUID)


def install_wireguard_app(data: Path, abi: str, base_python: str, *,
                          for_android: bool = False) -> tuple[str, int, str]:
    """The official app as the package manager leaves it: its APK dir under
    /data/app with the bundled tools as native libs, its data dir and its
    packages.list line. Kept across reboots (random dir names included).
    for_android: its wg loads through Android's linker (elf.py), as the
    phone's own programs do."""
    _mkdir(data / "app", 0o771, SYSTEM_UID, SYSTEM_UID)
    existing = sorted((data / "app").glob(f"~~*/{WG_APP}-*"))
    if existing:
        apk_dir = existing[0]
    else:
        def rand() -> str:
            return base64.urlsafe_b64encode(os.urandom(16)).decode()

        outer = data / "app" / f"~~{rand()}"
        _mkdir(outer, 0o771, SYSTEM_UID, SYSTEM_UID)
        apk_dir = outer / f"{WG_APP}-{rand()}"
        _mkdir(apk_dir, 0o775, SYSTEM_UID, SYSTEM_UID)
    with zipfile.ZipFile(apk_dir / "base.apk", "w") as apk:
        apk.writestr("AndroidManifest.xml", f"<manifest package='{WG_APP}'/>\n")
    os.chmod(apk_dir / "base.apk", 0o644)
    lib = apk_dir / "lib" / ABI_DIRS.get(abi, abi)
    _mkdir(apk_dir / "lib", 0o755, SYSTEM_UID, SYSTEM_UID)
    _mkdir(lib, 0o755, SYSTEM_UID, SYSTEM_UID)
    wg = shims.tool_paths().get("wg")
    if wg:
        shutil.copyfile(wg, lib / "libwg.so")
        if for_android:
            elf.copy_for_phone(wg, str(lib / "libwg.so"), ANDROID_PATHS)
        os.chmod(lib / "libwg.so", 0o755)
    _write(lib / "libwg-quick.so", shims.android_wg_quick(base_python))
    app_data = data / "data" / WG_APP
    for sub in ("", "files", "cache", "code_cache"):
        _mkdir(app_data / sub, 0o700 if not sub else 0o771, WG_APP_UID, WG_APP_UID)
    return WG_APP, WG_APP_UID, f"/data/app/{apk_dir.parent.name}/{apk_dir.name}/base.apk"


def _build_dev(dev: Path, *, legacy_tun: bool) -> None:
    _mkdir(dev)
    ns.mount("tmpfs", str(dev), "tmpfs", ns.MS_NOSUID, "mode=0755,size=1m")
    for name in DEVICES:
        target = dev / name
        target.touch()
        ns.bind(f"/dev/{name}", str(target))
    # system/core/rootdir/ueventd.rc: `/dev/tun 0660 system vpn`; no /dev/net/tun.
    tun = dev / "tun"
    try:
        os.mknod(tun, stat.S_IFCHR | 0o660, os.makedev(TUN_MAJOR, TUN_MINOR))
        os.chown(tun, SYSTEM_UID, AID_VPN)
        os.chmod(tun, 0o660)
    except PermissionError:  # in a user namespace: the host's node, as it is
        tun.touch()
        ns.bind("/dev/net/tun", str(tun))
    if legacy_tun:
        _mkdir(dev / "net")
        (dev / "net/tun").touch()
        ns.bind("/dev/net/tun", str(dev / "net/tun"))
    _mkdir(dev / "pts")
    ns.bind("/dev/pts", str(dev / "pts"), recursive=True)
    # A bound ptmx node can't find its devpts instance; containers link it.
    (dev / "ptmx").symlink_to("pts/ptmx")
    _mkdir(dev / "shm", 0o1777)
    _mkdir(dev / "socket", 0o755)
    for i, name in enumerate(("stdin", "stdout", "stderr")):
        (dev / name).symlink_to(f"/proc/self/fd/{i}")
    (dev / "fd").symlink_to("/proc/self/fd")
