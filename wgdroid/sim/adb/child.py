"""A process started in the phone for one stream, and our ends of its stdio.

The fds are created here (pipes or a pty), the child's ends handed to
`PhoneRuntime.spawn` and closed right after, as the runtime contract says.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import fcntl
import os
import struct
import termios
from collections.abc import Mapping, Sequence
from typing import Literal

from wgdroid.sim.adb import fdio
from wgdroid.sim.adb.shellproto import WindowSize
from wgdroid.sim.runtime_api import PhoneRuntime, SpawnedProcess

HostClose = Literal["kill", "sighup", "close"]


class Stdio(enum.Enum):
    MERGED = "merged"  # stdout and stderr share one pipe (shell v1, exec:)
    SPLIT = "split"  # separate stderr (shell v2 raw, syncd)
    PTY = "pty"  # a terminal on 0/1/2 and a controlling tty


class Child:
    def __init__(
        self,
        proc: SpawnedProcess,
        stdin: int | None,
        stdout: int,
        stderr: int | None,
        pty: bool,
    ) -> None:
        self.proc = proc
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.pty = pty
        self.status: int | None = None

    @classmethod
    async def start(
        cls,
        runtime: PhoneRuntime,
        argv: Sequence[str],
        *,
        uid: int,
        env: Mapping[str, str],
        stdio: Stdio,
    ) -> Child:
        ours: list[int] = []
        theirs: list[int] = []
        try:
            if stdio is Stdio.PTY:
                master, slave = os.openpty()
                ours.append(master)
                theirs.append(slave)
                child_in = child_out = child_err = slave
                stdin: int | None = master
                stdout = master
                stderr: int | None = None
            else:
                in_r, in_w = os.pipe()
                out_r, out_w = os.pipe()
                ours += [in_w, out_r]
                theirs += [in_r, out_w]
                child_in, child_out = in_r, out_w
                stdin, stdout = in_w, out_r
                if stdio is Stdio.SPLIT:
                    err_r, err_w = os.pipe()
                    ours.append(err_r)
                    theirs.append(err_w)
                    child_err, stderr = err_w, err_r
                else:
                    child_err, stderr = out_w, None
            for fd in ours:
                os.set_inheritable(fd, False)
                fdio.set_nonblocking(fd)
                if stdio is not Stdio.PTY:
                    fdio.grow_pipe(fd)
            proc = await runtime.spawn(
                argv,
                uid=uid,
                env=env,
                stdin=child_in,
                stdout=child_out,
                stderr=child_err,
                cwd="/",
                setsid_ctty=stdio is Stdio.PTY,
            )
        except BaseException:
            for fd in ours:
                os.close(fd)
            raise
        finally:
            for fd in theirs:
                os.close(fd)
        return cls(proc, stdin, stdout, stderr, stdio is Stdio.PTY)

    async def wait(self) -> int:
        self.status = await self.proc.wait()
        return self.status

    def close_stdin(self) -> None:
        # A pty has one fd for both directions: closing it would hang up the
        # session, so (like adbd) close-stdin is ignored there.
        if self.stdin is not None and not self.pty:
            os.close(self.stdin)
            self.stdin = None

    def set_window(self, size: WindowSize) -> None:
        if self.pty:
            winsize = struct.pack("HHHH", size.rows, size.cols, size.xpixels, size.ypixels)
            with contextlib.suppress(OSError):
                fcntl.ioctl(self.stdout, termios.TIOCSWINSZ, winsize)

    async def stop(self, grace: float) -> None:
        """Close stdin and give the process `grace` seconds to end on its own
        (syncd then removes its temp file), before `finish` kills it."""
        if self.status is not None or grace <= 0:
            return
        self.close_stdin()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wait(), grace)

    def finish(self, host_close: HostClose = "kill") -> None:
        """The stream is over: close our fds. A process still running (the
        host went away) is, by `host_close`:
        "kill": killed with its group (the simulator's own syncd);
        "sighup": sent SIGHUP (the process itself, not its group), then its
          stdio closed so that one ignoring SIGHUP gets EPIPE rather than
          block, and left running: adbd's shell protocol (packages/modules/adb
          daemon/shell_service.cpp Subprocess::PassDataStreams, when the
          protocol fd dies; nothing kills it later, WaitForExit only waits);
        "close": only its stdio closed: adbd without the shell protocol
          always uses a pty (StartSubprocess: "using PTY in raw mode"), whose
          master closing makes the kernel send SIGHUP and SIGCONT to the
          session leader; where the simulator used pipes, SIGHUP stands in."""
        if self.status is None and (host_close != "close" or not self.pty):
            with contextlib.suppress(ProcessLookupError, OSError):
                if host_close == "kill":
                    self.proc.kill()
                else:
                    self.proc.hangup()
        for fd in {self.stdin, self.stdout, self.stderr}:
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.stdin = None
        self.stderr = None
