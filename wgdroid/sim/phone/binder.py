"""Binder parcels as `service call` writes them and an AIDL stub reads them
(a pure unit, stdlib only).

Modelled on frameworks/native: cmds/service/service.cpp (main: each `i32 N`,
`i64 N`, `s16 STR`, `null` argument written in order after the interface
token), libs/binder/Parcel.cpp (writeInt32: 4 bytes little-endian;
writeString16: int32 length in UTF-16 units, the units, a NUL unit, padded
to 4 bytes; -1 for a null string; readString16Vector: int32 count or -1),
libs/binder/Status.cpp (writeToParcel: int32 exception code, then for an
exception the message String16, an int32 0 stack-trace header, and for
EX_SERVICE_SPECIFIC the int32 error code), and Parcel::print through
TextOutput's HexDump for what `service call` prints ("Result: Parcel(...)").

A parcelable argument (AIDL `in Parcelable p`) is an int32 1 (non-null), then
the parcelable: an int32 size counted from the size field itself, its fields
in declaration order; a reader stops at the end given by the size, so a
sender may leave trailing fields out (they keep their defaults).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

EX_NONE = 0
EX_SECURITY = -1
EX_BAD_PARCELABLE = -2
EX_ILLEGAL_ARGUMENT = -3
EX_NULL_POINTER = -4
EX_UNSUPPORTED_OPERATION = -7
EX_SERVICE_SPECIFIC = -8
UNKNOWN_TRANSACTION = -74  # status_t: `service call` then prints an empty reply


class ParcelError(Exception):
    """A read past the end or a malformed value (status_t BAD_VALUE / NOT_ENOUGH_DATA)."""


def _pad4(n: int) -> int:
    return (n + 3) & ~3


@dataclass
class Parcel:
    data: bytearray = field(default_factory=bytearray)
    pos: int = 0

    # -- writing -------------------------------------------------------------
    def write_int32(self, value: int) -> None:
        self.data += struct.pack("<i", _wrap32(value))

    def write_int64(self, value: int) -> None:
        self.data += struct.pack("<q", value)

    def write_string16(self, value: str | None) -> None:
        if value is None:
            self.write_int32(-1)
            return
        units = value.encode("utf-16-le")
        self.write_int32(len(units) // 2)
        body = units + b"\0\0"
        self.data += body + b"\0" * (_pad4(len(body)) - len(body))

    # -- reading -------------------------------------------------------------
    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ParcelError("Not enough data")
        chunk = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return chunk

    def read_int32(self) -> int:
        value: int = struct.unpack("<i", self._take(4))[0]
        return value

    def read_bool(self) -> bool:
        return self.read_int32() != 0

    def read_string16(self) -> str | None:
        length = self.read_int32()
        if length == -1:
            return None
        if length < 0 or length > (len(self.data) - self.pos) // 2:
            raise ParcelError("Bad string length")
        raw = self._take(_pad4((length + 1) * 2))
        if raw[length * 2 : length * 2 + 2] != b"\0\0":
            raise ParcelError("String not terminated")
        return raw[: length * 2].decode("utf-16-le", errors="replace")

    def read_string16_list(self) -> list[str] | None:
        count = self.read_int32()
        if count == -1:
            return None
        if count < 0 or count > (len(self.data) - self.pos) // 4:
            raise ParcelError("Bad array length")
        out = []
        for _ in range(count):
            item = self.read_string16()
            if item is None:
                raise ParcelError("null string in a non-null array")
            out.append(item)
        return out

    def read_int32_list(self) -> list[int] | None:
        count = self.read_int32()
        if count == -1:
            return None
        if count < 0 or count > (len(self.data) - self.pos) // 4:
            raise ParcelError("Bad array length")
        return [self.read_int32() for _ in range(count)]


def _wrap32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def from_service_args(args: list[str]) -> Parcel:
    """The body `service call SERVICE CODE ARGS...` writes after the interface
    token (service.cpp: atoi for i32, atoll for i64). Raises ValueError with
    service's own message for what it refuses."""
    parcel = Parcel()
    i = 0
    while i < len(args):
        kind = args[i]
        if kind in ("i32", "i64", "s16", "f", "d"):
            if i + 1 >= len(args):
                noun = {"s16": "string", "f": "number", "d": "number"}.get(kind, "integer")
                raise ValueError(f"service: no {noun} supplied for '{kind}'")
            value = args[i + 1]
            if kind == "i32":
                parcel.write_int32(_atoi(value))
            elif kind == "i64":
                parcel.write_int64(_atoi(value))
            elif kind == "s16":
                parcel.write_string16(value)
            else:  # floats: not used by any service we model
                parcel.data += struct.pack("<f" if kind == "f" else "<d", _atof(value))
            i += 2
        elif kind == "null":
            # writeStrongBinder(nullptr): a flat_binder_object of type BINDER_TYPE_BINDER, 0.
            parcel.data += struct.pack("<IIQQ", 0x73622A85, 0, 0, 0)
            i += 1
        else:
            raise ValueError(f"service: unknown option {kind}")
    return parcel


def _atoi(text: str) -> int:
    """C atoi: leading blanks, optional sign, digits; anything else stops it."""
    text = text.lstrip(" \t\n")
    sign, j = 1, 0
    if text[:1] in "+-" and text[:1]:
        sign = -1 if text[0] == "-" else 1
        j = 1
    digits = ""
    while j < len(text) and text[j].isdigit():
        digits += text[j]
        j += 1
    return sign * int(digits) if digits else 0


def _atof(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def reply_ok() -> Parcel:
    p = Parcel()
    p.write_int32(EX_NONE)
    return p


def reply_exception(code: int, message: str, service_error: int = 0) -> Parcel:
    p = Parcel()
    p.write_int32(code)
    p.write_string16(message)
    p.write_int32(0)  # empty remote stack trace header
    if code == EX_SERVICE_SPECIFIC:
        p.write_int32(service_error)
    return p


def print_parcel(p: Parcel | None) -> str:
    """What `service call` prints for a reply: `Parcel(...)` with a hex dump
    of 32-bit words and their bytes as text ('.' for the unprintable)."""
    if p is None or not p.data:
        return "Parcel(NULL)"
    data = bytes(p.data)
    lines = []
    for off in range(0, len(data), 16):
        chunk = data[off : off + 16]
        words = " ".join(
            f"{struct.unpack('<I', chunk[i:i + 4].ljust(4, b'0'))[0]:08x}"
            for i in range(0, len(chunk), 4))
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append((words, text))
    if len(lines) == 1:
        return f"Parcel({lines[0][0]:<35} '{lines[0][1]}')"
    body = "\n".join(f"  0x{i * 16:08x}: {w:<35} '{t}'" for i, (w, t) in enumerate(lines))
    return f"Parcel(\n{body})"
