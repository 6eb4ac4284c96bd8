"""The phone scripts (wgdroid/device/sh/) run by a real shell
against a scratch phone: a temp directory stands in for /data, /sys, /dev
and /system through the prelude's constants (script.Layout).

Two flavours, every test runs under both: `mksh` with Debian's toybox
applets only on PATH (Android 14's shell and userland; a command the
scripts use that toybox lacks fails there) and `dash` with the host's
tools. Tools a phone has and a workstation must not run for real (wg,
wg-quick, ip, getprop, pm, su) are small scripts in a `fakes` directory
first on PATH that keep their state in the scratch tree: an interface is
`SYS/class/net/NAME` with a `wg` file while wg knows it; `ctl/` holds logs
(`ip.log`: every ip(8) call; `synced.NAME`: what `wg syncconf NAME` read) and knobs
(`up_fail`: wg-quick up prints it and fails; `up_sleep`; `down_lag`:
wg-quick down fails but the interface goes that many seconds later, as a
userspace backend with thousands of peers does).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from wg_dump import PRIV

from wgdroid.device import script as sc

MKSH = shutil.which("mksh")
DASH = shutil.which("dash")
TOYBOX = shutil.which("toybox")
HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def link_commands(target: Path, dirs: str, skip: frozenset[str] = frozenset()) -> Path:
    """TARGET holding a link to each command of DIRS (':'-separated), less SKIP."""
    target.mkdir(parents=True, exist_ok=True)
    for d in dirs.split(":"):
        if not os.path.isdir(d):
            continue
        for entry in os.scandir(d):
            if entry.name not in skip and not (target / entry.name).exists():
                (target / entry.name).symlink_to(os.path.join(d, entry.name))
    return target
# What a workstation may have that the scratch phone must only have as a fake.
PHONE_TOOLS = frozenset({"wg", "wg-quick", "wireguard-go", "wgdroid-userspace", "ip", "su",
                         "getprop", "pm", "python3", "ndc"})


def _default_signals() -> None:
    """adbd starts a phone's shell with SIGINT at its default; a test run from a
    background job inherits it ignored, which a shell cannot undo (POSIX)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass
class Ran:
    returncode: int
    out: str
    err: str

    @property
    def records(self) -> list[sc.Record]:
        return sc.records(self.out)

    def kinds(self, kind: str) -> list[tuple[str, ...]]:
        return [r.fields for r in self.records if r.kind == kind]

    @property
    def stderr(self) -> sc.Stderr:
        return sc.split_stderr(self.err)

    @property
    def failure(self) -> sc.Tag | None:
        tags = self.stderr.tags
        return tags[0] if tags else None


