"""The device side of ADB's sync protocol, as a process: `python3 -m wgdroid.sim.adb.syncd`.

It reads requests on stdin, answers on stdout and performs every file
operation itself, so it runs with adbd's uid inside the phone's mounts (the
phone's own permissions apply). Stdlib only: it runs on whatever python3 the
phone has. Behaviour follows A29 daemon/file_sync_service.cpp.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import struct
import sys
from typing import BinaryIO, NoReturn

SYNC_DATA_MAX = 64 * 1024
PATH_MAX = 1024


def _id(name: bytes) -> int:
    return int(struct.unpack("<I", name)[0])


ID_STAT = _id(b"STAT")
ID_STA2 = _id(b"STA2")
ID_LST2 = _id(b"LST2")
ID_LIST = _id(b"LIST")
ID_LIS2 = _id(b"LIS2")
ID_DENT = _id(b"DENT")
ID_DNT2 = _id(b"DNT2")
ID_SEND = _id(b"SEND")
ID_RECV = _id(b"RECV")
ID_DATA = _id(b"DATA")
ID_DONE = _id(b"DONE")
ID_OKAY = _id(b"OKAY")
ID_FAIL = _id(b"FAIL")
ID_QUIT = _id(b"QUIT")

_REQUEST = struct.Struct("<II")
_STAT_V1 = struct.Struct("<IIII")  # id, mode, size, mtime
# id, error, dev, ino, mode, nlink, uid, gid, size, atime, mtime, ctime
_STAT_V2 = struct.Struct("<IIQQIIIIQqqq")
_DENT_V1 = struct.Struct("<IIIII")  # id, mode, size, mtime, namelen
_DENT_V2 = struct.Struct("<IIQQIIIIQqqqI")
assert _STAT_V2.size == 72 and _DENT_V2.size == 76


class Fatal(Exception):
    """A failure after which adbd closes the sync stream (FAIL already sent)."""


class SyncServer:
    def __init__(self, inp: BinaryIO, out_fd: int) -> None:
        self._in = inp
        self._out = out_fd

    # -- wire helpers ------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._out, view) :]

    def _read_exact(self, size: int) -> bytes | None:
        data = self._in.read(size) if size else b""
        if data is None or len(data) != size:
            return None
        return data

    def _fail(self, message: str) -> None:
        raw = message.encode("utf-8", "replace")
        self._write(_REQUEST.pack(ID_FAIL, len(raw)) + raw)

    # -- main loop ---------------------------------------------------------------

    def serve(self) -> int:
        handlers = {
            ID_STAT: self._stat_v1,
            ID_STA2: lambda p: self._stat_v2(ID_STA2, p, follow=True),
            ID_LST2: lambda p: self._stat_v2(ID_LST2, p, follow=False),
            ID_LIST: self._list_v1,
            ID_LIS2: self._list_v2,
            ID_SEND: self._send,
            ID_RECV: self._recv,
        }
        while True:
            header = self._read_exact(_REQUEST.size)
            if header is None:
                return 0  # the stream closed without QUIT (adbutils does that)
            request, length = _REQUEST.unpack(header)
            if request == ID_QUIT:
                return 0
            handler = handlers.get(request)
            if handler is None:
                self._fail(f"unknown command {request:08x}")
                return 1
            if length > PATH_MAX:
                self._fail("path too long")
                return 1
            path = self._read_exact(length)
            if path is None:
                return 0
            try:
                handler(path)
            except Fatal:
                return 1

    # -- stat and list -----------------------------------------------------------

    def _stat_v1(self, path: bytes) -> None:
        try:
            st = os.lstat(path)
            fields = (st.st_mode, st.st_size, int(st.st_mtime))
        except OSError:
            fields = (0, 0, 0)  # v1 has no error field: a missing path is all zeros
        self._write(_STAT_V1.pack(ID_STAT, *(v & 0xFFFFFFFF for v in fields)))

    @staticmethod
    def _v2_fields(path: bytes, follow: bool) -> tuple[int, ...]:
        try:
            st = os.stat(path) if follow else os.lstat(path)
        except OSError as exc:
            return (exc.errno or errno.EIO,) + (0,) * 10
        return (
            0,
            st.st_dev & 0xFFFFFFFFFFFFFFFF,
            st.st_ino & 0xFFFFFFFFFFFFFFFF,
            st.st_mode & 0xFFFFFFFF,
            st.st_nlink & 0xFFFFFFFF,
            st.st_uid & 0xFFFFFFFF,
            st.st_gid & 0xFFFFFFFF,
            st.st_size,
            int(st.st_atime),
            int(st.st_mtime),
            int(st.st_ctime),
        )

    def _stat_v2(self, reply_id: int, path: bytes, *, follow: bool) -> None:
        self._write(_STAT_V2.pack(reply_id, *self._v2_fields(path, follow)))

    @staticmethod
    def _names(path: bytes) -> list[bytes]:
        try:
            return [b".", b"..", *os.listdir(path)]
        except OSError:
            return []  # adbd: an unreadable directory lists as empty

    def _list_v1(self, path: bytes) -> None:
        out = bytearray()
        for name in self._names(path):
            try:
                st = os.lstat(os.path.join(path, name))
            except OSError:
                continue  # v1 skips entries it cannot stat
            out += _DENT_V1.pack(
                ID_DENT,
                st.st_mode & 0xFFFFFFFF,
                st.st_size & 0xFFFFFFFF,
                int(st.st_mtime) & 0xFFFFFFFF,
                len(name),
            )
            out += name
            if len(out) >= SYNC_DATA_MAX:
                self._write(bytes(out))
                out.clear()
        out += _DENT_V1.pack(ID_DONE, 0, 0, 0, 0)
        self._write(bytes(out))

    def _list_v2(self, path: bytes) -> None:
        out = bytearray()
        for name in self._names(path):
            fields = self._v2_fields(os.path.join(path, name), follow=False)
            out += _DENT_V2.pack(ID_DNT2, *fields, len(name))
            out += name
            if len(out) >= SYNC_DATA_MAX:
                self._write(bytes(out))
                out.clear()
        out += _DENT_V2.pack(ID_DONE, *(0,) * 12)
        self._write(bytes(out))

    # -- send --------------------------------------------------------------------

    def _next_data(self) -> tuple[int, bytes]:
        """The next DATA chunk, or (ID_DONE, b"") with the mtime in `self._mtime`."""
        header = self._read_exact(_REQUEST.size)
        if header is None:
            raise EOFError
        kind, size = _REQUEST.unpack(header)
        if kind == ID_DONE:
            self._mtime = size
            return kind, b""
        if kind != ID_DATA:
            self._fail("invalid data message")
            raise Fatal
        if size > SYNC_DATA_MAX:
            self._fail("oversize data message")
            raise Fatal
        data = self._read_exact(size)
        if data is None:
            raise EOFError
        return kind, data

    def _drain_then_fail(self, message: str) -> None:
        """adbd keeps reading DATA up to DONE after an error, then the stream ends."""
        try:
            while self._next_data()[0] != ID_DONE:
                pass
        except EOFError:
            raise Fatal from None
        self._fail(message)
        raise Fatal

    def _send(self, spec: bytes) -> None:
        path, comma, mode_text = spec.rpartition(b",")
        if not comma:
            self._drain_then_fail("missing , in ID_SEND")
        mode = strtoul(mode_text)
        self._mtime = 0
        parent = os.path.dirname(path)
        try:
            if parent:
                os.makedirs(parent, 0o775, exist_ok=True)
        except OSError as exc:
            self._drain_then_fail(f"secure_mkdirs failed: {os.strerror(exc.errno or errno.EIO)}")
        if stat.S_ISLNK(mode):
            self._send_link(path)
        else:
            # adbd copies the user bits to group and other.
            perms = mode & 0o777
            perms |= (perms >> 3) & 0o070
            perms |= (perms >> 3) & 0o007
            self._send_file(path, perms)

    def _temp_name(self, path: bytes) -> bytes:
        head, tail = os.path.split(path)
        unique = b"%d-%s" % (os.getpid(), os.urandom(4).hex().encode())
        return os.path.join(head, b"." + tail + b".adbsync-" + unique)

    def _send_file(self, path: bytes, perms: int) -> None:
        # Written to a temp file in the same directory and renamed at DONE, so an
        # interrupted push never leaves a partial file at `path`.
        temp = self._temp_name(path)
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            self._drain_then_fail(f"couldn't create file: {os.strerror(exc.errno or errno.EIO)}")
        ok = False
        try:
            with io.FileIO(fd, "wb", closefd=True) as f:
                error: str | None = None
                while True:
                    kind, data = self._next_data()
                    if kind == ID_DONE:
                        break
                    if error is None:
                        try:
                            f.write(data)
                        except OSError as exc:
                            error = f"write failed: {os.strerror(exc.errno or errno.EIO)}"
                if error is None:
                    os.fchmod(fd, perms)
            if error is not None:
                self._fail(error)
                raise Fatal
            os.utime(temp, (self._mtime, self._mtime))
            os.rename(temp, path)
            ok = True
        except EOFError:
            raise Fatal from None
        except OSError as exc:
            self._fail(f"couldn't create file: {os.strerror(exc.errno or errno.EIO)}")
            raise Fatal from None
        finally:
            if not ok:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
        self._write(_REQUEST.pack(ID_OKAY, 0))

    def _send_link(self, path: bytes) -> None:
        target = bytearray()
        try:
            while True:
                kind, data = self._next_data()
                if kind == ID_DONE:
                    break
                target += data
                if len(target) > PATH_MAX:
                    self._drain_then_fail("symlink target too long")
        except EOFError:
            raise Fatal from None
        temp = self._temp_name(path)
        try:
            os.symlink(bytes(target).rstrip(b"\0"), temp)
            try:
                os.utime(temp, (self._mtime, self._mtime), follow_symlinks=False)
                os.rename(temp, path)
            except OSError:
                os.unlink(temp)
                raise
        except OSError as exc:
            self._fail(f"symlink failed: {os.strerror(exc.errno or errno.EIO)}")
            raise Fatal from None
        self._write(_REQUEST.pack(ID_OKAY, 0))

    # -- recv --------------------------------------------------------------------

    def _recv(self, path: bytes) -> None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            self._fail(f"open failed: {os.strerror(exc.errno or errno.EIO)}")
            raise Fatal from None
        with io.FileIO(fd, "rb", closefd=True) as f:
            while True:
                try:
                    data = f.read(SYNC_DATA_MAX)
                except OSError as exc:
                    self._fail(f"read failed: {os.strerror(exc.errno or errno.EIO)}")
                    raise Fatal from None
                if not data:
                    break
                self._write(_REQUEST.pack(ID_DATA, len(data)) + data)
        self._write(_REQUEST.pack(ID_DONE, 0))


def strtoul(text: bytes) -> int:
    """C strtoul(text, nullptr, 0): 0x.. hex, 0.. octal, else decimal; parsing
    stops at the first bad digit and nothing valid gives 0."""
    s = text.strip().lower()
    base = 10
    if s.startswith(b"0x"):
        base, s = 16, s[2:]
    elif s.startswith(b"0") and len(s) > 1:
        base, s = 8, s[1:]
    digits = b"0123456789abcdef"[:base]
    value = 0
    for ch in s:
        index = digits.find(bytes([ch]))
        if index < 0:
            break
        value = value * base + index
    return value & 0xFFFFFFFF


def main() -> NoReturn:
    with open(0, "rb", buffering=1024 * 1024, closefd=False) as inp:
        try:
            code = SyncServer(inp, 1).serve()
        except BrokenPipeError:
            code = 0  # the stream is gone; nothing left to tell anyone
    sys.exit(code)


if __name__ == "__main__":
    main()
