"""Reaching a device: the adb server address, device choice, and a shell v2
stream that carries stdin and a real exit code.

adbutils' `shell2(v2=True)` never sends stdin or close-stdin (id 4) and has
only an inactivity timeout, so this module speaks the shell v2 framing
itself over an adbutils server connection: stdin travels inside the ADB
stream (never on a command line), and every read has a wall-clock deadline.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wgdroid.errors import DeviceError, OperationTimeout

if TYPE_CHECKING:
    from adbutils import AdbClient
    from adbutils._adb import AdbConnection

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5037

# Shell v2 packet ids (A29 shell_protocol.h).
ID_STDIN, ID_STDOUT, ID_STDERR, ID_EXIT, ID_CLOSE_STDIN = 0, 1, 2, 3, 4
_HEADER = struct.Struct("<BI")
_STDIN_CHUNK = 64 * 1024
MAX_OUTPUT = 8 * 1024 * 1024  # per stream: a runaway command can't eat our memory
MAX_PACKET = 1024 * 1024


class ShellTimeout(OperationTimeout):
    """The wall-clock deadline of a shell stream passed."""


@dataclass(frozen=True)
class ServerAddress:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def server_address(
    host: str | None = None, port: int | None = None, env: Mapping[str, str] | None = None
) -> ServerAddress:
    """-H/-P win; else ADB_SERVER_SOCKET=tcp:HOST:PORT; else ANDROID_ADB_SERVER_HOST/PORT."""
    env = os.environ if env is None else env
    env_host, env_port = DEFAULT_HOST, DEFAULT_PORT
    sock = env.get("ADB_SERVER_SOCKET")
    if sock:
        kind, _, rest = sock.partition(":")
        rhost, sep, rport = rest.rpartition(":")
        if kind != "tcp" or not sep or not rport.isdigit():
            raise DeviceError(
                f"ADB_SERVER_SOCKET={sock!r} is not tcp:HOST:PORT",
                hint="unset it or use -H/-P",
            )
        env_host, env_port = rhost or DEFAULT_HOST, int(rport)
    else:
        env_host = env.get("ANDROID_ADB_SERVER_HOST") or DEFAULT_HOST
        raw_port = env.get("ANDROID_ADB_SERVER_PORT")
        if raw_port:
            if not raw_port.isdigit():
                raise DeviceError(f"ANDROID_ADB_SERVER_PORT={raw_port!r} is not a port number")
            env_port = int(raw_port)
    final_port = env_port if port is None else port
    if not 0 < final_port < 65536:
        raise DeviceError(f"{final_port} is not a TCP port")
    return ServerAddress(host or env_host, final_port)


@dataclass(frozen=True)
class DeviceInfo:
    serial: str
    state: str  # device, offline, unauthorized, recovery, ...
    model: str | None = None


@dataclass(frozen=True)
class ShellResult:
    # Output may hold a config (pull): kept out of reprs, so out of logs and tracebacks.
    returncode: int
    stdout: bytes = field(repr=False)
    stderr: bytes = field(repr=False)
    elapsed: float

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "replace")


_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_server_checked: set[ServerAddress] = set()


def _ensure_local_server(address: ServerAddress) -> None:
    """Start a missing local adb server quietly, once per process.

    adbutils would start it itself, but with adb's "* daemon not running"
    banner on our stderr: over the TUI's screen, or mixed into a script's
    messages.
    """
    if address in _server_checked or address.host not in _LOCAL_HOSTS:
        return
    _server_checked.add(address)
    try:
        socket.create_connection((address.host, address.port), timeout=1).close()
        return
    except OSError:
        pass
    adb = os.environ.get("ADBUTILS_ADB_PATH") or shutil.which("adb")
    if adb:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run([adb, "-P", str(address.port), "start-server"], capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=20, check=False)


def _client(address: ServerAddress) -> AdbClient:
    from adbutils import AdbClient

    _ensure_local_server(address)
    return AdbClient(host=address.host, port=address.port, socket_timeout=10)


def _adb_failure(address: ServerAddress, exc: BaseException) -> DeviceError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "connect to adb server" in text or isinstance(exc, ConnectionError):
        return DeviceError(
            f"cannot reach the adb server at {address}",
            hint="start it with `adb start-server`, or point -H/-P (ADB_SERVER_SOCKET) at it",
        )
    return DeviceError(f"adb: {text}")


def list_devices(address: ServerAddress) -> list[DeviceInfo]:
    """Every transport the server knows, in any state."""
    from adbutils.errors import AdbError

    try:
        infos = _client(address).list(extended=True)
    except (AdbError, OSError) as exc:
        raise _adb_failure(address, exc) from None
    return [DeviceInfo(i.serial, i.state, i.tags.get("model")) for i in infos]


_STATE_HINTS = {
    "unauthorized": "unlock the phone and accept the 'Allow USB debugging?' prompt",
    "offline": "reconnect the cable or run `adb reconnect`",
}


def check_state(info: DeviceInfo) -> None:
    if info.state != "device":
        raise DeviceError(
            f"device {info.serial} is {info.state}",
            hint=_STATE_HINTS.get(info.state, "wait until `adb devices` shows it as 'device'"),
        )


def choose_serial(
    devices: list[DeviceInfo], serial: str | None, env: Mapping[str, str] | None = None
) -> str:
    """-s SERIAL, else ANDROID_SERIAL, else the only device; clear errors otherwise."""
    env = os.environ if env is None else env
    wanted = serial or env.get("ANDROID_SERIAL") or None
    if wanted:
        found = next((d for d in devices if d.serial == wanted), None)
        if found is None:
            raise DeviceError(
                f"device {wanted!r} not found",
                hint="`adb devices` lists the serials; pick one with -s",
            )
        check_state(found)
        return wanted
    if not devices:
        raise DeviceError(
            "no device connected", hint="plug in a phone with USB debugging on, or `adb connect`"
        )
    if len(devices) > 1:
        names = ", ".join(d.serial for d in devices)
        raise DeviceError(
            f"several devices connected ({names})", hint="pick one with -s SERIAL, or use --all"
        )
    check_state(devices[0])
    return devices[0].serial


class ShellStream:
    """One `shell,v2,raw:` stream. Not thread-safe: one stream per thread."""

    def __init__(self, conn: AdbConnection, sock: socket.socket) -> None:
        self._conn = conn
        self._sock = sock
        self._buf = bytearray()

    def write_stdin(self, data: bytes) -> None:
        for start in range(0, len(data), _STDIN_CHUNK):
            chunk = data[start : start + _STDIN_CHUNK]
            self._sendall(_HEADER.pack(ID_STDIN, len(chunk)) + chunk)

    def close_stdin(self) -> None:
        self._sendall(_HEADER.pack(ID_CLOSE_STDIN, 0))

    def set_write_timeout(self, seconds: float) -> None:
        self._sock.settimeout(max(0.01, seconds))

    def _sendall(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except TimeoutError:
            # Nobody reads stdin (e.g. su still waits for the user).
            raise ShellTimeout("the device stopped reading input") from None
        except OSError as exc:
            raise DeviceError(f"the connection to the device broke ({exc.strerror})") from None

    def read_packet(self, deadline: float) -> tuple[int, bytes]:
        """The next (id, payload); ShellTimeout past the wall-clock deadline."""
        while True:
            if len(self._buf) >= _HEADER.size:
                pid, length = _HEADER.unpack_from(self._buf)
                if length > MAX_PACKET:
                    raise DeviceError("the device sent a malformed shell packet")
                end = _HEADER.size + length
                if len(self._buf) >= end:
                    payload = bytes(self._buf[_HEADER.size : end])
                    del self._buf[:end]
                    return pid, payload
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ShellTimeout("the device did not answer in time")
            self._sock.settimeout(remaining)
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                raise ShellTimeout("the device did not answer in time") from None
            except OSError as exc:
                raise DeviceError(
                    f"the connection to the device broke ({exc.strerror})"
                ) from None
            if not chunk:
                raise DeviceError("the device closed the shell before it finished")
            self._buf += chunk

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ShellStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Device:
    """A chosen device on a given adb server. Every call opens its own
    server connection (adbutils style), so one Device may serve many threads."""

    def __init__(self, address: ServerAddress, serial: str) -> None:
        self.address = address
        self.serial = serial

    def __repr__(self) -> str:
        return f"Device({self.serial!r} @ {self.address})"

    def open_shell(self, command: str, *, connect_timeout: float = 10.0) -> ShellStream:
        """Open a raw shell v2 stream running `command` under the device's sh -c."""
        from adbutils.errors import AdbError

        try:
            conn = _client(self.address).make_connection(timeout=connect_timeout)
        except (AdbError, OSError) as exc:
            raise _adb_failure(self.address, exc) from None
        try:
            # host:transport: (not adbutils' tport) spares a host:version round trip.
            conn.send_command(f"host:transport:{self.serial}")
            conn.check_okay()
            conn.send_command(f"shell,v2,raw:{command}")
            conn.check_okay()
        except AdbError as exc:
            conn.close()
            text = str(exc)
            if "not found" in text:
                raise DeviceError(f"device {self.serial!r} not found") from None
            if "unauthorized" in text:
                raise DeviceError(
                    f"device {self.serial} is unauthorized", hint=_STATE_HINTS["unauthorized"]
                ) from None
            if "offline" in text:
                raise DeviceError(
                    f"device {self.serial} is offline", hint=_STATE_HINTS["offline"]
                ) from None
            raise DeviceError(f"device {self.serial}: adb: {text}") from None
        except OSError as exc:
            conn.close()
            raise DeviceError(f"device {self.serial}: connection failed ({exc})") from None
        return ShellStream(conn, conn.conn)

    def run(
        self, command: str, *, stdin: bytes | None = None, timeout: float = 30.0
    ) -> ShellResult:
        """Run `command`, feeding `stdin` (then close-stdin); wall-clock `timeout`."""
        start = time.monotonic()
        deadline = start + timeout
        with self.open_shell(command) as stream:
            if stdin is not None:
                stream.write_stdin(stdin)
                stream.close_stdin()
            return collect(stream, deadline, start)


