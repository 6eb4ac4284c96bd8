"""Bringing tunnels up and down, as root, in one round trip.

On an Android phone (netd's policy routing: every one) wgdroid brings the
tunnel up itself the way Android's wg-quick does (sh/android.sh): the
interface from the backend, `wg` for its configuration, netd for addresses,
routes, MTU, the VPN network, its apps and its DNS; hostname endpoints are
resolved on the phone first. The Linux wg-quick runs only on a phone whose
kernel rules still look up `main`. `doctor` says which (bring_up).

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

from enum import StrEnum

from wgdroid.device import script as sc
from wgdroid.device.connection import Device
from wgdroid.device.rootshell import RootMethod, RootResult, run_root
from wgdroid.errors import MissingToolsError
from wgdroid.lean import Value


class Backend(StrEnum):
    AUTO = "auto"
    KERNEL = "kernel"
    WIREGUARD_GO = "wireguard-go"
    USERSPACE = "userspace"


USERSPACE_TOOL = sc.USERSPACE_TOOL
BOOT_TIMEOUT = 300.0  # the boot script's budget: the network may take a while to come


class ControlResult(Value):
    __slots__ = (
        "action",
        "backend",
        "boot_script",
        "elapsed",
        "method",
        "name",
        "on_boot",
        "resolved",
        "warnings",
    )

    def __init__(self, name: str, action: str, backend: str | None, method: RootMethod,
                 elapsed: float, on_boot: bool | None = None, boot_script: str | None = None,
                 resolved: tuple[tuple[str, str], ...] = (),
                 warnings: tuple[str, ...] = ()) -> None:
        self.name = name
        self.action = action  # up | down | noop | mark (enable --on-boot of a tunnel already up)
        self.backend = backend  # the backend chosen at up
        self.method = method
        self.elapsed = elapsed
        self.on_boot = on_boot  # enable --on-boot/--no-on-boot: the mark it has now
        # installed | none (no Magisk/KernelSU) with --on-boot
        self.boot_script = boot_script
        self.resolved = resolved  # endpoint names resolved on the phone
        self.warnings = warnings  # what the tunnel does without


def backend_from(res: RootResult, name: str) -> str | None:
    return next((r["backend"] for r in res.records("up") if r["name"] == name), None)


def enable(
    device: Device,
    name: str,
    *,
    backend: Backend = Backend.AUTO,
    on_boot: bool | None = None,
    root_timeout: float | None = None,
    timeout: float = 60.0,
    install_userspace: bool = True,
) -> ControlResult:
    """Bring /data/misc/wireguard/NAME.conf (else the official app's NAME)
    up on the chosen backend. `on_boot` True/False marks it for the boot
    script (installed on Magisk/KernelSU) or unmarks it; a tunnel already up
    then only gets the mark.

    With `userspace` and no userspace backend on the phone (or `auto` and no
    backend at all), the bundled data plane is installed first (`wgdroid tools
    install --userspace`: two more round trips) and the up is retried once."""
    sc.check_name(name)
    backend = Backend(backend)
    boot = "-" if on_boot is None else ("yes" if on_boot else "no")
    script = sc.Script("tunnel", timeout=timeout).call(
        "op_enable", name, backend.value, boot).render()
    stdin = boot_script().encode() if on_boot else None
    res = run_root(device, script, stdin=stdin, root_timeout=root_timeout, timeout=timeout)
    if install_userspace and userspace_would_help(res, backend):
        _install_userspace(device, backend, res, root_timeout)
        res = run_root(device, script, stdin=stdin, root_timeout=root_timeout, timeout=timeout)
    res.raise_for_failure(f"enabling {name}")
    marks = [r["on"] == "yes" for r in res.records("boot") if r["name"] == name]
    installed = [r["state"] for r in res.records("bootscript")]
    up = any(r["name"] == name for r in res.records("up"))
    return ControlResult(
        name, "up" if up else "mark", backend_from(res, name), res.method, res.elapsed,
        on_boot=marks[-1] if marks else None,
        boot_script=installed[-1] if installed else None,
        resolved=tuple((r["host"], r["address"]) for r in res.records("resolved")),
        warnings=tuple(_warning(r["kind"], r["value"]) for r in res.records("warn")),
    )


def _warning(kind: str, value: str) -> str:
    if kind == "not-installed":
        return (f"{value} is not installed on the phone: its IncludedApplications/"
                "ExcludedApplications entry does nothing")
    if kind == "stale":
        return (f"removed what an interrupted enable of {value} had left on the phone "
                "(its netd network and rules)")
    return f"{kind}: {value}"


def boot_script() -> str:
    """The script Magisk and KernelSU run at late_start service (sh/boot.sh):
    the tunnels marked --on-boot come up once the network is there."""
    return sc.Script("boot", timeout=BOOT_TIMEOUT).call("op_boot").render()


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
    from wgdroid.device import tools  # only this rare path installs anything

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
