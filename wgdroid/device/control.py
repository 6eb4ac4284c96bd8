"""Bringing tunnels up and down with wg-quick, as root, in one round trip.

The shell functions `wg_up` and `wg_down` are shared by enable/disable and by
the store operations that restart a tunnel (push --enable, rename --force),
so every path checks and cleans up the same way:

- before `up`: the config exists, the interface does not, its ListenPort is
  not used by a tunnel already up (a ConflictError before wg-quick runs),
  and the chosen backend exists;
- a failed `up` is torn down in the same script (`wg-quick down`, then
  `ip link del`), so nothing is left half up;
- wg-quick's stdout (`[#]` lines on Android) goes to stderr, so stdout
  stays ours; its own messages come back trimmed in the error.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from wgdroid.device import script as sc
from wgdroid.device.connection import Device
from wgdroid.device.dialect import DETECT_FUNCTION
from wgdroid.device.rootshell import RootMethod, run_root


class Backend(StrEnum):
    AUTO = "auto"
    KERNEL = "kernel"
    WIREGUARD_GO = "wireguard-go"
    USERSPACE = "userspace"


# The bundled userspace data plane's launcher on the phone, once it is installed there.
USERSPACE_TOOL = "wgdroid-userspace"

_LISTEN_PORT_SED = (
    r"s/^[[:space:]]*[Ll][Ii][Ss][Tt][Ee][Nn][Pp][Oo][Rr][Tt][[:space:]]*="
    r"[[:space:]]*\([0-9][0-9]*\).*/\1/p"
)


# Failures `wgdroid tools install --userspace` may fix (enable retries once after it).
NO_BACKEND = "no backend: no WireGuard kernel module, no wireguard-go, no userspace backend"
NO_USERSPACE = "no userspace backend installed on the phone"
_NO_BACKEND = sc.q(NO_BACKEND)
_NO_WG_GO = sc.q("wireguard-go not found on the phone")
_NO_USERSPACE = sc.q(NO_USERSPACE)
_ANDROID_NO_USERSPACE = sc.q(
    "this phone's wg-quick (the Android one) needs the WireGuard kernel module: "
    "it cannot use a userspace backend"
)
_KMOD_WINS = sc.q("wg-quick always uses the loaded kernel module; use --backend kernel")



def functions() -> str:
    """Shell functions wg_up NAME BACKEND and wg_down NAME [quiet]; need Script's `fail`."""
    d, st = sc.STORE_DIR, sc.STATE_DIR
    return DETECT_FUNCTION + f"""
is_up() {{ wg show "$1" >/dev/null 2>&1 || [ -e "/sys/class/net/$1" ]; }}
pick_backend() {{
  b=$1
  if [ "$b" = auto ]; then
    if [ -d /sys/module/wireguard ]; then b=kernel
    elif command -v wireguard-go >/dev/null 2>&1; then b=wireguard-go
    elif command -v {USERSPACE_TOOL} >/dev/null 2>&1; then b=userspace
    else fail missing-tools {_NO_BACKEND}
    fi
  fi
  if [ "$b" != kernel ]; then
    # The Android wg-quick (a binary, not a bash script) has no userspace fallback.
    [ "$(wg_dialect)" = linux ] ||
      fail missing-tools {_ANDROID_NO_USERSPACE}
  fi
  case $b in
    kernel)
      [ -d /sys/module/wireguard ] || fail missing-tools 'no WireGuard kernel module on this phone'
      unset WG_QUICK_USERSPACE_IMPLEMENTATION ;;
    wireguard-go)
      command -v wireguard-go >/dev/null 2>&1 || fail missing-tools {_NO_WG_GO}
      [ -d /sys/module/wireguard ] && fail backend {_KMOD_WINS}
      WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go; export WG_QUICK_USERSPACE_IMPLEMENTATION ;;
    userspace)
      u=$(command -v {USERSPACE_TOOL} 2>/dev/null) || fail missing-tools {_NO_USERSPACE}
      [ -d /sys/module/wireguard ] && fail backend {_KMOD_WINS}
      WG_QUICK_USERSPACE_IMPLEMENTATION=$u; export WG_QUICK_USERSPACE_IMPLEMENTATION ;;
  esac
}}
wg_up() {{
  n=$1; f="{d}/$1.conf"
  [ -f "$f" ] || fail not-found "$n"
  command -v wg-quick >/dev/null 2>&1 || fail missing-tools 'wg-quick not found on the phone'
  command -v wg >/dev/null 2>&1 || fail missing-tools 'wg not found on the phone'
  is_up "$n" && fail already-up "$n"
  p=$(sed -n '{_LISTEN_PORT_SED}' "$f" | tail -n 1)
  if [ -n "$p" ] && [ "$p" -ne 0 ]; then
    c=$(wg show all listen-port | while read -r i lp; do
      [ "$lp" -eq "$p" ] 2>/dev/null && echo "$i"
    done)
    [ -n "$c" ] && fail port-clash "$p $c"
  fi
  pick_backend "$2"
  if ! wg-quick up "$f" 1>&2; then
    wg-quick down "$f" >/dev/null 2>&1
    ip link del "$n" >/dev/null 2>&1
    fail up-failed "wg-quick up $n"
  fi
  mkdir -p {st} && chmod 700 {st}
  echo "$(date +%s) $b $(cat "/sys/class/net/$n/ifindex" 2>/dev/null)" > "{st}/$n"
  printf 'B\\t%s\\t%s\\n' "$n" "$b"
}}
wg_down() {{
  n=$1; f="{d}/$1.conf"
  if ! is_up "$n"; then
    rm -f "{st}/$n"
    [ "$2" = quiet ] && return 0
    fail not-up "$n"
  fi
  command -v wg-quick >/dev/null 2>&1 || fail missing-tools 'wg-quick not found on the phone'
  if [ -f "$f" ]; then wg-quick down "$f" 1>&2 || ip link del "$n" 1>&2
  else ip link del "$n" 1>&2
  fi
  is_up "$n" && fail down-failed "wg-quick down $n"
  rm -f "{st}/$n"
  printf 'D\\t%s\\n' "$n"
}}
"""


