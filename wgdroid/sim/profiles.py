"""What a simulated phone is: identity, Android version, root solution and tools.

A profile is a frozen dataclass so later work can add phones (no tools, the
official app's bundled tools, Android wg-quick semantics) by adding entries.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from wgdroid.errors import UsageError

RootKind = Literal["magisk", "kernelsu", "aosp", "adb-root", "none"]
SuPolicy = Literal["grant", "deny", "pending"]
# What a phone has for WireGuard. Besides commands on PATH:
# "wg-quick-android": /system/bin/wg-quick is the Android wg-quick (android.c
#   semantics, sim/phone/android_wg_quick.py) instead of the Linux bash one;
# "kmod": /sys/module/wireguard exists (version 1.0.0). The host kernel has no
#   module, so the simulated Android wg-quick stands wireguard-go in for
#   `ip link add ... type wireguard` when it sees this; the Linux one falls
#   back to wireguard-go on its own only if that is on PATH;
# "wireguard-app": the official app (com.wireguard.android) is installed under
#   /data/app/~~RAND==/com.wireguard.android-RAND==/ with lib/<abi>/libwg.so
#   (= wg) and libwg-quick.so (= the Android wg-quick); `pm path` finds it.
Tool = Literal["wg", "wg-quick", "wireguard-go", "python3", "wg-quick-android", "kmod",
               "wireguard-app"]

ROOT_KINDS: tuple[str, ...] = get_args(RootKind)
SU_POLICIES: tuple[str, ...] = get_args(SuPolicy)

# init.environ.rc on Android 14, without the bootclasspath noise.
ANDROID_PATH = (
    "/product/bin:/apex/com.android.runtime/bin:/apex/com.android.art/bin:"
    "/system_ext/bin:/system/bin:/system/xbin:/odm/bin:/vendor/bin:/vendor/xbin"
)
# Debian's wireguard-go refuses to run on kernels >= 5.6 without it.
WG_GO_ENV = {"WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD": "1"}


@dataclass(frozen=True)
class Profile:
    name: str
    model: str
    product: str  # ro.product.name
    device: str  # ro.product.device
    manufacturer: str
    release: str  # ro.build.version.release
    sdk: int
    abi: str = "arm64-v8a"
    build_type: str = "user"  # ro.build.type
    root: RootKind = "magisk"
    su_policy: SuPolicy = "grant"
    su_timeout: float = 10.0  # Magisk's default prompt timeout
    tools: frozenset[Tool] = frozenset({"wg", "wg-quick", "wireguard-go"})
    magisk_version: str = "28.1"
    magisk_code: int = 28100
    kernelsu_version: str = "v1.0.5"
    kernelsu_code: int = 12081
    userns: bool = False  # run the phone in its own user namespace
    # Android's networking as it is (netd's policy routing, per-network DNS, no
    # resolv.conf/resolvconf/bash, /dev/tun only): sim/phone/spec.NodeSpec.
    # False: the kinder phone whose rules look up `main` (routes there work,
    # bash and resolvconf exist), where the product still uses the Linux
    # wg-quick; no Android phone is like it.
    android_net: bool = True
    extra_props: tuple[tuple[str, str], ...] = ()
    env: tuple[tuple[str, str], ...] = field(default=tuple(WG_GO_ENV.items()))

    @property
    def debuggable(self) -> bool:
        return self.build_type != "user" or self.root == "adb-root"

    @property
    def adbd_root(self) -> bool:
        return self.root == "adb-root"

    def props(self) -> dict[str, str]:
        """The getprop table."""
        props = {
            "ro.product.model": self.model,
            "ro.product.name": self.product,
            "ro.product.device": self.device,
            "ro.product.brand": self.manufacturer.lower(),
            "ro.product.manufacturer": self.manufacturer,
            "ro.product.cpu.abi": self.abi,
            "ro.product.cpu.abilist": self.abi,
            "ro.build.version.release": self.release,
            "ro.build.version.sdk": str(self.sdk),
            "ro.build.type": self.build_type,
            "ro.build.tags": "release-keys" if self.build_type == "user" else "test-keys",
            "ro.debuggable": "1" if self.debuggable else "0",
            "ro.secure": "0" if self.adbd_root else "1",
            "ro.adb.secure": "1",
            "ro.boot.selinux": "enforcing",
            "sys.boot_completed": "1",
            "init.svc.adbd": "running",
            "service.adb.root": "1" if self.adbd_root else "0",
        }
        props.update(self.extra_props)
        return props

    def environment(self) -> dict[str, str]:
        """The boot environment every process of the phone starts from."""
        env = {
            "PATH": ANDROID_PATH,
            "ANDROID_ROOT": "/system",
            "ANDROID_DATA": "/data",
            "ANDROID_STORAGE": "/storage",
            "EXTERNAL_STORAGE": "/sdcard",
            "ANDROID_ASSETS": "/system/app",
            "ASEC_MOUNTPOINT": "/mnt/asec",
            "ENV": "/system/etc/mkshrc",  # Android's mksh reads it built in
            # Where Android's iptables takes its lock (the phone may have no /run).
            "XTABLES_LOCKFILE": "/system/etc/xtables.lock",
        }
        env.update(self.env)
        return env


PROFILES: dict[str, Profile] = {
    "pixel": Profile(
        name="pixel",
        model="Pixel 8",
        product="shiba",
        device="shiba",
        manufacturer="Google",
        release="14",
        sdk=34,
    ),
    "pixel-py": Profile(
        name="pixel-py",
        model="Pixel 7",
        product="panther",
        device="panther",
        manufacturer="Google",
        release="14",
        sdk=34,
        tools=frozenset({"wg", "wg-quick", "wireguard-go", "python3"}),
    ),
    # Rooted but without WireGuard tools: what wgdroid must install itself.
    "pixel-bare": Profile(
        name="pixel-bare",
        model="Pixel 6a",
        product="bluejay",
        device="bluejay",
        manufacturer="Google",
        release="13",
        sdk=33,
        tools=frozenset(),
    ),
    "emulator": Profile(
        name="emulator",
        model="sdk_gphone64_x86_64",
        product="sdk_gphone64_x86_64",
        device="emu64xa",
        manufacturer="Google",
        release="14",
        sdk=34,
        abi="x86_64",
        build_type="userdebug",
        root="aosp",
    ),
    # Android's own wg-quick (a kernel-module ROM that ships the tools): what
    # wgdroid must validate configs against (no hooks, Table, SaveConfig).
    "android-wgquick": Profile(
        name="android-wgquick",
        model="Pixel 7 Pro",
        product="cheetah",
        device="cheetah",
        manufacturer="Google",
        release="14",
        sdk=34,
        tools=frozenset({"wg", "wg-quick-android", "kmod"}),
    ),
    # The official app with its bundled tools in its native lib dir; nothing on
    # PATH. A GKI kernel (Android 12+) has WireGuard built in: the app's
    # wg-quick, the Android one, needs it.
    "wg-app": Profile(
        name="wg-app",
        model="SM-S911B",
        product="dm1qxxx",
        device="dm1q",
        manufacturer="samsung",
        release="14",
        sdk=34,
        tools=frozenset({"wireguard-app", "kmod"}),
    ),
    # An AOSP userdebug build on the emulator: adbd restarts as root (`adb root`).
    "emulator-root": Profile(
        name="emulator-root",
        model="sdk_phone64_x86_64",
        product="sdk_phone64_x86_64",
        device="emulator64_x86_64",
        manufacturer="unknown",
        release="14",
        sdk=34,
        abi="x86_64",
        build_type="userdebug",
        root="adb-root",
    ),
    # Rooted, no kernel module, no wireguard-go, no wg tools: only python3 with
    # cryptography, for wgdroid's own userspace data plane.
    "pixel-userspace": Profile(
        name="pixel-userspace",
        model="Pixel 8 Pro",
        product="husky",
        device="husky",
        manufacturer="Google",
        release="14",
        sdk=34,
        tools=frozenset({"python3"}),
    ),
}


def check_su_policy(root: str, policy: str) -> None:
    """A policy the root solution can have. KernelSU has no prompt: the
    kernel checks its allow list at the exec of su (tiann/KernelSU
    kernel/feature/sucompat.c, kernel/policy/allowlist.c __ksu_is_allow_uid),
    so a shell waiting on a prompt does not exist there."""
    if policy not in SU_POLICIES:
        raise UsageError(f"unknown su policy {policy!r} (known: {', '.join(SU_POLICIES)})")
    if policy == "pending" and root == "kernelsu":
        raise UsageError("KernelSU has no su prompt (its allow list grants or denies at "
                         "once): use the su policy grant or deny")


def resolve(
    name: str = "pixel",
    *,
    root: str | None = None,
    su_policy: str | None = None,
    su_timeout: float | None = None,
    userns: bool | None = None,
    android_net: bool | None = None,
) -> Profile:
    """A profile by name, with the --root / --su-policy / timeout overrides applied."""
    try:
        profile = PROFILES[name]
    except KeyError:
        raise UsageError(
            f"unknown phone profile {name!r} (known: {', '.join(sorted(PROFILES))})"
        ) from None
    changes: dict[str, Any] = {}
    if root is not None:
        if root not in ROOT_KINDS:
            raise UsageError(f"unknown root kind {root!r} (known: {', '.join(ROOT_KINDS)})")
        changes["root"] = root
        # `adb root` and AOSP su only exist on debuggable builds.
        if root in ("aosp", "adb-root"):
            changes["build_type"] = "userdebug"
    if su_policy is not None:
        check_su_policy(root or profile.root, su_policy)
        changes["su_policy"] = su_policy
    if su_timeout is not None:
        if not 0 < su_timeout <= 600:
            raise UsageError("su timeout must be between 0 and 600 seconds")
        changes["su_timeout"] = su_timeout
    if userns is not None:
        changes["userns"] = userns
    if android_net is not None:
        changes["android_net"] = android_net
    return dataclasses.replace(profile, **changes) if changes else profile
