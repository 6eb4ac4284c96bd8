"""Transport data messages: the pure crypto step of the pipeline.

`Peer.prepare_send` (ordered, under the caller's lock) turns plaintext packets
into `SendJob`s carrying everything needed to encrypt: the key, the counter
(nonce), the receiver index and the padded length. `seal` is a pure function of
a job, safe in any thread or (with `seal_raw`) any process. On receive,
`Device.classify` makes a `RecvJob`; `open_` decrypts it (pure, any order), and
`Peer.on_received` finishes it in order (replay check, timers, routing).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from wgdroid.userspace.core.constants import (
    MSG_TRANSPORT,
    PADDING_MULTIPLE,
    TAG_LEN,
    TRANSPORT_HEADER_LEN,
)

if TYPE_CHECKING:
    from wgdroid.userspace.core.actions import Endpoint
    from wgdroid.userspace.core.keypair import Keypair

_HEADER = struct.Struct("<IIQ")  # type (u8 + 3 zero bytes), receiver index, counter
_NONCE = struct.Struct("<IQ")  # 4 zero bytes, then the little-endian 64-bit counter
_ZEROS = bytes(PADDING_MULTIPLE)
_PAD_SPAN = _HEADER.size + TAG_LEN  # datagram bytes besides the padded plaintext


class Cipher:
    """One direction's transport key with its ChaCha20-Poly1305 context built once.

    Pickles as the key bytes only (so a job can cross to a worker process); its
    repr never shows the key.
    """

    __slots__ = ("aead", "key")

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.aead = ChaCha20Poly1305(key)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Cipher, (self.key,))

    def __repr__(self) -> str:
        return "Cipher(<key>)"


def padded_length(n: int, mtu: int) -> int:
    """Plaintext length after zero padding (send.c calculate_skb_padding).

    Pad to a multiple of 16 but never past the MTU; a packet larger than the MTU
    (GSO-sized) is padded as its last MTU-sized unit would be. mtu <= 0: no MTU.
    """
    if mtu <= 0:
        return (n + PADDING_MULTIPLE - 1) & ~(PADDING_MULTIPLE - 1)
    last_unit = n % mtu if n > mtu else n
    padded = min(mtu, (last_unit + PADDING_MULTIPLE - 1) & ~(PADDING_MULTIPLE - 1))
    return n + padded - last_unit


class SendJob:
    """One outgoing transport message before encryption.

    `packet` is the inner IP packet (b"" for a keepalive), `padded_len` the
    plaintext length after padding, `counter` the nonce already reserved on the
    keypair, `receiver_index` the peer's index for that keypair. `nbytes` is the
    datagram size `seal` will produce (for byte-bounded queues).
    """

    __slots__ = ("cipher", "counter", "packet", "padded_len", "receiver_index")

    def __init__(
        self, cipher: Cipher, receiver_index: int, counter: int, packet: bytes, padded_len: int
    ) -> None:
        self.cipher = cipher
        self.receiver_index = receiver_index
        self.counter = counter
        self.packet = packet
        self.padded_len = padded_len

    @property
    def nbytes(self) -> int:
        return self.padded_len + _PAD_SPAN

    @property
    def is_keepalive(self) -> bool:
        return not self.packet

    def __repr__(self) -> str:
        return (
            f"SendJob(idx={self.receiver_index:#x}, counter={self.counter}, len={len(self.packet)})"
        )


class RecvJob:
    """One received transport datagram, matched to its keypair, before decryption.

    `data` is the whole datagram (header + ciphertext), `src` where it came from.
    """

    __slots__ = ("cipher", "counter", "data", "keypair", "src")

    def __init__(
        self, keypair: Keypair, cipher: Cipher, counter: int, data: bytes, src: Endpoint
    ) -> None:
        self.keypair = keypair
        self.cipher = cipher
        self.counter = counter
        self.data = data
        self.src = src

    @property
    def nbytes(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return f"RecvJob(counter={self.counter}, len={len(self.data)}, src={self.src!r})"


def seal_raw(
    cipher: Cipher, receiver_index: int, counter: int, packet: bytes, padded_len: int
) -> bytes:
    """Build one transport datagram: header ‖ AEAD(key, counter, padded packet)."""
    pad = padded_len - len(packet)
    if pad:
        packet = packet + (_ZEROS[:pad] if pad <= PADDING_MULTIPLE else bytes(pad))
    return _HEADER.pack(MSG_TRANSPORT, receiver_index, counter) + cipher.aead.encrypt(
        _NONCE.pack(0, counter), packet, None
    )


def seal(job: SendJob) -> bytes:
    """Encrypt a SendJob into its datagram. Pure: no shared state is read or written."""
    return seal_raw(job.cipher, job.receiver_index, job.counter, job.packet, job.padded_len)


def seal_into(job: SendJob, out: memoryview | bytearray, offset: int = 0) -> int:
    """Like `seal`, but write the datagram into `out[offset:]` (e.g. one buffer
    holding a whole UDP GSO batch); returns its length (`job.nbytes`)."""
    packet = job.packet
    pad = job.padded_len - len(packet)
    if pad:
        packet = packet + (_ZEROS[:pad] if pad <= PADDING_MULTIPLE else bytes(pad))
    n = job.padded_len + _PAD_SPAN
    view = memoryview(out)
    _HEADER.pack_into(view, offset, MSG_TRANSPORT, job.receiver_index, job.counter)
    job.cipher.aead.encrypt_into(
        _NONCE.pack(0, job.counter), packet, None, view[offset + _HEADER.size : offset + n]
    )
    return n


def open_raw(cipher: Cipher, counter: int, data: bytes) -> bytes | None:
    """Decrypt a transport datagram's payload; None if authentication fails."""
    try:
        return cipher.aead.decrypt(
            _NONCE.pack(0, counter), memoryview(data)[TRANSPORT_HEADER_LEN:], None
        )
    except InvalidTag:
        return None


def open_into(job: RecvJob, out: memoryview | bytearray, offset: int = 0) -> int | None:
    """Like `open_`, but decrypt into `out[offset:]` (a preallocated TUN write
    buffer); returns the padded plaintext length, or None if authentication fails.
    The caller passes `bytes(out[offset:offset+n])` (or a view) to on_received."""
    n = len(job.data) - _PAD_SPAN
    try:
        job.cipher.aead.decrypt_into(
            _NONCE.pack(0, job.counter),
            memoryview(job.data)[TRANSPORT_HEADER_LEN:],
            None,
            memoryview(out)[offset : offset + n],
        )
    except InvalidTag:
        return None
    return n


def open_(job: RecvJob) -> bytes | None:
    """Decrypt a RecvJob: the padded inner packet, or None (drop). Pure, any order."""
    return open_raw(job.cipher, job.counter, job.data)