@dataclass(frozen=True)
class ControlResult:
    name: str
    action: str  # up | down | noop
    backend: str | None  # the backend chosen at up
    method: RootMethod
    elapsed: float


def _backend_from(stdout: str, name: str) -> str | None:
    for line in stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[0] == "B" and parts[1] == name:
            return parts[2]
    return None


def enable(
    device: Device,
    name: str,
    *,
    backend: Backend = Backend.AUTO,
    root_timeout: float | None = None,
    timeout: float = 60.0,
    install_userspace: bool = True,
) -> ControlResult:
    """`wg-quick up` /data/misc/wireguard/NAME.conf on the chosen backend.

    With `userspace` and no userspace backend on the phone (or `auto` and no
    backend at all), the bundled data plane is installed first (`wgdroid tools
    install --userspace`: two more round trips) and the up is retried once."""
    sc.check_name(name)
    backend = Backend(backend)
    script = sc.Script().add(functions(), f"wg_up {sc.q(name)} {sc.q(backend.value)}").render()
    res = run_root(device, script, root_timeout=root_timeout, timeout=timeout)
    if install_userspace and userspace_would_help(res.tags, backend):
        _install_userspace(device, backend, res.tags, res.stderr_lines, res.returncode,
                           root_timeout)
        res = run_root(device, script, root_timeout=root_timeout, timeout=timeout)
    sc.raise_for_tags(res.tags, res.stderr_lines, res.returncode, f"enabling {name}")
    return ControlResult(name, "up", _backend_from(res.stdout, name), res.method, res.elapsed)


def userspace_would_help(tags: list[sc.Tag], backend: Backend) -> bool:
    """An up failed only for want of a backend that the bundled data plane gives."""
    said = {t.detail for t in tags if t.kind == "missing-tools"}
    if backend is Backend.USERSPACE:
        return NO_USERSPACE in said
    return backend is Backend.AUTO and NO_BACKEND in said


def _install_userspace(
    device: Device,
    backend: Backend,
    tags: list[sc.Tag],
    stderr_lines: list[str],
    returncode: int,
    root_timeout: float | None,
) -> None:
    """Push the bundled data plane (`wgdroid tools install --userspace`). With
    `auto`, a phone that can't run it (no python3 + cryptography, no Linux
    wg-quick) keeps the original "no backend" error."""
    from wgdroid.device import tools
    from wgdroid.errors import MissingToolsError

    try:
        tools.install(device, userspace=True, reuse=False, root_timeout=root_timeout)
    except MissingToolsError as exc:
        if backend is Backend.AUTO:
            sc.raise_for_tags(tags, stderr_lines, returncode, "enabling")
        raise MissingToolsError(
            f"no userspace backend on the phone, and installing it failed: {exc.message}",
            hint=exc.hint,
        ) from None


def disable(
    device: Device,
    name: str,
    *,
    root_timeout: float | None = None,
    timeout: float = 60.0,
) -> ControlResult:
    """`wg-quick down`; a tunnel that is already down is a no-op (action "noop")."""
    sc.check_name(name)
    script = sc.Script().add(functions(), f"wg_down {sc.q(name)} quiet")
    res = run_root(device, script.render(), root_timeout=root_timeout, timeout=timeout)
    sc.raise_for_tags(res.tags, res.stderr_lines, res.returncode, f"disabling {name}")
    was_up = any(line == f"D\t{name}" for line in res.stdout.splitlines())
    return ControlResult(name, "down" if was_up else "noop", None, res.method, res.elapsed)
