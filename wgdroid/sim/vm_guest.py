"""Inside the VM: the boot, and the simulator behind the control port.

The initramfs /init (`wgdroid.sim.vm.boot.init_script`, busybox sh) loads the boot modules, mounts
the host's / read-only over 9p, a tmpfs on /run, and switches into it with
this module as the guest's init (pid 1). Pid 1 mounts the rest, loads the
WireGuard module through the cache's module tree, addresses the NIC, then
forks the agent and reaps every orphan until the agent exits, then powers the
guest off (qemu exits with it).

The agent is the simulator daemon of the host, minus its socket: one
`wgdroid.sim.daemon.Daemon` whose requests arrive on the virtio console port
`wgdroid.ctl`, one line each, `ID JSON`, answered `ID JSON` in any order (so a
long `run` never holds up a `list`). It first says `0 {"event": "ready", ...}`.
End of input (the host went away) or a `shutdown` request stops every phone
and powers the guest off.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from wgdroid.sim.vm.boot import GUEST_IP, LINE_LIMIT, MARK, PORT_NAME

STATE_DIR = "/run/wgdroid-sim"
MODPROBE = "/run/wgdroid-vm/modprobe"
# Loaded at boot besides the initramfs's own: what the phones and the server use.
# The kernel loads the rest on demand through MODPROBE, but only when it asks
# itself: legacy iptables (netd's) finds its tables missing unless ip_tables is
# there, and its own modprobe call runs in the phone, where MODPROBE is not.
# loop and erofs: each phone's root and /system are erofs images on loop
# devices (wgdroid.sim.phone.sysimage); mount(2) asks for neither module.
GUEST_MODULES = ("wireguard", "tun", "veth", "loop", "erofs", "ip_tables", "ip6_tables",
                 "iptable_filter", "iptable_mangle", "iptable_raw", "iptable_nat",
                 "ip6table_filter", "ip6table_mangle", "ip6table_raw", "ip6table_nat")
RB_POWER_OFF = 0x4321FEDC




def say(text: str) -> None:
    """A line on the guest's console (the host keeps it as console.log)."""
    sys.stdout.write(f"{MARK} {text} ({uptime():.1f} s)\n")
    sys.stdout.flush()


def uptime() -> float:
    return float(Path("/proc/uptime").read_text().split()[0])


