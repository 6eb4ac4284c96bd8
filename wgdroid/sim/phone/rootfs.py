"""Builds a phone's private root inside its fresh mount namespace (run by the
zygote, as root, before it pivots into it)."""

from __future__ import annotations

import base64
import os
import shutil
import zipfile
from pathlib import Path

from wgdroid.sim.phone import ns, shims
from wgdroid.sim.phone.spec import STAGE_DIR, NodeSpec

SHELL_UID = 2000
SYSTEM_UID = 1000
MISC_GID = 9998
# The shell user's supplementary groups on a Pixel (input, log, adb, sdcard_rw,
# sdcard_r, net_bt_admin, net_bt, inet, net_bw_stats, readproc, uhid).
SHELL_GROUPS = (1004, 1007, 1011, 1015, 1028, 3001, 3002, 3003, 3006, 3009, 3011)
ANDROID_USERS = {
    "system": (1000, 1000), "shell": (2000, 2000), "log": (1007, 1007),
    "adb": (1011, 1011), "misc": (9998, 9998),
}
ANDROID_GROUPS = {
    "input": 1004, "log": 1007, "adb": 1011, "sdcard_rw": 1015, "sdcard_r": 1028,
    "net_bt_admin": 3001, "net_bt": 3002, "inet": 3003, "net_bw_stats": 3006,
    "readproc": 3009, "uhid": 3011, "shell": 2000, "system": 1000, "misc": 9998,
}
DEVICES = ("null", "zero", "full", "random", "urandom", "tty", "net/tun")
EMPTY_DIRS = (
    "product/bin", "apex/com.android.runtime/bin", "apex/com.android.art/bin",
    "system_ext/bin", "odm/bin", "vendor/bin", "vendor/xbin", "cache", "mnt", "storage",
    "config", "acct", "home",
)
WG_APP = "com.wireguard.android"
WG_APP_UID = 10123
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
    extra = {"magisk": ("modules", "magisk"), "kernelsu": ("modules", "ksu")}
    for sub in extra.get(su_variant, ()):
        _mkdir(data / "adb" / sub, 0o700)
    _mkdir(data / "data", 0o771, SYSTEM_UID, SYSTEM_UID)
    _mkdir(data / "media/0", 0o770, 1023, 1023)
    os.chmod(data / "media/0", 0o777)  # no FUSE here: let shell write /sdcard


def _identity_files(system: Path) -> None:
    passwd = Path("/etc/passwd").read_text()
    group = Path("/etc/group").read_text()
    passwd += "".join(
        f"{name}:x:{uid}:{gid}::/:/system/bin/sh\n" for name, (uid, gid) in ANDROID_USERS.items()
        if f"\n{name}:" not in "\n" + passwd
    )
    group += "".join(
        f"{name}:x:{gid}:\n" for name, gid in ANDROID_GROUPS.items()
        if f"\n{name}:" not in "\n" + group
    )
    _write(system / "etc/passwd", passwd, 0o644)
    _write(system / "etc/group", group, 0o644)


def _populate_system(spec: NodeSpec, system: Path) -> None:
    for sub in ("bin", "xbin", "etc"):
        _mkdir(system / sub)
    bin_ = system / "bin"
    for name, target in shims.toybox_links().items():
        (bin_ / name).symlink_to(target)
    (bin_ / "sh").symlink_to("/usr/bin/mksh")
    scripts = {
        "getprop": shims.GETPROP, "ndc": shims.NDC, "am": shims.AM,
        "resolvconf": shims.RESOLVCONF, "getenforce": shims.GETENFORCE,
        "setenforce": shims.SETENFORCE, "reboot": shims.su_script(spec.base_python),
        "pm": shims.PM,
    }
    host_tools = shims.tool_paths()
    for tool in spec.tools:
        if tool == "wg-quick":
            scripts["wg-quick"] = shims.WG_QUICK
        elif tool == "wg-quick-android":
            scripts["wg-quick"] = shims.android_wg_quick(spec.base_python)
        elif tool == "python3":
            scripts["python3"] = shims.python_wrapper(spec.venv_python)
        elif tool in host_tools:
            (bin_ / tool).symlink_to(host_tools[tool])
    for name, text in scripts.items():
        _write(bin_ / name, text)
    if spec.su_variant != "none":
        _write(system / "xbin/su", shims.su_script(spec.base_python))
    if spec.su_variant == "magisk":
        version, code = spec.su_versions.get("magisk", ["28.1", 28100])
        _write(bin_ / "magisk", shims.magisk_script(str(version), int(code)))
    _write(system / "build.prop", shims.build_prop(spec.props), 0o644)
    _write(system / "etc/mkshrc", shims.mkshrc(spec.props.get("ro.product.device", "phone")),
           0o644)
    _write(system / "etc/profile", shims.PROFILE, 0o644)
    _identity_files(system)


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
    # The host userland (read-only) so real wg, wg-quick, wireguard-go, ip work.
    for d in ("usr", "etc"):
        _mkdir(root / d)
        ns.bind(f"/{d}", str(root / d), readonly=True, recursive=True)
    for link in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        host = Path("/") / link
        if host.is_symlink():
            (root / link).symlink_to(os.readlink(host))
        elif host.is_dir():
            _mkdir(root / link)
            ns.bind(str(host), str(root / link), readonly=True, recursive=True)

    _mkdir(root / "data", 0o771, SYSTEM_UID, SYSTEM_UID)
    ns.bind(host_path(spec.data_dir), str(root / "data"))
    prepare_data(root / "data", spec.su_variant)
    if "wireguard-app" in spec.tools:
        install_wireguard_app(root / "data", spec.props.get("ro.product.cpu.abi", ""),
                              spec.base_python)
    (root / "sdcard").symlink_to("/storage/emulated/0")
    _mkdir(root / "storage/emulated")
    (root / "storage/emulated/0").symlink_to("/data/media/0")

    for d, mode in (("run", 0o755), ("tmp", 0o1777)):
        _mkdir(root / d, mode)
        ns.mount("tmpfs", str(root / d), "tmpfs", ns.MS_NOSUID | ns.MS_NODEV, f"mode={mode:o}")
    # After the private /run and /tmp: a checkout or venv under /tmp (as in a
    # CI clone) must stay visible, not be hidden by the phone's own /tmp.
    for path in spec.ro_binds:
        target = root / path.lstrip("/")
        created = [p for p in [target, *target.parents] if not p.exists()]
        target.mkdir(parents=True, exist_ok=True)
        for parent in created:  # e.g. /root: traversable for uid 2000; never /tmp itself
            os.chmod(parent, 0o755)
        ns.bind(host_path(path), str(target), readonly=True, recursive=True)
    _mkdir(root / "var")
    (root / "var/run").symlink_to("/run")
    _mkdir(root / "proc", 0o555)
    ns.mount("proc", str(root / "proc"), "proc", ns.MS_NOSUID | ns.MS_NODEV | ns.MS_NOEXEC)
    _mkdir(root / "sys", 0o555)
    # A fresh sysfs: /sys/class/net must show this namespace's interfaces.
    ns.mount("sysfs", str(root / "sys"), "sysfs", ns.MS_NOSUID | ns.MS_NODEV | ns.MS_NOEXEC)
    if "kmod" in spec.tools and not (root / "sys/module/wireguard").exists():
        _fake_wireguard_module(root / "sys/module")  # a real kernel's (the VM's) needs none
    _build_dev(root / "dev")

    system = root / "system"
    _mkdir(system)
    ns.mount("tmpfs", str(system), "tmpfs", ns.MS_NOSUID, "mode=0755,size=16m")
    _populate_system(spec, system)
    for name in ("passwd", "group", "profile"):
        ns.bind(str(system / "etc" / name), str(root / "etc" / name), readonly=True)
    ns.mount(None, str(system), None, ns.MS_REMOUNT | ns.MS_RDONLY | ns.MS_NOSUID)

    os.chdir(root)
    ns.pivot_root(".", ".")
    ns.umount(".", ns.MNT_DETACH)  # drop the host's tree from this namespace
    os.chdir("/")


