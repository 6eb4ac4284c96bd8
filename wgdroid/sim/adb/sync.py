"""`sync:`: bridge the stream to a syncd process started in the phone.

syncd (wgdroid.sim.adb.syncd) performs the file operations itself, with
adbd's uid and the phone's mounts, so permissions are the phone's own.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from wgdroid.sim.adb import fdio
from wgdroid.sim.adb.child import Child, Stdio
from wgdroid.sim.adb.shell import DEFAULT_TERM, adbd_env, adbd_uid, bridge
from wgdroid.sim.adb.streams import Stream
from wgdroid.sim.runtime_api import PhoneRuntime

log = logging.getLogger(__name__)

DEFAULT_SYNCD_ARGV: tuple[str, ...] = ("python3", "-m", "wgdroid.sim.adb.syncd")
# After the host closes mid-push, syncd sees EOF and deletes its temp file.
SYNCD_GRACE = 2.0
_STDERR_LOG_LIMIT = 4096  # syncd's stderr is for diagnostics only; keep a bounded prefix


async def _log_stderr(fd: int) -> None:
    kept = bytearray()
    while True:
        data = await fdio.read_some(fd, 4096)
        if not data:
            break
        if len(kept) < _STDERR_LOG_LIMIT:
            kept += data[: _STDERR_LOG_LIMIT - len(kept)]
    if kept:
        log.warning("syncd stderr: %s", kept.decode("utf-8", "replace").rstrip())


async def serve_sync(stream: Stream, runtime: PhoneRuntime, syncd_argv: Sequence[str]) -> None:
    uid = adbd_uid(runtime)
    child = await Child.start(
        runtime, list(syncd_argv), uid=uid, env=adbd_env(uid, DEFAULT_TERM), stdio=Stdio.SPLIT
    )
    assert child.stderr is not None
    # adbd serves sync in a thread of its own; our stand-in process ends with its stream.
    status = await bridge(stream, child, extra=_log_stderr(child.stderr), grace=SYNCD_GRACE,
                          host_close="kill")
    if status != 0:
        log.warning("syncd exited with status %d", status)
