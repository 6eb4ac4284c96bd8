"""Service dispatch for OPEN payloads, and the adbd-level services
(`root:`, `unroot:`, `reboot:`). A29 daemon/services.cpp, restart_service.cpp."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from wgdroid.sim.adb.shell import serve_exec, serve_shell
from wgdroid.sim.adb.streams import Stream
from wgdroid.sim.adb.sync import serve_sync
from wgdroid.sim.adb.transport import Handler

if TYPE_CHECKING:
    from wgdroid.sim.adb.server import AdbDeviceServer

ALREADY_ROOT = "adbd is already running as root\n"
CANNOT_ROOT = "adbd cannot run as root in production builds\n"
RESTARTING_ROOT = "restarting adbd as root\n"
NOT_ROOT = "adbd not running as root\n"
RESTARTING_UNROOT = "restarting adbd as non root\n"

REBOOT_TARGETS = ("", "bootloader", "recovery", "sideload", "sideload-auto-reboot")


def service_kind(service: str) -> str | None:
    """The counter key of a service we serve, or None to refuse it."""
    if service.startswith("shell:") or service.startswith("shell,"):
        return "shell"
    for kind in ("exec", "sync", "root", "unroot", "reboot"):
        if service.startswith(kind + ":"):
            return kind
    return None


def resolve(server: AdbDeviceServer, service: str) -> Handler | None:
    kind = service_kind(service)
    if kind is None:
        return None
    runtime = server.runtime
    if kind == "reboot" and service.partition(":")[2] not in REBOOT_TARGETS:
        return None
    runtime.counters.bump(kind)
    if kind == "shell":
        return functools.partial(serve_shell, runtime=runtime)
    if kind == "exec":
        return functools.partial(serve_exec, runtime=runtime)
    if kind == "sync":
        return functools.partial(serve_sync, runtime=runtime, syncd_argv=server.syncd_argv)
    if kind == "root":
        return functools.partial(serve_root, server=server)
    if kind == "unroot":
        return functools.partial(serve_unroot, server=server)
    return functools.partial(serve_reboot, server=server)


async def serve_root(stream: Stream, server: AdbDeviceServer) -> None:
    runtime = server.runtime
    if runtime.adbd_root:
        await stream.write(ALREADY_ROOT.encode())
    elif not runtime.debuggable:
        await stream.write(CANNOT_ROOT.encode())
    else:
        await stream.write(RESTARTING_ROOT.encode())
        runtime.adbd_root = True
        # adbd exits and init starts it again: the host sees the transport drop.
        stream.after_close = server.drop_connections


async def serve_unroot(stream: Stream, server: AdbDeviceServer) -> None:
    runtime = server.runtime
    if not runtime.adbd_root:
        await stream.write(NOT_ROOT.encode())
    else:
        await stream.write(RESTARTING_UNROOT.encode())
        runtime.adbd_root = False
        stream.after_close = server.drop_connections


async def serve_reboot(stream: Stream, server: AdbDeviceServer) -> None:
    # No reply: the stream closes, then the transport drops and the phone reboots.
    stream.after_close = server.reboot
