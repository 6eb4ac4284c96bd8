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

Binaries travel on the root script's stdin (one adb stream), are checked
(size, SHA-256) and written temp + rename, chown 0:0, chmod 0755.

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
directory cannot be created). The simulator's phones have /var/run -> /run.
The launcher also needs the Linux wg-quick (a bash script: it has the
WG_QUICK_USERSPACE_IMPLEMENTATION fallback; the Android one has none), and
with it bash on the phone.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from wgdroid import __version__
from wgdroid.device import control
from wgdroid.device import script as sc
from wgdroid.device.connection import Device
from wgdroid.device.dialect import DETECT_FUNCTION
from wgdroid.device.rootshell import RootMethod, run_root
from wgdroid.errors import (
    ConflictError,
    InvalidInputError,
    MissingToolsError,
    NotFoundError,
)

BIN_DIR = sc.WGDROID_BIN
LIB_DIR = f"{sc.WGDROID_DIR}/lib"
RUN_DIR = f"{sc.WGDROID_DIR}/run"  # the RUNSTATEDIR we ask device builds of wg to use
MODULE_DIR = sc.MAGISK_MODULE
MODULE_ID = "wgdroid-tools"
APP_PACKAGE = "com.wireguard.android"
USERSPACE_ZIP = f"{LIB_DIR}/wgdroid-userspace.zip"
LAUNCHER = control.USERSPACE_TOOL
BINARIES = ("wg", "wg-quick", "wireguard-go")
TOOLS = (*BINARIES, LAUNCHER)
# The app's native-lib names for its bundled tools.
APP_LIBS = {"wg": "libwg.so", "wg-quick": "libwg-quick.so"}
# Build.SUPPORTED_ABIS name -> the APK lib dir name.
ABI_LIB_DIRS = {"arm64-v8a": "arm64", "armeabi-v7a": "arm", "x86_64": "x86_64", "x86": "x86"}
MAX_BINARY = 64 * 1024 * 1024  # wireguard-go is ~5 MiB; anything this big is a mistake
INSTALL_TIMEOUT = 180.0

NO_TOOLS = (
    "no wg/wg-quick on the phone and nothing to reuse (not on PATH, not in a Magisk "
    "module, no official WireGuard app): run `wgdroid tools install --from DIR` with "
    "binaries for the phone's ABI (scripts/build-device-tools builds them into "
    "build/device-tools/<abi>/), or install the official WireGuard app and run "
    "`wgdroid tools install` again"
)


class NoToolsError(MissingToolsError):
    """Nothing to install from: the message says the fixes."""


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

    def to_json(self) -> dict[str, Any]:
        return {
            "tools": [asdict(p) for p in self.placed],
            "socket_dir": self.socket_dir,
            "root_method": str(self.method),
            "elapsed_seconds": round(self.elapsed, 3),
            "round_trips": self.round_trips,
        }


# -- shell pieces ---------------------------------------------------------------

# The UAPI socket directory compiled into a wg binary (RUNSTATEDIR/wireguard).
SOCK_DIR_FN = r"""sock_dir() {
  s=$(grep -ao '/[-A-Za-z0-9_./]*/wireguard/%s\.sock' "$1" 2>/dev/null | head -n 1)
  [ -n "$s" ] || s=$(strings "$1" 2>/dev/null | grep '/wireguard/%s\.sock$' | head -n 1)
  [ -n "$s" ] || s=/var/run/wireguard/%s.sock
  echo "${s%/%s.sock}"
}"""

_APP_FN = f"""app_apk() {{
  pm path {APP_PACKAGE} 2>/dev/null | sed -n 's/^package://p' | head -n 1
}}
app_lib() {{
  [ -n "$a" ] || return 1
  for f in "${{a%/*}}"/lib/*/"$1"; do [ -f "$f" ] && {{ echo "$f"; return 0; }}; done
  return 1
}}"""

_PY_FN = """find_python() {
  command -v python3 2>/dev/null && return 0
  for p in /data/data/com.termux/files/usr/bin/python3 /data/local/bin/python3; do
    [ -x "$p" ] && { echo "$p"; return 0; }
  done
  return 1
}"""