def module_version() -> str | None:
    try:
        return Path("/sys/module/wireguard/version").read_text().strip()
    except OSError:
        return None


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _mount(source: str, target: str, fstype: str, options: str) -> None:
    os.makedirs(target, exist_ok=True)
    if _libc().mount(source.encode(), target.encode(), fstype.encode(), 0,
                     options.encode()) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def _sh(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")


def prepare(modules_root: str) -> None:
    """Pid 1's set-up after the switch into the host's files."""
    _mount("devpts", "/dev/pts", "devpts", "gid=5,mode=0620,ptmxmode=0666")
    _mount("shm", "/dev/shm", "tmpfs", "mode=1777")
    # Where a user-namespaced phone stages the dirs it binds (the host's /mnt is read-only).
    _mount("mnt", "/mnt", "tmpfs", "mode=0755")
    # devtmpfs has device nodes only; udev would add these (`wg ... /dev/stdin` needs them).
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        if not os.path.lexists(f"/dev/{name}"):
            os.symlink(target, f"/dev/{name}")
    os.makedirs("/run/tmp", mode=0o1777, exist_ok=True)
    os.chmod("/run/tmp", 0o1777)
    socket.sethostname("wgdroid-vm")
    # The kernel loads modules on demand (netfilter, ...) through this: the
    # host has no /lib/modules for this kernel, the cache has.
    modprobe = shutil.which("modprobe") or "/sbin/modprobe"
    os.makedirs(os.path.dirname(MODPROBE), exist_ok=True)
    Path(MODPROBE).write_text(
        f'#!/bin/sh\nexec {shlex.quote(modprobe)} -d {shlex.quote(modules_root)} "$@"\n')
    os.chmod(MODPROBE, 0o755)
    Path("/proc/sys/kernel/modprobe").write_text(MODPROBE)
    _sh([MODPROBE, "-a", *GUEST_MODULES])
    nics = [n for n in os.listdir("/sys/class/net") if n != "lo"]
    if not nics:
        raise RuntimeError("no network interface (virtio_net)")
    _sh(["ip", "link", "set", "lo", "up"])
    _sh(["ip", "address", "add", f"{GUEST_IP}/24", "dev", nics[0]])
    _sh(["ip", "link", "set", nics[0], "up"])


def control_port() -> str:
    for entry in Path("/sys/class/virtio-ports").glob("*"):
        name = entry / "name"
        if name.exists() and name.read_text().strip() == PORT_NAME:
            return f"/dev/{entry.name}"
    raise RuntimeError(f"no virtio console port {PORT_NAME}")


class Agent:
    def __init__(self) -> None:
        self._write_lock = asyncio.Lock()
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def _send(self, rid: bytes, message: dict[str, Any]) -> None:
        assert self._writer is not None
        async with self._write_lock:
            self._writer.write(rid + b" " + json.dumps(message).encode() + b"\n")
            await self._writer.drain()

    async def run(self) -> int:
        from wgdroid.sim.daemon import Daemon

        loop = asyncio.get_running_loop()
        fd = os.open(control_port(), os.O_RDWR | os.O_NOCTTY)
        reader = asyncio.StreamReader(limit=LINE_LIMIT)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                     os.fdopen(fd, "rb", 0))
        transport, protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, os.fdopen(os.dup(fd), "wb", 0))
        self._writer = asyncio.StreamWriter(transport, protocol, None, loop)

        daemon = Daemon(Path(STATE_DIR))
        daemon.sim.adb_host = GUEST_IP  # reached through qemu's port forwards only
        await self._send(b"0", {"event": "ready", "kernel": os.uname().release,
                                "wireguard": module_version(), "uptime": uptime()})
        say("ready")

        async def serve(rid: bytes, body: bytes) -> None:
            await self._send(rid, await daemon.answer(body))

        stopping = asyncio.ensure_future(daemon.done.wait())
        reading = asyncio.ensure_future(reader.readline())
        try:
            while True:
                await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if stopping.done():
                    break
                line = reading.result()
                if not line:
                    say("the host closed the control channel")
                    break
                rid, _, body = line.partition(b" ")
                task = asyncio.create_task(serve(rid, body))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                reading = asyncio.ensure_future(reader.readline())
        finally:
            reading.cancel()
            stopping.cancel()
            # Answers already computed (the shutdown's own) go out before the phones do.
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=5)
            await daemon.sim.close()
            for task in self._tasks:
                task.cancel()
            say("simulator stopped")
        return 0


def _agent() -> int:
    try:
        return asyncio.run(Agent().run())
    except BaseException:
        traceback.print_exc()
        return 1


def poweroff() -> None:
    sys.stdout.flush()
    _libc().reboot(RB_POWER_OFF)
    os._exit(1)  # reboot() only returns on failure


def main() -> None:
    parser = argparse.ArgumentParser(prog="wgdroid.sim.vm_guest")
    parser.add_argument("--modules-root", required=True)
    args = parser.parse_args()
    if os.getpid() != 1:
        raise SystemExit("wgdroid.sim.vm_guest is the VM's init (pid 1)")
    started = time.monotonic()
    try:
        prepare(args.modules_root)
    except Exception as exc:
        say(f"boot failed: {exc}")
        poweroff()
    say(f"system up in {time.monotonic() - started:.1f} s, kernel {os.uname().release}")
    agent = os.fork()
    if agent == 0:
        os._exit(_agent())
    while True:  # pid 1 adopts every orphan: reap them all
        try:
            pid, raw = os.wait()
        except ChildProcessError:
            break
        if pid == agent:
            say(f"agent exited with status {os.waitstatus_to_exitcode(raw)}")
            break
    poweroff()


if __name__ == "__main__":
    main()
