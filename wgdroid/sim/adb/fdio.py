"""Non-blocking file-descriptor I/O on the asyncio loop (pipes and pty masters).

One read at a time and only when the caller asks: that is the backpressure
rule, since a process cannot produce more than we are ready to send.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os

PIPE_SIZE = 1024 * 1024  # Linux's default pipe-max-size; fewer wakeups for big transfers


def set_nonblocking(fd: int) -> None:
    os.set_blocking(fd, False)


def grow_pipe(fd: int, size: int = PIPE_SIZE) -> None:
    """Best effort: a larger pipe means fewer round trips for bulk data."""
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, size)


async def _wait(fd: int, *, writable: bool) -> None:
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[None] = loop.create_future()

    def ready() -> None:
        if not fut.done():
            fut.set_result(None)

    if writable:
        loop.add_writer(fd, ready)
    else:
        loop.add_reader(fd, ready)
    try:
        await fut
    finally:
        if writable:
            loop.remove_writer(fd)
        else:
            loop.remove_reader(fd)


async def read_some(fd: int, limit: int) -> bytes:
    """Up to `limit` bytes; b"" at EOF. A pty master reports the end of the
    slave side as EIO, which is EOF here too."""
    while True:
        try:
            return os.read(fd, limit)
        except BlockingIOError:
            pass
        except OSError as exc:
            if exc.errno == errno.EIO:
                return b""
            raise
        await _wait(fd, writable=False)


def read_more(fd: int, first: bytes, limit: int) -> bytes:
    """Top `first` up with whatever is already readable, without waiting, so
    bulk output goes out in large WRTEs."""
    if not first:
        return first
    parts = [first]
    size = len(first)
    while size < limit:
        try:
            chunk = os.read(fd, limit - size)
        except (BlockingIOError, InterruptedError):
            break
        except OSError as exc:
            if exc.errno == errno.EIO:
                break
            raise
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


async def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write everything, waiting while the pipe is full. Raises BrokenPipeError
    when the reader has gone."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            await _wait(fd, writable=True)
            continue
        view = view[written:]
