"""The host side of a zygote: start it, spawn processes in it, run commands.

One Node per namespace set (each phone, and the simulator's internet).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import os
import signal
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wgdroid.errors import EnvironmentProblem
from wgdroid.sim.phone import ns, wire
from wgdroid.sim.phone.spec import USERNS_SIZE, NodeSpec

READY_TIMEOUT = 30.0
MAX_OUTPUT = 4 << 20  # run() keeps at most this much of stdout and of stderr


@dataclass
class RunResult:
    status: int
    stdout: bytes
    stderr: bytes


class NodeProcess:
    """A process started in a node (implements runtime_api.SpawnedProcess)."""

    def __init__(self, node: Node, pid: int, done: asyncio.Future[int]) -> None:
        self.node = node
        self.pid = pid
        self._done = done

    async def wait(self) -> int:
        return await asyncio.shield(self._done)

    @property
    def returncode(self) -> int | None:
        return self._done.result() if self._done.done() else None

    def kill(self) -> None:
        if not self._done.done():
            self.node.send({"op": "kill", "pid": self.pid})

    def hangup(self) -> None:
        if not self._done.done():
            self.node.send({"op": "kill", "pid": self.pid, "sig": int(signal.SIGHUP),
                            "group": False})


EventHandler = Callable[[dict[str, Any]], None]


class Node:
    def __init__(self, spec: NodeSpec, log_path: str, on_event: EventHandler | None = None):
        self.spec = spec
        self.log_path = log_path
        self.on_event = on_event
        self.pid = 0
        self.netns = 0
        self._netns_fd = -1  # keeps the namespace (and so its inode) ours until stop
        self._sock: socket.socket | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._ids = itertools.count(1)
        self._spawning: dict[int, asyncio.Future[int]] = {}
        self._exits: dict[int, asyncio.Future[int]] = {}
        self._ready: asyncio.Future[dict[str, Any]] | None = None
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.alive = False
        self._host_pid = asyncio.Event()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._ready = loop.create_future()
        with open(self.log_path, "ab") as log:  # noqa: ASYNC230 (local file, instant)
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "wgdroid.sim.phone.zygote", self.spec.to_json(),
                str(theirs.fileno()), pass_fds=[theirs.fileno()],
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
            )
        theirs.close()
        ours.setblocking(False)
        self._sock = ours
        loop.add_reader(ours.fileno(), self._on_readable)
        try:
            msg = await asyncio.wait_for(self._ready, READY_TIMEOUT)
        except TimeoutError:
            await self.stop()
            raise EnvironmentProblem(f"{self.spec.name}: namespace set-up timed out") from None
        if msg["op"] == "failed":
            await self.stop()
            raise EnvironmentProblem(f"{self.spec.name}: namespace set-up failed: {msg['error']}")
        try:
            await asyncio.wait_for(self._host_pid.wait(), READY_TIMEOUT)
        except TimeoutError:
            await self.stop()
            raise EnvironmentProblem(f"{self.spec.name}: init pid never arrived") from None
        self.netns = int(msg["netns"])
        self._hold_netns()
        self.alive = True

    def _hold_netns(self) -> None:
        """An open fd on the namespace: once it is freed the kernel hands its
        inode number to the next namespace made (another phone's), and stop's
        sweep by inode would kill that phone's processes."""
        try:
            fd = os.open(f"/proc/{self.pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            self.netns = 0  # init is gone already: nothing to sweep by inode
            return
        if os.fstat(fd).st_ino != self.netns:
            os.close(fd)
            self.netns = 0
            return
        self._netns_fd = fd

    def _on_readable(self) -> None:
        assert self._sock is not None
        while True:
            try:
                msg, fds = wire.recv(self._sock)
            except BlockingIOError:
                return
            except OSError:
                msg, fds = None, []
            for fd in fds:
                os.close(fd)
            if msg is None:
                self._lost()
                return
            self._dispatch(msg)

    def _dispatch(self, msg: dict[str, Any]) -> None:
        op = msg.get("op")
        if op == "userns":
            self._map_user_namespace(int(msg["pid"]))
        elif op == "init":
            self.pid = int(msg["pid"])
            self._host_pid.set()
        elif op in ("ready", "failed"):
            if self._ready and not self._ready.done():
                self._ready.set_result(msg)
        elif op == "spawned":
            fut = self._spawning.pop(int(msg["id"]), None)
            if fut and not fut.done():
                fut.set_result(int(msg["pid"]))
        elif op == "spawn_failed":
            fut = self._spawning.pop(int(msg["id"]), None)
            if fut and not fut.done():
                fut.set_exception(OSError(msg.get("error", "spawn failed")))
        elif op == "exited":
            done = self._exits.pop(int(msg["id"]), None)
            if done and not done.done():
                done.set_result(int(msg["status"]))
        elif op in self._waiters:
            fut2 = self._waiters.pop(op)
            if not fut2.done():
                fut2.set_result(msg)
        elif self.on_event is not None:
            self.on_event(msg)

    def _map_user_namespace(self, pid: int) -> None:
        base = self.spec.uid_base
        try:
            for name in ("uid_map", "gid_map"):
                with open(f"/proc/{pid}/{name}", "w") as f:
                    # The last phone id is the host's root: the kernel refuses
                    # writes to inodes with unmapped owners, e.g. /dev/net/tun.
                    f.write(f"0 {base} {USERNS_SIZE - 1}\n{USERNS_SIZE - 1} 0 1\n")
        except OSError as exc:
            if self._ready and not self._ready.done():
                self._ready.set_result({"op": "failed", "error": f"user namespace map: {exc}"})
            return
        self.send_raw({"op": "mapped"})

    def send_raw(self, msg: dict[str, Any]) -> None:
        """Before the node is up (alive is still False)."""
        if self._sock is not None:
            wire.send(self._sock, msg)

    def _lost(self) -> None:
        self.alive = False
        if self._sock is not None:
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(self._sock.fileno())
        for fut in self._spawning.values():
            if not fut.done():
                fut.set_exception(OSError(errno.ESRCH, "phone is gone"))
        self._spawning.clear()
        for done in self._exits.values():
            if not done.done():
                done.set_result(137)
        self._exits.clear()
        if self._ready and not self._ready.done():
            self._ready.set_result({"op": "failed", "error": "zygote exited"})

    def send(self, msg: dict[str, Any], fds: Sequence[int] = ()) -> None:
        if self._sock is None or not self.alive:
            raise OSError(errno.ESRCH, f"{self.spec.name} is not running")
        for _ in range(1000):
            try:
                wire.send(self._sock, msg, list(fds))
                return
            except BlockingIOError:
                # The zygote is busy; its socket buffer frees up within milliseconds.
                import time

                time.sleep(0.002)
        raise OSError(errno.EAGAIN, f"{self.spec.name} does not answer")

    async def request(
        self, msg: dict[str, Any], reply_op: str, timeout: float = 30.0  # noqa: ASYNC109
    ) -> None:
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters[reply_op] = fut
        self.send(msg)
        await asyncio.wait_for(fut, timeout)

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
    ) -> NodeProcess:
        loop = asyncio.get_running_loop()
        sid = next(self._ids)
        started: asyncio.Future[int] = loop.create_future()
        done: asyncio.Future[int] = loop.create_future()
        self._spawning[sid] = started
        self._exits[sid] = done
        msg = {"op": "spawn", "id": sid, "argv": list(argv), "uid": uid, "env": dict(env),
               "cwd": cwd, "ctty": setsid_ctty}
        try:
            self.send(msg, (stdin, stdout, stderr))
            pid = await started
        except BaseException:
            self._spawning.pop(sid, None)
            self._exits.pop(sid, None)
            raise
        return NodeProcess(self, pid, done)

    async def run(
        self,
        argv: Sequence[str],
        *,
        uid: int = 0,
        env: Mapping[str, str] | None = None,
        input: bytes = b"",
        timeout: float = 60.0,  # noqa: ASYNC109 (a deadline for the child, not for us)
        cwd: str = "/",
    ) -> RunResult:
        """Run argv in the node with pipes and collect its output (bounded)."""
        env = dict(env if env is not None else self.spec.env or {"PATH": os.defpath})
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            proc = await self.spawn(argv, uid=uid, env=env, stdin=in_r, stdout=out_w,
                                    stderr=err_w, cwd=cwd)
        except BaseException:
            for fd in (in_r, in_w, out_r, out_w, err_r, err_w):
                os.close(fd)
            raise
        for fd in (in_r, out_w, err_w):
            os.close(fd)
        try:
            writer = asyncio.get_running_loop().run_in_executor(None, _feed, in_w, input)
            out_task = asyncio.ensure_future(_read_all(out_r))
            err_task = asyncio.ensure_future(_read_all(err_r))
            try:
                status = await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                proc.kill()
                raise
            out, err = await asyncio.wait_for(asyncio.gather(out_task, err_task), 10)
            await writer
        finally:
            for task in (out_task, err_task):
                task.cancel()
        return RunResult(status, out, err)

    async def start_daemon(
        self, argv: Sequence[str], *, env: Mapping[str, str], uid: int = 0,
        timeout: float = 30.0,  # noqa: ASYNC109 (how long the daemon may take to be ready)
    ) -> NodeProcess:
        """Start a daemon of the node that prints `ready` on stdout once it
        serves (its stderr goes to the node's log); return when it has."""
        out_r, out_w = os.pipe()
        null = os.open(os.devnull, os.O_RDWR)
        log = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            proc = await self.spawn(argv, uid=uid, env=env, stdin=null, stdout=out_w,
                                    stderr=log)
        finally:
            for fd in (out_w, null, log):
                os.close(fd)
        loop = asyncio.get_running_loop()
        try:
            line = await asyncio.wait_for(loop.run_in_executor(None, _read_line, out_r), timeout)
        except TimeoutError:
            proc.kill()
            raise EnvironmentProblem(f"{self.spec.name}: {argv[-1]} did not start") from None
        finally:
            os.close(out_r)
        if line.strip() != b"ready":
            raise EnvironmentProblem(f"{self.spec.name}: {' '.join(argv[:3])} failed to start "
                                     f"(see {self.log_path})")
        return proc

    async def stop(self) -> None:
        """End the node: the zygote kills every process of its namespaces."""
        if self.alive:
            with contextlib.suppress(OSError):
                self.send({"op": "exit"})
        if self._proc is not None:
            try:
                await asyncio.wait_for(self._proc.wait(), 10)
            except TimeoutError:
                self._proc.kill()
                await self._proc.wait()
        # Belt and braces: if the zygote died early, its processes may remain.
        if self.netns and self._netns_fd >= 0:
            ns.kill_netns(self.netns)
        if self._netns_fd >= 0:
            os.close(self._netns_fd)
            self._netns_fd = -1
        if self._sock is not None:
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        self.alive = False


def _read_line(fd: int) -> bytes:
    line = b""
    while not line.endswith(b"\n"):
        chunk = os.read(fd, 64)
        if not chunk:
            break
        line += chunk
    return line


def _feed(fd: int, data: bytes) -> None:
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
    except OSError:
        pass
    finally:
        os.close(fd)


async def _read_all(fd: int) -> bytes:
    loop = asyncio.get_running_loop()
    chunks: list[bytes] = []
    size = 0
    reader = asyncio.StreamReader(limit=MAX_OUTPUT)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", 0)
    )
    try:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            if size < MAX_OUTPUT:
                chunks.append(chunk[: MAX_OUTPUT - size])
                size += len(chunk)
    finally:
        transport.close()
    return b"".join(chunks)