def status_script() -> str:
    app_bin = sc.APP_BIN
    return "\n".join([
        DETECT_FUNCTION, SOCK_DIR_FN, _APP_FN, _PY_FN,
        "k() { printf 'K\\t%s\\t%s\\n' \"$1\" \"$2\"; }",
        'k abi "$(getprop ro.product.cpu.abi)"',
        'k abilist "$(getprop ro.product.cpu.abilist)"',
        "[ -d /sys/module/wireguard ] && k module yes",
        "a=$(app_apk); k app_apk \"$a\"",
        "detail() {",
        '  case "$1" in',
        '    wg|wireguard-go) "$2" --version 2>&1 | head -n 1 ;;',
        '    wg-quick) wg_dialect "$2" ;;',
        f'    {LAUNCHER}) sed -n 2p "$2" | sed -n "s/^# {LAUNCHER} //p" ;;',
        "  esac",
        "}",
        # One F line per place a tool is found (the host drops duplicates).
        'loc() { [ -f "$2" ] && [ -x "$2" ] && '
        'printf \'F\\t%s\\t%s\\t%s\\t%s\\n\' "$1" "$2" "$3" "$(detail "$1" "$2")"; }',
        f"for t in {' '.join(TOOLS)}; do",
        '  p=$(command -v "$t" 2>/dev/null) && printf \'A\\t%s\\t%s\\n\' "$t" "$p"',
        '  for d in $(echo "$PATH" | tr : " ") /data/adb/modules/*/system/bin '
        "/data/adb/modules/*/system/xbin; do",
        '    case "$d" in',
        f"      {BIN_DIR}) s=wgdroid ;;",
        f"      {app_bin}) s=app ;;",
        "      /system/*) s=system ;;",
        '      /data/adb/modules/*) m=${d#/data/adb/modules/}; s="magisk:${m%%/*}" ;;',
        "      *) s=path ;;",
        "    esac",
        '    loc "$t" "$d/$t" "$s"',
        "  done",
        "done",
        *(f'f=$(app_lib {lib}) && loc {tool} "$f" app-lib' for tool, lib in APP_LIBS.items()),
        'w=$(command -v wg 2>/dev/null) && k socket_dir "$(sock_dir "$w")"',
        'if py=$(find_python); then',
        '  k python3 "$py"',
        '  k cryptography "$("$py" -c \'import cryptography; print(cryptography.__version__)\''
        ' 2>/dev/null)"',
        "fi",
    ])


def parse_status(serial: str, stdout: str) -> ToolsStatus:
    """The pure part: K/A/F lines to a ToolsStatus."""
    st = ToolsStatus(serial, tools={t: ToolState(t) for t in TOOLS})
    values: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    for line in stdout.splitlines():
        f = line.split("\t")
        if f[0] == "K" and len(f) == 3:
            values[f[1]] = f[2].strip()
        elif f[0] == "A" and len(f) == 3 and f[1] in st.tools:
            st.tools[f[1]].active = f[2]
        elif f[0] == "F" and len(f) == 5 and f[1] in st.tools and (f[1], f[2]) not in seen:
            seen.add((f[1], f[2]))
            st.tools[f[1]].locations.append(Location(f[2], f[3], f[4].strip() or None))
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
    res = run_root(device, sc.Script().add(status_script()).render(), root_timeout=root_timeout)
    sc.raise_for_tags(res.tags, res.stderr_lines, res.returncode, "tools status")
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

_INSTALL_FNS = r"""TMPS=; MD=
# Temp files go on any exit, and our dirs too when they hold nothing (all kept, or failed).
trap 'rm -f "$T" $TMPS; rmdir "$L" "$B" "$W" 2>/dev/null
  [ -n "$MD" ] && [ -z "$(ls -A "$MD/system/bin" 2>/dev/null)" ] && rm -rf "$MD"' EXIT
commit() {  # TEMP DEST NAME MODE SOURCE: chown, chmod, rename, report
  chown 0:0 "$1" && chmod "$4" "$1" || fail write "chmod $2/$3 failed"
  chcon u:object_r:system_file:s0 "$1" 2>/dev/null
  mv -f "$1" "$2/$3" || fail write "renaming into $2/$3 failed"
  printf 'I\t%s\t%s\t%s\n' "$3" "$2/$3" "$5"
}
place() {  # DEST NAME MODE SOURCE OFFSET SIZE SHA256: a part of the payload
  t="$1/.$2.tmp.$$"; TMPS="$TMPS $t"
  tail -c +$(($5 + 1)) "$T" | head -c "$6" > "$t" || fail write "writing $1/$2 failed"
  [ "$(wc -c < "$t")" -eq "$6" ] || fail truncated "$2 arrived incomplete"
  if command -v sha256sum >/dev/null 2>&1; then
    [ "$(sha256sum < "$t" | cut -d' ' -f1)" = "$7" ] || fail corrupt "$2 arrived damaged"
  fi
  commit "$t" "$1" "$2" "$3" "$4"
}
copy() {  # DEST NAME SRC SOURCE
  t="$1/.$2.tmp.$$"; TMPS="$TMPS $t"
  cp "$3" "$t" || fail write "copying $3 failed"
  commit "$t" "$1" "$2" 755 "$4"
}
"""


