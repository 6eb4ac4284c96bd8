"""`wgdroid doctor`: what the phone has for WireGuard, and what to do about
what it lacks. Everything is gathered by one script (sh/doctor.sh) in one
round trip (as root; if root fails, once more as the shell user, to still say
the rest). Every problem comes from what it saw, never from what it could not
see (as the shell user, root-only places stay unseen), and every fix works on
that phone (tests/device/test_doctor_fixes.py runs them per simulated phone)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from wgdroid.device import script as sc
from wgdroid.device.connection import Device
from wgdroid.device.rootshell import run_root
from wgdroid.device.script import USERSPACE_TOOL
from wgdroid.errors import RootError, RootPendingError

_TOOLS = ("wg", "wg-quick", "wireguard-go", "python3", USERSPACE_TOOL, "ip", "su", "bash")


def doctor_script(*, root: bool = True) -> str:
    """sh/doctor.sh: `fact` records; as the shell user when root failed."""
    return sc.Script("doctor", root=root).call("op_doctor").render()


@dataclass(frozen=True)
class Advice:
    problem: str
    fix: str
    # The fix as wgdroid's arguments, when it is one of its commands ("DIR":
    # tools built for the phone, e.g. by scripts/build-device-tools).
    command: tuple[str, ...] | None = None


@dataclass
class Capabilities:
    serial: str
    model: str | None = None
    android_release: str | None = None
    sdk: int | None = None
    abi: str | None = None
    kernel: str | None = None
    selinux: str | None = None
    root_method: str | None = None  # adb-root, magisk, kernelsu, su-c, aosp; None if no root
    root_error: str | None = None
    root_exit_code: int | None = None  # the exit code of root_error (no root, pending)
    looked_as_root: bool = False  # else root-only places (/data/adb) went unseen
    kernel_module: bool = False
    kernel_module_version: str | None = None
    tun: bool = False
    tun_nodes: str | None = None  # the nodes found: /dev/tun (Android's), /dev/net/tun
    store_exists: bool = False
    tools: dict[str, str | None] = field(default_factory=dict)  # name -> path
    versions: dict[str, str] = field(default_factory=dict)
    wg_quick_variant: str | None = None  # linux (bash) or android (C)
    # How tunnels come up: android (wgdroid's own bring-up through netd, on a
    # phone whose policy rules never look up `main`: wg is all it needs) or
    # wg-quick (the Linux one, which needs bash).
    bring_up: str | None = None
    bring_up_reason: str | None = None
    python_cryptography: str | None = None
    app_tools: bool = False  # the official app's APK carries wg and wg-quick
    socket_dir: str | None = None  # where the phone's wg looks for UAPI sockets
    socket_dir_ok: bool = False  # ... and whether it exists or can be made
    backends: list[str] = field(default_factory=list)
    advice: list[Advice] = field(default_factory=list)

    @property
    def needs(self) -> tuple[str, ...]:
        """The tools its bring-up runs."""
        return ("wg",) if self.bring_up == "android" else ("wg", "wg-quick")

    @property
    def ready(self) -> bool:
        return bool(self.root_method and all(self.tools.get(t) for t in self.needs)
                    and self.backends)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ready"] = self.ready
        return data

    @classmethod
    def null_json(cls) -> dict[str, Any]:
        """The keys of to_json but `serial`, all null: a device doctor could not reach."""
        return dict.fromkeys(k for k in cls(serial="").to_json() if k != "serial")


def fact_rows(caps: Capabilities) -> list[tuple[str, str]]:
    """What doctor saw, as (label, value) rows: the one form of the CLI's text
    and the TUI's doctor screen."""
    def yes(ok: bool) -> str:
        return "yes" if ok else "no"

    rows = [
        ("model", caps.model or "-"),
        ("android", f"{caps.android_release or '?'} (SDK {caps.sdk or '?'}), {caps.abi or '?'}"),
        ("kernel", caps.kernel or "-"),
        ("root", caps.root_method or f"none ({caps.root_error or 'no su'})"),
        ("selinux", caps.selinux or "-"),
        ("kernel module", yes(caps.kernel_module)
         + (f" ({caps.kernel_module_version})" if caps.kernel_module_version else "")),
        ("TUN device", caps.tun_nodes or yes(caps.tun)),
        ("/data/misc/wireguard", yes(caps.store_exists)),
    ]
    for tool, path in caps.tools.items():
        version = caps.versions.get(tool)
        rows.append((tool, (path + (f" ({version})" if version else "")) if path else "missing"))
    rows += [
        ("wg-quick variant", caps.wg_quick_variant or "-"),
        ("python cryptography", caps.python_cryptography or "-"),
        ("backends", ", ".join(caps.backends) or "none"),
        ("bring-up", f"{caps.bring_up} ({caps.bring_up_reason})" if caps.bring_up else "-"),
        ("ready", yes(caps.ready)),
    ]
    return rows