class ShPhone:
    """One scratch phone and one shell flavour."""

    def __init__(self, root: Path, flavour: str, bin_dir: Path) -> None:
        """BIN_DIR: the flavour's commands (toybox_bin, or host_bin: conftest.py)."""
        self.root = root
        self.flavour = flavour
        self.layout = sc.Layout(data=str(root / "data"), sys=str(root / "sys"),
                                dev=str(root / "dev"), system=str(root / "system"))
        self.net = root / "sys" / "class" / "net"
        self.ctl = root / "ctl"
        self.fakes = root / "fakes"
        for d in (self.net, self.ctl, self.fakes, root / "dev", root / "system" / "bin",
                  root / "sys" / "module"):
            d.mkdir(parents=True, exist_ok=True)
        shell = MKSH if flavour == "mksh" else DASH
        if shell is None:
            pytest.skip(f"needs {flavour}")
        self.shell, self.tools_path = shell, str(bin_dir)
        self.store = Path(self.layout.store_dir)
        # The scripts need uid 0 (as_root, chown 0:0): as another user they run as
        # root of a user namespace of their own, which is that user outside.
        self.prefix = [] if os.geteuid() == 0 else ["unshare", "--user", "--map-root-user"]
        self.root_uid = os.geteuid()
        # Short waits; DOWN_WAIT leaves room for `down_lag` on a loaded machine.
        self.constants: dict[str, str] = {"LOCK_WAIT": "1", "DOWN_WAIT": "2"}
        self._write_fakes()

    # -- running --------------------------------------------------------------

    @property
    def path(self) -> str:
        return f"{self.fakes}:{self.tools_path}"

    def script(self, *modules: str, root: bool = True, timeout: float = 30.0) -> sc.Script:
        return sc.Script(*modules, root=root, layout=self.layout, timeout=timeout,
                         constants=self.constants)

    def run_text(self, text: str, *, stdin: bytes = b"", timeout: float = 30.0,
                 path: str | None = None) -> Ran:
        env = {"PATH": path or self.path, "HOME": str(self.root), "LC_ALL": "C"}
        res = subprocess.run([*self.prefix, self.shell, "-c", text], input=stdin,
                             capture_output=True, preexec_fn=_default_signals,
                             env=env, timeout=timeout, cwd=self.root)
        return Ran(res.returncode, res.stdout.decode("utf-8", "replace"),
                   res.stderr.decode("utf-8", "replace"))

    def call(self, modules: tuple[str, ...] | str, function: str, *args: str | int,
             stdin: bytes = b"", root: bool = True, budget: float = 30.0) -> Ran:
        mods = (modules,) if isinstance(modules, str) else modules
        text = self.script(*mods, root=root, timeout=budget).call(function, *args).render()
        return self.run_text(text, stdin=stdin, timeout=budget + 15)

    def lines(self, modules: tuple[str, ...] | str, *lines: str, stdin: bytes = b"",
              root: bool = True, budget: float = 30.0, path: str | None = None) -> Ran:
        """The modules, then raw test LINES (for the library's inner functions)."""
        mods = (modules,) if isinstance(modules, str) else modules
        text = self.script(*mods, root=root, timeout=budget).render() + "\n".join(lines) + "\n"
        return self.run_text(text, stdin=stdin, timeout=budget + 15, path=path)

    # -- the phone's state ----------------------------------------------------

    def conf(self, name: str, text: str = f"[Interface]\nPrivateKey = {PRIV}\n") -> Path:
        self.store.mkdir(parents=True, exist_ok=True)
        path = self.store / f"{name}.conf"
        path.write_text(text)
        path.chmod(0o600)
        return path

    def is_up(self, name: str) -> bool:
        return (self.net / name / "wg").exists()

    def bring_up(self, name: str, port: int = 0) -> None:
        (self.net / name).mkdir(parents=True, exist_ok=True)
        (self.net / name / "wg").write_text("")
        (self.net / name / "ifindex").write_text("7\n")
        (self.net / name / "port").write_text(f"{port}\n")

    def knob(self, name: str, value: str | None) -> None:
        target = self.ctl / name
        if value is None:
            target.unlink(missing_ok=True)
        else:
            target.write_text(value)

    def fake(self, name: str, body: str) -> Path:
        path = self.fakes / name
        path.write_text("#!/bin/sh\n" + body)
        path.chmod(0o755)
        return path

    def without(self, *names: str) -> str:
        """A PATH like this flavour's, without the commands NAMES."""
        only = self.root / f"path-without-{'-'.join(names)}"
        if not only.exists():
            link_commands(only, self.tools_path, frozenset(names))
        return f"{self.fakes}:{only}"

    def _write_fakes(self) -> None:
        net, ctl = self.net, self.ctl
        self.fake("wg", f"""# where wg looks for UAPI sockets, as the real binary holds it:
# {self.root}/run/wireguard/%s.sock
case "$1 $2" in
  "show interfaces")
    for d in {net}/*/wg; do [ -e "$d" ] || continue; d=${{d%/wg}}; printf '%s ' "${{d##*/}}"; done
    echo ;;
  "show all")
    case $3 in
      listen-port)
        for d in {net}/*/wg; do
          [ -e "$d" ] || continue; d=${{d%/wg}}; printf '%s\\t%s\\n' "${{d##*/}}" "$(cat "$d/port")"
        done ;;
      dump) cat {ctl}/dump 2>/dev/null ;;
      transfer) cat {ctl}/transfer 2>/dev/null ;;
    esac ;;
  "--version ") echo "wireguard-tools v1.0.20210914 - https://git.zx2c4.com/wireguard-tools/" ;;
  "syncconf "*) cat "$3" > {ctl}/synced.$2 ;;
  "show "*) [ -e {net}/$2/wg ] ;;
  *) exit 1 ;;
esac
""")
        self.fake("wg-quick", f"""# the Linux wg-quick's behaviour, for the scripts' logic
n=${{2##*/}}; n=${{n%.conf}}
case $1 in
  up)
    echo "[#] ip link add $n type wireguard"
    if [ -e {net}/$n ]; then echo "RTNETLINK answers: File exists" >&2; exit 1; fi
    mkdir -p {net}/$n && : > {net}/$n/wg && echo 7 > {net}/$n/ifindex
    p=$(sed -n 's/^ListenPort *= *//p' "$2")
    echo "${{p:-0}}" > {net}/$n/port
    echo "$WG_QUICK_USERSPACE_IMPLEMENTATION" > {net}/$n/impl
    if [ -f {ctl}/up_sleep ]; then exec sleep "$(cat {ctl}/up_sleep)"; fi
    if [ -f {ctl}/up_fail ]; then cat {ctl}/up_fail >&2; exit 1; fi
    exit 0 ;;
  down)
    if [ ! -e {net}/$n/wg ]; then
      echo "wg-quick: \\`$n' is not a WireGuard interface" >&2; exit 1
    fi
    echo "[#] ip link delete dev $n"
    if [ -f {ctl}/down_lag ]; then
      (sleep "$(cat {ctl}/down_lag)"; rm -rf {net}/$n) >/dev/null 2>&1 &
      echo "wg-quick: timed out waiting" >&2
      exit 1
    fi
    if [ -f {ctl}/down_stuck ]; then exit 1; fi
    rm -rf {net}/$n ;;
esac
""")
        self.fake("ip", f"""echo "$*" >> {ctl}/ip.log
if [ "$1 $2" = "link del" ]; then
  if [ -f {ctl}/down_stuck ] && [ -e {net}/$3/wg ]; then exit 1; fi
  if [ -e {net}/$3 ]; then rm -rf {net}/$3; else echo "Cannot find device \\"$3\\"" >&2; exit 1; fi
fi
""")
        self.fake("getprop", """case $1 in
  ro.product.model) echo 'Pixel 8' ;;
  ro.build.version.release) echo 14 ;;
  ro.build.version.sdk) echo 34 ;;
  ro.product.cpu.abi) echo arm64-v8a ;;
  ro.product.cpu.abilist) echo arm64-v8a,armeabi-v7a ;;
esac
""")
        self.fake("pm", f"""[ -f {ctl}/apk ] && echo "package:$(cat {ctl}/apk)"
exit 0
""")


