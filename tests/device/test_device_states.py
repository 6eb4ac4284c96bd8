"""Device choice against the real adb server: an unauthorized phone and an
offline one (the simulated adbd with an auth policy, on host processes)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from support import wait_for_adb_state

from wgdroid.sim.adb.auth import AuthPolicy
from wgdroid.sim.adb.hostruntime import HostRuntime
from wgdroid.sim.adb.server import serve_device

pytestmark = pytest.mark.sim
T = TypeVar("T")


class _Loop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def loop() -> Iterator[_Loop]:
    lp = _Loop()
    yield lp
    lp.stop()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ANDROID_SERIAL"}
    return subprocess.run([sys.executable, "-m", "wgdroid", *args], capture_output=True,
                          text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)


def _wait(adb_server: Any, serial: str, want: str, timeout: float = 30) -> None:
    wait_for_adb_state(lambda: str(adb_server.adb("devices").stdout), serial, want,
                       timeout=timeout)


def test_unauthorized_then_offline(adb_server: Any, loop: _Loop) -> None:
    runtime = HostRuntime()
    server = loop.call(serve_device(runtime, "127.0.0.1", 0, auth=AuthPolicy()))
    serial = f"127.0.0.1:{server.port}"
    try:
        adb_server.adb("connect", serial, timeout=20)
        _wait(adb_server, serial, "unauthorized")
        res = _cli("list", "-s", serial)
        assert res.returncode == 3
        assert f"device {serial} is unauthorized" in res.stderr
        assert "Allow USB debugging" in res.stderr
        others = [line.split()[0] for line in adb_server.adb("devices").stdout.splitlines()[1:]
                  if line.strip()]
        if others == [serial]:  # the only device: chosen, and refused the same way
            assert "unauthorized" in _cli("status").stderr
        # --all reports it as that device's failure.
        res = _cli("doctor", "--all")
        assert f"{serial}: device {serial} is unauthorized" in res.stderr

        loop.call(server.close())
        _wait(adb_server, serial, "offline")
        res = _cli("list", "-s", serial)
        assert res.returncode == 3 and f"device {serial} is offline" in res.stderr
    finally:
        adb_server.adb("disconnect", serial)
        loop.call(server.close())
        loop.call(runtime.aclose())