def collect(stream: ShellStream, deadline: float, start: float) -> ShellResult:
    """Read stdout/stderr until the exit packet; output is bounded."""
    out, err = bytearray(), bytearray()
    while True:
        pid, payload = stream.read_packet(deadline)
        if pid == ID_EXIT:
            code = payload[0] if payload else 255
            return ShellResult(code, bytes(out), bytes(err), time.monotonic() - start)
        target = out if pid == ID_STDOUT else err if pid == ID_STDERR else None
        if target is None:
            continue
        if len(target) + len(payload) > MAX_OUTPUT:
            raise DeviceError("the device sent more output than wgdroid accepts")
        target += payload


def connect(
    serial: str | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
) -> Device:
    """The device to talk to, chosen by -s / ANDROID_SERIAL / the only one."""
    address = server_address(host, port, env)
    devices = list_devices(address)
    return Device(address, choose_serial(devices, serial, env))


def all_devices(
    *, host: str | None = None, port: int | None = None, env: Mapping[str, str] | None = None
) -> tuple[list[Device], list[DeviceInfo]]:
    """(usable devices, the others with their state) for --all."""
    address = server_address(host, port, env)
    infos = list_devices(address)
    usable = [Device(address, i.serial) for i in infos if i.state == "device"]
    others = [i for i in infos if i.state != "device"]
    if not usable and not others:
        raise DeviceError("no device connected", hint="plug in a phone or `adb connect` one")
    return usable, others
