"""ADB transport messages: the 24-byte header, command constants, pack/parse.

Everything here is pure (no I/O) so it can be unit tested byte for byte.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

A_CNXN = 0x4E584E43
A_AUTH = 0x48545541
A_OPEN = 0x4E45504F
A_OKAY = 0x59414B4F
A_WRTE = 0x45545257
A_CLSE = 0x45534C43
A_SYNC = 0x434E5953
A_STLS = 0x534C5453

COMMAND_NAMES = {
    A_CNXN: "CNXN",
    A_AUTH: "AUTH",
    A_OPEN: "OPEN",
    A_OKAY: "OKAY",
    A_WRTE: "WRTE",
    A_CLSE: "CLSE",
    A_SYNC: "SYNC",
    A_STLS: "STLS",
}

A_VERSION_MIN = 0x01000000
A_VERSION_SKIP_CHECKSUM = 0x01000001
A_VERSION = A_VERSION_SKIP_CHECKSUM

MAX_PAYLOAD_V1 = 4096
MAX_PAYLOAD = 1024 * 1024
# CNXN and AUTH travel before maxdata is negotiated, so they are capped at v1 size.
MAX_HANDSHAKE_PAYLOAD = MAX_PAYLOAD_V1

AUTH_TOKEN = 1
AUTH_SIGNATURE = 2
AUTH_RSAPUBLICKEY = 3

HEADER = struct.Struct("<6I")
HEADER_SIZE = HEADER.size  # 24


class PacketError(ValueError):
    """A header that a real adbd would answer by dropping the connection."""


@dataclass(frozen=True)
class Packet:
    command: int
    arg0: int
    arg1: int
    data: bytes = b""

    @property
    def name(self) -> str:
        return COMMAND_NAMES.get(self.command, f"{self.command:08x}")

    def __repr__(self) -> str:  # payloads can be megabytes: show their size only
        return f"Packet({self.name}, {self.arg0}, {self.arg1}, {len(self.data)} bytes)"


@dataclass(frozen=True)
class Header:
    command: int
    arg0: int
    arg1: int
    data_length: int
    data_check: int


def checksum(data: bytes) -> int:
    """ADB's "data_check": the byte sum mod 2**32 (not a CRC)."""
    return sum(data) & 0xFFFFFFFF


def pack(packet: Packet, *, with_checksum: bool = False) -> bytes:
    """Header plus payload. The device negotiates SKIP_CHECKSUM, so the sum is 0
    unless the caller talks to a pre-2018 peer."""
    check = checksum(packet.data) if with_checksum else 0
    header = HEADER.pack(
        packet.command,
        packet.arg0,
        packet.arg1,
        len(packet.data),
        check,
        packet.command ^ 0xFFFFFFFF,
    )
    return header + packet.data


def parse_header(raw: bytes, max_payload: int) -> Header:
    """Validate a header as adbd's check_header does; raise PacketError if bad."""
    if len(raw) != HEADER_SIZE:
        raise PacketError(f"short header: {len(raw)} bytes")
    command, arg0, arg1, length, check, magic = HEADER.unpack(raw)
    if magic != command ^ 0xFFFFFFFF:
        raise PacketError(f"bad magic {magic:08x} for command {command:08x}")
    if length > max_payload:
        raise PacketError(f"payload of {length} bytes is over the limit {max_payload}")
    return Header(command, arg0, arg1, length, check)


def device_banner(product_name: str, model: str, device: str, features: tuple[str, ...]) -> bytes:
    """The CNXN payload adbd sends; the serial stays empty (TCP transports are
    named after the dialled address)."""
    for value in (product_name, model, device):
        if any(c in value for c in "=;:"):
            raise ValueError(f"banner value {value!r} must not contain '=', ';' or ':'")
    props = (
        f"ro.product.name={product_name};ro.product.model={model};"
        f"ro.product.device={device};features={','.join(features)}"
    )
    banner = f"device::{props}".encode()
    if len(banner) > MAX_HANDSHAKE_PAYLOAD:
        raise ValueError("CNXN banner is longer than 4096 bytes")
    return banner


DEVICE_FEATURES: tuple[str, ...] = (
    "shell_v2",
    "cmd",
    "stat_v2",
    "ls_v2",
    "fixed_push_mkdir",
    "fixed_push_symlink_timestamp",
)
