"""WireGuard tools on the phone: what it has, installing what it lacks, removing ours.

Everything wgdroid installs lives in /data/adb/wgdroid (root-only, on /data,
so no /system remount and it survives OTA updates):

    /data/adb/wgdroid/bin/   wg, wg-quick, wireguard-go, wgdroid-userspace (0755, root)
    /data/adb/wgdroid/lib/   wgdroid-userspace.zip (the pure-Python data plane)

Every root script puts bin/ first on PATH (script.Script), so wg-quick, wg
and the userspace launcher are found there by enable, status and the store.
With --magisk-module the tools go to /data/adb/modules/wgdroid-tools/system/bin
instead (with a module.prop): Magisk mounts them into /system/bin after the
next reboot, and wgdroid's scripts find them there at once (script.TOOL_DIRS).

Sources, in order: tools pushed from a local directory (`--from DIR`), then
what the phone already has (PATH, /system/xbin, Magisk modules, the official
app's extracted copies), then the official app's bundled executables
(`pm path com.wireguard.android` -> <apk dir>/lib/<arch>/libwg.so = wg,
libwg-quick.so = wg-quick), which are copied (not linked: an app update moves
its directory and would leave a dangling link).

`--from DIR` layout (what scripts/build-device-tools writes to
build/device-tools/):

    DIR/<abi>/wg, DIR/<abi>/wg-quick[, DIR/<abi>/wireguard-go]
        <abi> as Android names it (arm64-v8a, armeabi-v7a, x86_64, x86) or
        as the APK lib dir does (arm64, arm); the first of the phone's
        ro.product.cpu.abilist that DIR has wins;
    DIR/wg, DIR/wg-quick[, DIR/wireguard-go]
        flat: used as is, whatever the phone's ABI.

The shell side is sh/tools.sh. Binaries travel on the root script's stdin
(one adb stream), are checked (size, SHA-256) and written temp + rename,
chown 0:0, chmod 0755.

The userspace backend (`--userspace`): the zip of wgdroid.userspace plus a
launcher `wgdroid-userspace` that runs `python3 -m wgdroid.userspace` with
PYTHONPATH=<zip>. Its UAPI socket directory must be the one `wg` was built
with (wireguard-tools compiles RUNSTATEDIR into wg: /var/run by default, so
/var/run/wireguard/IFACE.sock; the official app's wg uses
/data/data/com.wireguard.android/cache/wireguard). The install reads that path
out of the phone's wg binary and writes it into the launcher
(WGDROID_UAPI_DIR). Android has no /var/run and its root filesystem is
read-only, so a wg with the default RUNSTATEDIR cannot work there: build it
with RUNSTATEDIR=/data/adb/wgdroid/run (install refuses, saying so, when the
directory cannot be created). The simulator's Android phones have no /run
and no /var either; their wg and wireguard-go keep sockets in
/mnt/run/wireguard (docs/android-phone.md).
The launcher also needs the Linux wg-quick (a bash script: it has the
WG_QUICK_USERSPACE_IMPLEMENTATION fallback; the Android one has none), and
with it bash on the phone.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from wgdroid.device import script as sc
from wgdroid.device.connection import Device
from wgdroid.device.failures import NO_TOOLS as NO_TOOLS
from wgdroid.device.failures import NoToolsError as NoToolsError
from wgdroid.device.rootshell import RootMethod, run_root
from wgdroid.errors import InvalidInputError, NotFoundError

BIN_DIR = sc.ANDROID.wgdroid_bin
LIB_DIR = sc.ANDROID.wgdroid_lib
RUN_DIR = sc.ANDROID.wgdroid_run  # the RUNSTATEDIR we ask device builds of wg to use
MODULE_DIR = sc.MAGISK_MODULE
MODULE_ID = sc.MODULE_ID
APP_PACKAGE = sc.APP_PACKAGE
USERSPACE_ZIP = sc.ANDROID.userspace_zip
LAUNCHER = sc.USERSPACE_TOOL
BINARIES = ("wg", "wg-quick", "wireguard-go")
TOOLS = (*BINARIES, LAUNCHER)
# The app's native-lib names for its bundled tools.
APP_LIBS = {"wg": "libwg.so", "wg-quick": "libwg-quick.so"}
# Build.SUPPORTED_ABIS name -> the APK lib dir name.
ABI_LIB_DIRS = {"arm64-v8a": "arm64", "armeabi-v7a": "arm", "x86_64": "x86_64", "x86": "x86"}
MAX_BINARY = 64 * 1024 * 1024  # wireguard-go is ~5 MiB; anything this big is a mistake
INSTALL_TIMEOUT = 180.0

@dataclass(frozen=True)
class Location:
    path: str
    source: str  # wgdroid | path | system | magisk:<id> | app | app-lib
    detail: str | None = None  # a version line (wg, wireguard-go) or wg-quick's variant


@dataclass
class ToolState:
    name: str
    active: str | None = None  # what root scripts run (PATH order of script.Script)
    version: str | None = None
    variant: str | None = None  # wg-quick only: linux | android
    locations: list[Location] = field(default_factory=list)


@dataclass
class ToolsStatus:
    serial: str
    abi: str | None = None
    abilist: list[str] = field(default_factory=list)
    kernel_module: bool = False
    app_apk: str | None = None
    tools: dict[str, ToolState] = field(default_factory=dict)
    python3: str | None = None
    cryptography: str | None = None
    socket_dir: str | None = None  # where the active wg looks for UAPI sockets
    userspace_version: str | None = None
    method: str | None = None
    elapsed: float = 0.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["tools"] = {n: asdict(t) for n, t in self.tools.items()}
        return data


@dataclass(frozen=True)
class Placed:
    tool: str
    action: str  # installed (pushed or wgdroid's own) | copied (from the app) | kept
    path: str
    source: str


@dataclass(frozen=True)
class InstallResult:
    placed: list[Placed]
    method: RootMethod
    elapsed: float
    round_trips: int
    socket_dir: str | None = None
    # Pushed tools left out, with why (a wg-quick whose interpreter the phone
    # lacks, where wgdroid's own Android bring-up does not need it).
    skipped: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "tools": [asdict(p) for p in self.placed],
            "skipped": self.skipped,
            "socket_dir": self.socket_dir,
            "root_method": str(self.method),
            "elapsed_seconds": round(self.elapsed, 3),
            "round_trips": self.round_trips,
        }


def parse_status(serial: str, stdout: str) -> ToolsStatus:
    """The pure part: `fact`, `active` and `found` records to a ToolsStatus."""
    st = ToolsStatus(serial, tools={t: ToolState(t) for t in TOOLS})
    values: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    for r in sc.records(stdout, "fact", "active", "found"):
        if r.kind == "fact":
            values[r["key"]] = r["value"].strip()
        elif r["tool"] not in st.tools:
            continue
        elif r.kind == "active":
            st.tools[r["tool"]].active = r["path"]
        elif (r["tool"], r["path"]) not in seen:
            seen.add((r["tool"], r["path"]))
            st.tools[r["tool"]].locations.append(
                Location(r["path"], r["source"], r["detail"].strip() or None))
    st.abi = values.get("abi") or None
    st.abilist = [a for a in values.get("abilist", "").split(",") if a]
    st.kernel_module = values.get("module") == "yes"
    st.app_apk = values.get("app_apk") or None
    st.python3 = values.get("python3") or None
    st.cryptography = values.get("cryptography") or None
    st.socket_dir = values.get("socket_dir") or None
    for tool in st.tools.values():
        here = next((loc for loc in tool.locations if loc.path == tool.active), None)
        detail = here.detail if here else None
        if tool.name == "wg-quick":
            tool.variant = detail
        elif tool.name == LAUNCHER:
            st.userspace_version = detail if tool.active else None
            tool.version = detail
        else:
            tool.version = detail
    return st


def status(device: Device, *, root_timeout: float | None = None) -> ToolsStatus:
    """Where each tool is on the phone, in one root round trip."""
    script = sc.Script("tools").call("op_tools_status").render()
    res = run_root(device, script, root_timeout=root_timeout)
    res.raise_for_failure("tools status")
    st = parse_status(device.serial, res.stdout)
    st.method, st.elapsed = res.method.value, res.elapsed
    return st


# -- local binaries ---------------------------------------------------------------


def _abi_names(abi: str) -> list[str]:
    return [abi, ABI_LIB_DIRS[abi]] if abi in ABI_LIB_DIRS else [abi]


def local_layout_needs_abi(from_dir: Path) -> bool:
    """Whether DIR is per-ABI (then the phone's ABI list picks the subdirectory)."""
    if not from_dir.is_dir():
        raise NotFoundError(f"{from_dir}: no such directory")
    return not any((from_dir / t).is_file() for t in BINARIES)


def local_binaries(from_dir: Path, abilist: list[str]) -> tuple[str, dict[str, bytes]]:
    """(where they came from, tool -> bytes) for the phone's ABIs."""
    if local_layout_needs_abi(from_dir):
        candidates = [from_dir / name for abi in abilist for name in _abi_names(abi)]
        chosen = next((d for d in candidates if d.is_dir()), None)
        if chosen is None:
            have = ", ".join(sorted(p.name for p in from_dir.iterdir() if p.is_dir())) or "none"
            raise NotFoundError(
                f"{from_dir} has no tools for this phone's ABI ({', '.join(abilist) or '?'}); "
                f"it has: {have}",
                hint="lay it out as DIR/<abi>/wg and DIR/<abi>/wg-quick, or flat as DIR/wg",
            )
    else:
        chosen = from_dir
    found: dict[str, bytes] = {}
    for tool in BINARIES:
        path = chosen / tool
        if not path.is_file():
            continue
        if path.stat().st_size > MAX_BINARY:
            raise InvalidInputError(f"{path}: larger than {MAX_BINARY // 2**20} MiB")
        found[tool] = path.read_bytes()
    if not found:
        raise NotFoundError(f"{chosen} has none of {', '.join(BINARIES)}")
    return str(chosen), found


# -- install ----------------------------------------------------------------------


def install_script(
    pushed: dict[str, tuple[int, int, str]],
    *,
    reuse: bool,
    userspace: tuple[int, int, str] | None,
    magisk_module: bool,
) -> str:
    """The one root script of `tools install` (sh/tools.sh `op_tools_install`).
    `pushed`: tool -> (offset, size, sha256) in the stdin payload; `userspace`:
    the zip's (offset, size, sha256)."""

    def spec(part: tuple[int, int, str]) -> str:
        off, size, sha = part
        if not all(c in "0123456789abcdef" for c in sha):
            raise InvalidInputError("not a hex digest")
        return f"{int(off)}:{int(size)}:{sha}"

    if not set(pushed) <= set(BINARIES):
        raise InvalidInputError(f"only {', '.join(BINARIES)} can be pushed")
    specs = [f"{tool}:{spec(part)}" for tool, part in sorted(pushed.items())]
    return sc.Script("tools", timeout=INSTALL_TIMEOUT).call(
        "op_tools_install", int(reuse), int(magisk_module),
        spec(userspace) if userspace is not None else "-", *specs,
    ).render()


def _abilist(device: Device) -> list[str]:
    res = device.run("getprop ro.product.cpu.abilist; getprop ro.product.cpu.abi", timeout=30)
    lines = res.out.split("\n")
    names = [a.strip() for a in lines[0].split(",") if a.strip()] if lines else []
    if len(lines) > 1 and lines[1].strip() and lines[1].strip() not in names:
        names.append(lines[1].strip())
    return names


def install(
    device: Device,
    *,
    from_dir: Path | None = None,
    userspace: bool = False,
    magisk_module: bool = False,
    reuse: bool = True,
    root_timeout: float | None = None,
) -> InstallResult:
    """Install wg/wg-quick (pushed from `from_dir`, else reused from the phone or
    the official app) and, with `userspace`, the bundled data plane. One root
    round trip (two when DIR is per-ABI: the phone's ABI list is read first)."""
    trips = 0
    pushed_bytes: dict[str, bytes] = {}
    if from_dir is not None:
        abilist: list[str] = []
        if local_layout_needs_abi(from_dir):
            abilist = _abilist(device)
            trips += 1
        _, pushed_bytes = local_binaries(from_dir, abilist)
    parts: list[bytes] = []
    offset = 0
    pushed: dict[str, tuple[int, int, str]] = {}
    for tool, data in sorted(pushed_bytes.items()):
        pushed[tool] = (offset, len(data), hashlib.sha256(data).hexdigest())
        parts.append(data)
        offset += len(data)
    zip_part: tuple[int, int, str] | None = None
    if userspace:
        from wgdroid.device.bundle import build_zip

        data = build_zip()
        zip_part = (offset, len(data), hashlib.sha256(data).hexdigest())
        parts.append(data)
    script = install_script(pushed, reuse=reuse, userspace=zip_part, magisk_module=magisk_module)
    stdin = b"".join(parts) if parts else None
    res = run_root(device, script, stdin=stdin, root_timeout=root_timeout,
                   timeout=INSTALL_TIMEOUT)
    trips += 1
    res.raise_for_failure("installing tools")
    placed = [
        Placed(r["tool"], {"kept": "kept", "app-lib": "copied"}.get(r["source"], "installed"),
               r["path"], r["source"])
        for r in res.records("placed")
    ]
    sock = next((r["path"] for r in res.records("sockdir")), None)
    skipped = {r["tool"]: f"needs {r['interpreter']}, which this phone lacks; it does not need "
               "wg-quick (wgdroid brings tunnels up through netd)"
               for r in res.records("skipped")}
    return InstallResult(placed, res.method, res.elapsed, trips, sock, skipped)


# -- remove -----------------------------------------------------------------------


def remove(device: Device, *, force: bool = False,
           root_timeout: float | None = None) -> list[str]:
    """Undo `install`: delete /data/adb/wgdroid and our Magisk module. Refused
    while a tunnel is up (it may run on these tools), unless `force`."""
    script = sc.Script("tools").call("op_tools_remove", int(force)).render()
    res = run_root(device, script, root_timeout=root_timeout)
    res.raise_for_failure("removing tools")
    return [r["path"] for r in res.records("removed")]