def _launcher_lines() -> list[str]:
    """Script lines that write the launcher; need $py, $sd, $TD-independent BIN_DIR."""
    return [
        f"t={BIN_DIR}/.{LAUNCHER}.tmp.$$; TMPS=\"$TMPS $t\"",
        "{",
        "  echo '#!/system/bin/sh'",
        f"  echo '# {LAUNCHER} {__version__}'",
        "  echo '# wgdroid tools install --userspace wrote this: wgdroid.userspace on python3.'",
        "  echo '# wg looks for UAPI sockets in the directory compiled into it: this one.'",
        "  echo \"mkdir -p '$sd' && chmod 700 '$sd' || exit 1\"",
        "  echo \"export WGDROID_UAPI_DIR='$sd'\"",
        f"  echo \"export PYTHONPATH='{USERSPACE_ZIP}'\\\"\\${{PYTHONPATH:+:\\$PYTHONPATH}}\\\"\"",
        "  echo \"exec '$py' -m wgdroid.userspace \\\"\\$@\\\"\"",
        '} > "$t" || fail write "writing the launcher failed"',
        f'commit "$t" {BIN_DIR} {LAUNCHER} 755 wgdroid',
    ]


def _userspace_lines(zip_off: int, zip_size: int, zip_sha: str) -> list[str]:
    py_missing = sc.q(
        "the userspace backend needs python3 on the phone (with the cryptography "
        "package), e.g. Termux's: `pkg install python python-cryptography`"
    )
    no_crypto = sc.q(
        "python3 on the phone lacks the cryptography package: `pip install cryptography` "
        "(Termux: `pkg install python-cryptography`)"
    )
    android_wgq = sc.q(
        "the userspace backend needs the Linux wg-quick (it starts a userspace "
        "implementation); this phone's is the Android one: `wgdroid tools install --from DIR` "
        "with a Linux wg-quick"
    )
    return [
        "py=$(find_python) || fail no-python " + py_missing,
        '"$py" -c "import sys; sys.exit(sys.version_info < (3, 11))" 2>/dev/null || '
        'fail no-python "the userspace backend needs Python 3.11 or newer; $py is '
        '$("$py" -V 2>&1)"',
        '"$py" -c "import cryptography" 2>/dev/null || fail no-python ' + no_crypto,
        '[ "$(wg_dialect)" = linux ] || fail no-linux-wgquick '
        + android_wgq,
        'sd=$(sock_dir "$(command -v wg)")',
        'case "$sd$py" in *[!-A-Za-z0-9_./+=]*) fail write "unusual path: $sd $py" ;; esac',
        'if ! mkdir -p "$sd" 2>/dev/null; then',
        '  fail socket-dir "this phone\'s wg looks for UAPI sockets in $sd, which cannot be '
        f"created here (no /var/run on Android): use a wg built with RUNSTATEDIR={RUN_DIR} "
        '(`wgdroid tools install --from DIR`)"',
        "fi",
        f"place {LIB_DIR} {USERSPACE_ZIP.rsplit('/', 1)[1]} 644 wgdroid "
        f"{zip_off} {zip_size} {zip_sha}",
        *_launcher_lines(),
        'printf \'S\\t%s\\n\' "$sd"',
    ]


