"""`shell:`, `shell,<args>:` and `exec:` (A29 daemon/shell_service.cpp).

v1 and exec: a byte bridge, stderr merged, no exit status, the stream closes
when the output ends. v2: ids 0..5 framing, stderr apart (raw mode), and the
exit packet always before the close. A stream the host closes first leaves
its shell hung up, not killed (Child.finish: SIGHUP, stdio closed), as adbd's
Subprocess::PassDataStreams and its pty do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from wgdroid.sim.adb import fdio, shellproto
from wgdroid.sim.adb.child import Child, HostClose, Stdio
from wgdroid.sim.adb.streams import Stream
from wgdroid.sim.runtime_api import ROOT_UID, SHELL_UID, PhoneRuntime

log = logging.getLogger(__name__)

SHELL = "/system/bin/sh"
# init's PATH on Android 10+, which adbd passes on to its children.
ANDROID_PATH = (
    "/product/bin:/apex/com.android.runtime/bin:/apex/com.android.art/bin:"
    "/system_ext/bin:/system/bin:/system/xbin:/odm/bin:/vendor/bin:/vendor/xbin"
)
DEFAULT_TERM = "dumb"


@dataclass(frozen=True)
class ShellRequest:
    command: str
    v2: bool
    pty: bool
    term: str


def parse_shell_service(service: str) -> ShellRequest:
    """`shell:<cmd>` or `shell,<args>:<cmd>`; args v2, raw, pty, TERM=<x>
    (unknown ones ignored). PTY by default only for an empty command."""
    head, _, command = service.partition(":")
    args = head.split(",")[1:]
    v2 = "v2" in args
    term = DEFAULT_TERM
    pty: bool | None = None
    for arg in args:
        if arg == "raw":
            pty = False
        elif arg == "pty":
            pty = True
        elif arg.startswith("TERM="):
            term = arg[len("TERM=") :]
    if pty is None:
        pty = command == ""
    return ShellRequest(command, v2, pty, term)


def adbd_uid(runtime: PhoneRuntime) -> int:
    return ROOT_UID if runtime.adbd_root else SHELL_UID


def adbd_env(uid: int, term: str) -> dict[str, str]:
    """The environment adbd gives its children (getpwuid of shell or root)."""
    user = "root" if uid == ROOT_UID else "shell"
    return {
        "PATH": ANDROID_PATH,
        "HOME": "/",
        "HOSTNAME": "localhost",
        "LOGNAME": user,
        "USER": user,
        "SHELL": SHELL,
        "TMPDIR": "/data/local/tmp",
        "TERM": term,
        "ANDROID_DATA": "/data",
        "ANDROID_ROOT": "/system",
    }


def shell_argv(command: str) -> list[str]:
    # An empty command is an interactive login shell, as adbd's `-` argv[0].
    return [SHELL, "-l"] if command == "" else [SHELL, "-c", command]


# -- pumps -----------------------------------------------------------------------


async def pump_output(fd: int, stream: Stream, frame_id: int | None) -> None:
    """Process output -> WRTEs. Reads only after the previous WRTE was
    acknowledged, so a fast process cannot outrun a slow host."""
    overhead = shellproto.HEADER_SIZE if frame_id is not None else 0
    limit = stream.maxdata - overhead
    while True:
        data = await fdio.read_some(fd, limit)
        if not data:
            return
        data = fdio.read_more(fd, data, limit)
        await stream.write(data if frame_id is None else shellproto.pack(frame_id, data))


async def pump_raw_input(stream: Stream, child: Child) -> None:
    """Host WRTEs -> stdin. After the process stops reading, input is
    discarded (still acknowledged) so the host never stalls."""
    while True:
        data = await stream.read()
        if not data:
            return
        if child.stdin is None:
            continue
        try:
            await fdio.write_all(child.stdin, data)
        except (BrokenPipeError, OSError):
            child.close_stdin()


async def pump_v2_input(stream: Stream, child: Child) -> None:
    parser = shellproto.ShellParser(max_packet=max(stream.maxdata, 1024 * 1024))
    while True:
        data = await stream.read()
        if not data:
            return
        try:
            frames = list(parser.feed(data))
        except shellproto.ShellProtocolError as exc:
            # Framing is lost for good: stop taking input, let the command finish.
            log.warning("shell stdin: %s", exc)
            child.close_stdin()
            await _discard(stream)
            return
        for packet_id, payload in frames:
            if packet_id == shellproto.ID_STDIN and child.stdin is not None:
                try:
                    await fdio.write_all(child.stdin, payload)
                except (BrokenPipeError, OSError):
                    child.close_stdin()
            elif packet_id == shellproto.ID_CLOSE_STDIN:
                child.close_stdin()
            elif packet_id == shellproto.ID_WINDOW_SIZE:
                try:
                    child.set_window(shellproto.parse_window_size(payload))
                except shellproto.ShellProtocolError as exc:
                    log.debug("ignoring %s", exc)


async def _discard(stream: Stream) -> None:
    while await stream.read():
        pass


async def _cancel(*tasks: asyncio.Task[None]) -> None:
    """Cancel and wait, so no task is still polling an fd we are about to close."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def run_all(*coros: Coroutine[Any, Any, None]) -> None:
    """Run together; the first failure cancels the rest, and all have ended
    when this returns or raises."""
    tasks = [asyncio.create_task(coro) for coro in coros]
    try:
        await asyncio.gather(*tasks)
    finally:
        await _cancel(*tasks)


