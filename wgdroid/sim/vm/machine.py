"""The VM on the host side: qemu running Debian's kernel, its control channel,
and the port forwards that put the phones' adbd on the host's loopback.

    qemu-system-x86_64  -kernel CACHE/VERSION/boot/vmlinuz  -initrd STATE/vm/initrd.img
      9p:            the host's / (read-only), the guest's root
      virtio console: port `wgdroid.ctl` <-> qemu's stdin/stdout (our pipes)
      serial:        STATE/vm/console.log (kernel and boot messages)
      user network:  restricted (no way out); `hostfwd_add` through QMP per phone

KVM is used when it works: a guest under a broken nested KVM hangs before
its first word, so a KVM boot that prints nothing within KVM_PROBE_SECONDS is
killed and the verdict remembered until the host reboots; then TCG.
qemu runs under `setpriv --pdeathsig`: if the simulator daemon dies, so does
the VM.
"""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import itertools
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from wgdroid.errors import EnvironmentProblem, OperationTimeout, UsageError
from wgdroid.sim.vm import image
from wgdroid.sim.vm.boot import GUEST_IP, LINE_LIMIT, MARK, MOUNT_TAG, PORT_NAME, init_script

QEMU = "qemu-system-x86_64"
QEMU_PACKAGE = "qemu-system-x86"
ACCEL_ENV = "WGDROID_VM_ACCEL"  # auto (default) | kvm | tcg
BOOT_TIMEOUT_ENV = "WGDROID_VM_BOOT_TIMEOUT"
BOOT_TIMEOUT = 180.0  # TCG on a loaded 2-core machine; an idle one boots in ~15 s
KVM_PROBE_SECONDS = 6.0  # a working KVM guest prints its first line in well under 1 s
MEMORY_MB = 2048  # pages are only taken when the guest touches them
SHUTDOWN_TIMEOUT = 30.0
NETDEV = "net0"
KVM_VERDICT = "kvm-verdict"  # in the kernel cache: "BOOT_ID usable|hangs"


def qemu_path() -> str:
    path = shutil.which(QEMU)
    if path is None:
        raise EnvironmentProblem(
            f"the VM phone needs {QEMU} (Debian's {QEMU_PACKAGE}): run scripts/setup")
    return path


def preflight() -> image.KernelImage:
    """What a VM phone needs on this host, or an EnvironmentProblem naming it."""
    qemu_path()
    if shutil.which("setpriv") is None:
        raise EnvironmentProblem("the VM phone needs setpriv (util-linux): run scripts/setup")
    return image.find()


def boot_timeout() -> float:
    """WGDROID_VM_BOOT_TIMEOUT (read by the client, sent with the start request)."""
    raw = os.environ.get(BOOT_TIMEOUT_ENV)
    if not raw:
        return BOOT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{BOOT_TIMEOUT_ENV} must be a number of seconds, not {raw!r}") from None
    if not 0 < value < 86400:  # also refuses nan and inf
        raise UsageError(f"{BOOT_TIMEOUT_ENV} must be a positive number of seconds (< 1 day)")
    return value


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _kvm_openable() -> bool:
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    os.close(fd)
    return True


def accelerators() -> list[str]:
    """What to try, in order: KVM first unless this boot of the host has seen it hang."""
    wanted = os.environ.get(ACCEL_ENV, "auto")
    if wanted not in ("auto", "kvm", "tcg"):
        raise UsageError(f"{ACCEL_ENV} must be auto, kvm or tcg, not {wanted!r}")
    if wanted != "auto":
        return [wanted]
    verdict = image.cache_dir() / KVM_VERDICT
    with contextlib.suppress(OSError):
        boot, said = verdict.read_text().split()
        if boot == _boot_id() and said == "hangs":
            return ["tcg"]
    return ["kvm", "tcg"] if _kvm_openable() else ["tcg"]


def _remember_kvm(usable: bool) -> None:
    with contextlib.suppress(OSError):
        (image.cache_dir() / KVM_VERDICT).write_text(
            f"{_boot_id()} {'usable' if usable else 'hangs'}\n")


def _package_root() -> Path:
    return Path(__file__).resolve().parents[3]  # the tree holding wgdroid/


class _KvmUnusable(Exception):
    pass


