"""Wire formats of the four WireGuard messages (messages.h), little-endian."""

from __future__ import annotations

import struct
from typing import NamedTuple

from wgdroid.userspace.core.constants import (
    COOKIE_REPLY_LEN,
    INITIATION_LEN,
    MSG_COOKIE_REPLY,
    MSG_INITIATION,
    MSG_RESPONSE,
    RESPONSE_LEN,
)

# type (u8 + 3 reserved zero bytes, read as one u32 so non-zero padding is rejected)
INITIATION = struct.Struct("<II32s48s28s16s16s")
RESPONSE = struct.Struct("<III32s16s16s16s")
COOKIE_REPLY = struct.Struct("<II24s32s")
assert INITIATION.size == INITIATION_LEN
assert RESPONSE.size == RESPONSE_LEN
assert COOKIE_REPLY.size == COOKIE_REPLY_LEN

# mac1 covers everything before it; mac2 everything before mac2.
MAC1_OFFSET = {MSG_INITIATION: INITIATION_LEN - 32, MSG_RESPONSE: RESPONSE_LEN - 32}
MAC2_OFFSET = {MSG_INITIATION: INITIATION_LEN - 16, MSG_RESPONSE: RESPONSE_LEN - 16}
EXPECTED_LEN = {
    MSG_INITIATION: INITIATION_LEN,
    MSG_RESPONSE: RESPONSE_LEN,
    MSG_COOKIE_REPLY: COOKIE_REPLY_LEN,
}


class Initiation(NamedTuple):
    sender_index: int
    ephemeral: bytes
    encrypted_static: bytes
    encrypted_timestamp: bytes


class Response(NamedTuple):
    sender_index: int
    receiver_index: int
    ephemeral: bytes
    encrypted_nothing: bytes


class CookieReply(NamedTuple):
    receiver_index: int
    nonce: bytes
    encrypted_cookie: bytes


def pack_initiation(m: Initiation) -> bytearray:
    """The message with mac1 and mac2 zeroed (cookie.add_macs fills them)."""
    out = bytearray(INITIATION_LEN)
    INITIATION.pack_into(out, 0, MSG_INITIATION, *m, bytes(16), bytes(16))
    return out


def unpack_initiation(data: bytes) -> Initiation:
    _t, idx, eph, st, ts, _m1, _m2 = INITIATION.unpack(data)
    return Initiation(idx, eph, st, ts)


def pack_response(m: Response) -> bytearray:
    out = bytearray(RESPONSE_LEN)
    RESPONSE.pack_into(out, 0, MSG_RESPONSE, *m, bytes(16), bytes(16))
    return out


def unpack_response(data: bytes) -> Response:
    _t, sidx, ridx, eph, empty, _m1, _m2 = RESPONSE.unpack(data)
    return Response(sidx, ridx, eph, empty)


def pack_cookie_reply(m: CookieReply) -> bytes:
    return COOKIE_REPLY.pack(MSG_COOKIE_REPLY, *m)


def unpack_cookie_reply(data: bytes) -> CookieReply:
    _t, ridx, nonce, enc = COOKIE_REPLY.unpack(data)
    return CookieReply(ridx, nonce, enc)
