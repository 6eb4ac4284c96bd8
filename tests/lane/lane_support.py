"""The lane's view of a phone: its serial and the two doors to it (the `wgdroid`
CLI as a subprocess, `adb -s SERIAL shell`), shared by conftest and the tests."""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import pytest

STORE = "/data/misc/wireguard"
SERIAL_ENV = "WGDROID_TEST_SERIAL"
# Optional: where `wgdroid tools install --from` finds tools for the device.
TOOLS_ENV = "WGDROID_TEST_TOOLS_DIR"


def adb_path() -> str:
    found = os.environ.get("ADBUTILS_ADB_PATH") or shutil.which("adb")
    if not found:
        pytest.fail("the lane needs adb (ADBUTILS_ADB_PATH or adb on PATH)")
    return found


@dataclass
class LanePhone:
    """A phone for the lane: its serial, and the two doors to it."""

    serial: str
    simulated: bool
    root_method: str = ""
    sim: Any = field(default=None, repr=False)  # sim_fixtures.SimPhone when simulated
    missing_tools: str | None = None  # why tunnels cannot come up on it, if they cannot
    # WireGuard is a kernel module there (the VM phone: tunnels come up on it, not
    # on the wireguard-go a host-kernel simulated phone uses)
    kernel_module: bool = False
    # Extra environment for its wgdroid runs (the VM phone: a longer su timeout,
    # its software-emulated CPU answers in seconds where a phone takes a blink).
    env: dict[str, str] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)

    def wgdroid(self, command: str, *args: str, timeout: float = 120,
                ) -> subprocess.CompletedProcess[str]:
        """`wgdroid COMMAND -s SERIAL ARGS...` (COMMAND may be two words: `tools install`)."""
        return self.cli(*command.split(), "-s", self.serial, *args, timeout=timeout)

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """`wgdroid ARGS...` as given (a `run` for support.wait_for_handshake)."""
        return subprocess.run([sys.executable, "-m", "wgdroid", *args], capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              env={**os.environ, **self.env})

    def wgdroid_bytes(self, command: str, *args: str, timeout: float = 120,
                      ) -> subprocess.CompletedProcess[bytes]:
        argv = [sys.executable, "-m", "wgdroid", *command.split(), "-s", self.serial, *args]
        return subprocess.run(argv, capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, env={**os.environ, **self.env})

    def shell(self, command: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
        """`adb -s SERIAL shell COMMAND` as the shell user; bytes, the remote exit status."""
        return subprocess.run([adb_path(), "-s", self.serial, "shell", command],
                              capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              env=dict(os.environ))

    def root(self, command: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
        """COMMAND as root through adb, in the su form the phone takes."""
        from wgdroid.device.rootshell import RootMethod, command_for

        return self.shell(command_for(RootMethod(self.root_method), command, stdin=False),
                          timeout=timeout)

    def root_text(self, command: str) -> str:
        res = self.root(command)
        assert res.returncode == 0, (command, res.stderr)
        return res.stdout.decode(errors="replace")

    def new_name(self) -> str:
        """A tunnel name no one else uses, removed from the phone after the test."""
        name = f"wgl{secrets.token_hex(3)}"
        self.created.append(name)
        return name

    def store_listing(self) -> str:
        """`ls -la` of the store (names, sizes, modes, times): what a failed push must keep."""
        return self.root_text(f"ls -la {STORE}")

    def stored(self, name: str) -> bytes:
        """The stored config's bytes, read as root (b"" if there is none)."""
        res = self.root(f"cat {STORE}/{shlex.quote(name)}.conf 2>/dev/null")
        return res.stdout

    def leftovers(self) -> str:
        """What the lane's tunnels left: files, temp files, interfaces (empty when clean)."""
        names = " ".join(shlex.quote(n) for n in self.created)
        script = (
            f"for n in {names}; do "
            f'for p in {STORE}/"$n".conf /sys/class/net/"$n"; do [ -e "$p" ] && echo "$p"; done; '
            f'ls -a {STORE} 2>/dev/null | grep -F ".$n.conf.tmp"; '
            "done; true"
        )
        return self.root_text(script).strip()

    def clean_up(self) -> str:
        """Take the lane's tunnels down and off the phone; returns what is still left."""
        left = self.leftovers()
        if not left:
            return ""
        for name in self.created:
            if name in left:
                self.wgdroid("disable", name)
                self.wgdroid("rm", name, "--force")
        return self.leftovers()