def _fake_wireguard_module(module_dir: Path) -> None:
    """/sys/module/wireguard as a kernel with the module shows it (the host has
    none; the simulated Android wg-quick then stands wireguard-go in)."""
    ns.mount("tmpfs", str(module_dir), "tmpfs", ns.MS_NOSUID | ns.MS_NODEV | ns.MS_NOEXEC,
             "mode=0755,size=64k")
    _mkdir(module_dir / "wireguard")
    _write(module_dir / "wireguard/version", "1.0.0\n", 0o444)
    ns.mount(None, str(module_dir), None, ns.MS_REMOUNT | ns.MS_RDONLY | ns.MS_NOSUID)


def install_wireguard_app(data: Path, abi: str, base_python: str) -> None:
    """The official app as the package manager leaves it: its APK dir under
    /data/app with the bundled tools as native libs, its data dir and its
    packages.list line. Kept across reboots (random dir names included)."""
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
        os.chmod(lib / "libwg.so", 0o755)
    _write(lib / "libwg-quick.so", shims.android_wg_quick(base_python))
    app_data = data / "data" / WG_APP
    for sub in ("", "files", "cache", "code_cache"):
        _mkdir(app_data / sub, 0o700 if not sub else 0o771, WG_APP_UID, WG_APP_UID)
    user = data / "user"
    _mkdir(user, 0o711, SYSTEM_UID, SYSTEM_UID)
    if not (user / "0").is_symlink():
        (user / "0").symlink_to("/data/data")
    _mkdir(data / "system", 0o775, SYSTEM_UID, SYSTEM_UID)
    _write(data / "system/packages.list",
           f"{WG_APP} {WG_APP_UID} 0 /data/user/0/{WG_APP} default:targetSdkVersion=34 "
           f"3003 0 {WG_APP_UID}\n", 0o640)
    # What system_server would answer `pm` with (pm runs as shell, which can't
    # read packages.list): package and APK path, world-readable.
    _write(data / "system" / shims.PM_DB.rsplit("/", 1)[1],
           f"{WG_APP} /data/app/{apk_dir.parent.name}/{apk_dir.name}/base.apk\n", 0o644)


def _build_dev(dev: Path) -> None:
    _mkdir(dev)
    ns.mount("tmpfs", str(dev), "tmpfs", ns.MS_NOSUID, "mode=0755,size=1m")
    for name in DEVICES:
        target = dev / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch()
        ns.bind(f"/dev/{name}", str(target))
    _mkdir(dev / "pts")
    ns.bind("/dev/pts", str(dev / "pts"), recursive=True)
    # A bound ptmx node can't find its devpts instance; containers link it.
    (dev / "ptmx").symlink_to("pts/ptmx")
    _mkdir(dev / "shm", 0o1777)
    _mkdir(dev / "socket", 0o755)
    for i, name in enumerate(("stdin", "stdout", "stderr")):
        (dev / name).symlink_to(f"/proc/self/fd/{i}")
    (dev / "fd").symlink_to("/proc/self/fd")
