"""Small helpers of the device tests that talk to a simulated phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support import wgdroid as cli

from wgdroid.config import keys
from wgdroid.config.parser import parse


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



def tunnel_config(demo: bytes, port: int, net: int) -> tuple[bytes, str]:
    """A fresh tunnel to the simulator's server (never up: used for clashes)."""
    peer = parse(demo).config.peers[0]
    private = keys.genkey()
    text = (
        f"[Interface]\nPrivateKey = {private}\nListenPort = {port}\n"
        f"Address = 10.98.{net}.2/32\n\n[Peer]\nPublicKey = {peer.public_key}\n"
        f"AllowedIPs = 10.98.{net}.0/24\nEndpoint = {peer.endpoint}\n"
    )
    return text.encode(), private
