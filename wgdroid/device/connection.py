"""Reaching a device: the adb server address, device choice, and a shell v2
stream that carries stdin and a real exit code.

wgdroid speaks the adb server's host protocol itself (docs/adb-protocol.md):
a request is four hex digits of length and the service name, the answer
OKAY or FAIL with a message. That is a few lines, and spares every command
the import of an adb client library (adbutils pulls `requests` in: about
100 ms of a 200 ms operation). One connection per operation: `host:transport:`
then `shell,v2,raw:`, whose framing carries stdin (ids 0 and 4, never on a
command line), stdout, stderr and the exit status; every read has a
wall-clock deadline.
"""

from __future__ import annotations

import _socket  # the C core of `socket`: see _open
import os
import struct
import time
from collections.abc import Callable, Mapping

from wgdroid.errors import DeviceError, OperationTimeout
from wgdroid.lean import Value

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


# The values here and in rootshell/script/status are lean.Value classes:
# every phone command creates them (wgdroid.lean says why not dataclasses).


class ServerAddress(Value):
    __slots__ = ("host", "port")

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port

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
        name = ("-P" if port is not None else "ADB_SERVER_SOCKET" if sock
                else "ANDROID_ADB_SERVER_PORT")
        given = f"{name} {port}" if port is not None else f"{name}={env[name]!r}"
        raise DeviceError(f"{given}: {final_port} is not a TCP port (1-65535)",
                          hint=None if port is not None else "unset it or use -H/-P")
    return ServerAddress(host or env_host, final_port)


class DeviceInfo(Value):
    """One transport of the adb server. Equal when serial, state and model are
    (the transport id is not compared: a reconnected phone is the same phone)."""

    __slots__ = ("model", "serial", "state", "transport_id")

    def __init__(self, serial: str, state: str, model: str | None = None,
                 transport_id: str | None = None) -> None:
        self.serial = serial
        self.state = state  # device, offline, unauthorized, recovery, ...
        self.model = model
        # The adb server's id of this connection: a new one after every (re)connect.
        self.transport_id = transport_id

    def _fields(self) -> tuple[str | None, ...]:
        return (self.serial, self.state, self.model)


class ShellResult(Value):
    # Output may hold a config (pull): kept out of reprs, so out of logs and tracebacks.
    __slots__ = ("elapsed", "returncode", "stderr", "stdout")
    _hidden = ("stdout", "stderr")

    def __init__(self, returncode: int, stdout: bytes, stderr: bytes, elapsed: float) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.elapsed = elapsed

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "replace")


_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_started: set[ServerAddress] = set()
SERVER_TIMEOUT = 10.0  # connecting to the server, and each of its answers


class ServerFailure(Exception):
    """The adb server answered FAIL; the message is its own text."""


class ConnectionLost(DeviceError):
    """The connection broke while an operation was running on the device: what
    it was doing may or may not have happened there."""

    def __init__(self, message: str) -> None:
        super().__init__(
            message,
            hint="a change it was making may have happened on the phone all the same: "
            "check (`wgdroid list`, `wgdroid status`) before you retry",
        )


