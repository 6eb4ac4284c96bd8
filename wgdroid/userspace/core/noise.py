"""Noise_IKpsk2 handshake state and message construction (noise.c).

Pure functions over a `Handshake` (one per peer). They do not touch the index
table or timers; `peer`/`device` do that around them. Every failure returns
None (the caller drops the message) and leaves the handshake unchanged.
"""

from __future__ import annotations

from enum import IntEnum

from wgdroid.userspace.core.messages import Initiation, Response
from wgdroid.userspace.core.primitives import (
    INITIAL_CHAIN_KEY,
    INITIAL_HASH,
    StaticKey,
    aead_decrypt,
    aead_encrypt,
    hash_,
    kdf1,
    kdf2,
    kdf3,
)
from wgdroid.userspace.core.tai64n import is_after

_ZERO32 = bytes(32)
_TIMESTAMP_ZERO = bytes(12)


class State(IntEnum):
    ZEROED = 0
    CREATED_INITIATION = 1
    CONSUMED_INITIATION = 2
    CREATED_RESPONSE = 3
    CONSUMED_RESPONSE = 4


class Handshake:
    """One peer's handshake: static config (remote key, psk, precomputed ss) plus
    the in-flight Noise state. Never shows key material in its repr."""

    __slots__ = (
        "chaining_key",
        "ephemeral",
        "hash",
        "last_initiation_consumption",
        "latest_timestamp",
        "local_index",
        "precomputed_ss",
        "preshared_key",
        "remote_ephemeral",
        "remote_index",
        "remote_static",
        "state",
    )

    def __init__(self, remote_static: bytes) -> None:
        self.remote_static = remote_static
        self.preshared_key = _ZERO32
        self.precomputed_ss: bytes | None = None  # DH(our static, remote static)
        self.latest_timestamp = _TIMESTAMP_ZERO
        self.last_initiation_consumption: float | None = None
        self.local_index: int | None = None  # set by the peer (index table)
        self.clear()

    def clear(self) -> None:
        """Forget the in-flight exchange (not the replay timestamp or static config)."""
        self.state = State.ZEROED
        self.hash = _ZERO32
        self.chaining_key = _ZERO32
        self.ephemeral: StaticKey | None = None
        self.remote_ephemeral = _ZERO32
        self.remote_index = 0

    def precompute(self, static: StaticKey | None) -> None:
        self.precomputed_ss = None if static is None else static.dh(self.remote_static)

    def __repr__(self) -> str:
        return f"Handshake(state={self.state.name})"


def _mix_key_dh(ck: bytes, shared: bytes | None) -> tuple[bytes, bytes] | None:
    if shared is None:
        return None
    return kdf2(ck, shared)


def create_initiation(
    hs: Handshake, static: StaticKey, ephemeral_private: bytes, timestamp: bytes, sender_index: int
) -> Initiation | None:
    """Initiator: build the initiation and move to CREATED_INITIATION."""
    if hs.precomputed_ss is None:
        return None
    eph = StaticKey(ephemeral_private)
    h = hash_(INITIAL_HASH, hs.remote_static)
    # e
    ck = kdf1(INITIAL_CHAIN_KEY, eph.public)
    h = hash_(h, eph.public)
    # es
    mixed = _mix_key_dh(ck, eph.dh(hs.remote_static))
    if mixed is None:
        return None
    ck, key = mixed
    # s
    enc_static = aead_encrypt(key, static.public, h)
    h = hash_(h, enc_static)
    # ss
    ck, key = kdf2(ck, hs.precomputed_ss)
    # {t}
    enc_ts = aead_encrypt(key, timestamp, h)
    h = hash_(h, enc_ts)
    hs.state = State.CREATED_INITIATION
    hs.hash = h
    hs.chaining_key = ck
    hs.ephemeral = eph
    hs.local_index = sender_index
    return Initiation(sender_index, eph.public, enc_static, enc_ts)


class ConsumedInitiation:
    """Result of the first, peer-independent half of consuming an initiation."""

    __slots__ = ("chaining_key", "ephemeral", "hash", "key", "remote_static")

    def __init__(
        self, remote_static: bytes, ephemeral: bytes, chaining_key: bytes, hash_: bytes, key: bytes
    ) -> None:
        self.remote_static = remote_static
        self.ephemeral = ephemeral
        self.chaining_key = chaining_key
        self.hash = hash_
        self.key = key


