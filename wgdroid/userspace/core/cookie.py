"""mac1/mac2 and cookie replies: the DoS defence (cookie.c, device/cookie.go).

`CookieChecker` is the device side (checks macs on what we receive, makes
cookies and cookie replies); `CookieGenerator` is per peer (adds macs to what we
send, consumes the cookie replies that peer sends us).
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import ip_address

from wgdroid.userspace.core.actions import Endpoint
from wgdroid.userspace.core.constants import (
    COOKIE_NONCE_LEN,
    COOKIE_SECRET_LATENCY,
    COOKIE_SECRET_MAX_AGE,
    LABEL_COOKIE,
    LABEL_MAC1,
)
from wgdroid.userspace.core.messages import (
    MAC1_OFFSET,
    MAC2_OFFSET,
    CookieReply,
    pack_cookie_reply,
)
from wgdroid.userspace.core.primitives import hash_, mac, xaead_decrypt, xaead_encrypt

_ZERO_MAC = bytes(16)


def mac1_key(public_key: bytes) -> bytes:
    return hash_(LABEL_MAC1, public_key)


def cookie_key(public_key: bytes) -> bytes:
    return hash_(LABEL_COOKIE, public_key)


def _source_bytes(src: Endpoint) -> bytes:
    # Only we ever check our cookies, so any injective encoding works: ip ‖ port (BE).
    return ip_address(src[0]).packed + src[1].to_bytes(2, "big")


class CookieChecker:
    """Device side. Keys are set from our public key (None = no private key)."""

    def __init__(self, rng: Callable[[int], bytes]) -> None:
        self._rng = rng
        self.mac1_key: bytes | None = None
        self.cookie_key: bytes | None = None
        self._secret = b""
        self._secret_birth: float | None = None

    def set_public_key(self, public_key: bytes | None) -> None:
        if public_key is None:
            self.mac1_key = self.cookie_key = None
        else:
            self.mac1_key = mac1_key(public_key)
            self.cookie_key = cookie_key(public_key)

    def check_mac1(self, msg: bytes, msg_type: int) -> bool:
        if self.mac1_key is None:
            return False
        off = MAC1_OFFSET[msg_type]
        return mac(self.mac1_key, msg[:off]) == msg[off : off + 16]

    def make_cookie(self, src: Endpoint, now: float) -> bytes:
        """MAC(R, source), R rotated every COOKIE_SECRET_MAX_AGE (lazily, on use)."""
        if self._secret_birth is None or now - self._secret_birth >= COOKIE_SECRET_MAX_AGE:
            self._secret = self._rng(32)
            self._secret_birth = now
        return mac(self._secret, _source_bytes(src))

    def check_mac2(self, msg: bytes, msg_type: int, src: Endpoint, now: float) -> bool:
        off = MAC2_OFFSET[msg_type]
        try:
            cookie = self.make_cookie(src, now)
        except (ValueError, OverflowError):
            return False
        return mac(cookie, msg[:off]) == msg[off : off + 16]

    def create_reply(
        self, msg: bytes, msg_type: int, sender_index: int, src: Endpoint, now: float
    ) -> bytes | None:
        """The 64-byte cookie reply answering `msg` (whose sender index we echo)."""
        if self.cookie_key is None:
            return None
        off = MAC1_OFFSET[msg_type]
        nonce = self._rng(COOKIE_NONCE_LEN)
        try:
            cookie = self.make_cookie(src, now)
        except (ValueError, OverflowError):
            return None
        enc = xaead_encrypt(self.cookie_key, nonce, cookie, msg[off : off + 16])
        return pack_cookie_reply(CookieReply(sender_index, nonce, enc))


class CookieGenerator:
    """Per peer: mac1 with the peer's key, mac2 with the last cookie it sent us."""

    __slots__ = ("_cookie", "_cookie_birth", "_last_mac1", "cookie_key", "mac1_key")

    def __init__(self, peer_public_key: bytes) -> None:
        self.mac1_key = mac1_key(peer_public_key)
        self.cookie_key = cookie_key(peer_public_key)
        self._last_mac1: bytes | None = None  # outstanding mac1 a cookie reply must match
        self._cookie: bytes | None = None
        self._cookie_birth = 0.0

    def add_macs(self, msg: bytearray, msg_type: int, now: float) -> None:
        off1 = MAC1_OFFSET[msg_type]
        m1 = mac(self.mac1_key, bytes(msg[:off1]))
        msg[off1 : off1 + 16] = m1
        self._last_mac1 = m1
        off2 = MAC2_OFFSET[msg_type]
        if (
            self._cookie is not None
            and now - self._cookie_birth < COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY
        ):
            msg[off2 : off2 + 16] = mac(self._cookie, bytes(msg[:off2]))
        else:
            msg[off2 : off2 + 16] = _ZERO_MAC

    def consume_reply(self, reply: CookieReply, now: float) -> bool:
        """Accept a cookie reply only while a mac1 of ours is outstanding."""
        if self._last_mac1 is None:
            return False
        cookie = xaead_decrypt(
            self.cookie_key, reply.nonce, reply.encrypted_cookie, self._last_mac1
        )
        if cookie is None:
            return False
        self._cookie = cookie
        self._cookie_birth = now
        self._last_mac1 = None
        return True

    def has_cookie(self, now: float) -> bool:
        return (
            self._cookie is not None
            and now - self._cookie_birth < COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY
        )