class ServerConnection:
    """One TCP connection to the adb server, speaking its host protocol."""

    def __init__(self, address: ServerAddress, timeout: float = SERVER_TIMEOUT) -> None:
        self.address = address
        self.sock = _connect(address, timeout)

    def request(self, service: str) -> None:
        """Send one request; ServerFailure with the server's text if it says FAIL."""
        data = service.encode()
        self.sock.sendall(b"%04x" % len(data) + data)
        status = self._read(4)
        if status == b"FAIL":
            raise ServerFailure(self.read_block().strip() or "failed")
        if status != b"OKAY":
            raise ServerFailure(f"unexpected answer {status!r}")

    def read_block(self) -> str:
        """A length-prefixed answer (`host:devices-l`, a FAIL's message)."""
        size = int(self._read(4), 16)
        return self._read(size).decode("utf-8", "replace")

    def _read(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionResetError("the adb server closed the connection")
            buf += chunk
        return bytes(buf)

    def close(self) -> None:
        self.sock.close()


def _connect(address: ServerAddress, timeout: float) -> _socket.socket:
    """Connect to the server; a missing local one is started once per process,
    quietly (adb's "* daemon not running" banner never reaches our stderr)."""
    try:
        return _open(address, timeout)
    except OSError as exc:
        if address in _started or address.host not in _LOCAL_HOSTS:
            raise _unreachable(address, exc) from None
    _started.add(address)
    import contextlib  # only here: a command whose server is up never needs them
    import shutil
    import subprocess

    adb = os.environ.get("ADBUTILS_ADB_PATH") or shutil.which("adb")
    if adb:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run([adb, "-P", str(address.port), "start-server"], capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=20, check=False)
    try:
        return _open(address, timeout)
    except OSError as exc:
        raise _unreachable(address, exc) from None


def _open(address: ServerAddress, timeout: float) -> _socket.socket:
    """A TCP connection to the server. A numeric IPv4 address (the usual
    127.0.0.1) is connected to with the socket module's C core (`_socket`,
    whose socket type `socket.socket` only extends): importing `socket`
    itself costs ~2.5 ms (its enum conversions, selectors), and its
    create_connection's getaddrinfo imports the idna codec for any name
    (~1.5 ms more). A host name goes the usual way."""
    try:
        _socket.inet_pton(_socket.AF_INET, address.host)
    except OSError:
        import socket

        return socket.create_connection((address.host, address.port), timeout=timeout)
    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((address.host, address.port))
    except BaseException:
        sock.close()
        raise
    return sock


def _unreachable(address: ServerAddress, exc: OSError) -> DeviceError:
    reason = exc.strerror or type(exc).__name__
    return DeviceError(
        f"cannot reach the adb server at {address} ({reason})",
        hint="start it with `adb start-server`, or point -H/-P (ADB_SERVER_SOCKET) at it",
    )


def _server_broke(address: ServerAddress, exc: OSError) -> DeviceError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return DeviceError(f"the adb server at {address} stopped answering ({reason})")


def list_devices(address: ServerAddress) -> list[DeviceInfo]:
    """Every transport the server knows, in any state (`host:devices-l`)."""
    conn = ServerConnection(address)
    try:
        conn.request("host:devices-l")
        return parse_devices(conn.read_block())
    except ServerFailure as exc:
        raise DeviceError(f"adb server: {exc}") from None
    except OSError as exc:
        raise _server_broke(address, exc) from None
    finally:
        conn.close()


def parse_devices(text: str) -> list[DeviceInfo]:
    """`SERIAL  STATE key:value...` lines; a state may hold spaces ("no permissions (...)")."""
    found = []
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        state: list[str] = []
        tags: dict[str, str] = {}
        for word in words[1:]:
            key, sep, value = word.partition(":")
            if sep and key.isidentifier() and state:
                tags[key] = value
            elif not tags:
                state.append(word)
        found.append(DeviceInfo(words[0], " ".join(state) or "unknown", tags.get("model"),
                                tags.get("transport_id")))
    return found


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

    def __init__(self, sock: _socket.socket, serial: str) -> None:
        self._sock = sock
        self._serial = serial
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
            raise self._lost(exc) from None

    def _lost(self, exc: OSError | None) -> ConnectionLost:
        why = f" ({exc.strerror or exc})" if exc is not None else ""
        return ConnectionLost(
            f"the connection to {self._serial} broke before the operation finished{why}"
        )

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
                raise self._lost(exc) from None
            if not chunk:
                raise self._lost(None)
            self._buf += chunk

    def close(self) -> None:
        self._sock.close()

    def abort(self) -> None:
        """From another thread: end the stream now (a blocked read returns)."""
        try:
            self._sock.shutdown(_socket.SHUT_RDWR)
        except OSError:  # already closed (no contextlib.suppress: see wgdroid.lean)
            return

    def __enter__(self) -> ShellStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Device:
    """A chosen device on a given adb server. Every operation opens its own
    server connection, so one Device may serve many threads."""

    def __init__(self, address: ServerAddress, serial: str,
                 transport_id: str | None = None) -> None:
        self.address = address
        self.serial = serial
        self.transport_id = transport_id

    def __repr__(self) -> str:
        return f"Device({self.serial!r} @ {self.address})"

    @property
    def identity(self) -> str:
        """Who this is, for what wgdroid remembers about it (device.memo): the
        server, the serial and the connection, so a phone that reconnects, or
        another phone on the same `adb connect` address, is asked afresh."""
        return f"{self.address} {self.serial} {self.transport_id or '-'}"

    def open_shell(self, command: str, *, connect_timeout: float = SERVER_TIMEOUT) -> ShellStream:
        """Open a raw shell v2 stream running `command` under the device's sh -c."""
        conn = ServerConnection(self.address, connect_timeout)
        try:
            conn.request(f"host:transport:{self.serial}")
            conn.request(f"shell,v2,raw:{command}")
        except ServerFailure as exc:
            conn.close()
            raise self._refused(str(exc)) from None
        except OSError as exc:
            conn.close()
            raise _server_broke(self.address, exc) from None
        return ShellStream(conn.sock, self.serial)

    def _refused(self, text: str) -> DeviceError:
        """The server's FAIL text as the error a user can act on."""
        if "not found" in text:
            return DeviceError(f"device {self.serial!r} not found",
                               hint="`adb devices` lists the serials; pick one with -s")
        for state in ("unauthorized", "offline"):
            if state in text:
                return DeviceError(f"device {self.serial} is {state}", hint=_STATE_HINTS[state])
        first = text.splitlines()[0] if text else "refused"
        return DeviceError(f"device {self.serial}: adb: {first}")

    def run(
        self, command: str, *, stdin: bytes | None = None, timeout: float = 30.0
    ) -> ShellResult:
        """Run `command`, feeding `stdin` (then close-stdin); wall-clock `timeout`."""
        start = time.monotonic()
        with self.open_shell(command) as stream:
            if stdin is not None:
                stream.write_stdin(stdin)
                stream.close_stdin()
            return collect(stream, lambda: start + timeout, start)


def collect(
    stream: ShellStream,
    deadline: Callable[[], float],
    start: float,
    on_stderr: Callable[[bytearray], None] | None = None,
    out: bytearray | None = None,
) -> ShellResult:
    """The one shell v2 read loop: stdout and stderr (each bounded) until the
    exit packet. `deadline()` is asked before each read (a caller may move it,
    e.g. once su has granted); `on_stderr` sees the stderr read so far after
    each stderr packet. ShellTimeout past the deadline. `out`: the caller's
    buffer for stdout, which keeps what came when the read is cut off."""
    out = bytearray() if out is None else out
    err = bytearray()
    while True:
        pid, payload = stream.read_packet(deadline())
        if pid == ID_EXIT:
            code = payload[0] if payload else 255
            return ShellResult(code, bytes(out), bytes(err), time.monotonic() - start)
        target = out if pid == ID_STDOUT else err if pid == ID_STDERR else None
        if target is None:
            continue
        if len(target) + len(payload) > MAX_OUTPUT:
            raise DeviceError("the device sent more output than wgdroid accepts")
        target += payload
        if on_stderr is not None and target is err:
            on_stderr(err)


def connect(
    serial: str | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
) -> Device:
    """The device to talk to, chosen by -s / ANDROID_SERIAL / the only one
    (one request to the local adb server, no round trip to the phone)."""
    address = server_address(host, port, env)
    devices = list_devices(address)
    chosen = choose_serial(devices, serial, env)
    info = next(d for d in devices if d.serial == chosen)
    return Device(address, chosen, info.transport_id)


def all_devices(
    *, host: str | None = None, port: int | None = None, env: Mapping[str, str] | None = None
) -> tuple[list[Device], list[DeviceInfo]]:
    """(usable devices, the others with their state) for --all."""
    address = server_address(host, port, env)
    infos = list_devices(address)
    usable = [Device(address, i.serial, i.transport_id) for i in infos if i.state == "device"]
    others = [i for i in infos if i.state != "device"]
    if not usable and not others:
        raise DeviceError("no device connected", hint="plug in a phone or `adb connect` one")
    return usable, others
