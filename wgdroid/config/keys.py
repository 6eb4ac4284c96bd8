"""WireGuard keys: Curve25519 via `cryptography`, base64 exactly as wg(8) wants it.

A key is 32 bytes, written as 44 characters of standard base64 ending in `=`,
with the unused low bits of the last character zero (wireguard-tools'
key_from_base64). Messages never include the key text itself.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from wgdroid.errors import KeyFormatError

KEY_LEN = 32
B64_LEN = 44
_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def decode(text: str) -> bytes:
    """Decode a base64 key, rejecting anything wg would reject."""
    if len(text) != B64_LEN or text[-1] != "=":
        raise KeyFormatError("must be 44 base64 characters (32 bytes) ending in '='")
    if not set(text[:-1]) <= _B64_ALPHABET:
        raise KeyFormatError("has characters that are not base64")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise KeyFormatError("is not valid base64") from None
    if encode(raw) != text:  # the last character carries 2 bits that must be zero
        raise KeyFormatError("is not canonical base64 (low bits of the last character set)")
    return raw


def encode(raw: bytes) -> str:
    if len(raw) != KEY_LEN:
        raise KeyFormatError(f"must be {KEY_LEN} bytes")
    return base64.b64encode(raw).decode("ascii")


def decode_hex(text: str) -> bytes:
    """Keys in UAPI form: 64 hex digits, any case."""
    if len(text) != 2 * KEY_LEN:
        raise KeyFormatError("must be 64 hex digits")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise KeyFormatError("is not hexadecimal") from None


def clamp(raw: bytes) -> bytes:
    b = bytearray(raw)
    b[0] &= 248
    b[31] = (b[31] & 127) | 64
    return bytes(b)


def generate_private_raw() -> bytes:
    return clamp(os.urandom(KEY_LEN))


def public_raw(private: bytes) -> bytes:
    # X25519 clamps internally, so an unclamped private key gives wg's answer too.
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()


def genkey() -> str:
    return encode(generate_private_raw())


def genpsk() -> str:
    return encode(os.urandom(KEY_LEN))


def pubkey(private_b64: str) -> str:
    return encode(public_raw(decode(private_b64)))


def equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)