def parse_doctor_output(serial: str, stdout: str) -> Capabilities:
    """The pure part: `fact` records to Capabilities."""
    values = {r["key"]: r["value"].strip() for r in sc.records(stdout, "fact")}

    def get(key: str) -> str | None:
        return values.get(key) or None

    sdk = get("sdk")
    caps = Capabilities(
        serial=serial,
        model=get("model"),
        android_release=get("release"),
        sdk=int(sdk) if sdk and sdk.isdigit() else None,
        abi=get("abi"),
        kernel=get("kernel"),
        selinux=get("selinux"),
        looked_as_root=values.get("uid") == "0",
        kernel_module=values.get("module") == "yes",
        kernel_module_version=get("module_version"),
        tun=values.get("tun") == "yes",
        tun_nodes=get("tun_nodes"),
        store_exists=values.get("store") == "yes",
        tools={t: get(f"path:{t}") for t in _TOOLS},
        versions={
            k.split(":", 1)[1]: v for k, v in values.items() if k.startswith("version:") and v
        },
        wg_quick_variant=get("wg_quick_variant"),
        python_cryptography=get("cryptography"),
        app_tools=values.get("app_tools") == "yes",
        socket_dir=get("socket_dir"),
        socket_dir_ok=values.get("socket_dir_ok") == "yes",
        bring_up=get("bring_up"),
    )
    caps.bring_up_reason = {
        "android": "netd routes this phone (no policy rule looks up `main`): wgdroid brings "
                   "tunnels up itself through netd, as Android's wg-quick does",
        "wg-quick": "this phone's policy rules look up `main`, where the Linux wg-quick's "
                    "routes work",
    }.get(caps.bring_up or "")
    # wgdroid's Android bring-up starts any backend; of the wg-quicks, only the
    # Linux one has a userspace fallback (the Android one runs the module only).
    userspace_ok = caps.tun and (caps.bring_up == "android" or caps.wg_quick_variant == "linux")
    if caps.kernel_module:
        caps.backends.append("kernel")
    if caps.tools.get("wireguard-go") and userspace_ok:
        caps.backends.append("wireguard-go")
    if caps.tools.get(USERSPACE_TOOL) and caps.python_cryptography and userspace_ok:
        caps.backends.append("userspace")
    return caps


def _tool_words(caps: Capabilities, wg_quick: str = "wg-quick") -> str:
    """The tools a `--from DIR` install should bring for this phone's bring-up."""
    return "wg" if caps.bring_up == "android" else f"wg and {wg_quick}"


def _python_ok(caps: Capabilities) -> bool:
    """python3 with cryptography, 3.11 or newer: what the bundled backend needs."""
    found = re.search(r"(\d+)\.(\d+)", caps.versions.get("python3", ""))
    return bool(caps.python_cryptography and found
                and (int(found[1]), int(found[2])) >= (3, 11))


_FROM_DIR = "built for the phone's ABI (scripts/build-device-tools builds them)"


