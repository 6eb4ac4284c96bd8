"""The simulated adbd against the real adb server (Debian adb 29.0.6) and adbutils.

A private adb server per module (its own port and HOME); the device runs
`HostRuntime` (host processes) on an asyncio loop in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import select
import shutil
import socket
import stat
import struct
import subprocess
import tempfile
import termios
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import adbutils
import pytest
from support import wait_for_adb_state, wait_until

from wgdroid.sim.adb.auth import AuthPolicy
from wgdroid.sim.adb.hostruntime import HostRuntime
from wgdroid.sim.adb.server import AdbDeviceServer, serve_device

pytestmark = pytest.mark.skipif(shutil.which("adb") is None, reason="needs adb (scripts/setup)")

T = TypeVar("T")
AS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.sim  # uid switching (and the shell user's files) need root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DeviceLoop:
    """The device servers' event loop, in a thread (adb and adbutils block)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@dataclass
class Phone:
    runtime: HostRuntime
    server: AdbDeviceServer
    serial: str


class Harness:
    def __init__(self, home: Path) -> None:
        self.port = _free_port()
        self.home = home
        self.env = {**os.environ, "HOME": str(home), "ANDROID_ADB_SERVER_PORT": str(self.port)}
        self.env.pop("ANDROID_SERIAL", None)
        self.devices = DeviceLoop()
        self.client = adbutils.AdbClient(host="127.0.0.1", port=self.port, socket_timeout=20)
        self._phones: list[Phone] = []

    def adb(
        self, *args: str, serial: str | None = None, input: bytes | None = None, timeout: float = 30
    ) -> subprocess.CompletedProcess[bytes]:
        cmd = ["adb", "-P", str(self.port)]
        if serial:
            cmd += ["-s", serial]
        return subprocess.run(
            [*cmd, *args],
            env=self.env,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )

    def start_phone(
        self, runtime: HostRuntime, auth: AuthPolicy | None = None, max_payload: int = 1 << 20
    ) -> Phone:
        server = self.devices.call(
            serve_device(runtime, "127.0.0.1", 0, auth=auth, max_payload=max_payload)
        )
        phone = Phone(runtime, server, f"127.0.0.1:{server.port}")
        self._phones.append(phone)
        return phone

    def connect(self, phone: Phone) -> str:
        out = self.adb("connect", phone.serial, timeout=20).stdout.decode()
        return out.strip()

    def wait_state(self, serial: str, want: str, timeout: float = 30) -> None:
        wait_for_adb_state(lambda: self.adb("devices").stdout.decode(), serial, want,
                           timeout=timeout)

    def stop_phone(self, phone: Phone) -> None:
        self.adb("disconnect", phone.serial)
        self.devices.call(phone.server.close())
        self.devices.call(phone.runtime.aclose())
        self._phones.remove(phone)

    def close(self) -> None:
        for phone in list(self._phones):
            with contextlib.suppress(Exception):
                self.stop_phone(phone)
        self.adb("kill-server")
        self.devices.stop()


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    h = Harness(tmp_path_factory.mktemp("adbhome"))
    assert h.adb("start-server").returncode == 0
    try:
        yield h
    finally:
        h.close()


@pytest.fixture(scope="module")
def phone(harness: Harness) -> Phone:
    p = harness.start_phone(HostRuntime())
    assert harness.connect(p) == f"connected to {p.serial}"
    harness.wait_state(p.serial, "device")
    return p