def open_initiation_static(msg: Initiation, static: StaticKey) -> ConsumedInitiation | None:
    """Responder, step 1: decrypt the initiator's static key (to find the peer)."""
    h = hash_(INITIAL_HASH, static.public)
    ck = kdf1(INITIAL_CHAIN_KEY, msg.ephemeral)
    h = hash_(h, msg.ephemeral)
    mixed = _mix_key_dh(ck, static.dh(msg.ephemeral))
    if mixed is None:
        return None
    ck, key = mixed
    remote_static = aead_decrypt(key, msg.encrypted_static, h)
    if remote_static is None:
        return None
    h = hash_(h, msg.encrypted_static)
    return ConsumedInitiation(remote_static, msg.ephemeral, ck, h, key)


def consume_initiation(
    hs: Handshake, part: ConsumedInitiation, msg: Initiation, now: float, min_interval: float
) -> bool:
    """Responder, step 2 (peer known): decrypt and check the timestamp (strictly
    newer than the last accepted, and not within `min_interval` of the last
    consumed initiation), then move to CONSUMED_INITIATION."""
    if hs.precomputed_ss is None:
        return False
    ck, key = kdf2(part.chaining_key, hs.precomputed_ss)
    ts = aead_decrypt(key, msg.encrypted_timestamp, part.hash)
    if ts is None:
        return False
    if not is_after(ts, hs.latest_timestamp):
        return False
    last = hs.last_initiation_consumption
    if last is not None and now - last < min_interval:
        return False
    hs.state = State.CONSUMED_INITIATION
    hs.remote_ephemeral = part.ephemeral
    hs.latest_timestamp = ts
    hs.hash = hash_(part.hash, msg.encrypted_timestamp)
    hs.chaining_key = ck
    hs.remote_index = msg.sender_index
    hs.last_initiation_consumption = now
    return True


def create_response(hs: Handshake, ephemeral_private: bytes, sender_index: int) -> Response | None:
    """Responder: answer a consumed initiation; moves to CREATED_RESPONSE."""
    if hs.state != State.CONSUMED_INITIATION:
        return None
    eph = StaticKey(ephemeral_private)
    ck = kdf1(hs.chaining_key, eph.public)
    h = hash_(hs.hash, eph.public)
    ee = eph.dh(hs.remote_ephemeral)
    se = eph.dh(hs.remote_static)
    if ee is None or se is None:
        return None
    ck = kdf1(ck, ee)
    ck = kdf1(ck, se)
    ck, tau, key = kdf3(ck, hs.preshared_key)
    h = hash_(h, tau)
    enc_nothing = aead_encrypt(key, b"", h)
    h = hash_(h, enc_nothing)
    hs.state = State.CREATED_RESPONSE
    hs.hash = h
    hs.chaining_key = ck
    hs.ephemeral = eph
    hs.local_index = sender_index
    return Response(sender_index, hs.remote_index, eph.public, enc_nothing)


def consume_response(hs: Handshake, static: StaticKey, msg: Response) -> bool:
    """Initiator: check the response to our initiation; moves to CONSUMED_RESPONSE."""
    if hs.state != State.CREATED_INITIATION or hs.ephemeral is None:
        return False
    ck = kdf1(hs.chaining_key, msg.ephemeral)
    h = hash_(hs.hash, msg.ephemeral)
    ee = hs.ephemeral.dh(msg.ephemeral)
    se = static.dh(msg.ephemeral)
    if ee is None or se is None:
        return False
    ck = kdf1(ck, ee)
    ck = kdf1(ck, se)
    ck, tau, key = kdf3(ck, hs.preshared_key)
    h = hash_(h, tau)
    if aead_decrypt(key, msg.encrypted_nothing, h) is None:
        return False
    hs.state = State.CONSUMED_RESPONSE
    hs.hash = hash_(h, msg.encrypted_nothing)
    hs.chaining_key = ck
    hs.remote_ephemeral = msg.ephemeral
    hs.remote_index = msg.sender_index
    return True


def derive_transport_keys(hs: Handshake) -> tuple[bytes, bytes, bool] | None:
    """(send key, receive key, we are the initiator) once the exchange is complete;
    clears the in-flight state. None if there is no complete exchange."""
    if hs.state == State.CONSUMED_RESPONSE:
        initiator = True
    elif hs.state == State.CREATED_RESPONSE:
        initiator = False
    else:
        return None
    t1, t2 = kdf2(hs.chaining_key, b"")
    hs.clear()
    return (t1, t2, True) if initiator else (t2, t1, False)
