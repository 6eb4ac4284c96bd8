"""`wgdroid doctor`: what the phone has for WireGuard, and what to do about
what it lacks. Everything is gathered by one script in one round trip (as
root; if root fails, once more as the shell user, to still say the rest)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from wgdroid.device import script as sc
from wgdroid.device.connection import Device
from wgdroid.device.rootshell import run_root
from wgdroid.device.script import USERSPACE_TOOL
from wgdroid.errors import RootError, RootPendingError

_TOOLS = ("wg", "wg-quick", "wireguard-go", "python3", USERSPACE_TOOL, "ip")


def doctor_script(*, root: bool = True) -> str:
    """sh/doctor.sh: `fact` records; as the shell user when root failed."""
    return sc.Script("doctor", root=root).call("op_doctor").render()


@dataclass(frozen=True)
class Advice:
    problem: str
    fix: str


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
    kernel_module: bool = False
    kernel_module_version: str | None = None
    tun: bool = False
    store_exists: bool = False
    tools: dict[str, str | None] = field(default_factory=dict)  # name -> path
    versions: dict[str, str] = field(default_factory=dict)
    wg_quick_variant: str | None = None  # linux (bash) or android (C)
    # How tunnels come up: android (wgdroid's own bring-up through netd, on a
    # phone whose policy rules never look up `main`) or wg-quick (the Linux one).
    bring_up: str | None = None
    bring_up_reason: str | None = None
    python_cryptography: str | None = None
    backends: list[str] = field(default_factory=list)
    advice: list[Advice] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        needs_wg_quick = self.bring_up != "android"
        return bool(
            self.root_method and self.tools.get("wg")
            and (self.tools.get("wg-quick") or not needs_wg_quick) and self.backends
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ready"] = self.ready
        return data


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
        kernel_module=values.get("module") == "yes",
        kernel_module_version=get("module_version"),
        tun=values.get("tun") == "yes",
        store_exists=values.get("store") == "yes",
        tools={t: get(f"path:{t}") for t in _TOOLS},
        versions={
            k.split(":", 1)[1]: v for k, v in values.items() if k.startswith("version:") and v
        },
        wg_quick_variant=get("wg_quick_variant"),
        python_cryptography=get("cryptography"),
        bring_up=get("bring_up"),
    )
    caps.bring_up_reason = {
        "android": "netd routes this phone (no policy rule looks up `main`): wgdroid brings "
                   "tunnels up itself through netd, as Android's wg-quick does",
        "wg-quick": "this phone's policy rules look up `main`, where the Linux wg-quick's "
                    "routes work",
    }.get(caps.bring_up or "")
    if caps.kernel_module:
        caps.backends.append("kernel")
    if caps.tools.get("wireguard-go") and caps.tun:
        caps.backends.append("wireguard-go")
    if caps.tools.get(USERSPACE_TOOL) and caps.python_cryptography and caps.tun:
        caps.backends.append("userspace")
    return caps


def advise(caps: Capabilities) -> None:
    add = caps.advice.append
    if not caps.root_method:
        add(Advice(
            f"no root ({caps.root_error or 'unknown'})",
            "root the phone with Magisk or KernelSU and allow 'Shell' in its Superuser list; "
            "on an engineering build, `adb root` also works",
        ))
    wanted = ("wg",) if caps.bring_up == "android" else ("wg", "wg-quick")
    if any(not caps.tools.get(t) for t in wanted):
        missing = ", ".join(t for t in wanted if not caps.tools.get(t))
        add(Advice(
            f"missing {missing}",
            "`wgdroid tools install` (reuses the official WireGuard app's bundled copies), "
            "or `wgdroid tools install --from DIR` with wg/wg-quick built for the phone "
            "(scripts/build-device-tools)",
        ))
    if not caps.kernel_module:
        add(Advice(
            "no WireGuard kernel module (/sys/module/wireguard)",
            "use a kernel built with CONFIG_WIREGUARD (GKI 5.10+ usually has it), "
            "or a userspace backend (wireguard-go)",
        ))
    if not caps.backends:
        userspace_ok = caps.python_cryptography and (
            caps.bring_up == "android" or caps.wg_quick_variant != "android")
        add(Advice(
            "no backend can run a tunnel",
            "`wgdroid tools install --userspace` (wgdroid's own backend on the phone's "
            "python3)" if userspace_ok else
            "`wgdroid tools install --from DIR` with wireguard-go for the phone, "
            "or get the kernel module",
        ))
    if not caps.tun and not caps.kernel_module:
        add(Advice("no TUN device (/dev/tun or /dev/net/tun)",
                   "userspace backends need CONFIG_TUN"))
    if caps.tools.get("python3") and not caps.python_cryptography:
        add(Advice(
            "python3 on the phone lacks the cryptography package",
            "the bundled userspace backend needs it: `pip install cryptography` (e.g. Termux)",
        ))


def gather(device: Device, *, root_timeout: float | None = None) -> Capabilities:
    """Capabilities of the phone, in one root round trip (two if root fails)."""
    try:
        res = run_root(device, doctor_script(), root_timeout=root_timeout)
    except (RootPendingError, RootError) as exc:
        # Still say what the phone has, as the shell user.
        plain = device.run(doctor_script(root=False), timeout=30)
        caps = parse_doctor_output(device.serial, plain.out)
        caps.root_error = exc.message
    else:
        caps = parse_doctor_output(device.serial, res.stdout)
        caps.root_method = res.method.value
    advise(caps)
    return caps