@pytest.fixture
def device_dir() -> Iterator[Path]:
    """A directory the shell user (uid 2000) may write, outside root's 0700 pytest tmp."""
    path = Path(tempfile.mkdtemp(prefix="wgdroid-adbtest-", dir="/tmp"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# -- adb CLI -----------------------------------------------------------------------


def test_devices_lists_the_model(harness: Harness, phone: Phone) -> None:
    out = harness.adb("devices", "-l").stdout.decode()
    line = next(ln for ln in out.splitlines() if ln.startswith(phone.serial))
    assert " device " in line
    assert "model:WgSim_Phone" in line
    assert "product:wgsim" in line
    assert harness.adb("get-serialno", serial=phone.serial).stdout.decode().strip() == phone.serial


@needs_root
def test_shell_runs_as_the_shell_user(harness: Harness, phone: Phone) -> None:
    out = harness.adb("shell", "id", serial=phone.serial)
    assert out.returncode == 0
    assert out.stdout.decode().startswith("uid=2000")
    env = harness.adb("shell", "echo $USER:$TMPDIR:$HOME", serial=phone.serial).stdout
    assert env.decode().strip() == "shell:/data/local/tmp:/"


def test_exit_status_comes_back(harness: Harness, phone: Phone) -> None:
    assert harness.adb("shell", "exit 7", serial=phone.serial).returncode == 7
    assert harness.adb("shell", "kill -9 $$", serial=phone.serial).returncode == 128 + 9


def test_v2_keeps_stderr_apart(harness: Harness, phone: Phone) -> None:
    out = harness.adb("shell", "echo out; echo err >&2", serial=phone.serial)
    assert (out.returncode, out.stdout, out.stderr) == (0, b"out\n", b"err\n")


def test_stdin_is_piped_through(harness: Harness, phone: Phone) -> None:
    out = harness.adb("shell", "cat", serial=phone.serial, input=b"foo\n")
    assert (out.returncode, out.stdout) == (0, b"foo\n")


def test_shell_x_is_v1(harness: Harness, phone: Phone) -> None:
    out = harness.adb("shell", "-x", "echo out; echo err >&2; exit 3", serial=phone.serial)
    # v1: stderr merged into stdout, no exit status (the CLI exits 0).
    assert out.returncode == 0
    assert out.stdout == b"out\nerr\n"
    assert out.stderr == b""


def test_exec_is_binary_clean(harness: Harness, phone: Phone, device_dir: Path) -> None:
    blob = bytes(range(256)) * 64  # every byte value, incl. \r\n and NUL
    src = device_dir / "blob"
    src.write_bytes(blob)
    src.chmod(0o644)
    out = harness.adb("exec-out", f"cat {src}", serial=phone.serial)
    assert out.returncode == 0
    assert out.stdout == blob


def _adbd_mode(local_mode: int) -> int:
    """adbd copies the user bits to group and other."""
    perms = local_mode & 0o777
    perms |= (perms >> 3) & 0o070
    perms |= (perms >> 3) & 0o007
    return perms


@pytest.mark.parametrize("size", [0, 1, 65535, 65536, 65537])
def test_push_pull_byte_exact(
    harness: Harness, phone: Phone, device_dir: Path, tmp_path: Path, size: int
) -> None:
    local = tmp_path / "src.bin"
    local.write_bytes(os.urandom(size))
    local.chmod(0o640)
    mtime = 1_600_000_000
    os.utime(local, (mtime, mtime))
    remote = device_dir / "new" / "dir" / "dst.bin"  # parents are made by the device
    assert harness.adb("push", str(local), str(remote), serial=phone.serial).returncode == 0
    assert remote.read_bytes() == local.read_bytes()
    st = remote.stat()
    assert stat.S_IMODE(st.st_mode) == _adbd_mode(0o640) == 0o666
    assert int(st.st_mtime) == mtime
    back = tmp_path / "back.bin"
    assert harness.adb("pull", "-a", str(remote), str(back), serial=phone.serial).returncode == 0
    assert back.read_bytes() == local.read_bytes()
    assert int(back.stat().st_mtime) == mtime
    assert [p.name for p in remote.parent.iterdir()] == ["dst.bin"]  # no temp file left


def test_push_pull_50mb_is_fast(
    harness: Harness, phone: Phone, device_dir: Path, tmp_path: Path
) -> None:
    data = os.urandom(50_000_000)
    local = tmp_path / "big.bin"
    local.write_bytes(data)
    local.chmod(0o755)
    remote = device_dir / "big.bin"
    back = tmp_path / "back.bin"
    try:
        t0 = time.monotonic()
        assert harness.adb("push", str(local), str(remote), serial=phone.serial).returncode == 0
        t1 = time.monotonic()
        assert harness.adb("pull", str(remote), str(back), serial=phone.serial).returncode == 0
        t2 = time.monotonic()
        print(f"50 MB push {50 / (t1 - t0):.0f} MB/s, pull {50 / (t2 - t1):.0f} MB/s")
        assert remote.read_bytes() == data
        assert back.read_bytes() == data
        assert stat.S_IMODE(remote.stat().st_mode) == 0o777
        assert t2 - t0 < 10, f"50 MB push+pull took {t2 - t0:.1f}s"
    finally:
        for path in (local, back):  # pytest keeps tmp dirs around; don't keep 100 MB
            path.unlink(missing_ok=True)


def test_pull_of_a_missing_file_fails(harness: Harness, phone: Phone, tmp_path: Path) -> None:
    out = harness.adb("pull", "/nonexistent/file", str(tmp_path / "x"), serial=phone.serial)
    assert out.returncode != 0
    assert b"No such file or directory" in out.stdout + out.stderr
    d = harness.client.device(phone.serial)
    with pytest.raises(adbutils.AdbError, match="open failed: No such file or directory"):
        d.sync.read_bytes("/nonexistent/file")


def test_closing_the_stream_hangs_up_the_process(harness: Harness, phone: Phone) -> None:
    # adbd sends SIGHUP to the shell process itself (shell_service.cpp
    # PassDataStreams), not its group: `exec` makes the sleep that process
    # (the host's sh may not exec a last command by itself, as mksh does).
    marker = "4242.5"
    cmd = ["adb", "-P", str(harness.port), "-s", phone.serial, "shell",
           f"exec sleep {marker}"]
    proc = subprocess.Popen(cmd, env=harness.env, stdin=subprocess.DEVNULL)
    try:
        wait_until(lambda: _pids_with(f"sleep {marker}"), timeout=10, interval=0.05,
                   what="the shell's sleep to start")
    finally:
        proc.kill()  # the adb server closes the stream
        proc.wait()
    wait_until(lambda: _pids_with(f"sleep {marker}"), check=lambda pids: not pids, timeout=10,
               interval=0.05, what="the sleep to end with its stream (SIGHUP)")


def _pids_with(cmdline: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                raw = Path(f"/proc/{entry}/cmdline").read_bytes()
                if raw.replace(b"\0", b" ").decode(errors="replace").strip() == cmdline:
                    found.append(int(entry))
    return found


# -- adbutils ----------------------------------------------------------------------


def test_adbutils_shell_and_props(harness: Harness, phone: Phone) -> None:
    serials = [d.serial for d in harness.client.device_list()]
    assert phone.serial in serials
    d = harness.client.device(phone.serial)
    assert d.shell("echo hello") == "hello"
    ret = d.shell2("echo o; echo e >&2; exit 5", v2=True)
    assert (ret.returncode, ret.stdout, ret.stderr) == (5, "o\n", "e\n")
    assert d.prop.model == "WgSim_Phone"


def test_adbutils_sync(harness: Harness, phone: Phone, device_dir: Path, tmp_path: Path) -> None:
    d = harness.client.device(phone.serial)
    data = os.urandom(200_000)
    d.sync.push(data, str(device_dir / "a.bin"), mode=0o600)
    assert (device_dir / "a.bin").read_bytes() == data
    info = d.sync.stat(str(device_dir / "a.bin"))
    assert (info.size, stat.S_IMODE(info.mode)) == (len(data), 0o666)
    assert d.sync.read_bytes(str(device_dir / "a.bin")) == data
    d.sync.pull(str(device_dir / "a.bin"), str(tmp_path / "a.bin"))
    assert (tmp_path / "a.bin").read_bytes() == data
    names = {f.path for f in d.sync.list(str(device_dir))}
    assert {".", "..", "a.bin"} <= names
    assert not d.sync.exists(str(device_dir / "missing"))


def test_unknown_service_is_refused(harness: Harness, phone: Phone) -> None:
    d = harness.client.device(phone.serial)
    conn = d.open_transport()
    try:
        conn.send_command("nosuch:service")
        with pytest.raises(adbutils.AdbError, match="closed"):
            conn.check_okay()
    finally:
        conn.close()
    assert d.shell("echo still fine") == "still fine"  # the transport survived


def test_streams_are_counted(harness: Harness, phone: Phone) -> None:
    before = dict(phone.runtime.counters.counts)
    harness.adb("shell", "true", serial=phone.serial)
    assert phone.runtime.counters.counts["shell"] == before.get("shell", 0) + 1


# -- root, reboot, auth (each on a phone of its own) -------------------------------


def test_root_on_a_production_build(harness: Harness) -> None:
    p = harness.start_phone(HostRuntime(debuggable=False))
    try:
        harness.connect(p)
        harness.wait_state(p.serial, "device")
        out = harness.adb("root", serial=p.serial)
        assert out.stdout.decode() == "adbd cannot run as root in production builds\n"
        assert not p.runtime.adbd_root
        out = harness.adb("unroot", serial=p.serial)
        assert out.stdout.decode() == "adbd not running as root\n"
    finally:
        harness.stop_phone(p)


@needs_root
def test_root_restarts_adbd_as_root(harness: Harness) -> None:
    p = harness.start_phone(HostRuntime(debuggable=True))
    try:
        harness.connect(p)
        harness.wait_state(p.serial, "device")
        before = p.server.handshakes
        out = harness.adb("root", serial=p.serial)
        assert out.stdout.decode() == "restarting adbd as root\n"
        assert p.runtime.adbd_root
        # The transport dropped and the adb server dialled again on its own.
        wait_until(lambda: p.server.handshakes, check=lambda n: n > before, timeout=20,
                   interval=0.05, what="the adb server to reconnect")
        harness.wait_state(p.serial, "device")
        assert harness.adb("shell", "id -u", serial=p.serial).stdout == b"0\n"
        out = harness.adb("root", serial=p.serial)
        assert out.stdout.decode() == "adbd is already running as root\n"
        before = p.server.handshakes
        out = harness.adb("unroot", serial=p.serial)
        assert out.stdout.decode() == "restarting adbd as non root\n"
        wait_until(lambda: p.server.handshakes, check=lambda n: n > before, timeout=20,
                   interval=0.05, what="the adb server to reconnect")
        harness.wait_state(p.serial, "device")
        assert harness.adb("shell", "id -u", serial=p.serial).stdout == b"2000\n"
        assert p.runtime.counters.counts["root"] == 2
    finally:
        harness.stop_phone(p)


def test_reboot_drops_and_comes_back(harness: Harness) -> None:
    p = harness.start_phone(HostRuntime())
    try:
        harness.connect(p)
        harness.wait_state(p.serial, "device")
        before = p.server.handshakes
        out = harness.adb("reboot", serial=p.serial)
        assert out.returncode == 0
        wait_until(lambda: p.runtime.reboots, check=lambda n: n == 1, timeout=10,
                   interval=0.05, what="the reboot")
        wait_until(lambda: p.server.handshakes, check=lambda n: n > before, timeout=30,
                   interval=0.05, what="the adb server to reconnect after the reboot")
        harness.wait_state(p.serial, "device")
        assert harness.adb("shell", "echo up", serial=p.serial).stdout == b"up\n"
    finally:
        harness.stop_phone(p)


def test_auth_with_an_allowed_key(harness: Harness) -> None:
    # The adb server made its key pair at start-up in $HOME/.android.
    pub = (harness.home / ".android" / "adbkey.pub").read_text()
    p = harness.start_phone(HostRuntime(), auth=AuthPolicy(allowed_keys=[pub]))
    try:
        assert harness.connect(p) == f"connected to {p.serial}"
        harness.wait_state(p.serial, "device")
        assert p.server.pending_keys() == []
    finally:
        harness.stop_phone(p)


def test_auth_unauthorized_until_allowed(harness: Harness) -> None:
    p = harness.start_phone(HostRuntime(), auth=AuthPolicy())
    try:
        out = harness.connect(p)
        assert out == f"failed to authenticate to {p.serial}"
        harness.wait_state(p.serial, "unauthorized")
        pub = (harness.home / ".android" / "adbkey.pub").read_text().split()[0]
        # adb shows "unauthorized" from the first AUTH token on (adb.cpp handle_packet),
        # and offers its public key only once the phone refused its signatures
        # (client/auth.cpp send_auth_response): wait for the key, not for the state.
        wait_until(p.server.pending_keys, timeout=10, interval=0.05,
                   what="the adb server's public key offered to the phone")
        assert p.server.pending_keys() == [pub]
        with pytest.raises(adbutils.AdbError):
            harness.client.device(p.serial).shell("true")
        assert harness.devices.call(p.server.allow_pending()) == 1  # the user taps "Allow"
        harness.wait_state(p.serial, "device")
        assert harness.client.device(p.serial).shell("echo ok") == "ok"
    finally:
        harness.stop_phone(p)


# -- terminals and interrupted transfers --------------------------------------------


def _run_on_a_tty(harness: Harness, args: list[str], rows: int, cols: int) -> tuple[bytes, int]:
    """Run the adb CLI with a terminal of the given size on stdin/stdout."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    cmd = ["adb", "-P", str(harness.port), *args]
    env = {**harness.env, "TERM": "vt100"}
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    out = b""
    try:
        while select.select([master], [], [], 20)[0]:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: adb exited and the slave closed
                break
            if not data:
                break
            out += data
        return out, proc.wait(10)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_pty_shell_gets_the_window_size(harness: Harness, phone: Phone) -> None:
    # The window-size packet follows the OPEN (as with adbd, the command may
    # start first), so wait for the size to land.
    script = (
        'tty; for i in 1 2 3 4 5 6 7 8 9 10; do s=$(stty size); [ "$s" != "0 0" ] && break; '
        "sleep 0.1; done; echo $s; echo $TERM; exit 5"
    )
    args = ["-s", phone.serial, "shell", "-t", script]
    out, rc = _run_on_a_tty(harness, args, 33, 111)
    lines = out.decode().splitlines()
    assert lines[0].startswith("/dev/pts/")
    assert lines[1:3] == ["33 111", "vt100"]
    assert rc == 5


def test_interactive_login_shell(harness: Harness, phone: Phone) -> None:
    # No command: a PTY login shell reading what we type (the tty echoes it).
    out = harness.adb("shell", "-t", "-t", serial=phone.serial, input=b"echo hi$((1+1))\nexit 3\n")
    assert b"hi2\r\n" in out.stdout
    assert out.returncode == 3


def test_interrupted_push_leaves_nothing(harness: Harness, phone: Phone, device_dir: Path) -> None:
    d = harness.client.device(phone.serial)
    target = device_dir / "dst.bin"
    conn = d.open_transport()
    try:
        conn.send_command("sync:")
        conn.check_okay()
        spec = f"{target},{0o100644}".encode()
        conn.conn.sendall(b"SEND" + struct.pack("<I", len(spec)) + spec)
        for _ in range(3):
            conn.conn.sendall(b"DATA" + struct.pack("<I", 65536) + os.urandom(65536))
        # syncd is writing its temp file ...
        wait_until(lambda: list(device_dir.iterdir()), timeout=10, interval=0.05,
                   what=f"a file in {device_dir}")
        assert not target.exists()
    finally:
        conn.close()  # ... when the host goes away before DONE
    wait_until(lambda: list(device_dir.iterdir()), check=lambda files: not files, timeout=10,
               interval=0.05, what=f"{device_dir} to be empty again")


# -- bulk and concurrency ------------------------------------------------------------


def test_bulk_stdin_and_stdout_through_shell_v2(
    harness: Harness, phone: Phone, device_dir: Path
) -> None:
    data = os.urandom(10_000_000)
    sink = device_dir / "in.bin"
    out = harness.adb("shell", f"cat > {sink}; echo wrote >&2", serial=phone.serial, input=data)
    assert (out.returncode, out.stderr) == (0, b"wrote\n")
    assert sink.read_bytes() == data
    out = harness.adb("shell", f"cat {sink}", serial=phone.serial)
    assert out.returncode == 0
    assert out.stdout == data  # raw mode: no newline mangling


def test_parallel_streams(harness: Harness, phone: Phone) -> None:
    d = harness.client.device(phone.serial)
    results: dict[int, str] = {}

    def one(i: int) -> None:
        results[i] = d.shell(f"sleep 0.2; echo {i}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == {i: str(i) for i in range(12)}
    assert time.monotonic() - t0 < 2.4  # they ran side by side, not one after another


def test_256k_maxdata_device(harness: Harness, device_dir: Path, tmp_path: Path) -> None:
    # A device advertising 256 KiB (older adbd): the host must chunk to that.
    p2 = harness.start_phone(HostRuntime(), max_payload=262144)
    try:
        harness.connect(p2)
        harness.wait_state(p2.serial, "device")
        local = tmp_path / "f.bin"
        local.write_bytes(os.urandom(3_000_000))
        assert (
            harness.adb("push", str(local), str(device_dir / "f"), serial=p2.serial).returncode == 0
        )
        assert (device_dir / "f").read_bytes() == local.read_bytes()
        out = harness.adb("exec-out", f"cat {device_dir / 'f'}", serial=p2.serial)
        assert out.stdout == local.read_bytes()
    finally:
        harness.stop_phone(p2)


def test_push_a_directory_tree(
    harness: Harness, phone: Phone, device_dir: Path, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "b" / "deep.txt").write_bytes(b"deep")
    (tree / "top.bin").write_bytes(os.urandom(100_000))
    (tree / "link").symlink_to("top.bin")
    out = harness.adb("push", str(tree), str(device_dir), serial=phone.serial)
    assert out.returncode == 0, out.stdout + out.stderr
    got = device_dir / "tree"
    assert (got / "a" / "b" / "deep.txt").read_bytes() == b"deep"
    assert (got / "top.bin").read_bytes() == (tree / "top.bin").read_bytes()
    assert os.readlink(got / "link") == "top.bin"
    back = tmp_path / "back"
    assert harness.adb("pull", str(got), str(back), serial=phone.serial).returncode == 0
    assert (back / "a" / "b" / "deep.txt").read_bytes() == b"deep"


@needs_root
def test_push_obeys_the_phone_permissions(harness: Harness, phone: Phone, tmp_path: Path) -> None:
    # syncd runs as the shell user, so a root-only directory refuses it.
    locked = Path(tempfile.mkdtemp(prefix="wgdroid-adbtest-locked-", dir="/tmp"))
    try:
        locked.chmod(0o755)
        local = tmp_path / "f"
        local.write_bytes(b"x")
        out = harness.adb("push", str(local), str(locked / "f"), serial=phone.serial)
        assert out.returncode != 0
        assert b"Permission denied" in out.stdout + out.stderr
        assert list(locked.iterdir()) == []
    finally:
        shutil.rmtree(locked, ignore_errors=True)
