"""Talk to (and start) the background simulator daemon. Synchronous: used by
the CLI, tests and TUI workers."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from wgdroid import errors
from wgdroid.sim.control import SERIALS_FILE, socket_path, state_dir, unwrap
from wgdroid.sim.phone.node import RunResult

START_TIMEOUT = 30.0
REPLY_LIMIT = 32 << 20  # run() output is at most 2 x 4 MiB, base64-encoded


class SimClient:
    def __init__(self, state: Path | None = None) -> None:
        self.state = state or state_dir()
        self.socket = socket_path(self.state)
        self.stale_serials: list[str] = []

    def running(self) -> bool:
        try:
            self.request("ping", timeout=5)
        except errors.WgdroidError:
            return False
        return True

    def ensure_daemon(self) -> list[str]:
        """Start the daemon unless one answers; it outlives this process.
        Returns the serials a crashed predecessor left in the adb server."""
        if self.running():
            return []
        stale_file = self.state / SERIALS_FILE
        stale = stale_file.read_text().split() if stale_file.exists() else []
        from wgdroid.sim.simulator import preflight

        preflight()
        self.state.mkdir(parents=True, exist_ok=True)
        os.chmod(self.state, 0o700)
        log = open(self.state / "daemon.log", "ab")  # noqa: SIM115 (handed to the child)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "wgdroid.sim.daemon", str(self.state)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                cwd="/",
            )
        finally:
            log.close()
        (self.state / "daemon.pid").write_text(f"{proc.pid}\n")
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise errors.EnvironmentProblem(
                    f"the simulator daemon exited at start (see {self.state / 'daemon.log'})")
            if self.running():
                return stale
            time.sleep(0.05)
        proc.kill()
        raise errors.OperationTimeout("the simulator daemon did not start in time")

    def request(self, op: str, *, timeout: float = 300.0, **params: Any) -> dict[str, Any]:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            try:
                sock.connect(str(self.socket))
            except PermissionError:
                raise errors.EnvironmentProblem(
                    f"cannot reach the simulator at {self.socket} (it runs as root)") from None
            except (FileNotFoundError, ConnectionRefusedError):
                raise errors.NotFoundError(
                    "no simulator is running", hint="start one with `wgdroid sim start`"
                ) from None
            sock.sendall(json.dumps({"op": op, **params}).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n") and len(data) < REPLY_LIMIT:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except ConnectionError:
            raise errors.NotFoundError("the simulator is shutting down") from None
        except TimeoutError:
            raise errors.OperationTimeout(f"the simulator did not answer {op!r} in time") from None
        finally:
            sock.close()
        if not data:
            raise errors.EnvironmentProblem("the simulator closed the connection")
        return unwrap(json.loads(data))

    # -- conveniences --------------------------------------------------------
    def start(self, devices: int = 1, profile: str = "pixel", **opts: Any) -> list[dict[str, Any]]:
        from wgdroid.sim.profiles import resolve

        # Bad input fails here, before a daemon is started for nothing.
        resolve(profile, root=opts.get("root"), su_policy=opts.get("su_policy"),
                su_timeout=opts.get("su_timeout"), userns=opts.get("userns"),
                android_net=opts.get("android_net"))
        if devices < 1:
            raise errors.UsageError("--devices must be at least 1")
        if opts.get("kernel") not in (None, "host", "vm"):
            raise errors.UsageError(f"unknown kernel {opts['kernel']!r} (host or vm)")
        if opts.get("kernel") == "vm":
            from wgdroid.sim.vm.machine import boot_timeout, preflight

            preflight()  # qemu and the kernel, before a daemon is started for nothing
            opts["boot_timeout"] = boot_timeout()
        self.stale_serials = self.ensure_daemon()
        params = {k: v for k, v in opts.items() if v is not None}
        try:
            phones: list[dict[str, Any]] = self.request(
                "start", devices=devices, profile=profile, **params)["phones"]
        except errors.WgdroidError:
            self.shutdown_if_idle()
            raise
        return phones

    def shutdown_if_idle(self) -> None:
        """Stop the daemon (and its internet namespace) if it has no phones."""
        with contextlib.suppress(errors.WgdroidError):
            if not self.phones():
                self.request("shutdown")
                self.wait_gone()

    def phones(self) -> list[dict[str, Any]]:
        with contextlib.suppress(errors.NotFoundError):
            phones: list[dict[str, Any]] = self.request("list")["phones"]
            return phones
        return []

    def stop(self, serials: list[str] | None = None) -> list[str]:
        params: dict[str, Any] = {"serials": serials} if serials else {"all": True}
        stopped: list[str] = self.request("stop", **params)["stopped"]
        if not serials:
            self.wait_gone()
        return stopped

    def wait_gone(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        pid_file = self.state / "daemon.pid"
        while time.monotonic() < deadline and (self.socket.exists() or pid_file.exists()):
            time.sleep(0.05)

    def run(self, serial: str, argv: list[str], *, uid: int = 0, input: bytes = b"",
            timeout: float = 60.0) -> RunResult:
        reply = self.request("run", serial=serial, argv=argv, uid=uid,
                             input=base64.b64encode(input).decode(), timeout=timeout,
                             )
        return RunResult(int(reply["status"]), base64.b64decode(reply["stdout"]),
                         base64.b64decode(reply["stderr"]))
