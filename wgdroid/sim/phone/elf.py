"""The host's ELF programs made to load the way an Android program does (a
pure unit): their dynamic linker at /system/bin/linker64, Android's path for
it (bionic/linker: every Android executable's PT_INTERP), instead of the
glibc path /lib64/ld-linux-x86-64.so.2 that needs a /lib64 Android lacks.

Only the PT_INTERP string changes, in place: the new path is shorter, so it
is padded with NULs inside the segment (the kernel reads p_filesz bytes and
wants them NUL-terminated: fs/binfmt_elf.c load_elf_binary).
"""

from __future__ import annotations

import os
import shutil
import struct

ANDROID_LINKER = "/system/bin/linker64"
PT_INTERP = 3
_ELF64_LE = b"\x7fELF\x02\x01"


def _interp_span(data: bytes | bytearray) -> tuple[int, int] | None:
    """(offset, size) of a 64-bit little-endian ELF's PT_INTERP, if it has one."""
    if not data.startswith(_ELF64_LE) or len(data) < 64:
        return None
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        at = phoff + i * phentsize
        if at + 56 > len(data):
            return None
        (ptype,) = struct.unpack_from("<I", data, at)
        if ptype == PT_INTERP:
            offset, size = struct.unpack_from("<Q", data, at + 8)[0], struct.unpack_from(
                "<Q", data, at + 32)[0]
            return (offset, size) if offset + size <= len(data) else None
    return None


def interpreter(data: bytes | bytearray) -> str | None:
    """The program's dynamic linker (PT_INTERP), or None (static, a script, not ELF64)."""
    span = _interp_span(data)
    if span is None:
        return None
    offset, size = span
    return bytes(data[offset : offset + size]).split(b"\0", 1)[0].decode(errors="replace")


def with_interpreter(data: bytes, interp: str = ANDROID_LINKER) -> bytes:
    """DATA with its PT_INTERP set to INTERP (unchanged if it has none)."""
    span = _interp_span(data)
    if span is None:
        return data
    offset, size = span
    new = interp.encode()
    if len(new) + 1 > size:
        raise ValueError(f"{interp} does not fit in a PT_INTERP of {size} bytes")
    out = bytearray(data)
    out[offset : offset + size] = new + b"\0" * (size - len(new))
    return bytes(out)


def replace_cstring(data: bytes, old: str, new: str) -> bytes:
    """Every NUL-terminated OLD in DATA made NEW (no longer than OLD, NUL-padded):
    a path compiled into a library."""
    if len(new) > len(old):
        raise ValueError(f"{new} is longer than {old}")
    pattern = old.encode() + b"\0"
    return data.replace(pattern, new.encode() + b"\0" * (len(old) - len(new) + 1))


def copy_for_phone(src: str, dst: str) -> None:
    """SRC copied to DST (mode kept) with Android's dynamic linker if it has one."""
    with open(src, "rb") as f:
        data = f.read()
    with open(dst, "wb") as f:
        f.write(with_interpreter(data))
    shutil.copymode(src, dst)
    os.chmod(dst, os.stat(src).st_mode & 0o7777)
