"""Small helpers of the device tests that talk to a simulated phone."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from support import wgdroid as cli


def on_phone(phone: Any, cmd: str) -> str:
    """CMD's stdout, run as root inside the phone (no adb)."""
    res = phone.run_in_phone(cmd, timeout=30)
    return res.stdout.decode() if isinstance(res.stdout, bytes) else str(res.stdout)


def demo_config(phone: Any, tmp_path: Path) -> bytes:
    """The phone's demo tunnel, pulled through the CLI (mode 0600)."""
    out = tmp_path / "demo.conf"
    res = cli("pull", "-s", phone.serial, "demo", "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    return out.read_bytes()


class Prompts:
    """How many su prompts the phone showed (each tapped Grant)."""

    def __init__(self) -> None:
        self.count = 0


@contextlib.contextmanager
def su_prompts(phone: Any) -> Iterator[Prompts]:
    """Every su invocation meanwhile, counted: Magisk's policy is `pending`
    (each root request of the shell user shows a prompt, sim/phone/zygote.py
    su_request), and a tapper grants each prompt and counts it."""
    seen = Prompts()
    stop = threading.Event()
    phone.set_su_policy("pending", timeout=120)

    def tap() -> None:
        while not stop.is_set():
            seen.count += phone.answer_su(True)
            stop.wait(0.05)

    tapper = threading.Thread(target=tap, daemon=True)
    tapper.start()
    try:
        yield seen
    finally:
        stop.set()
        tapper.join(10)
        seen.count += phone.answer_su(True)
        phone.set_su_policy("grant")
