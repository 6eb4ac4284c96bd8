"""Building the shell scripts that run on the phone.

Every operation is one POSIX sh script run by root in one su invocation.
Values that reach the script are validated first and always `shlex.quote`d;
the script itself travels to su as one quoted argument (`su -c '<script>'`),
so no su variant can split it. Scripts report structured failures as a tag
line on stderr, `wgdroid:E:<kind>:<detail>`, and exit with TAG_EXIT.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass

from wgdroid.config.names import check_tunnel_name

STORE_DIR = "/data/misc/wireguard"
STATE_DIR = f"{STORE_DIR}/.wgdroid"  # uptime/backend notes written at `up`
APP_BIN = "/data/data/com.wireguard.android/code_cache/bin"
# What `wgdroid tools install` puts on the phone (root-only, outside /system).
WGDROID_DIR = "/data/adb/wgdroid"
WGDROID_BIN = f"{WGDROID_DIR}/bin"
MAGISK_MODULE = "/data/adb/modules/wgdroid-tools"
# Where wg/wg-quick may live besides PATH. AOSP su resets PATH, so set it.
TOOL_DIRS = (
    "/system/bin",
    "/system/xbin",
    "/data/adb/modules/wireguard/system/xbin",
    "/data/adb/modules/wireguard/system/bin",
    f"{MAGISK_MODULE}/system/bin",  # usable before the reboot that mounts the module
    APP_BIN,
)
USERSPACE_ENV = "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD"

TAG_PREFIX = "wgdroid:"
GRANTED_TAG = "wgdroid:granted"
ERROR_TAG = "wgdroid:E:"
METHOD_TAG = "wgdroid:root="
NOT_ROOT_TAG = "wgdroid:not-root"
NOT_ROOT_EXIT = 98
TAG_EXIT = 99  # a script's own structured failure (the tag says which)

def q(value: str) -> str:
    return shlex.quote(value)


def check_name(name: str) -> str:
    """The one name rule (config.names), applied before a name nears a shell."""
    return check_tunnel_name(name)


def conf_path(name: str) -> str:
    return f"{STORE_DIR}/{check_name(name)}.conf"


@dataclass(frozen=True)
class Tag:
    kind: str
    detail: str


def split_tags(stderr: str) -> tuple[list[str], list[Tag], bool]:
    """(plain stderr lines, error tags, whether root was granted)."""
    lines: list[str] = []
    tags: list[Tag] = []
    granted = False
    for line in stderr.splitlines():
        if line == GRANTED_TAG:
            granted = True
        elif line.startswith(ERROR_TAG):
            kind, _, detail = line[len(ERROR_TAG) :].partition(":")
            tags.append(Tag(kind, detail))
        elif line.startswith(METHOD_TAG) or line == NOT_ROOT_TAG:
            continue
        else:
            lines.append(line)
    return lines, tags, granted


def trimmed(lines: Iterable[str], limit: int = 8) -> str:
    """A tool's stderr for a one-line error: no `[#]` echo lines, the last few lines."""
    kept = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("[#]")]
    return "; ".join(kept[-limit:])


class Script:
    """A root script under construction. `fail` lines abort with a tag."""

    def __init__(self) -> None:
        dirs = ":".join(TOOL_DIRS)
        self._lines: list[str] = [
            # Granted means uid 0, whatever the form: a stale method can't run us unprivileged.
            f'[ "$(id -u)" = 0 ] || {{ echo {NOT_ROOT_TAG} >&2; exit {NOT_ROOT_EXIT}; }}',
            f"echo {GRANTED_TAG} >&2",
            "umask 077",
            # wgdroid's own tools first: what `wgdroid tools install` chose wins.
            f'PATH="{WGDROID_BIN}:$PATH:{dirs}"',
            f"export PATH {USERSPACE_ENV}=1",
            f"fail() {{ echo \"{ERROR_TAG}$1:$2\" >&2; exit {TAG_EXIT}; }}",
        ]

    def add(self, *lines: str) -> Script:
        self._lines.extend(lines)
        return self

    def render(self) -> str:
        return "\n".join(self._lines) + "\n"


def fail(kind: str, detail: str) -> str:
    """A script line that aborts with a tag (detail is quoted, so any text is safe)."""
    return f"fail {q(kind)} {q(detail)}"


def raise_for_tags(tags: list[Tag], stderr_lines: list[str], returncode: int, what: str) -> None:
    """Turn a script's tag (or a bare non-zero exit) into the shared error tree."""
    from wgdroid import errors

    said = trimmed(stderr_lines)
    for tag in tags:
        detail = tag.detail
        if tag.kind == "not-found":
            raise errors.NotFoundError(f"no tunnel {detail!r} on the device")
        if tag.kind == "not-up":
            raise errors.NotFoundError(f"tunnel {detail!r} is not up")
        if tag.kind == "already-up":
            raise errors.ConflictError(
                f"tunnel {detail!r} is already up", hint=f"`wgdroid disable {detail}` first"
            )
        if tag.kind == "is-up":
            raise errors.ConflictError(
                f"tunnel {detail!r} is up", hint="disable it first, or pass --force"
            )
        if tag.kind == "exists":
            raise errors.ConflictError(f"a tunnel named {detail!r} already exists")
        if tag.kind == "port-clash":
            port, _, other = detail.partition(" ")
            raise errors.ConflictError(
                f"ListenPort {port} is already used by tunnel {other.strip()!r}",
                hint="change ListenPort (or leave it out for a random one), or disable the other",
            )
        if tag.kind == "missing-tools":
            raise errors.MissingToolsError(
                f"{detail}",
                hint="`wgdroid tools status` shows what the phone has; "
                "`wgdroid tools install` adds what it lacks",
            )
        if tag.kind == "backend":
            raise errors.MissingToolsError(detail)
        suffix = f": {said}" if said else ""
        raise errors.DeviceCommandError(f"{what} failed ({detail}){suffix}", returncode=returncode)
    if returncode != 0:
        suffix = f": {said}" if said else ""
        raise errors.DeviceCommandError(
            f"{what} failed (exit {returncode}){suffix}", returncode=returncode
        )
