"""The host-process runtime: a real `PhoneRuntime` that runs commands directly
on this machine (no namespaces). It exists to test the ADB protocol against
the real adb server before, and beside, the namespace phone.

- `/system/bin/sh` runs as the host's /bin/sh; `python3` as the system
  python3 (stdlib only, as on a phone). Its PYTHONPATH holds a copy of just
  `wgdroid.sim.adb.syncd` in a world-readable temp dir, as if installed on the
  phone: the shell user may not be able to read this checkout (CI homes).
- When running as root, children really switch to the requested uid (so
  `adb shell id -u` prints 2000); otherwise they keep the caller's uid.
- A tiny `getprop` (identity and ro.debuggable) is put first on PATH, since
  adbutils reads `ro.product.model` through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import signal
import sys
import tempfile
import termios
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from wgdroid.sim.runtime_api import PhoneIdentity, StreamCounters

_HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class HostProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc
        self.pid = proc.pid
        self.returncode: int | None = None

    async def wait(self) -> int:
        code = await self._proc.wait()
        self.returncode = 128 - code if code < 0 else code
        return self.returncode

    def kill(self) -> None:
        # Every child leads its own session, so the group holds its children too.
        if self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)

    def hangup(self) -> None:
        if self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.pid, signal.SIGHUP)


def _take_ctty() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class HostRuntime:
    def __init__(
        self,
        identity: PhoneIdentity | None = None,
        *,
        debuggable: bool = True,
        adbd_root: bool = False,
        props: Mapping[str, str] | None = None,
    ) -> None:
        self.identity = identity or PhoneIdentity("wgsim", "WgSim_Phone", "wgsim")
        self.counters = StreamCounters()
        self.adbd_root = adbd_root
        self.debuggable = debuggable
        self._boot_root = adbd_root
        self.reboots = 0
        self._procs: set[HostProcess] = set()
        self._reapers: set[asyncio.Task[None]] = set()
        self._shim_dir = Path(tempfile.mkdtemp(prefix="wgdroid-hostrt-"))
        os.chmod(self._shim_dir, 0o755)  # the shell user must reach getprop
        all_props = {
            "ro.product.name": self.identity.product_name,
            "ro.product.model": self.identity.model,
            "ro.product.device": self.identity.device,
            "ro.build.version.sdk": "34",
            "ro.debuggable": "1" if debuggable else "0",
            **(props or {}),
        }
        self._write_getprop(all_props)
        self._pylib = self._install_syncd()

    def _write_getprop(self, props: Mapping[str, str]) -> None:
        cases = "\n".join(f"  {k}) echo '{v}' ;;" for k, v in props.items())
        listing = "\n".join(f"  echo '[{k}]: [{v}]'" for k, v in props.items())
        script = (
            "#!/bin/sh\n"
            "if [ $# -eq 0 ]; then\n"
            f"{listing}\n"
            "  exit 0\nfi\n"
            'case "$1" in\n'
            f"{cases}\n"
            '  *) echo "${2:-}" ;;\n'
            "esac\n"
        )
        path = self._shim_dir / "getprop"
        path.write_text(script)
        path.chmod(0o755)

    def _install_syncd(self) -> Path:
        pylib = self._shim_dir / "pylib"
        package = pylib / "wgdroid" / "sim" / "adb"
        package.mkdir(parents=True)
        for init in (pylib / "wgdroid", pylib / "wgdroid" / "sim", package):
            (init / "__init__.py").write_text("")
        shutil.copyfile(Path(__file__).with_name("syncd.py"), package / "syncd.py")
        for path in (pylib, *pylib.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)
        return pylib

    def close(self) -> None:
        for proc in list(self._procs):
            proc.kill()
        shutil.rmtree(self._shim_dir, ignore_errors=True)

    async def aclose(self) -> None:
        """`close`, then wait (briefly) until the killed processes are reaped."""
        self.close()
        if self._reapers:
            await asyncio.wait(list(self._reapers), timeout=5)

    def _host_argv(self, argv: Sequence[str]) -> list[str]:
        program = argv[0]
        if program.startswith("/system/bin/"):
            host = shutil.which(program.rsplit("/", 1)[1], path=_HOST_PATH)
            program = host or program
        elif program == "python3":
            # The system python, not the venv under /root (unreachable for uid 2000).
            program = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        return [program, *argv[1:]]

    async def spawn(
        self,
        argv: Sequence[str],
        *,
        uid: int,
        env: Mapping[str, str],
        stdin: int,
        stdout: int,
        stderr: int,
        cwd: str = "/",
        setsid_ctty: bool = False,
    ) -> HostProcess:
        host_env = dict(env)
        host_env["PATH"] = f"{self._shim_dir}:{env.get('PATH', '')}:{_HOST_PATH}"
        host_env["PYTHONPATH"] = str(self._pylib)
        ids: dict[str, Any] = {}
        if os.geteuid() == 0 and uid != 0:
            ids = {"user": uid, "group": uid, "extra_groups": []}
        preexec: Callable[[], None] | None = _take_ctty if setsid_ctty else None
        proc = await asyncio.create_subprocess_exec(
            *self._host_argv(argv),
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            cwd=cwd,
            env=host_env,
            start_new_session=True,
            preexec_fn=preexec,
            **ids,
        )
        handle = HostProcess(proc)
        self._procs.add(handle)
        reaper = asyncio.get_running_loop().create_task(self._forget(handle))
        self._reapers.add(reaper)
        reaper.add_done_callback(self._reapers.discard)
        return handle

    async def _forget(self, handle: HostProcess) -> None:
        with contextlib.suppress(Exception):
            await handle.wait()
        self._procs.discard(handle)

    async def reboot(self) -> None:
        for proc in list(self._procs):
            proc.kill()
        self.adbd_root = self._boot_root
        self.reboots += 1
        await asyncio.sleep(0.2)  # a (very) short boot