def advise(caps: Capabilities) -> None:
    """Problems from what doctor saw, each with a fix that works on this phone."""
    add = caps.advice.append
    if not caps.root_method:
        if not caps.tools.get("su"):
            add(Advice("no root: the phone has no su",
                       "root it with Magisk or KernelSU and allow 'Shell' in its Superuser "
                       "list; on an engineering build, `adb root` also works"))
        else:
            # The tools, the store and our own files live where only root can look.
            add(Advice(f"could not look: root was denied ({caps.root_error or 'no answer'})",
                       "allow 'Shell' in Magisk > Superuser (or your root manager), then run "
                       "`wgdroid doctor` again"))
        return
    has_wg = all(caps.tools.get(t) for t in caps.needs)
    if not has_wg:
        missing = ", ".join(t for t in caps.needs if not caps.tools.get(t))
        if caps.app_tools:
            add(Advice(f"missing {missing}",
                       "`wgdroid tools install` (copies the official WireGuard app's wg and "
                       "wg-quick)", ("tools", "install")))
        else:
            add(Advice(f"missing {missing}",
                       f"`wgdroid tools install --from DIR` with {_tool_words(caps)} {_FROM_DIR}",
                       ("tools", "install", "--from", "DIR")))
    if caps.backends:
        return
    android_wgq = caps.wg_quick_variant == "android" or (not has_wg and caps.app_tools)
    if caps.bring_up != "android" and android_wgq:
        # That wg-quick runs nothing but the module; the Linux one needs bash.
        problem = ("no backend can run a tunnel: no WireGuard kernel module, and this phone's "
                   "wg-quick (the Android one) can only use the module")
        module = "a kernel built with CONFIG_WIREGUARD (GKI 5.10+ has it)"
        if caps.tools.get("bash") and caps.tun:
            add(Advice(problem, f"{module}, or `wgdroid tools install --from DIR` with the "
                       f"Linux wg-quick and wireguard-go {_FROM_DIR}",
                       ("tools", "install", "--from", "DIR")))
        else:
            add(Advice(problem, module))
    elif not caps.tun:
        add(Advice("no backend can run a tunnel: no WireGuard kernel module and no TUN device "
                   "(/dev/tun or /dev/net/tun) for a userspace one",
                   "a kernel built with CONFIG_WIREGUARD or CONFIG_TUN"))
    elif _python_ok(caps) and has_wg and caps.socket_dir_ok:
        add(Advice("no backend can run a tunnel: no WireGuard kernel module, no wireguard-go",
                   "`wgdroid tools install --userspace` (wgdroid's own backend on the phone's "
                   "python3)", ("tools", "install", "--userspace")))
    elif _python_ok(caps) and not has_wg:
        add(Advice("no backend can run a tunnel: no WireGuard kernel module, no wireguard-go",
                   "`wgdroid tools install --from DIR --userspace` (wgdroid's own backend on "
                   f"the phone's python3) with {_tool_words(caps, 'the Linux wg-quick')} "
                   f"{_FROM_DIR}",
                   ("tools", "install", "--from", "DIR", "--userspace")))
    else:
        why = ("python3 there lacks the cryptography package (`pip install cryptography`)"
               if caps.tools.get("python3") and not caps.python_cryptography else
               f"wg looks for its sockets in {caps.socket_dir}, which cannot be made there"
               if caps.socket_dir and not caps.socket_dir_ok else "no python3 for wgdroid's own")
        add(Advice(f"no backend can run a tunnel: no WireGuard kernel module, no wireguard-go; "
                   f"{why}",
                   f"`wgdroid tools install --from DIR` with wireguard-go {_FROM_DIR}",
                   ("tools", "install", "--from", "DIR")))


def gather(device: Device, *, root_timeout: float | None = None) -> Capabilities:
    """Capabilities of the phone, in one root round trip (two if root fails)."""
    try:
        res = run_root(device, doctor_script(), root_timeout=root_timeout)
    except (RootPendingError, RootError) as exc:
        # Still say what the phone has, as the shell user.
        plain = device.run(doctor_script(root=False), timeout=30)
        caps = parse_doctor_output(device.serial, plain.out)
        caps.root_error, caps.root_exit_code = exc.message, int(exc.exit_code)
    else:
        caps = parse_doctor_output(device.serial, res.stdout)
        caps.root_method = res.method.value
    advise(caps)
    return caps