def install_script(
    pushed: dict[str, tuple[int, int, str]],
    *,
    reuse: bool,
    userspace: tuple[int, int, str] | None,
    magisk_module: bool,
) -> str:
    """The one root script of `tools install`. `pushed`: tool -> (offset, size, sha256)
    in the stdin payload; `userspace`: the zip's (offset, size, sha256)."""
    s = sc.Script().add(DETECT_FUNCTION, SOCK_DIR_FN, _APP_FN, _PY_FN)
    payload = bool(pushed) or userspace is not None
    s.add(
        f"W={sc.WGDROID_DIR}; B={BIN_DIR}; L={LIB_DIR}",
        'T=; mkdir -p "$B" "$L" || fail write "cannot create $B"',
        'chown 0:0 "$W" "$B" "$L"; chmod 755 "$W" "$B" "$L"',
        _INSTALL_FNS,
    )
    if payload:
        s.add('T="$W/.payload.$$"', 'cat > "$T" || fail write "receiving the payload failed"')
    if "wg-quick" in pushed:
        # The Linux wg-quick is a bash script: refuse before writing anything if
        # the phone can't run it (Android has no /bin/bash).
        s.add(
            f'l=$(tail -c +{pushed["wg-quick"][0] + 1} "$T" | head -n 1)',
            'case "$l" in',
            "  '#!'*) i=${l#??}; set -- $i",
            '    [ -x "$1" ] || fail no-interpreter "the pushed wg-quick is a script for $1, '
            "which this phone lacks: install it (e.g. Termux's bash) and fix the script's "
            'first line, or push the Android wg-quick (scripts/build-device-tools)" ;;',
            "esac",
        )
    if magisk_module:
        m = MODULE_DIR
        s.add(
            "[ -d /data/adb/modules ] || fail not-magisk "
            + sc.q("no /data/adb/modules: --magisk-module needs Magisk"),
            f'MD={m}; TD={m}/system/bin; mkdir -p "$TD" || fail write "cannot create {m}"',
            f"chown -R 0:0 {m}; chmod 755 {m} {m}/system \"$TD\"",
            f"t={m}/.module.prop.tmp.$$; TMPS=\"$TMPS $t\"",
            "printf '%s\\n' id=" + MODULE_ID + " 'name=WireGuard tools (wgdroid)' "
            + sc.q(f"version={__version__}") + " versionCode=1 author=wgdroid "
            + sc.q("description=wg, wg-quick and wireguard-go installed by wgdroid")
            + ' > "$t" || fail write "writing module.prop failed"',
            f'commit "$t" {m} module.prop 644 wgdroid >/dev/null',
        )
    else:
        s.add('TD="$B"')
    for tool, (off, size, sha) in sorted(pushed.items()):
        s.add(f'place "$TD" {sc.q(tool)} 755 local {off} {size} {sha}')
    if reuse:
        s.add("a=$(app_apk)")
        for tool, lib in APP_LIBS.items():
            if tool in pushed:
                continue
            s.add(
                f"if p=$(command -v {tool} 2>/dev/null); then printf 'I\\t%s\\t%s\\t%s\\n' "
                f"{tool} \"$p\" kept",
                f'elif f=$(app_lib {lib}); then copy "$TD" {tool} "$f" app-lib',
                "fi",
            )
    s.add(
        "if ! command -v wg >/dev/null 2>&1 || ! command -v wg-quick >/dev/null 2>&1; then",
        "  " + sc.fail("no-tools", "wg and wg-quick"),
        "fi",
    )
    if userspace is not None:
        s.add(*_userspace_lines(*userspace))
    s.add("sync")
    return s.render()


def _raise_install(tags: list[sc.Tag], stderr_lines: list[str], returncode: int) -> None:
    for tag in tags:
        if tag.kind == "no-tools":
            raise NoToolsError(NO_TOOLS)
        if tag.kind in ("no-python", "no-linux-wgquick", "socket-dir", "not-magisk",
                        "no-interpreter"):
            raise MissingToolsError(tag.detail)
    sc.raise_for_tags(tags, stderr_lines, returncode, "installing tools")


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
    _raise_install(res.tags, res.stderr_lines, res.returncode)
    placed = []
    sock: str | None = None
    for line in res.stdout.splitlines():
        f = line.split("\t")
        if f[0] == "I" and len(f) == 4:
            action = {"kept": "kept", "app-lib": "copied"}.get(f[3], "installed")
            placed.append(Placed(f[1], action, f[2], f[3]))
        elif f[0] == "S" and len(f) == 2:
            sock = f[1]
    return InstallResult(placed, res.method, res.elapsed, trips, sock)


# -- remove -----------------------------------------------------------------------

_MODULE_ID_LINE = f"id={MODULE_ID}"


def remove_script(*, force: bool) -> str:
    m = MODULE_DIR
    return sc.Script().add(
        f"W={sc.WGDROID_DIR}; M={m}",
        'if [ -d "$W" ] || [ -d "$M" ]; then',
        '  up=$(echo $(wg show interfaces 2>/dev/null))',
        ('  [ -n "$up" ] && fail in-use "$up"' if not force else "  :"),
        "fi",
        'if [ -d "$W" ]; then rm -rf "$W" || fail rm "rm -rf $W failed"; '
        "printf 'R\\t%s\\n' \"$W\"; fi",
        # Only a module this tool wrote (its id), never someone else's.
        f'if [ -f "$M/module.prop" ] && grep -qx {sc.q(_MODULE_ID_LINE)} "$M/module.prop"; then',
        '  rm -rf "$M" || fail rm "rm -rf $M failed"; printf \'R\\t%s\\n\' "$M"',
        "fi",
        "sync",
    ).render()


def remove(device: Device, *, force: bool = False,
           root_timeout: float | None = None) -> list[str]:
    """Undo `install`: delete /data/adb/wgdroid and our Magisk module. Refused
    while a tunnel is up (it may run on these tools), unless `force`."""
    res = run_root(device, remove_script(force=force), root_timeout=root_timeout)
    tag = res.tag("in-use")
    if tag is not None:
        raise ConflictError(
            f"tunnels are up ({tag.detail}) and may be using wgdroid's tools",
            hint="`wgdroid disable NAME` first, or pass --force",
        )
    sc.raise_for_tags(res.tags, res.stderr_lines, res.returncode, "removing tools")
    return [ln.split("\t", 1)[1] for ln in res.stdout.splitlines() if ln.startswith("R\t")]

