"""The optional compiled fast path (`wgaccel.c`, `express.c`), loaded through ctypes when built.

`load()` returns a `Library` if `_wgaccel.so` was built beside this file (or
`WGDROID_ACCEL` names one), else None: the phone has only python3 and
cryptography, and the data plane then runs the pure-Python kernels in
`wgdroid.userspace.kernels`, which do the same work. `WGDROID_ACCEL=0` turns the
library off. ctypes releases the GIL for every call, so crypto workers in threads
run the compiled kernels on all cores at once.

Build it on a workstation with `python -m wgdroid.userspace.accel build` (cc and
OpenSSL's headers; `scripts/setup` does it).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = (HERE / "wgaccel.c", HERE / "express.c")
LIBRARY = HERE / "_wgaccel.so"

c_u8p = ctypes.c_void_p  # raw addresses: bytes via c_char_p, buffers via their address

ERRORS = {-1: "malformed packet", -2: "output buffer too small", -3: "crypto failure"}


class Library:
    """The loaded shared object with typed entry points (see wgaccel.c)."""

    def __init__(self, path: Path) -> None:
        lib = ctypes.CDLL(str(path))  # CDLL: the GIL is released during each call
        self.path = path
        self.csum = lib.wg_csum
        self.csum.restype = ctypes.c_uint32
        self.csum.argtypes = [c_u8p, ctypes.c_size_t, ctypes.c_uint32]
        self.seal = lib.wg_seal
        self.seal.restype = ctypes.c_long
        self.seal.argtypes = [
            ctypes.c_char_p, ctypes.c_uint32, ctypes.c_uint64,  # key, receiver, counter
            c_u8p, ctypes.c_size_t,  # packet, length
            ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,  # vnet hdr
            ctypes.c_int,  # mtu
            c_u8p, ctypes.c_size_t, c_u8p, ctypes.c_int,  # out, cap, sizes, max segments
            ctypes.c_int, ctypes.c_int,  # first segment, segment count
        ]
        self.open = lib.wg_open
        self.open.restype = ctypes.c_long
        self.open.argtypes = [ctypes.c_char_p, c_u8p, c_u8p, c_u8p, ctypes.c_long, c_u8p, c_u8p]
        self.tun_write = lib.wg_tun_write
        self.tun_write.restype = ctypes.c_long
        self.tun_write.argtypes = [ctypes.c_int, c_u8p, c_u8p, c_u8p, ctypes.c_long]
        # A whole unit from its work description (kernels.encode_work), buffer
        # indices resolved through the packet memory's table (base, starts, sizes, n).
        self.run = lib.wg_run
        self.run.restype = ctypes.c_long
        self.run.argtypes = [c_u8p, c_u8p, c_u8p, ctypes.c_uint32,  # memory table
                             ctypes.c_char_p, ctypes.c_size_t, c_u8p, ctypes.c_long]
        # Many UDP reads in one call (wgaccel.c wg_udp_recv; udp.BatchReceiver).
        self.udp_recv = lib.wg_udp_recv
        self.udp_recv.restype = ctypes.c_long
        self.udp_recv.argtypes = [ctypes.c_int, c_u8p, ctypes.c_size_t, ctypes.c_size_t,
                                  ctypes.c_size_t, ctypes.c_long, c_u8p, c_u8p, c_u8p, c_u8p,
                                  c_u8p, c_u8p, c_u8p, c_u8p]
        # The pool of C threads (wgaccel.c wg_pool_*): the GIL is never taken there.
        self.pool_new = lib.wg_pool_new
        self.pool_new.restype = ctypes.c_void_p
        self.pool_new.argtypes = [ctypes.c_int, c_u8p, c_u8p, c_u8p, ctypes.c_uint32,
                                  ctypes.c_int, c_u8p, c_u8p, ctypes.c_long, ctypes.c_int,
                                  ctypes.c_int]
        self.pool_submit = lib.wg_pool_submit
        self.pool_submit.restype = ctypes.c_int
        self.pool_submit.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p,
                                     ctypes.c_size_t]
        self.pool_done = lib.wg_pool_done
        self.pool_done.restype = ctypes.c_long
        self.pool_done.argtypes = [ctypes.c_void_p, c_u8p, ctypes.c_long]
        self.pool_free = lib.wg_pool_free
        self.pool_free.restype = None
        self.pool_free.argtypes = [ctypes.c_void_p]
        # The lone-packet path (express.c; express.py owns the state it is given).
        self.express_run = lib.wg_express_run
        self.express_run.restype = ctypes.c_long
        self.express_run.argtypes = [ctypes.c_void_p, ctypes.c_int]
        self.express_layout = lib.wg_express_layout
        self.express_layout.restype = ctypes.c_long
        self.express_layout.argtypes = [c_u8p, ctypes.c_long]


_loaded: Library | None = None
_tried = False


def load() -> Library | None:
    """The compiled library, or None (not built, disabled, or fails to load)."""
    global _loaded, _tried
    if _tried:
        return _loaded
    _tried = True
    choice = os.environ.get("WGDROID_ACCEL", "")
    if choice == "0":
        return None
    path = Path(choice) if choice not in ("", "1") else LIBRARY
    try:
        _loaded = Library(path)
    except (OSError, AttributeError):
        _loaded = None
        if choice not in ("", "1"):
            raise  # asked for by name: say why it failed
    return _loaded


def address(buf: bytearray) -> int:
    """The address of a bytearray's storage (stable while it is not resized)."""
    return ctypes.addressof(ctypes.c_char.from_buffer(buf))


def build(out: Path = LIBRARY, cc: str | None = None) -> Path:
    """Compile the C sources into `out`; raises RuntimeError with the compiler's message."""
    compiler = cc or os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise RuntimeError("no C compiler (install gcc)")
    tmp = out.with_name(out.name + f".{os.getpid()}.tmp")
    cmd = [compiler, "-O2", "-fPIC", "-shared", "-Wall", "-Werror", "-o", str(tmp),
           *map(str, SOURCES), "-lcrypto", "-pthread"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"{' '.join(cmd)} failed: {res.stderr.strip()}")
    os.replace(tmp, out)  # atomic: a running daemon keeps its mapped copy
    return out


def main(argv: list[str]) -> int:
    if argv[:1] != ["build"]:
        sys.stderr.write("usage: python -m wgdroid.userspace.accel build\n")
        return 2
    try:
        path = build()
    except RuntimeError as e:
        sys.stderr.write(f"wgaccel: {e}\n")
        return 1
    sys.stdout.write(f"{path}\n")
    return 0
