"""ADB public-key authentication, device side (A29 daemon/auth.cpp).

Host keys travel in Android's RSAPublicKey format (524 bytes, base64, as in
~/.android/adbkey.pub). The host signs our 20-byte token as if it were a
SHA-1 digest (PKCS#1 v1.5, no hashing of its own).
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

TOKEN_SIZE = 20
_WORDS = 64  # 2048-bit modulus in u32 words
ANDROID_PUBKEY_SIZE = 4 + 4 + 4 * _WORDS + 4 * _WORDS + 4  # 524


class KeyFormatError(ValueError):
    pass


def new_token() -> bytes:
    return os.urandom(TOKEN_SIZE)


def key_blob(key: str | bytes) -> bytes:
    """The base64 field of an adbkey.pub line (or of an RSAPUBLICKEY payload),
    decoded; the "user@host" comment and a trailing NUL are dropped."""
    if isinstance(key, bytes):
        key = key.rstrip(b"\0").decode("ascii", "replace")
    fields = key.strip().split()
    if not fields:
        raise KeyFormatError("empty public key")
    try:
        blob = base64.b64decode(fields[0], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyFormatError("public key is not base64") from exc
    if len(blob) != ANDROID_PUBKEY_SIZE:
        raise KeyFormatError(f"public key is {len(blob)} bytes, expected {ANDROID_PUBKEY_SIZE}")
    return blob


def decode_android_pubkey(blob: bytes) -> rsa.RSAPublicKey:
    (words,) = struct.unpack_from("<I", blob, 0)
    if words != _WORDS:
        raise KeyFormatError(f"public key has {words} modulus words, expected {_WORDS}")
    modulus = int.from_bytes(blob[8 : 8 + 4 * _WORDS], "little")
    (exponent,) = struct.unpack_from("<I", blob, 8 + 8 * _WORDS)
    try:
        return rsa.RSAPublicNumbers(exponent, modulus).public_key()
    except ValueError as exc:
        raise KeyFormatError(f"invalid RSA public key: {exc}") from exc


def verify_signature(key: rsa.RSAPublicKey, token: bytes, signature: bytes) -> bool:
    try:
        key.verify(signature, token, padding.PKCS1v15(), utils.Prehashed(hashes.SHA1()))
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass
class AuthPolicy:
    """Whether the device asks for a key, and which host keys it trusts.

    `allowed_keys` holds adbkey.pub lines (or just their base64). A host whose
    key is not listed stays "unauthorized" until `AdbDeviceServer.allow_key`
    or `allow_pending` is called (the user tapping "Allow")."""

    allowed_keys: list[str] = field(default_factory=list)
    required: bool = True

    def __post_init__(self) -> None:
        self._blobs: list[bytes] = []
        for key in self.allowed_keys:
            self.allow(key)

    def allow(self, key: str | bytes) -> bytes:
        blob = key_blob(key)
        decode_android_pubkey(blob)  # refuse a malformed key now, not at login
        if blob not in self._blobs:
            self._blobs.append(blob)
        return blob

    def is_allowed(self, blob: bytes) -> bool:
        return blob in self._blobs

    def accepts(self, token: bytes, signature: bytes) -> bool:
        """Whether any allowed key made this signature over the token."""
        return any(
            verify_signature(decode_android_pubkey(blob), token, signature) for blob in self._blobs
        )