# -- services --------------------------------------------------------------------


async def bridge(
    stream: Stream,
    child: Child,
    extra: Coroutine[Any, Any, None] | None = None,
    grace: float = 0.0,
    host_close: HostClose = "close",
) -> int:
    """A raw byte bridge (shell v1, exec:, sync:). Ends when the output ends;
    returns the exit status (which v1 does not report). `extra` runs beside
    it (syncd's stderr) and is given a moment to finish after the exit. If
    the host closes first, the process gets `grace` seconds after its stdin
    closes, then `host_close` says what happens to it (Child.finish): a
    shell is hung up as adbd's pty would, never killed."""
    feeder = asyncio.create_task(pump_raw_input(stream, child))
    side = asyncio.create_task(extra) if extra is not None else None
    try:
        await pump_output(child.stdout, stream, None)
        status = await child.wait()
        if side is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(side), 1.0)
        return status
    finally:
        try:
            await _cancel(feeder)
            await child.stop(grace)
            if side is not None:
                await _cancel(side)
        finally:
            # Even if cancelled again meanwhile: never leave our fds behind.
            if side is not None:
                side.cancel()
            feeder.cancel()
            child.finish(host_close)


async def run_v2(stream: Stream, child: Child) -> None:
    feeder = asyncio.create_task(pump_v2_input(stream, child))
    try:
        outputs = [pump_output(child.stdout, stream, shellproto.ID_STDOUT)]
        if child.stderr is not None:
            outputs.append(pump_output(child.stderr, stream, shellproto.ID_STDERR))
        await run_all(*outputs)
        status = await child.wait()
        await stream.write(shellproto.pack_exit(status))
    finally:
        try:
            await _cancel(feeder)
        finally:
            feeder.cancel()
            # The host closed before the exit packet: adbd's shell protocol
            # sends SIGHUP and closes the pipes (Subprocess::PassDataStreams).
            child.finish("sighup")


async def serve_shell(stream: Stream, runtime: PhoneRuntime) -> None:
    request = parse_shell_service(stream.service)
    uid = adbd_uid(runtime)
    stdio = Stdio.PTY if request.pty else Stdio.SPLIT if request.v2 else Stdio.MERGED
    child = await Child.start(
        runtime,
        shell_argv(request.command),
        uid=uid,
        env=adbd_env(uid, request.term),
        stdio=stdio,
    )
    if request.v2:
        await run_v2(stream, child)
    else:
        await bridge(stream, child)


async def serve_exec(stream: Stream, runtime: PhoneRuntime) -> None:
    command = stream.service.partition(":")[2]
    uid = adbd_uid(runtime)
    child = await Child.start(
        runtime, shell_argv(command), uid=uid, env=adbd_env(uid, DEFAULT_TERM), stdio=Stdio.MERGED
    )
    await bridge(stream, child)
