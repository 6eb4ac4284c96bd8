"""The UAPI Unix socket: `<dir>/IFACE.sock`, `get=1` / `set=1` framing
(docs/dataplane.md, "UAPI").

Requests are `key=value` lines ending with a blank line; several per connection.
Every reply ends with `errno=N` (0 or a negative errno) and a blank line. An
unknown operation closes the connection. This module only frames requests; a
`UapiHandler` produces get lines and applies set lines.

Connections are bounded: at most `max_connections` at once (a newcomer evicts
the one idle the longest, so a pile of idle clients never locks `wg` out), and a
connection with no progress in either direction for `idle_timeout` seconds is
closed. Replies are written without blocking the loop: what the client does not
read yet waits in the connection, and its requests wait until it does.
"""

from __future__ import annotations

import errno
import functools
import os
import socket
import stat
import time
from collections.abc import Callable
from typing import Protocol

from wgdroid.userspace.loop import Loop

DEFAULT_DIR = "/var/run/wireguard"
MAX_LINE = 4096
MAX_REQUEST = 8 << 20  # a set for many peers; beyond this the client is cut off
MAX_CONNECTIONS = 32
IDLE_TIMEOUT = 10.0  # seconds; wg's own requests take milliseconds


class UapiError(Exception):
    """A set line that cannot be applied; carries the errno to report (positive)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class UapiHandler(Protocol):
    def uapi_get(self) -> list[str]:
        """`key=value` lines for get=1, without errno."""
        ...

    def uapi_set(self, pairs: list[tuple[str, str]]) -> None:
        """Apply set=1 pairs in order; raise UapiError at the first bad one."""
        ...


def socket_dir() -> str:
    return os.environ.get("WGDROID_UAPI_DIR") or DEFAULT_DIR


class _Conn:
    __slots__ = ("buf", "discard", "last_active", "op", "out", "pairs", "size", "sock")

    def __init__(self, sock: socket.socket, now: float) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.out = bytearray()  # reply bytes the client has not read yet
        self.op: str | None = None  # "set" while collecting a set request
        self.pairs: list[tuple[str, str]] = []
        self.size = 0
        self.discard = False  # skipping the rest of a failed request
        self.last_active = now


class UapiServer:
    def __init__(self, path: str, handler: UapiHandler, loop: Loop,
                 log: Callable[[str], None] = lambda _m: None,
                 sock: socket.socket | None = None, *,
                 max_connections: int = MAX_CONNECTIONS,
                 idle_timeout: float = IDLE_TIMEOUT) -> None:
        self.path = path
        self._handler = handler
        self._loop = loop
        self._log = log
        self._max = max_connections
        self._idle = idle_timeout
        self._conns: dict[int, _Conn] = {}
        self.evicted = 0  # connections closed for idling or to make room (stats, tests)
        self.sock = sock if sock is not None else listen(path)
        st = os.stat(path)
        self._ino = (st.st_dev, st.st_ino)
        loop.add_reader(self.sock.fileno(), self._accept)
        loop.call_later(self._idle / 2, self._sweep)

    def _sweep(self) -> None:
        """Close connections that made no progress for idle_timeout."""
        if self.sock.fileno() < 0:
            return  # closed: stop sweeping
        self._loop.call_later(self._idle / 2, self._sweep)
        deadline = time.monotonic() - self._idle
        for c in [c for c in self._conns.values() if c.last_active <= deadline]:
            self.evicted += 1
            self._close(c)

    def socket_gone(self) -> bool:
        """True once our socket file was deleted or replaced (the signal to exit)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return True
        return (st.st_dev, st.st_ino) != self._ino

    def _accept(self) -> None:
        while True:
            try:
                s, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if len(self._conns) >= self._max:
                # Make room: the client idle the longest is the likeliest to be dead.
                self.evicted += 1
                self._close(min(self._conns.values(), key=lambda c: c.last_active))
            s.setblocking(False)
            c = _Conn(s, time.monotonic())
            self._conns[s.fileno()] = c
            self._loop.add_reader(s.fileno(), functools.partial(self._readable, c))

    def _close(self, c: _Conn) -> None:
        fd = c.sock.fileno()
        if fd < 0:
            return
        self._loop.remove_reader(fd)
        self._loop.set_writer(fd, None)
        self._conns.pop(fd, None)
        c.sock.close()

    def _reply(self, c: _Conn, lines: list[str], code: int) -> bool:
        text = "".join(f"{line}\n" for line in lines) + f"errno={-code if code else 0}\n\n"
        c.out += text.encode()
        return self._flush(c)

    def _flush(self, c: _Conn) -> bool:
        """Send what the client will take now; the rest waits for EPOLLOUT, and its
        next requests wait too (no reading while a reply is pending). False if the
        connection was closed."""
        try:
            n = c.sock.send(c.out)
        except BlockingIOError:
            n = 0
        except OSError:
            self._close(c)
            return False
        if n:
            del c.out[:n]
            c.last_active = time.monotonic()
        fd = c.sock.fileno()
        if c.out:
            self._loop.remove_reader(fd)
            self._loop.set_writer(fd, functools.partial(self._writable, c))
            return False
        return True

    def _writable(self, c: _Conn) -> None:
        if not self._flush(c) or c.sock.fileno() < 0:
            return
        fd = c.sock.fileno()
        self._loop.set_writer(fd, None)
        self._loop.add_reader(fd, functools.partial(self._readable, c))
        self._process(c)  # requests that arrived while the reply was pending

    def _readable(self, c: _Conn) -> None:
        try:
            chunk = c.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            self._close(c)
            return
        if not chunk:
            self._close(c)
            return
        c.last_active = time.monotonic()
        c.buf += chunk
        self._process(c)

    def _process(self, c: _Conn) -> None:
        while not c.out:
            nl = c.buf.find(b"\n")
            if nl < 0:
                if len(c.buf) > MAX_LINE:
                    self._close(c)
                return
            raw = bytes(c.buf[:nl])
            del c.buf[: nl + 1]
            if not self._line(c, raw):
                return

    def _line(self, c: _Conn, raw: bytes) -> bool:
        """Handle one line; False if the connection was closed."""
        if len(raw) > MAX_LINE:
            self._close(c)
            return False
        if c.discard:
            if not raw:
                c.discard = False
            return True
        if c.op is None:
            if raw == b"get=1":
                c.op = "get"
                return True
            if raw == b"set=1":
                c.op, c.pairs, c.size = "set", [], 0
                return True
            self._log("UAPI: unknown operation, closing the connection")
            self._close(c)
            return False
        if c.op == "get":
            c.op = None
            if raw:
                c.discard = True
                return self._reply(c, [], errno.EINVAL)
            try:
                lines = self._handler.uapi_get()
            except Exception:
                return self._reply(c, [], errno.EIO)
            return self._reply(c, lines, 0)
        # set=1
        if not raw:
            c.op = None
            pairs, c.pairs = c.pairs, []
            try:
                self._handler.uapi_set(pairs)
            except UapiError as e:
                self._log(f"UAPI set: {e}")
                return self._reply(c, [], e.code)
            except Exception as e:  # a bug must not take the data plane down
                self._log(f"UAPI set failed: {type(e).__name__}")
                return self._reply(c, [], errno.EIO)
            return self._reply(c, [], 0)
        c.size += len(raw)
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            text = ""
        key, sep, value = text.partition("=")
        if not sep or not key or c.size > MAX_REQUEST:
            c.op, c.pairs, c.discard = None, [], True
            return self._reply(c, [], errno.EPROTO)
        c.pairs.append((key, value))
        return True

    def close(self) -> None:
        for c in list(self._conns.values()):
            self._close(c)
        self._loop.remove_reader(self.sock.fileno())
        self.sock.close()
        try:
            if not self.socket_gone():
                os.unlink(self.path)
        except OSError:
            pass


def listen(path: str) -> socket.socket:
    """Bind the UAPI socket, replacing a stale one; EADDRINUSE if a daemon answers."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    if os.path.lexists(path):
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            raise OSError(errno.EEXIST, f"{path} exists and is not a socket")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:
            os.unlink(path)  # stale: nobody listens
        else:
            raise OSError(errno.EADDRINUSE, f"{path}: another daemon answers there")
        finally:
            probe.close()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    old = os.umask(0o077)
    try:
        s.bind(path)
    except BaseException:
        s.close()
        raise
    finally:
        os.umask(old)
    s.listen(16)
    s.setblocking(False)
    return s
