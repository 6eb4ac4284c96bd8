"""Shell protocol v2 framing: `[id u8][len u32 LE][payload]`.

Packets may be split across WRTEs and several may share one, so the parser is
incremental: feed it bytes, take whole packets out.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

ID_STDIN = 0
ID_STDOUT = 1
ID_STDERR = 2
ID_EXIT = 3
ID_CLOSE_STDIN = 4
ID_WINDOW_SIZE = 5
ID_INVALID = 255

_HEADER = struct.Struct("<BI")
HEADER_SIZE = _HEADER.size  # 5


class ShellProtocolError(ValueError):
    pass


def pack(packet_id: int, payload: bytes = b"") -> bytes:
    return _HEADER.pack(packet_id, len(payload)) + payload


def pack_exit(status: int) -> bytes:
    return pack(ID_EXIT, bytes([status & 0xFF]))


@dataclass(frozen=True)
class WindowSize:
    rows: int
    cols: int
    xpixels: int
    ypixels: int


def parse_window_size(payload: bytes) -> WindowSize:
    """`<rows>x<cols>,<xpix>x<ypix>` with a trailing NUL, e.g. b"24x80,0x0\\0"."""
    text = payload.rstrip(b"\0").decode("ascii", "replace")
    try:
        chars, pixels = text.split(",", 1)
        rows, cols = (int(v) for v in chars.split("x", 1))
        xpix, ypix = (int(v) for v in pixels.split("x", 1))
    except ValueError as exc:
        raise ShellProtocolError(f"bad window size {text!r}") from exc
    if not all(0 <= v <= 0xFFFF for v in (rows, cols, xpix, ypix)):
        raise ShellProtocolError(f"window size out of range: {text!r}")
    return WindowSize(rows, cols, xpix, ypix)


class ShellParser:
    """Incremental v2 parser with a bounded buffer."""

    def __init__(self, max_packet: int) -> None:
        self._buf = bytearray()
        self._max_packet = max_packet

    def feed(self, data: bytes) -> Iterator[tuple[int, bytes]]:
        self._buf += data
        while len(self._buf) >= HEADER_SIZE:
            packet_id, length = _HEADER.unpack_from(self._buf)
            if length > self._max_packet:
                raise ShellProtocolError(f"shell packet of {length} bytes is too large")
            end = HEADER_SIZE + length
            if len(self._buf) < end:
                break
            payload = bytes(self._buf[HEADER_SIZE:end])
            del self._buf[:end]
            yield packet_id, payload

    @property
    def pending(self) -> int:
        return len(self._buf)
