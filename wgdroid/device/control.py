"""Bringing tunnels up and down with wg-quick, as root, in one round trip.

The shell side is sh/tunnel.sh: `wg_up` and `wg_down` are shared by
enable/disable and by the store operations that restart a tunnel (push
--enable, rename --force), so every path checks and cleans up the same way,
under the tunnel's lock (sh/lib.sh `locked`):

- before `up`: the config exists, the interface does not, its ListenPort is
  not used by a tunnel already up (a ConflictError before wg-quick runs),
  and the chosen backend exists;
- a failed `up` is torn down in the same script (`wg-quick down`, then
  `ip link del`, then a stale UAPI socket), and only what it created;
- every step is bounded by the operation's budget; a step that runs out
  fails with its name and what the tools said;
- wg-quick's stdout (`[#]` lines on Android) goes to stderr, so stdout
  stays records; its own messages come back trimmed in the error.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from wgdroid.device import script as sc
from wgdroid.device import tools
from wgdroid.device.connection import Device
from wgdroid.device.rootshell import RootMethod, RootResult, run_root
from wgdroid.errors import MissingToolsError


class Backend(StrEnum):
    AUTO = "auto"
    KERNEL = "kernel"
    WIREGUARD_GO = "wireguard-go"
    USERSPACE = "userspace"


USERSPACE_TOOL = sc.USERSPACE_TOOL


@dataclass(frozen=True)
class ControlResult:
    name: str
    action: str  # up | down | noop
    backend: str | None  # the backend chosen at up
    method: RootMethod
    elapsed: float


def backend_from(res: RootResult, name: str) -> str | None:
    return next((r["backend"] for r in res.records("up") if r["name"] == name), None)


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
    script = sc.Script("tunnel", timeout=timeout).call("op_enable", name, backend.value).render()
    res = run_root(device, script, root_timeout=root_timeout, timeout=timeout)
    if install_userspace and userspace_would_help(res, backend):
        _install_userspace(device, backend, res, root_timeout)
        res = run_root(device, script, root_timeout=root_timeout, timeout=timeout)
    res.raise_for_failure(f"enabling {name}")
    return ControlResult(name, "up", backend_from(res, name), res.method, res.elapsed)


def userspace_would_help(res: RootResult, backend: Backend) -> bool:
    """An up failed only for want of a backend that the bundled data plane gives."""
    if backend is Backend.USERSPACE:
        return res.tag("no-userspace") is not None
    return backend is Backend.AUTO and res.tag("no-backend") is not None


def _install_userspace(
    device: Device, backend: Backend, failed: RootResult, root_timeout: float | None
) -> None:
    """Push the bundled data plane (`wgdroid tools install --userspace`). With
    `auto`, a phone that can't run it (no python3 + cryptography, no Linux
    wg-quick) keeps the original "no backend" error."""
    try:
        tools.install(device, userspace=True, reuse=False, root_timeout=root_timeout)
    except MissingToolsError as exc:
        if backend is Backend.AUTO:
            failed.raise_for_failure("enabling")
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
    """`wg-quick down`; a tunnel that is already down is a no-op (action
    "noop"); one that does not exist at all is NotFoundError."""
    sc.check_name(name)
    script = sc.Script("tunnel", timeout=timeout).call("op_disable", name).render()
    res = run_root(device, script, root_timeout=root_timeout, timeout=timeout)
    res.raise_for_failure(f"disabling {name}")
    was_up = any(r["name"] == name for r in res.records("down"))
    return ControlResult(name, "down" if was_up else "noop", None, res.method, res.elapsed)
