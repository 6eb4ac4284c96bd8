"""Cryptographic primitives of WireGuard: BLAKE2s hash/MAC/HMAC, the HKDF-style
KDF, ChaCha20-Poly1305, X25519 and XChaCha20-Poly1305 (built from HChaCha20)."""

from __future__ import annotations

import hashlib
import hmac as _hmac
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher as _RawCipher
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from wgdroid.userspace.core.constants import CONSTRUCTION, IDENTIFIER, KEY_LEN

_ZERO_NONCE = bytes(12)
_ZERO_KEY = bytes(KEY_LEN)


def hash_(*parts: bytes) -> bytes:
    """HASH(a ‖ b ‖ ...) = BLAKE2s-256."""
    h = hashlib.blake2s()
    for p in parts:
        h.update(p)
    return h.digest()


def mac(key: bytes, data: bytes) -> bytes:
    """MAC(key, data) = keyed BLAKE2s with a 16-byte digest (mac1, mac2, cookies)."""
    return hashlib.blake2s(data, key=key, digest_size=16).digest()


def hmac_(key: bytes, data: bytes) -> bytes:
    """HMAC-BLAKE2s (RFC 2104 over BLAKE2s-256)."""
    return _hmac.new(key, data, hashlib.blake2s).digest()


def kdf1(key: bytes, data: bytes) -> bytes:
    prk = hmac_(key, data)
    return hmac_(prk, b"\x01")


def kdf2(key: bytes, data: bytes) -> tuple[bytes, bytes]:
    prk = hmac_(key, data)
    t1 = hmac_(prk, b"\x01")
    return t1, hmac_(prk, t1 + b"\x02")


def kdf3(key: bytes, data: bytes) -> tuple[bytes, bytes, bytes]:
    prk = hmac_(key, data)
    t1 = hmac_(prk, b"\x01")
    t2 = hmac_(prk, t1 + b"\x02")
    return t1, t2, hmac_(prk, t2 + b"\x03")


INITIAL_CHAIN_KEY = hash_(CONSTRUCTION)
INITIAL_HASH = hash_(INITIAL_CHAIN_KEY, IDENTIFIER)


def aead_encrypt(key: bytes, plaintext: bytes, ad: bytes) -> bytes:
    """Handshake AEAD: ChaCha20-Poly1305 with counter 0 (every key is used once)."""
    return ChaCha20Poly1305(key).encrypt(_ZERO_NONCE, plaintext, ad)


def aead_decrypt(key: bytes, ciphertext: bytes, ad: bytes) -> bytes | None:
    try:
        return ChaCha20Poly1305(key).decrypt(_ZERO_NONCE, ciphertext, ad)
    except InvalidTag:
        return None


class StaticKey:
    """A private X25519 key with its public half, parsed once. Never in a repr."""

    __slots__ = ("_key", "private", "public")

    def __init__(self, private: bytes) -> None:
        self.private = private
        self._key = X25519PrivateKey.from_private_bytes(private)
        self.public = self._key.public_key().public_bytes_raw()

    def dh(self, public: bytes) -> bytes | None:
        """X25519(self, public); None when the result is all zero (a low-order point:
        pyca raises ValueError) or the public key is malformed."""
        try:
            shared = self._key.exchange(X25519PublicKey.from_public_bytes(public))
        except ValueError:
            return None
        return None if shared == _ZERO_KEY else shared

    def __repr__(self) -> str:
        return "StaticKey(<private>)"


# --- XChaCha20-Poly1305 (cookie replies) -----------------------------------

_SIGMA = struct.unpack("<4I", b"expand 32-byte k")
_ZERO_BLOCK = bytes(64)


def hchacha20(key: bytes, nonce16: bytes) -> bytes:
    """HChaCha20 from pyca's raw ChaCha20 keystream.

    pyca's ChaCha20 takes a 16-byte "nonce" that fills state words 12..15, and
    its first keystream block is rounds(state) + state. HChaCha20 is rounds(state)
    words 0..3 and 12..15, so subtract the constant and input words back out.
    """
    block = _RawCipher(algorithms.ChaCha20(key, nonce16), mode=None).encryptor().update(_ZERO_BLOCK)
    w = struct.unpack("<16I", block)
    n = struct.unpack("<4I", nonce16)
    out = [(w[i] - _SIGMA[i]) & 0xFFFFFFFF for i in range(4)]
    out += [(w[12 + i] - n[i]) & 0xFFFFFFFF for i in range(4)]
    return struct.pack("<8I", *out)


def xaead_encrypt(key: bytes, nonce24: bytes, plaintext: bytes, ad: bytes) -> bytes:
    sub = hchacha20(key, nonce24[:16])
    return ChaCha20Poly1305(sub).encrypt(b"\x00" * 4 + nonce24[16:], plaintext, ad)


def xaead_decrypt(key: bytes, nonce24: bytes, ciphertext: bytes, ad: bytes) -> bytes | None:
    sub = hchacha20(key, nonce24[:16])
    try:
        return ChaCha20Poly1305(sub).decrypt(b"\x00" * 4 + nonce24[16:], ciphertext, ad)
    except InvalidTag:
        return None
