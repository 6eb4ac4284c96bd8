"""The real terminal: `wgdroid tui` under tmux at 80x24, driven with
send-keys, its screen read with capture-pane, against a simulated phone."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support import wait_until

pytestmark = [pytest.mark.sim, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, timeout=20, check=True)
        return done.stdout

    def alive(self) -> bool:
        done = subprocess.run(["tmux", "-L", self.socket, "has-session", "-t", "tui"],
                              capture_output=True, timeout=20)
        return done.returncode == 0

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "tui")

    def wait_for(self, what: str, cond: Callable[[str], object], timeout: float = 30,
                 interval: float = 0.2) -> str:
        """The screen once `cond` holds for it (the last screen seen if it never does)."""
        return wait_until(self.screen, what=what, timeout=timeout, interval=interval,
                          check=cond)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.skip("needs tmux")
    t = Tmux(f"wgdroid-tui-{os.getpid()}")
    try:
        yield t
    finally:
        subprocess.run(["tmux", "-L", t.socket, "kill-server"], capture_output=True, timeout=20)


def test_tui_in_a_real_terminal(sim_phone: Any, tmux: Tmux) -> None:
    """At 80x24, the smallest terminal we promise: every column of the tunnel
    list and the footer's Help and Quit are on screen (issue 14 #8)."""
    env = [f"-e{k}={os.environ[k]}" for k in
           ("ANDROID_ADB_SERVER_PORT", "HOME", "WGDROID_SIM_DIR", "PATH") if k in os.environ]
    command = f"{sys.executable} -m wgdroid tui -s {sim_phone.serial}"
    started = time.monotonic()
    tmux("new-session", "-d", "-s", "tui", "-x", "80", "-y", "24", "-c", str(ROOT), *env,
         command)
    tmux.wait_for("the first paint", lambda s: "Phones" in s, timeout=30, interval=0.02)
    print(f"first paint {(time.monotonic() - started) * 1000:.0f} ms after the shell "
          "started it")
    text = tmux.wait_for("the phone", lambda s: "Pixel 8" in s and "demo" in s)
    lines = text.splitlines()
    header = next(line for line in lines if line.lstrip().startswith("State"))
    assert header.split()[-2:] == ["RX", "TX"], header
    footer = lines[-1]
    assert "f1 Help" in footer and "q Quit" in footer, footer
    row = re.compile(r"^ ● up +demo ", re.M)
    if not row.search(text):
        tmux("send-keys", "-t", "tui", "space")
    tmux.wait_for("demo up", row.search)
    ping = sim_phone.run_in_phone(f"ping -c 1 -W 5 {sim_phone.info['server_tunnel_ip']}")
    assert ping.status == 0
    tmux.wait_for("the handshake", lambda s: re.search(r" demo .* \d+s ", s))
    tmux("send-keys", "-t", "tui", "Enter")
    tmux.wait_for("the details", lambda s: "demo  up · " in s and "Keepalive" in s)
    tmux("send-keys", "-t", "tui", "Escape")
    # Apart: ESC then q within the escape timeout would read as alt+q.
    tmux.wait_for("the list", lambda s: "Tunnels on" in s)
    tmux("send-keys", "-t", "tui", "q")
    # The session ends with the command.
    wait_until(lambda: not tmux.alive(), what="the TUI quitting on q", timeout=15)
