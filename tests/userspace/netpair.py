"""Two WireGuard implementations in two network namespaces, for interop tests and benches.

A workstation tool: it lives beside the tests, outside the `wgdroid` package, so it
never ships (not in the wheel, not in the zip `wgdroid tools install --userspace`
pushes). `scripts/bench-dataplane` imports it from here too.

Topology: namespaces A and B joined by a veth pair (10.99.0.1/.2, fd99::1/::2);
each runs one implementation ("ours" = this package's daemon, or "wireguard-go")
in the foreground with its TUN inside its namespace; tunnel addresses are
192.168.241.1/.2 and fd00::1/::2. Side A knows B's endpoint (A initiates); B
learns A's. Needs root. Keys go through 0600 files, never command lines.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from support import wait_until

from wgdroid.config.keys import encode, generate_private_raw, public_raw

Impl = Literal["ours", "wireguard-go"]
UAPI_DIR = "/var/run/wireguard"
WG_GO_ENV = {"WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD": "1"}


def run(cmd: list[str], *, check: bool = True, timeout: float = 30,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env)
    if check and res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr.strip()}")
    return res


REPO = Path(__file__).resolve().parents[2]


def ours_command() -> list[str]:
    return [sys.executable, "-m", "wgdroid.userspace"]


@dataclass
class Side:
    name: str  # "a" or "b"
    ns: str
    iface: str
    impl: Impl
    underlay4: str
    underlay6: str
    addr4: str
    addr6: str
    port: int
    private: bytes = field(repr=False)
    public: bytes
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def sock(self) -> str:
        return f"{UAPI_DIR}/{self.iface}.sock"

    def ns_cmd(self, *cmd: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns, *cmd]

    def run(self, *cmd: str, check: bool = True, timeout: float = 30,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run(self.ns_cmd(*cmd), check=check, timeout=timeout, env=env)

    def wg(self, *args: str) -> str:
        return self.run("wg", *args).stdout

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log and self.log.exists() else ""


class Pair:
    """Context manager: namespaces, daemons and configuration; always cleaned up."""

    def __init__(self, impl_a: Impl, impl_b: Impl, *, env_a: dict[str, str] | None = None,
                 env_b: dict[str, str] | None = None, psk: bool = False,
                 keepalive: int = 0, ours_root: Path = REPO) -> None:
        tag = f"{os.getpid() % 10000}{int(time.monotonic() * 1000) % 1000}"
        self.tmp = Path(tempfile.mkdtemp(prefix="wgdroid-net-"))
        os.chmod(self.tmp, 0o700)
        self.env = {"a": env_a or {}, "b": env_b or {}}
        self.psk = os.urandom(32) if psk else None
        self.keepalive = keepalive
        self.ours_root = ours_root  # whose data plane "ours" runs (the bench: before/after)
        self.a = self._side("a", impl_a, tag, "10.99.0.1", "fd99::1", "192.168.241.1", "fd00::1",
                            51821)
        self.b = self._side("b", impl_b, tag, "10.99.0.2", "fd99::2", "192.168.241.2", "fd00::2",
                            51822)

    @staticmethod
    def _side(name: str, impl: Impl, tag: str, u4: str, u6: str, a4: str, a6: str,
              port: int) -> Side:
        priv = generate_private_raw()
        return Side(name, f"wgdt{tag}{name}", f"wgt{tag}{name}", impl, u4, u6, a4, a6, port,
                    priv, public_raw(priv))

    def __enter__(self) -> Pair:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        a, b = self.a, self.b
        for s in (a, b):
            run(["ip", "netns", "add", s.ns])
            s.run("ip", "link", "set", "lo", "up")
        run(["ip", "link", "add", f"v{a.iface}", "type", "veth", "peer", "name", f"v{b.iface}"])
        for s in (a, b):
            run(["ip", "link", "set", f"v{s.iface}", "netns", s.ns])
            s.run("ip", "addr", "add", f"{s.underlay4}/24", "dev", f"v{s.iface}")
            s.run("ip", "addr", "add", f"{s.underlay6}/64", "dev", f"v{s.iface}", "nodad")
            s.run("ip", "link", "set", f"v{s.iface}", "up")
        for s in (a, b):
            self.start_daemon(s)
        for s, peer, endpoint in ((a, b, True), (b, a, False)):
            self.configure(s, peer, endpoint)
            s.run("ip", "addr", "add", f"{s.addr4}/24", "dev", s.iface)
            s.run("ip", "addr", "add", f"{s.addr6}/64", "dev", s.iface, "nodad")
            s.run("ip", "link", "set", s.iface, "mtu", "1420", "up")

    def start_daemon(self, s: Side) -> None:
        s.log = self.tmp / f"{s.name}.log"
        env = {**os.environ, **self.env[s.name], "LOG_LEVEL": "verbose"}
        if s.impl == "wireguard-go":
            env.update(WG_GO_ENV)
            cmd = ["wireguard-go", "-f", s.iface]
        else:
            env["PYTHONPATH"] = str(self.ours_root)
            cmd = [*ours_command(), "-f", s.iface]
        with open(s.log, "wb") as logf:
            # cwd: `python -m` puts it first on sys.path, ahead of PYTHONPATH.
            s.proc = subprocess.Popen(s.ns_cmd(*cmd), stdout=logf, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=env, start_new_session=True,
                                      cwd=self.ours_root)
        wait_for_socket(s)

    def config_text(self, s: Side, peer: Side, endpoint: bool) -> str:
        lines = ["[Interface]", f"PrivateKey = {encode(s.private)}", f"ListenPort = {s.port}",
                 "", "[Peer]", f"PublicKey = {encode(peer.public)}",
                 f"AllowedIPs = {peer.addr4}/32, {peer.addr6}/128"]
        if self.psk:
            lines.append(f"PresharedKey = {encode(self.psk)}")
        if endpoint:
            lines.append(f"Endpoint = {peer.underlay4}:{peer.port}")
        if self.keepalive:
            lines.append(f"PersistentKeepalive = {self.keepalive}")
        return "\n".join(lines) + "\n"

    def configure(self, s: Side, peer: Side, endpoint: bool) -> None:
        path = self.tmp / f"{s.iface}.conf"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.config_text(s, peer, endpoint))
        s.run("wg", "setconf", s.iface, str(path))

    def ping(self, src: Side, dst_addr: str, count: int = 3, interval: float = 0.2,
             wait: float = 2.0) -> subprocess.CompletedProcess[str]:
        return src.run("ping", "-c", str(count), "-i", str(interval), "-W", str(wait), dst_addr,
                       check=False, timeout=count * (interval + wait) + 10)

    def close(self) -> None:
        for s in (self.a, self.b):
            stop(s)
        for s in (self.a, self.b):
            run(["ip", "netns", "del", s.ns], check=False)
            with contextlib.suppress(OSError):
                os.unlink(s.sock)
        shutil.rmtree(self.tmp, ignore_errors=True)


@dataclass(frozen=True)
class IperfResult:
    bits_per_second: float  # as received
    received_bytes: int
    retransmits: int


def iperf3(client: Side, server: Side, seconds: float = 2.0, reverse: bool = False,
           port: int = 5201) -> IperfResult:
    """One iperf3 TCP run through the tunnel (server in `server`'s namespace)."""
    srv = subprocess.Popen(server.ns_cmd("iperf3", "-s", "-1", "-p", str(port)),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: server.run("ss", "-Htln", f"sport = :{port}", check=False).stdout,
                   timeout=5, interval=0.05, what=f"iperf3 -s listening on port {port}")
        r = client.run("iperf3", "-c", server.addr4, "-p", str(port), "-t", str(seconds), "-J",
                       *(["-R"] if reverse else []), check=False, timeout=seconds + 30)
    finally:
        srv.kill()
        srv.wait(5)
    out = json.loads(r.stdout)
    if "error" in out:
        raise RuntimeError(f"iperf3: {out['error']}")
    end = out["end"]
    return IperfResult(end["sum_received"]["bits_per_second"], end["sum_received"]["bytes"],
                       int(end["sum_sent"].get("retransmits", 0)))


def wait_for_socket(s: Side, timeout: float = 15.0) -> None:
    def connects() -> bool:
        if not s.alive():
            raise RuntimeError(f"{s.impl} for {s.iface} exited: {s.log_text()[-2000:]}")
        with socket.socket(socket.AF_UNIX) as c:
            c.connect(s.sock)  # OSError until it listens
        return True

    wait_until(connects, ignore=(OSError,), timeout=timeout, interval=0.05,
               what=f"{s.impl}'s UAPI socket for {s.iface}")


def stop(s: Side, timeout: float = 5.0) -> int | None:
    """SIGTERM the daemon's process group, then SIGKILL; returns its exit status."""
    p = s.proc
    if p is None:
        return None
    if p.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)
    return p.returncode