class Machine:
    """One qemu guest running the simulator (wgdroid.sim.vm_guest)."""

    def __init__(self, home: Path) -> None:
        self.home = home  # STATE/vm
        self.proc: asyncio.subprocess.Process | None = None
        self.accel = ""
        self.info: dict[str, Any] = {}  # the guest's ready event: kernel, wireguard, uptime
        self.boot_seconds = 0.0
        self.failed = False  # keep the logs: something went wrong
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ready: asyncio.Future[dict[str, Any]] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._qmp_lock = asyncio.Lock()
        self._write_lock = asyncio.Lock()
        self._stopping = False

    @property
    def console(self) -> Path:
        return self.home / "console.log"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    # -- boot -------------------------------------------------------------------------
    async def boot(self, timeout: float = BOOT_TIMEOUT) -> None:  # noqa: ASYNC109
        """Start the guest and wait for its simulator; EnvironmentProblem if it can't."""
        kernel = preflight()
        if "," in str(self.home):
            raise EnvironmentProblem(f"the VM phone's state dir may not contain ',': {self.home}")
        self.home.mkdir(parents=True, exist_ok=True)
        os.chmod(self.home, 0o700)
        # The guest reads the code over 9p under emulation: compiling it there on
        # every import would cost seconds; the host writes the bytecode once.
        await asyncio.to_thread(compileall.compile_dir, str(_package_root() / "wgdroid"),
                                quiet=1)
        initrd = self.home / "initrd.img"
        fd = os.open(initrd, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(image.initramfs(kernel, init_script(sys.executable, str(kernel.root))))
        started = time.monotonic()
        for accel in accelerators():
            try:
                await self._start(kernel, accel, timeout)
            except _KvmUnusable:
                _remember_kvm(False)
                continue
            if accel == "kvm":
                _remember_kvm(True)
            break
        else:
            self.failed = True
            raise EnvironmentProblem(
                f"the VM phone's guest did not start under KVM within {KVM_PROBE_SECONDS:g} s "
                f"and {ACCEL_ENV}=kvm rules out TCG (see {self.console})")
        self.boot_seconds = time.monotonic() - started
        initrd.unlink()

    def _argv(self, kernel: image.KernelImage, accel: str) -> list[str]:
        return [
            "setpriv", "--pdeathsig", "TERM", "--",
            qemu_path(), "-name", "wgdroid-vm", "-nodefaults", "-no-user-config",
            "-display", "none", "-no-reboot",
            "-machine", f"q35,accel={accel}", "-cpu", "host" if accel == "kvm" else "max",
            # One vCPU under TCG: with two, every exec and munmap stops both for a TLB
            # flush, and the phone's shells fork a lot (measured: fork+exec ~2x slower).
            "-smp", str(min(2, os.cpu_count() or 1)) if accel == "kvm" else "1",
            "-m", f"{MEMORY_MB}M",
            "-kernel", str(kernel.vmlinuz), "-initrd", str(self.home / "initrd.img"),
            "-append", "console=ttyS0 quiet panic=-1",
            "-serial", f"file:{self.console}",
            "-fsdev", "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap",
            "-device", f"virtio-9p-pci,fsdev=hostroot,mount_tag={MOUNT_TAG}",
            "-device", "virtio-serial-pci",
            "-chardev", "stdio,id=ctl,signal=off",
            "-device", f"virtserialport,chardev=ctl,name={PORT_NAME}",
            "-netdev", f"user,id={NETDEV},restrict=on",
            "-device", f"virtio-net-pci,netdev={NETDEV}",
            "-qmp", f"unix:{self.home / 'qmp.sock'},server=on,wait=off",
        ]

    async def _start(self, kernel: image.KernelImage, accel: str, timeout: float  # noqa: ASYNC109
                     ) -> None:
        self.console.unlink(missing_ok=True)
        self._stopping = False
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        with open(self.home / "qemu.log", "ab") as log:  # noqa: ASYNC230 (local, instant)
            self.proc = await asyncio.create_subprocess_exec(
                *self._argv(kernel, accel), stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=log, limit=LINE_LIMIT,
                start_new_session=True)
        self.accel = accel
        self._reader = asyncio.create_task(self._read_replies())
        deadline = time.monotonic() + timeout
        if accel == "kvm":
            probe_end = time.monotonic() + KVM_PROBE_SECONDS
            while MARK not in self._console_text():
                # Silent past the probe, or qemu could not use KVM at all: TCG comes next.
                if not self.alive or time.monotonic() > probe_end:
                    self._stopping = True  # not a failure of the VM phone
                    await self._kill()
                    # A qemu that died on KVM ended the reader before _stopping was
                    # set, which marked the machine failed; TCG starts clean.
                    self.failed = False
                    raise _KvmUnusable()
                await asyncio.sleep(0.1)
        ended = asyncio.ensure_future(self.proc.wait())
        waiters: set[asyncio.Future[Any]] = {self._ready, ended}
        try:
            done, _ = await asyncio.wait(waiters, timeout=max(0.0, deadline - time.monotonic()),
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended.cancel()
        if self._ready in done and not self._ready.exception():
            self.info = self._ready.result()
            return
        self.failed = True
        said = self._last_console_line()
        await self._kill()
        if not done:
            raise EnvironmentProblem(
                f"the VM phone's guest did not boot within {timeout:g} s ({accel}; last "
                f"console line: {said or 'none'}; see {self.console})")
        raise EnvironmentProblem(
            f"the VM phone's guest stopped during boot: {said or self._qemu_error()} "
            f"(see {self.console})")

    def _console_text(self) -> str:
        try:
            return self.console.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _last_console_line(self) -> str:
        lines = [ln.strip() for ln in self._console_text().splitlines() if MARK in ln]
        return lines[-1].split(MARK, 1)[1].strip() if lines else ""

    def _qemu_error(self) -> str:
        with contextlib.suppress(OSError):
            lines = (self.home / "qemu.log").read_text(errors="replace").strip().splitlines()
            if lines:
                return lines[-1]
        return "qemu exited"

    # -- the control channel ---------------------------------------------------------
    async def _read_replies(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        try:
            while True:
                line = await self.proc.stdout.readline()
                if not line:
                    break
                rid, _, body = line.partition(b" ")
                try:
                    message = json.loads(body)
                except ValueError:
                    continue  # not ours (a stray write to the port)
                if rid == b"0":
                    if message.get("event") == "ready" and self._ready and not self._ready.done():
                        self._ready.set_result(message)
                    continue
                with contextlib.suppress(ValueError):
                    fut = self._pending.pop(int(rid), None)
                    if fut is not None and not fut.done():
                        fut.set_result(message)
        finally:
            if not self._stopping:
                self.failed = True  # the guest went down on its own: keep its console log
            gone = EnvironmentProblem(
                f"the VM phone's guest stopped: {self._last_console_line() or 'no reason given'}"
                f" (see {self.console})")
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(gone)
            self._pending.clear()

    async def request(self, req: dict[str, Any], timeout: float = 300.0  # noqa: ASYNC109
                      ) -> dict[str, Any]:
        """One simulator request to the guest; its raw reply ({"ok": ...})."""
        if not self.alive or self.proc is None or self.proc.stdin is None:
            raise EnvironmentProblem(f"the VM phone's guest is not running (see {self.console})")
        rid = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        try:
            async with self._write_lock:
                self.proc.stdin.write(f"{rid} ".encode() + json.dumps(req).encode() + b"\n")
                await self.proc.stdin.drain()
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise OperationTimeout(
                f"the VM phone's guest did not answer {req.get('op')!r} in time") from None
        except ConnectionError:
            raise EnvironmentProblem(
                f"the VM phone's guest stopped (see {self.console})") from None
        finally:
            self._pending.pop(rid, None)

    # -- port forwards (QMP) ------------------------------------------------------------
    async def _hmp(self, command: str) -> str:
        """A monitor command through QMP; what it printed (empty when it went well)."""
        async with self._qmp_lock:
            reader, writer = await asyncio.open_unix_connection(str(self.home / "qmp.sock"))
            try:
                async def call(execute: str, **arguments: Any) -> Any:
                    msg: dict[str, Any] = {"execute": execute}
                    if arguments:
                        msg["arguments"] = arguments
                    writer.write(json.dumps(msg).encode() + b"\n")
                    await writer.drain()
                    while True:
                        line = await asyncio.wait_for(reader.readline(), 30)
                        if not line:
                            raise EnvironmentProblem("qemu closed its monitor")
                        reply = json.loads(line)
                        if "error" in reply:
                            raise EnvironmentProblem(f"qemu: {reply['error'].get('desc')}")
                        if "return" in reply:
                            return reply["return"]

                await asyncio.wait_for(reader.readline(), 30)  # the greeting
                await call("qmp_capabilities")
                return str(await call("human-monitor-command", **{"command-line": command}))
            finally:
                writer.close()

    async def forward(self, host_port: int, guest_port: int) -> None:
        """127.0.0.1:host_port on the host -> the guest's guest_port; OSError if taken."""
        said = await self._hmp(
            f"hostfwd_add {NETDEV} tcp:127.0.0.1:{host_port}-{GUEST_IP}:{guest_port}")
        if said.strip():
            raise OSError(f"port {host_port}: {said.strip()}")

    async def unforward(self, host_port: int) -> None:
        await self._hmp(f"hostfwd_remove {NETDEV} tcp:127.0.0.1:{host_port}")

    # -- shutdown -----------------------------------------------------------------------
    async def shutdown(self) -> None:
        """Stop the guest's phones, power it off, and remove what it left (the
        logs stay when something failed)."""
        self._stopping = True
        if self.alive:
            with contextlib.suppress(Exception):
                await self.request({"op": "shutdown"}, timeout=SHUTDOWN_TIMEOUT)
            assert self.proc is not None
            try:
                await asyncio.wait_for(self.proc.wait(), SHUTDOWN_TIMEOUT)
            except TimeoutError:
                self.failed = True
        await self._kill()
        for name in ("qmp.sock", "initrd.img"):
            (self.home / name).unlink(missing_ok=True)
        if not self.failed:
            for name in ("console.log", "qemu.log"):
                (self.home / name).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                self.home.rmdir()

    async def _kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
