"""What a rooted phone runs at boot: Magisk's and KernelSU's boot stages.

Magisk (docs/guides.md "Boot Scripts"; native/src/core/scripting.cpp
exec_common_scripts / exec_module_scripts): in post-fs-data mode, blocking for
at most 10 seconds in all, every executable regular file of
/data/adb/post-fs-data.d, then each enabled module's post-fs-data.sh, then the
modules' system/ trees are mounted over /system; in late_start service mode,
non-blocking (each script runs on its own, in parallel with the rest of the
boot), /data/adb/service.d then each module's service.sh. Scripts run in a
shell (BusyBox ash on a phone; mksh here) with ASH_STANDALONE=1 and Magisk's
tmpfs appended to PATH. A module with `disable` is skipped, one with `remove`
is deleted, one with `skip_mount` is not mounted.

KernelSU (website docs guide/module.md): the same directories and module
scripts, plus post-mount.d / post-mount.sh after the module mounts and
boot-completed.d / boot-completed.sh once the boot completed; its scripts see
KSU=true, KSU_VER and KSU_VER_CODE.

The stages are shell scripts the simulated phone's init runs as root
(wgdroid.sim.phone.phone); the module mounts are the zygote's (magic_mount).
"""

from __future__ import annotations

MODULES = "/data/adb/modules"
POST_FS_DATA_TIMEOUT = 10  # POST_FS_DATA_SCRIPT_MAX_TIME
MAGISK_TMP = "/debug_ramdisk"


def environment(variant: str, versions: dict[str, list[str | int]]) -> dict[str, str]:
    """What a root solution adds to a boot script's environment."""
    env = {"ASH_STANDALONE": "1"}
    if variant == "kernelsu":
        version, code = versions.get("kernelsu", ["v1.0.5", 12081])
        env.update({"KSU": "true", "KSU_VER": str(version), "KSU_VER_CODE": str(code),
                    "KSU_KERNEL_VER_CODE": str(code)})
    return env


def _common(stage: str, *, wait: bool) -> str:
    """exec_common_scripts: executable regular files of /data/adb/STAGE.d."""
    run = 'sh "$f"' if wait else 'sh "$f" </dev/null >/dev/null 2>&1 &'
    return (f'for f in /data/adb/{stage}.d/*; do\n'
            f'  [ -f "$f" ] && [ ! -L "$f" ] && [ -x "$f" ] && {run}\n'
            "done\n")


def _modules(stage: str, *, wait: bool) -> str:
    """exec_module_scripts: each enabled module's STAGE.sh (the exec bit is not needed)."""
    run = 'sh "$m/{s}.sh"' if wait else 'sh "$m/{s}.sh" </dev/null >/dev/null 2>&1 &'
    return (f"for m in {MODULES}/*; do\n"
            '  [ -d "$m" ] && [ ! -e "$m/disable" ] && [ ! -e "$m/remove" ] || continue\n'
            f'  [ -f "$m/{stage}.sh" ] && ' + run.format(s=stage) + "\n"
            "done\n")


def post_fs_data() -> str:
    """The blocking stage: modules flagged `remove` go first, then the scripts."""
    return ("cd /\n"
            f'for m in {MODULES}/*; do [ -e "$m/remove" ] && rm -rf "$m"; done\n'
            + _common("post-fs-data", wait=True) + _modules("post-fs-data", wait=True))


def post_mount(variant: str) -> str:
    if variant != "kernelsu":
        return ""
    return "cd /\n" + _common("post-mount", wait=True) + _modules("post-mount", wait=True)


def late_start_service() -> str:
    """Non-blocking: every script on its own, the stage returns at once."""
    return "cd /\n" + _common("service", wait=False) + _modules("service", wait=False)


def boot_completed(variant: str) -> str:
    if variant != "kernelsu":
        return ""
    return ("cd /\n" + _common("boot-completed", wait=False)
            + _modules("boot-completed", wait=False))


def mountable_modules(root: str = MODULES) -> list[str]:
    """Module dirs whose system/ is mounted: enabled, not `skip_mount`."""
    import os

    found = []
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return []
    for name in names:
        path = os.path.join(root, name)
        if any(os.path.exists(os.path.join(path, flag))
               for flag in ("disable", "remove", "skip_mount")):
            continue
        if os.path.isdir(os.path.join(path, "system")):
            found.append(path)
    return found
