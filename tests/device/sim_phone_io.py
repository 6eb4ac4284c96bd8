"""Small helpers of the device tests that talk to a simulated phone."""

from __future__ import annotations

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

