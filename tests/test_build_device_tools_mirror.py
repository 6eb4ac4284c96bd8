"""scripts/build-device-tools against mirrors that refuse: known in seconds, exit 3 and
the one-line reason the build tests skip with (no root, no build, no real mirror)."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "build-device-tools"
EXIT_SOURCE_UNAVAILABLE = 3
DSC = """Format: 3.0 (quilt)
Source: wireguard
Files:
 0123456789abcdef0123456789abcdef 1234 wireguard_1.0.orig.tar.xz
 0123456789abcdef0123456789abcdef 567 wireguard_1.0-1.debian.tar.xz
"""


class _Refusing(http.server.BaseHTTPRequestHandler):
    """Serves a .dsc (as the proxy in front of some mirrors does), refuses the rest."""

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _answer(self, body: bool) -> None:
        if self.path.endswith(".dsc") and self.server.serve_dsc:  # type: ignore[attr-defined]
            data = DSC.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)
            return
        self.send_error(404)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(params=["refuses-all", "refuses-tarballs"])
def refusing_mirror(request: pytest.FixtureRequest) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    server.serve_dsc = request.param == "refuses-tarballs"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/debian"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def silent_mirror() -> Iterator[str]:
    """Takes connections (the kernel's backlog) and never answers: a stalled mirror."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield f"http://127.0.0.1:{s.getsockname()[1]}/debian"


def fetch(mirror: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    env = dict(os.environ, no_proxy="127.0.0.1", NO_PROXY="127.0.0.1")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, str(SCRIPT), "--mirror", mirror, "--abi", "x86_64",
                           "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache")],
                          capture_output=True, text=True, timeout=120, env=env, check=False)
    return proc, time.monotonic() - started


def assert_refused(proc: subprocess.CompletedProcess[str], seconds: float, words: str) -> None:
    assert proc.returncode == EXIT_SOURCE_UNAVAILABLE, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("build-device-tools: error: the Debian mirror did not serve the "
                           "wireguard-tools source ("), last
    assert words in last and last.endswith(
        "pass --source DIR to build from an unpacked wireguard-tools tree"), last
    assert "Traceback" not in proc.stderr
    # the issue: a refusing mirror held the build tests for 148 s before they skipped
    assert seconds < 30, f"a refusing mirror took {seconds:.1f} s to be known"


def test_a_refusing_mirror_is_known_in_seconds(refusing_mirror: str, tmp_path: Path) -> None:
    proc, seconds = fetch(refusing_mirror, tmp_path)
    assert_refused(proc, seconds, "404")


@pytest.mark.slow  # the script's 5 s probe timeout, by design
def test_a_silent_mirror_is_known_in_seconds(silent_mirror: str, tmp_path: Path) -> None:
    proc, seconds = fetch(silent_mirror, tmp_path)
    assert_refused(proc, seconds, "no answer within")


def test_mirror_must_be_an_http_url(tmp_path: Path) -> None:
    proc, _ = fetch("file:///etc; rm -rf /", tmp_path)
    assert proc.returncode == 2
    assert "--mirror" in proc.stderr and "Traceback" not in proc.stderr
